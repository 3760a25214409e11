// Resolution: catalogue preset < the model's stored configuration < overrides.
#include <fmt/format.h>

#include "common/messages.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/service.hpp"

namespace inferconf {

namespace {

constexpr std::string_view kCoreKeys[] = {"steps", "cfg_scale", "sampler", "scheduler"};

bool is_core_key(std::string_view key) {
  for (auto k : kCoreKeys)
    if (k == key) return true;
  return false;
}

// Layers one source's values over the parameters, remembering who gave each.
void overlay(ResolvedParameters& out, const nlohmann::json& values, const char* source) {
  for (const auto& [key, value] : values.items()) {
    if (value.is_null()) {  // an override of null removes a model-specific parameter
      out.parameters.erase(key);
      out.sources.erase(key);
      continue;
    }
    out.parameters[key] = value;
    out.sources[key] = source;
  }
}

nlohmann::json flat(int steps, double cfg_scale, const std::string& sampler, const std::string& scheduler,
                    const nlohmann::json& model_specific_params) {
  nlohmann::json j = model_specific_params.is_object() ? model_specific_params : nlohmann::json::object();
  j["steps"] = steps;
  j["cfg_scale"] = cfg_scale;
  j["sampler"] = sampler;
  j["scheduler"] = scheduler;
  return j;
}

}  // namespace

void to_json(nlohmann::json& j, const ResolvedParameters& r) {
  j = nlohmann::json{{"model_id", r.model_id},
                     {"configuration_type", r.configuration_type},
                     {"base_model", r.base_model},
                     {"variant", r.variant.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.variant)},
                     {"configuration_id", r.configuration_id ? nlohmann::json(*r.configuration_id) : nlohmann::json(nullptr)},
                     {"revision", r.revision ? nlohmann::json(*r.revision) : nlohmann::json(nullptr)},
                     {"parameters", r.parameters},
                     {"sources", r.sources}};
  auto& problems = j["problems"] = nlohmann::json::array();
  for (const auto& p : r.problems) problems.push_back({{"field", p.field}, {"message", p.message}});
  j["unknown_params"] = r.unknown_params;
  auto& notes = j["notes"] = nlohmann::json::array();
  for (const auto& n : r.notes) notes.push_back({{"field", n.field}, {"message", n.message}});
  auto& normalised = j["normalised"] = nlohmann::json::array();
  for (const auto& n : r.normalised)
    normalised.push_back({{"field", n.field}, {"given", n.given}, {"canonical", n.canonical}});
}

