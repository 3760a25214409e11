// `inferconf models import|list`: the model registry (the seed's database_models).
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#ifdef INFERCONF_HAVE_POPULATE
#include "inferconf/populate.hpp"
#endif

namespace inferconf::cli {

#ifdef INFERCONF_HAVE_POPULATE
namespace {

// `models import FILE`: streamed through the population layer's registry
// import, so a file of any size is read one record at a time. A bad line or
// array item, or an id seen before in the file, is skipped and listed; the
// others are imported.
void register_models_import(CLI::App& models, GlobalOptions& opts) {
  auto file = std::make_shared<std::string>();
  auto* cmd = models.add_subcommand(
      "import", "Import models from a JSON array or JSON Lines file (FILE, or - for stdin), read one record at a "
      "time; same id = update; a bad line is reported and skipped (exit 5), the others imported");
  cmd->add_option("FILE", *file, "Registry export: JSON array or JSON Lines")->required();
  cmd->callback([&opts, file] {
    std::ifstream input;
    std::istream* in = &std::cin;
    if (*file != "-") {
      input.open(*file, std::ios::binary);
      if (!input) throw invalid(fmt::format("Cannot read {}: the file does not exist or is not readable.", *file));
      in = &input;
    }
    auto store = open_store_for(opts);
    store->ensure_schema();
    std::vector<populate::ImportProblem> problems;
    const auto report = populate::import_registry(*store, *in, populate::RegistryImportOptions{},
                                                  [&](const populate::ImportProblem& p) { problems.push_back(p); });
    if (in->bad()) throw invalid(fmt::format("Cannot read {}: an I/O error occurred.", *file));
    if (opts.json) {
      nlohmann::json skipped = nlohmann::json::array();
      // One entry per field, as "line 3: id", so a program can tell which field of which record.
      for (const auto& p : problems) {
        if (p.field_errors.empty()) skipped.push_back({{"where", p.location}, {"problem", p.message}});
        for (const auto& f : p.field_errors)
          skipped.push_back({{"where", fmt::format("{}: {}", p.location, f.field)}, {"problem", f.message}});
      }
      print_json(*opts.out, {{"imported", report.imported}, {"skipped", skipped}, {"store", store->describe()}});
    } else {
      *opts.out << fmt::format("Imported {} model(s) into {}.\n", report.imported, store->describe());
    }
    if (!problems.empty()) {
      *opts.err << fmt::format("{} problem(s) in {}; those records were skipped, the others imported:\n",
                               problems.size(), *file);
      for (const auto& p : problems) *opts.err << fmt::format("  - {}: {}\n", p.location, p.message);
      opts.exit_code = kExitPartial;
    }
  });
}

}  // namespace
#endif

void register_models_command(CLI::App& app, GlobalOptions& opts) {
  auto* models = app.add_subcommand("models", "The model registry (database_models): import and list models");
  models->require_subcommand(1);
#ifdef INFERCONF_HAVE_POPULATE
  register_models_import(*models, opts);
#endif
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
