// `inferconf resolve`: the effective parameters of a generation request (the seed's usage example).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "cli/write_context.hpp"
#include "inferconf/catalog_bundle.hpp"
#include "inferconf/service.hpp"

namespace inferconf::cli {

namespace {

struct ResolveArgs {
  std::string model_id, base_model, variant, type = "quality", as_of, hardware;
  std::vector<std::string> sets;
  bool strict = false;
};

// "--set width=832": the value is JSON when it parses as JSON, else a string
// ("--set sampler=euler"). JSON that the reading policy refuses (1e400, -0,
// NaN, a lone surrogate) is an error naming the option, not a string.
nlohmann::json parse_overrides(const std::vector<std::string>& sets) {
  nlohmann::json overrides = nlohmann::json::object();
  for (const auto& s : sets) {
    const auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw invalid(fmt::format("--set \"{}\" is not KEY=VALUE (e.g. --set steps=20).", s));
    const std::string key = s.substr(0, eq), text = s.substr(eq + 1);
    overrides[key] = json_or_text(text, fmt::format("--set {}", key));
  }
  return overrides;
}

void print_plan(std::ostream& out, const HardwarePlan& plan) {
  out << fmt::format("  hardware {}: {} GB VRAM x{}, {} GB system RAM, compute capability {}\n", plan.profile.id,
                     plan.profile.vram_gb, plan.profile.count, plan.profile.system_ram_gb,
                     plan.profile.compute_capability);
  std::string dtypes;
  for (const auto& d : plan.estimate.dtypes) dtypes += fmt::format("{}{} {}", dtypes.empty() ? "" : ", ", d.component, to_string(d.dtype));
  out << fmt::format("    weights   {}\n", dtypes);
  out << fmt::format("    offload   {}{}; VAE tiling {}\n", to_string(plan.settings.offload),
                     plan.settings.text_encoders_on_cpu ? ", text encoders on the CPU" : "",
                     plan.settings.vae_tiling ? "on" : "off");
  out << fmt::format("    estimate  {:.1f} GB VRAM peak ({}), {:.1f} GB system RAM\n", plan.estimate.peak_vram_gb,
                     plan.estimate.peak_phase, plan.estimate.system_ram_gb);
  for (const auto& n : plan.notes) out << fmt::format("    note: {}\n", n);
}

}  // namespace

void print_resolved(std::ostream& out, const ResolvedParameters& r) {
  out << fmt::format("{} · {} · {}{}{}\n", r.model_id, r.configuration_type, r.base_model,
                     r.variant.empty() ? "" : "/" + r.variant,
                     r.configuration_id ? fmt::format(" · configuration {} rev {}", *r.configuration_id, r.revision.value_or(0))
                                        : " · catalogue preset");
  // The four core parameters first, in the seed's order, then the model-specific ones.
  auto line = [&](const std::string& k, const nlohmann::json& v) {
    auto src = r.sources.find(k);
    out << fmt::format("  {:<22}{:<40}{}\n", k, v.is_string() ? v.get<std::string>() : v.dump(),
                       src == r.sources.end() ? "" : src->second);
  };
  for (const char* k : {"steps", "cfg_scale", "sampler", "scheduler"})
    if (r.parameters.contains(k)) line(k, r.parameters.at(k));
  for (const auto& [k, v] : r.parameters.items())
    if (k != "steps" && k != "cfg_scale" && k != "sampler" && k != "scheduler") line(k, v);
  for (const auto& n : r.normalised) out << fmt::format("  note: {} \"{}\" means \"{}\"\n", n.field, n.given, n.canonical);
  for (const auto& n : r.notes) out << fmt::format("  note: {} {}\n", n.field, n.message);
  for (const auto& p : r.problems) out << fmt::format("  problem: {} {}\n", p.field, p.message);
  if (r.hardware) print_plan(out, *r.hardware);
}

void register_resolve_command(CLI::App& app, GlobalOptions& opts) {
  auto a = std::make_shared<ResolveArgs>();
  auto* cmd = app.add_subcommand(
      "resolve",
      "Print the effective parameters of a model for a configuration type: the base model's catalogue preset, under "
      "the model's stored configuration, under --set overrides; each value names its source");
  cmd->add_option("--model-id", a->model_id, "The model (its id in the registry / configurations)")->required();
  cmd->add_option("--type", a->type, "Configuration type of the catalogue: quality, speed, draft or balanced")->capture_default_str();
  cmd->add_option("--base-model", a->base_model, "Base model to use when neither the store nor the registry knows it");
  cmd->add_option("--variant", a->variant, "Catalogue variant (e.g. ti2v_5b for wan_2_2)");
  cmd->add_option("--set", a->sets, "Override a parameter, KEY=VALUE (repeatable)");
  cmd->add_option("--as-of", a->as_of,
                  "Resolve as at this past moment (2026-12-01 or an RFC 3339 time): the stored configuration's "
                  "revision then, under today's catalogue (or --catalog)");
  cmd->add_option("--hardware", a->hardware,
                  "Plan the run for this hardware: a shipped profile (consumer_8gb, consumer_12gb, consumer_16gb, "
                  "consumer_24gb, l4, a100_40gb, a100_80gb, h100_80gb) or a profile as JSON ('{\"vram_gb\": 10, "
                  "\"system_ram_gb\": 32, \"compute_capability\": 8.6}'); prints weight formats, offload, VAE tiling "
                  "and the memory estimate, and lowers resolution or frames only when nothing else fits (each "
                  "lowered value's source is hardware:PROFILE)");
  cmd->add_flag("--strict", a->strict,
                "An override that is not a parameter of the architecture is an error (exit 2), not a note");
  cmd->callback([&opts, a] {
    auto store = open_store_for(opts);
    const auto bundle = load_bundle_for(opts);
    Resolver resolver(*store, bundle->catalog(), bundle->rules(), bundle->hardware().get());
    ResolveRequest req;
    req.model_id = a->model_id;
    req.configuration_type = a->type;
    if (!a->base_model.empty()) req.base_model = a->base_model;
    if (!a->variant.empty()) req.variant = a->variant;
    req.overrides = parse_overrides(a->sets);
    req.strict = a->strict;
    if (!a->as_of.empty()) req.as_of = parse_time_option(a->as_of, "--as-of");
    if (!a->hardware.empty()) req.hardware = parse_hardware_option(a->hardware);
    const auto r = resolver.resolve(req);
    if (opts.json)
      print_json(*opts.out, r);
    else
      print_resolved(*opts.out, r);
    if (!r.problems.empty()) opts.exit_code = kExitUsage;
  });
}

}  // namespace inferconf::cli
