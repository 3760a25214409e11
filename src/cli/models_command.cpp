// `inferconf models import|list`: the model registry (the seed's database_models).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"

namespace inferconf::cli {

namespace {

constexpr std::size_t kImportBatch = 1000;

}  // namespace

std::size_t import_models(Store& store, const std::string& text) {
  // All or nothing: every problem of the file is reported and nothing is written
  // unless the whole file is good.
  const auto records = parse_model_records(text);
  std::vector<ModelRecord> batch;
  for (std::size_t i = 0; i < records.size(); i += kImportBatch) {
    batch.assign(records.begin() + static_cast<std::ptrdiff_t>(i),
                 records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), i + kImportBatch)));
    store.upsert_models(batch);
  }
  return records.size();
}

void register_models_command(CLI::App& app, GlobalOptions& opts) {
  auto* models = app.add_subcommand("models", "The model registry (database_models): import and list models");
  models->require_subcommand(1);
  {
    auto file = std::make_shared<std::string>();
    auto* cmd = models->add_subcommand(
        "import", "Import models from a JSON array or JSON Lines file (FILE, or - for stdin); same id = update");
    cmd->add_option("FILE", *file, "Registry export: JSON array or JSON Lines")->required();
    cmd->callback([&opts, file] {
      const auto text = read_input(*file);
      auto store = open_store_for(opts);
      store->ensure_schema();
      const auto n = import_models(*store, text);
      if (opts.json)
        print_json(*opts.out, {{"imported", n}, {"store", store->describe()}});
      else
        *opts.out << fmt::format("Imported {} model(s) into {}.\n", n, store->describe());
    });
  }
  {
    auto active = std::make_shared<bool>(false);
    auto* cmd = models->add_subcommand("list", "List the registry's models");
    cmd->add_flag("--active", *active, "Only active models");
    cmd->callback([&opts, active] {
      auto store = open_store_for(opts);
      nlohmann::json all = nlohmann::json::array();
      store->for_each_model(*active, [&](const ModelRecord& m) {
        if (opts.json)
          all.push_back(m);
        else
          *opts.out << fmt::format("{:<36}  {:<8}  {:<14}  {}\n", m.id, m.is_active ? "active" : "inactive",
                                   m.base_model.value_or("-"), m.name);
        return true;
      });
      if (opts.json) print_json(*opts.out, all);
    });
  }
#ifdef INFERCONF_HAVE_POPULATE
  register_models_scan_command(*models, opts);
#endif
}

}  // namespace inferconf::cli