ResolvedParameters Resolver::resolve(const ResolveRequest& request) const {
  if (request.model_id.empty()) throw invalid("model_id is required to resolve parameters.", {{"model_id", "is required but missing."}});
  if (!catalog_.has_type(request.configuration_type))
    throw detail::unknown_configuration_type("configuration_type", request.configuration_type,
                                             detail::ids_of(catalog_.configuration_types()));
  if (!request.overrides.is_object())
    throw invalid("overrides must be a JSON object of parameter names to values.",
                  {{"overrides", "must be a JSON object."}});

  ResolvedParameters out;
  out.model_id = request.model_id;
  out.configuration_type = request.configuration_type;

  const auto stored = store_.find_by_model_and_type(request.model_id, request.configuration_type);
  std::string base;
  std::string base_variant;  // a variant implied by a registry label ("Wan Video 2.2 TI2V-5B")
  std::optional<ModelRecord> record;
  if (stored) {
    base = stored->base_model;
  } else {
    record = store_.get_model(request.model_id);
    if (record && record->base_model)
      base = *record->base_model;
    else if (request.base_model)
      base = *request.base_model;
  }
  if (request.base_model && stored && *request.base_model != stored->base_model) {
    // The stored configuration is authoritative; say so rather than mixing architectures.
    out.problems.push_back({"base_model", fmt::format("is \"{}\", but the model's stored {} configuration is for \"{}\"; "
                                                      "the stored base model was used.",
                                                      *request.base_model, request.configuration_type, stored->base_model)});
  }
  if (base.empty())
    throw not_found(fmt::format(
        "Model \"{}\" has no {} configuration and its base model is unknown; store a configuration, import the model "
        "into the registry with a base_model, or pass a base model explicitly.",
        request.model_id, request.configuration_type));
  const BaseModelSpec* spec = catalog_.find(base);
  if (!spec && !stored) {
    // Registries hold labels such as Civitai's "SDXL 1.0" or "Flux.1 D": normalise them.
    const auto verdict = detect::infer_from_label(*detect::default_rules(), base);
    if (verdict.matched()) {
      spec = catalog_.find(verdict.base_model);
      if (verdict.variant && !request.variant) base_variant = *verdict.variant;
    }
  }
  if (!spec)
    throw invalid(fmt::format("Base model \"{}\" is not in the catalogue; see `inferconf catalog` for the known ones.", base),
                  {{"base_model", fmt::format("is \"{}\", which the catalogue does not define.", base)}});
  out.base_model = spec->id;

  std::string variant = request.variant.value_or(base_variant);
  // A stored configuration records its variant in model_specific_params; a
  // registry record may name it in its metadata.
  const nlohmann::json* variant_source = stored ? &stored->model_specific_params : record ? &record->metadata : nullptr;
  if (variant.empty() && variant_source) {
    if (auto it = variant_source->find("variant"); it != variant_source->end() && it->is_string())
      variant = it->get<std::string>();
  }
  if (!variant.empty() && !spec->find_variant(variant)) {
    std::string allowed;
    for (const auto& v : spec->variants) allowed += (allowed.empty() ? "" : ", ") + v.id;
    throw invalid(fmt::format("Variant \"{}\" is not known for {}; known variants: {}.", variant, spec->id,
                              allowed.empty() ? "none" : allowed),
                  {{"variant", fmt::format("is \"{}\"; allowed: {}.", variant, allowed.empty() ? "none" : allowed)}});
  }
  out.variant = variant;

  const Preset* preset = spec->preset(request.configuration_type, variant);
  if (preset)
    overlay(out, flat(preset->steps, preset->cfg_scale, preset->sampler, preset->scheduler, preset->model_specific_params),
            kSourceBaseModel);
  if (stored) {
    overlay(out, flat(stored->steps, stored->cfg_scale, stored->sampler, stored->scheduler, stored->model_specific_params),
            kSourceModel);
    out.configuration_id = stored->id;
    out.revision = stored->revision;
  }
  if (!preset && !stored)
    throw not_found(fmt::format("Neither model \"{}\" nor base model {} has a {} preset.", request.model_id, spec->id,
                                request.configuration_type));
  overlay(out, request.overrides, kSourceOverride);

  // Check the result against the architecture: problems can only come from the
  // overrides (stored documents and presets were validated when written).
  CreateDTO check;
  check.model_id = out.model_id;
  check.base_model = out.base_model;
  check.configuration_type = out.configuration_type;
  check.model_specific_params = nlohmann::json::object();
  std::vector<FieldError> type_errors;
  for (const auto& [key, value] : out.parameters.items()) {
    if (!is_core_key(key)) {
      check.model_specific_params[key] = value;
      continue;
    }
    const bool ok = (key == "steps" && value.is_number_integer()) || (key == "cfg_scale" && value.is_number()) ||
                    ((key == "sampler" || key == "scheduler") && value.is_string());
    if (!ok) {
      type_errors.push_back({"overrides." + key, fmt::format("must be {}, but it is {}.",
                                                             key == "steps"       ? "an integer"
                                                             : key == "cfg_scale" ? "a number"
                                                                                  : "a string",
                                                             value.dump())});
      continue;
    }
    if (key == "steps") check.steps = value.get<int>();
    if (key == "cfg_scale") check.cfg_scale = value.get<double>();
    if (key == "sampler") check.sampler = value.get<std::string>();
    if (key == "scheduler") check.scheduler = value.get<std::string>();
  }
  Validator validator(catalog_);
  auto report = validator.validate(check, variant);
  for (auto& e : type_errors) out.problems.push_back(std::move(e));
  for (auto& e : report.errors) {
    // Report against the name the caller used: overrides are flat.
    std::string key = e.field;
    if (key.starts_with("model_specific_params.")) key = key.substr(22);
    if (auto src = out.sources.find(key); src != out.sources.end() && src->second == kSourceOverride)
      e.field = "overrides." + key;
    out.problems.push_back(std::move(e));
  }
  // An override the architecture does not have is passed through (an engine
  // may still read it), but never silently: a note, or a problem when strict.
  const std::string who = variant.empty() ? out.base_model : fmt::format("{}/{}", out.base_model, variant);
  for (const auto& key : report.unknown_params) {
    auto src = out.sources.find(key);
    if (src == out.sources.end() || src->second != kSourceOverride) continue;
    if (request.strict) {
      out.problems.push_back({"overrides." + key,
                              fmt::format("is not a parameter of {}; a strict request allows only the parameters the "
                                          "catalogue defines for it (see `inferconf catalog {}`).",
                                          who, out.base_model)});
      continue;
    }
    out.unknown_params.push_back(key);
    out.notes.push_back({"overrides." + key,
                         fmt::format("is not a parameter of {}; it was passed through as given, unchecked (a strict "
                                     "request makes this an error).",
                                     who)});
  }
  // Aliases in the overrides resolve to canonical names, and the answer says so.
  if (out.parameters["sampler"].is_string()) out.parameters["sampler"] = check.sampler;
  if (out.parameters["scheduler"].is_string()) out.parameters["scheduler"] = check.scheduler;
  for (auto& n : report.normalised) {
    if (auto src = out.sources.find(n.field); src != out.sources.end() && src->second == kSourceOverride)
      n.field = "overrides." + n.field;
    out.normalised.push_back(std::move(n));
  }
  return out;
}

}  // namespace inferconf
