// `inferconf demo`: the main job of `make run` — initialise the store, import
// the demo registry, and print the resolved quality and speed parameters of
// every active model.
#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"

namespace inferconf::cli {

std::filesystem::path default_demo_registry() {
  if (const char* env = std::getenv("INFERCONF_DEMO_REGISTRY")) return env;
  return std::filesystem::path(INFERCONF_SOURCE_DIR) / "examples" / "demo_models.jsonl";
}

namespace {

// "quality  steps 30  cfg 7.5  dpmpp_2m/karras  width=1024 height=1024 clip_skip=-1"
std::string compact_parameters(const std::string& type, const ResolvedParameters& r) {
  const auto& p = r.parameters;
  auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::string line = fmt::format("{:<8} steps {:>3}  cfg {:<4}  {}/{}", type, text(p.value("steps", nlohmann::json())),
                                 text(p.value("cfg_scale", nlohmann::json())), text(p.value("sampler", nlohmann::json())),
                                 text(p.value("scheduler", nlohmann::json())));
  for (const auto& [k, v] : p.items())
    if (k != "steps" && k != "cfg_scale" && k != "sampler" && k != "scheduler") line += fmt::format("  {}={}", k, text(v));
  line += r.configuration_id ? "  (model's configuration)" : "  (catalogue preset)";
  return line;
}

}  // namespace

void register_demo_command(CLI::App& app, GlobalOptions& opts) {
  auto registry = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "demo", "Initialise the store, import the demo registry and print every active model's resolved presets");
  cmd->add_option("--registry", *registry, "Registry file to import (default: examples/demo_models.jsonl)");
  cmd->callback([&opts, registry] {
    const std::string file = registry->empty() ? default_demo_registry().string() : *registry;
    auto store = open_store_for(opts);
    store->ensure_schema();
    const auto catalog = load_catalog_for(opts);
    const auto imported = import_models(*store, read_input(file));
    if (!imported.skipped.empty())
      throw invalid(fmt::format("The demo registry {} has {} bad record(s).", file, imported.skipped.size()),
                    imported.skipped);
    const auto n = imported.imported;
    Resolver resolver(*store, catalog);
    nlohmann::json all = nlohmann::json::array();
    if (!opts.json) *opts.out << fmt::format("Store {}: imported {} model(s) from {}.\n\n", store->describe(), n, file);
    store->for_each_model(true, [&](const ModelRecord& m) {
      if (!opts.json) *opts.out << fmt::format("{}  [{} · {}]\n", m.name, m.id, m.base_model.value_or("?"));
      for (const auto& type : catalog.configuration_types()) {
        ResolveRequest req{m.id, type.id, std::nullopt, std::nullopt, nlohmann::json::object()};
        try {
          const auto r = resolver.resolve(req);
          if (opts.json) {
            nlohmann::json j = r;
            j["name"] = m.name;
            all.push_back(j);
          } else {
            *opts.out << "  " << compact_parameters(type.id, r) << '\n';
          }
        } catch (const Error& e) {
          if (opts.json)
            all.push_back({{"model_id", m.id}, {"name", m.name}, {"configuration_type", type.id}, {"error", e.what()}});
          else
            *opts.out << fmt::format("  {:<8} error: {}\n", type.id, e.what());
          opts.exit_code = kExitFailure;
        }
      }
      if (!opts.json) *opts.out << '\n';
      return true;
    });
    if (opts.json) print_json(*opts.out, all);
    else
      *opts.out << "Values come from each base model's catalogue preset until a model has its own configuration\n"
                   "(`inferconf create`, or `inferconf populate`); `inferconf resolve --model-id ID --type quality`\n"
                   "shows one model with the source of every value.\n";
  });
}

}  // namespace inferconf::cli
