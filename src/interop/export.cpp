// export_request and the name translation shared by every exporter. A name the
// target lacks is an error unless substitution was allowed; the substitute is
// the documented one of catalog/engine_vocabulary.json and is always reported.
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "common/text.hpp"
#include "common/field_reader.hpp"
#include "interop/export_support.hpp"

namespace inferconf {

const char* to_string(ExportFormat f) noexcept {
  switch (f) {
    case ExportFormat::kComfyUI: return "comfyui";
    case ExportFormat::kA1111: return "a1111";
    case ExportFormat::kDiffusers: return "diffusers";
    case ExportFormat::kInfotext: return "infotext";
  }
  return "comfyui";
}

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  for (auto f : {ExportFormat::kComfyUI, ExportFormat::kA1111, ExportFormat::kDiffusers, ExportFormat::kInfotext})
    if (name == to_string(f)) return f;
  return std::nullopt;
}

void to_json(nlohmann::json& j, const Substitution& s) {
  j = {{"field", s.field}, {"given", s.given}, {"used", s.used}, {"reason", s.reason}};
}

ExportResult export_request(const ResolvedParameters& resolved, ExportFormat format, const ExportOptions& options,
                            const Catalog& catalog, const EngineVocabulary& vocabulary) {
  const auto* arch = vocabulary.architecture(resolved.base_model, resolved.variant);
  if (!arch)
    throw invalid(fmt::format("The base model \"{}\" has no engine translation in engine_vocabulary.json; add its "
                              "architecture there.",
                              resolved.base_model));
  if (!resolved.problems.empty()) {
    throw invalid(fmt::format("The resolved parameters of {} break {}'s rules, so no engine request is made from them.",
                              resolved.model_id, resolved.base_model),
                  resolved.problems);
  }
  ExportResult result;
  result.format = format;
  interop::ExportContext ctx{resolved,          options, catalog, vocabulary, *arch, interop::Params(resolved.parameters),
                             result.substitutions, result.notes};
  switch (format) {
    case ExportFormat::kComfyUI: result.body = interop::export_comfyui(ctx); break;
    case ExportFormat::kA1111: result.body = interop::export_a1111(ctx); break;
    case ExportFormat::kDiffusers: result.body = interop::export_diffusers(ctx); break;
    case ExportFormat::kInfotext: result.text = interop::export_infotext(ctx); break;
  }
  return result;
}

int wan_expert_switch_step(int steps, double shift, double boundary) {
  // ModelSamplingSD3's shift maps an even flow sigma s to shift*s / (1 + (shift-1)*s);
  // the high-noise expert runs while that sigma is at least the boundary
  // (Wan2.2 generate: timestep >= boundary * num_train_timesteps).
  int high = 0;
  for (int i = 0; i < steps; ++i) {
    const double s = 1.0 - static_cast<double>(i) / steps;
    const double shifted = shift * s / (1.0 + (shift - 1.0) * s);
    if (shifted >= boundary) ++high;
  }
  return high;
}

