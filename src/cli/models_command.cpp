// `inferconf models import|list`: the model registry (the seed's database_models).
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"

namespace inferconf::cli {

namespace {

constexpr std::size_t kImportBatch = 1000;

}  // namespace

ImportedModels import_models(Store& store, const std::string& text) {
  // A bad line (or array item) is reported and skipped, the rest imported: one
  // malformed record of a platform export must not hold the others back.
  ImportedModels result;
  std::map<std::string, std::size_t> seen;
  std::vector<ModelRecord> batch;
  std::istringstream in(text);
  const char* unit = "line";
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '[') unit = "item";
    break;
  }
  auto flush = [&] {
    if (batch.empty()) return;
    store.upsert_models(batch);
    result.imported += batch.size();
    batch.clear();
  };
  read_model_records(
      in, RegistryFieldMap{},
      [&](ModelRecord&& m, std::size_t where) {
        auto [it, inserted] = seen.emplace(m.id, where);
        if (!inserted) {
          result.skipped.push_back({fmt::format("{} {}", unit, where),
                                    fmt::format("repeats the id \"{}\" of {} {}; each model may appear once, the first "
                                                "one was imported.",
                                                m.id, unit, it->second)});
          return;
        }
        batch.push_back(std::move(m));
        if (batch.size() >= kImportBatch) flush();
      },
      [&](std::size_t where, const Error& e) {
        const std::string place = std::string(unit) == "item" && where == 0 && e.field_errors().empty()
                                      ? std::string("file")
                                      : fmt::format("{} {}", unit, where);
        if (e.field_errors().empty()) {
          result.skipped.push_back({place, e.what()});
          return;
        }
        for (const auto& f : e.field_errors()) result.skipped.push_back({fmt::format("{}: {}", place, f.field), f.message});
      });
  flush();
  return result;
}

void register_models_command(CLI::App& app, GlobalOptions& opts) {
  auto* models = app.add_subcommand("models", "The model registry (database_models): import and list models");
  models->require_subcommand(1);
  {
    auto file = std::make_shared<std::string>();
    auto* cmd = models->add_subcommand(
        "import", "Import models from a JSON array or JSON Lines file (FILE, or - for stdin); same id = update; a bad "
        "line is reported and skipped (exit 5), the others imported");
    cmd->add_option("FILE", *file, "Registry export: JSON array or JSON Lines")->required();
    cmd->callback([&opts, file] {
      const auto text = read_input(*file);
      auto store = open_store_for(opts);
      store->ensure_schema();
      const auto result = import_models(*store, text);
      if (opts.json) {
        nlohmann::json skipped = nlohmann::json::array();
        for (const auto& p : result.skipped) skipped.push_back({{"where", p.field}, {"problem", p.message}});
        print_json(*opts.out, {{"imported", result.imported}, {"skipped", skipped}, {"store", store->describe()}});
      } else {
        *opts.out << fmt::format("Imported {} model(s) into {}.\n", result.imported, store->describe());
      }
      if (!result.skipped.empty()) {
        *opts.err << fmt::format("{} problem(s) in {}; those records were skipped, the others imported:\n",
                                 result.skipped.size(), *file);
        for (const auto& p : result.skipped) *opts.err << fmt::format("  - {}: {}\n", p.field, p.message);
        opts.exit_code = kExitPartial;
      }
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
