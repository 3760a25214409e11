// `inferconf catalog`: the base models, their constraints and presets.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"

namespace inferconf::cli {

namespace {

std::string preset_line(const std::string& type, const Preset& p) {
  std::string extra;
  for (const auto& [k, v] : p.model_specific_params.items())
    extra += fmt::format(" {}={}", k, v.is_string() ? v.get<std::string>() : v.dump());
  return fmt::format("    {:<8} steps {:>3}  cfg {:<4}  {} / {}{}", type, p.steps, p.cfg_scale, p.sampler, p.scheduler, extra);
}

}  // namespace

void register_catalog_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand("catalog", "Show the base models of the catalogue with their constraints and presets");
  auto base = std::make_shared<std::string>();
  cmd->add_option("BASE_MODEL", *base, "Show only this base model (e.g. sdxl)");
  cmd->callback([&opts, base] {
    const auto bundle = load_bundle_for(opts);
    const Catalog& catalog = bundle->catalog();
    if (!base->empty() && !catalog.find(*base))
      throw not_found(fmt::format("Base model \"{}\" is not in the catalogue; run `inferconf catalog` to list them.", *base));
    if (opts.json) {
      print_json(*opts.out, base->empty() ? catalog.to_json() : catalog.to_json(*catalog.find(*base)));
      return;
    }
    auto& out = *opts.out;
    for (const auto& b : catalog.base_models()) {
      if (!base->empty() && b.id != *base) continue;
      const auto& c = b.constraints;
      out << fmt::format("{} — {} ({}, {})\n", b.id, b.display_name, b.family, b.modality);
      out << fmt::format("  steps {}–{}, cfg_scale {}–{}, negative prompt: {}\n", c.steps.min, c.steps.max, c.cfg_scale.min,
                         c.cfg_scale.max, c.negative_prompt ? "yes" : "no");
      for (const auto& [type, p] : b.presets) out << preset_line(type, p) << '\n';
      for (const auto& v : b.variants) {
        out << fmt::format("  variant {} — {}\n", v.id, v.display_name);
        for (const auto& [type, p] : v.presets) out << "  " << preset_line(type, p) << '\n';
      }
      out << '\n';
    }
  });
}

}  // namespace inferconf::cli