namespace interop {

bool Params::has(std::string_view key) const { return p_.is_object() && p_.contains(key) && !p_.at(std::string(key)).is_null(); }

std::optional<double> Params::number(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = p_.at(std::string(key));
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

std::optional<std::int64_t> Params::integer(std::string_view key) const {
  auto n = number(key);
  if (!n || std::floor(*n) != *n) return std::nullopt;
  return static_cast<std::int64_t>(*n);
}

std::optional<std::string> Params::string(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = p_.at(std::string(key));
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

double Params::require_number(std::string_view key, std::string_view target) const {
  if (auto n = number(key)) return *n;
  throw invalid(fmt::format("The {} export needs the parameter {} as a number, but the resolved parameters {}.", target,
                            key, has(key) ? "hold " + detail::describe_value(p_.at(std::string(key))) : "lack it"));
}

std::int64_t Params::require_integer(std::string_view key, std::string_view target) const {
  if (auto n = integer(key)) return *n;
  throw invalid(fmt::format("The {} export needs the parameter {} as a whole number, but the resolved parameters {}.",
                            target, key, has(key) ? "hold " + detail::describe_value(p_.at(std::string(key))) : "lack it"));
}

std::string Params::require_string(std::string_view key, std::string_view target) const {
  if (auto s = string(key)) return *s;
  throw invalid(fmt::format("The {} export needs the parameter {} as a string, but the resolved parameters {}.", target,
                            key, has(key) ? "hold " + detail::describe_value(p_.at(std::string(key))) : "lack it"));
}

std::string ExportContext::who() const {
  return resolved.variant.empty() ? resolved.base_model : resolved.base_model + "/" + resolved.variant;
}

std::string ExportContext::positive_prompt() const {
  return params.string("prompt_prefix").value_or("") + options.prompt;
}

namespace {

[[noreturn]] void refuse_name(std::string_view field, std::string_view given, std::string_view engine,
                              std::string_view substitute, std::string_view substitute_target, std::string_view note) {
  throw invalid(fmt::format(
      "The {} \"{}\" has no equivalent in {}{}. Allow substitution (--allow-substitute, or allow_substitute=true over "
      "HTTP) to use the documented nearest, \"{}\"{}, or store a {} {} has.",
      field, given, engine, note.empty() ? "" : fmt::format(" ({})", note), substitute,
      substitute_target.empty() ? "" : fmt::format(" ({})", substitute_target), field, engine));
}

// Follows the substitute chain of a sampler until `has` holds.
template <class Has>
const EngineSampler& settle_sampler(ExportContext& ctx, const std::string& name, std::string_view engine, Has has,
                                    auto describe) {
  const auto* s = ctx.vocabulary.sampler(name);
  if (!s)
    throw invalid(fmt::format("The sampler \"{}\" is not a canonical sampler of the vocabulary; store one of its names.", name));
  if (has(*s)) return *s;
  const EngineSampler* cur = s;
  for (int hops = 0; hops < 16 && !has(*cur); ++hops) {
    cur = ctx.vocabulary.sampler(cur->substitute);
    if (!cur) break;
  }
  if (!cur || !has(*cur))
    throw invalid(fmt::format("The sampler \"{}\" has no equivalent in {} and no substitute.", name, engine));
  if (!ctx.options.allow_substitute) refuse_name("sampler", name, engine, cur->name, describe(*cur), s->note);
  ctx.substitutions.push_back({"sampler", name, cur->name,
                               fmt::format("{} has no \"{}\"{}; \"{}\" is the documented nearest.", engine, name,
                                           s->note.empty() ? "" : " (" + s->note + ")", cur->name)});
  return *cur;
}

}  // namespace

std::pair<std::string, std::string> a1111_names(ExportContext& ctx) {
  const auto sampler_name = ctx.params.require_string("sampler", "a1111");
  const auto scheduler_name = ctx.params.require_string("scheduler", "a1111");
  const auto& s = settle_sampler(
      ctx, sampler_name, "AUTOMATIC1111/Forge", [](const EngineSampler& x) { return x.a1111.has_value(); },
      [](const EngineSampler& x) { return *x.a1111; });
  const auto* sch = ctx.vocabulary.scheduler(scheduler_name);
  if (!sch)
    throw invalid(fmt::format("The scheduler \"{}\" is not a canonical scheduler of the vocabulary.", scheduler_name));
  const EngineScheduler* cur = sch;
  for (int hops = 0; hops < 16 && cur && !cur->a1111; ++hops) cur = ctx.vocabulary.scheduler(cur->substitute);
  if (!cur || !cur->a1111)
    throw invalid(fmt::format("The scheduler \"{}\" has no AUTOMATIC1111/Forge schedule type and no substitute.", scheduler_name));
  if (cur != sch) {
    if (!ctx.options.allow_substitute)
      refuse_name("scheduler", scheduler_name, "AUTOMATIC1111/Forge", cur->name, *cur->a1111, sch->note);
    ctx.substitutions.push_back({"scheduler", scheduler_name, cur->name,
                                 fmt::format("AUTOMATIC1111/Forge has no \"{}\" schedule{}; \"{}\" is the documented nearest.",
                                             scheduler_name, sch->note.empty() ? "" : " (" + sch->note + ")", cur->name)});
  }
  return {*s.a1111, *cur->a1111};
}

DiffusersSchedulerChoice diffusers_scheduler(ExportContext& ctx, bool flow) {
  const auto sampler_name = ctx.params.require_string("sampler", "diffusers");
  const auto scheduler_name = ctx.params.require_string("scheduler", "diffusers");
  const EngineSampler* s = nullptr;
  if (flow) {
    s = ctx.vocabulary.sampler(sampler_name);
    if (!s) throw invalid(fmt::format("The sampler \"{}\" is not a canonical sampler of the vocabulary.", sampler_name));
    if (!s->diffusers_flow) {
      const auto* sub = ctx.vocabulary.sampler(ctx.vocabulary.flow_substitute());
      if (!ctx.options.allow_substitute)
        refuse_name("sampler", sampler_name, "diffusers for flow-matching models", sub->name,
                    sub->diffusers_flow->class_name, "diffusers has no flow-matching form of it");
      ctx.substitutions.push_back(
          {"sampler", sampler_name, sub->name,
           fmt::format("diffusers has no flow-matching scheduler for \"{}\"; \"{}\" ({}) is the documented nearest.",
                       sampler_name, sub->name, sub->diffusers_flow->class_name)});
      s = sub;
    }
  } else {
    s = &settle_sampler(
        ctx, sampler_name, "diffusers", [](const EngineSampler& x) { return x.diffusers.has_value(); },
        [](const EngineSampler& x) { return x.diffusers->class_name; });
  }
  const auto& d = flow ? *s->diffusers_flow : *s->diffusers;
  DiffusersSchedulerChoice choice{d.class_name, d.config, d.shift_key};

  // The schedule: the class must be able to express it.
  const auto* sch = ctx.vocabulary.scheduler(scheduler_name);
  if (!sch) throw invalid(fmt::format("The scheduler \"{}\" is not a canonical scheduler of the vocabulary.", scheduler_name));
  auto config_of = [flow](const EngineScheduler& x) { return flow ? x.diffusers_flow : x.diffusers; };
  auto expressible = [&](const EngineScheduler& x) {
    return config_of(x).has_value() && std::find(d.schedules.begin(), d.schedules.end(), x.name) != d.schedules.end();
  };
  const EngineScheduler* cur = sch;
  if (!expressible(*cur)) {
    // The documented substitute, else the class's first schedule (its default).
    const EngineScheduler* sub = cur->substitute.empty() ? nullptr : ctx.vocabulary.scheduler(cur->substitute);
    if (!sub || !expressible(*sub)) sub = ctx.vocabulary.scheduler(d.schedules.front());
    const auto why = fmt::format("{} cannot use the \"{}\" schedule{}", d.class_name, scheduler_name,
                                 sch->note.empty() ? "" : " (" + sch->note + ")");
    if (!ctx.options.allow_substitute)
      throw invalid(fmt::format("The scheduler \"{}\" has no equivalent in diffusers: {}. Allow substitution "
                                "(--allow-substitute, or allow_substitute=true over HTTP) to use \"{}\", or store a "
                                "scheduler it supports: {}.",
                                scheduler_name, why, sub->name, detail::join(d.schedules)));
    ctx.substitutions.push_back({"scheduler", scheduler_name, sub->name, why + fmt::format("; \"{}\" is used.", sub->name)});
    cur = sub;
  }
  const auto schedule_config = *config_of(*cur);
  for (const auto& [k, v] : schedule_config.items()) choice.config[k] = v;
  return choice;
}

std::string file_stem(std::string_view file) {
  if (auto slash = file.find_last_of("/\\"); slash != std::string_view::npos) file.remove_prefix(slash + 1);
  for (std::string_view ext : {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft"})
    if (file.size() > ext.size() && file.substr(file.size() - ext.size()) == ext) {
      file.remove_suffix(ext.size());
      break;
    }
  return std::string(file);
}

std::string python_float(double v) {
  if (std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 1e16) return fmt::format("{:.1f}", v);
  // Shortest round-trip form, as Python's repr.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : fmt::format("{}", v);
}

}  // namespace interop
}  // namespace inferconf
