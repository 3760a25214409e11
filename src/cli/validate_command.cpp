// `inferconf validate`: the catalogue, the store's schema and indexes, and every stored document.
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"

namespace inferconf::cli {

void register_validate_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand(
      "validate", "Check the catalogue, the store's schema and indexes, and every stored configuration; exit 1 on problems");
  cmd->callback([&opts] {
    nlohmann::json report{{"catalog", nlohmann::json::array()}, {"schema", nlohmann::json::array()},
                          {"documents", nlohmann::json::array()}};
    std::size_t problems = 0, checked = 0;
    std::shared_ptr<const CatalogBundle> bundle;
    try {
      bundle = load_bundle_for(opts);
    } catch (const Error& e) {
      report["catalog"].push_back(e.what());
      for (const auto& f : e.field_errors()) report["catalog"].push_back(f.field + ": " + f.message);
      ++problems;
    }
    const Catalog* catalog = bundle ? &bundle->catalog() : nullptr;
    auto store = open_store_for(opts);
    for (auto& s : store->check_schema()) {
      report["schema"].push_back(s);
      ++problems;
    }
    if (catalog) {
      Validator validator(*catalog);
      store->for_each_configuration([&](const InferenceConfiguration& c) {
        ++checked;
        const auto r = validator.validate(c);
        if (!r.ok()) {
          nlohmann::json doc{{"id", c.id}, {"model_id", c.model_id}, {"configuration_type", c.configuration_type}};
          for (const auto& e : r.errors) doc["problems"].push_back({{"field", e.field}, {"message", e.message}});
          report["documents"].push_back(doc);
          ++problems;
        }
        return true;
      });
    }
    report["checked"] = checked;
    report["ok"] = problems == 0;
    if (opts.json) {
      print_json(*opts.out, report);
    } else {
      auto& out = *opts.out;
      out << (report["catalog"].empty() ? "catalogue: ok\n" : "catalogue: PROBLEMS\n");
      for (const auto& p : report["catalog"]) out << "  - " << p.get<std::string>() << '\n';
      out << (report["schema"].empty() ? "schema and indexes: ok\n" : "schema and indexes: PROBLEMS\n");
      for (const auto& p : report["schema"]) out << "  - " << p.get<std::string>() << '\n';
      out << fmt::format("documents: {} checked, {} invalid\n", checked, report["documents"].size());
      for (const auto& d : report["documents"])
        for (const auto& p : d["problems"])
          out << fmt::format("  - {} ({} {}): {} {}\n", d["id"].get<std::string>(), d["model_id"].get<std::string>(),
                             d["configuration_type"].get<std::string>(), p["field"].get<std::string>(),
                             p["message"].get<std::string>());
    }
    if (problems) opts.exit_code = kExitFailure;
  });
}

}  // namespace inferconf::cli
