// Resolution: catalogue preset < the model's stored configuration < overrides, in
// named steps: check the request, choose the base model and variant, layer the
// parameters, check the overrides.
#include <fmt/format.h>

#include "common/messages.hpp"
#include "inferconf/base_model_decision.hpp"
#include "inferconf/detect/names.hpp"
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

// The first step: the request itself is usable (a model, a known type, an
// object of overrides), before anything is read.
void check_request(const Catalog& catalog, const ResolveRequest& request) {
  if (request.model_id.empty()) throw invalid("model_id is required to resolve parameters.", {{"model_id", "is required but missing."}});
  if (!catalog.has_type(request.configuration_type))
    throw detail::unknown_configuration_type("configuration_type", request.configuration_type,
                                             detail::ids_of(catalog.configuration_types()));
  if (!request.overrides.is_object())
    throw invalid("overrides must be a JSON object of parameter names to values.",
                  {{"overrides", "must be a JSON object."}});
}

Error not_in_catalogue(const std::string& base) {
  return invalid(fmt::format("Base model \"{}\" is not in the catalogue; see `inferconf catalog` for the known ones.", base),
                 {{"base_model", fmt::format("is \"{}\", which the catalogue does not define.", base)}});
}

// What the parameters are layered on: the catalogue entry and variant whose
// preset is the bottom layer, and the model's stored configuration of the
// type, if it has one.
struct Choice {
  const BaseModelSpec* spec = nullptr;
  std::string variant;
  std::optional<InferenceConfiguration> stored;
};

// A base model the caller named (request.base_model): a catalogue id, or a
// registry label such as Civitai's "SDXL 1.0", which may imply a variant.
void choose_from_label(Choice& c, const Catalog& catalog, const detect::Rules& rules, const std::string& label) {
  c.spec = catalog.find(label);
  if (c.spec) return;
  const auto verdict = detect::infer_from_label(rules, label);
  if (verdict.matched()) c.spec = catalog.find(verdict.base_model);
  if (!c.spec) throw not_in_catalogue(label);
  if (verdict.variant) c.variant = *verdict.variant;
}

// The base model and variant, in order of authority: the stored configuration
// of the type (written for one architecture; a different request.base_model
// is a problem, not a switch), else the registry record, decided exactly as
// `populate` decides it (decide_base_model), else request.base_model. A
// variant in the request wins over the one decided.
Choice choose_base_model(const ResolverLookup& data, const Catalog& catalog, const detect::Rules& rules,
                         const ResolveRequest& request, ResolvedParameters& out) {
  Choice c;
  c.stored = request.as_of ? data.configuration_at(request.model_id, request.configuration_type, *request.as_of)
                           : data.find_by_model_and_type(request.model_id, request.configuration_type);
  std::string stored_variant;
  if (c.stored) {
    if (request.base_model && *request.base_model != c.stored->base_model) {
      out.problems.push_back({"base_model", fmt::format("is \"{}\", but the model's stored {} configuration is for \"{}\"; "
                                                        "the stored base model was used.",
                                                        *request.base_model, request.configuration_type,
                                                        c.stored->base_model)});
    }
    c.spec = catalog.find(c.stored->base_model);
    if (!c.spec) throw not_in_catalogue(c.stored->base_model);
    // A stored configuration records its variant in model_specific_params.
    const auto& params = c.stored->model_specific_params;
    if (auto it = params.find("variant"); it != params.end() && it->is_string()) stored_variant = it->get<std::string>();
  } else if (const auto record = data.get_model(request.model_id)) {
    DecidedBaseModel decided = decide_base_model(catalog, rules, *record);
    if (decided.decided()) {
      c.spec = decided.spec;
      c.variant = decided.variant;
      if (!decided.note.empty() && !request.variant) out.notes.push_back({"variant", decided.note});
    } else if (request.base_model && !request.base_model->empty()) {
      choose_from_label(c, catalog, rules, *request.base_model);
    } else if (record->base_model && !record->base_model->empty()) {
      throw not_in_catalogue(*record->base_model);
    } else {
      throw not_found(fmt::format(
          "Model \"{}\" has no {} configuration and its base model is unknown ({}); store a configuration, import "
          "the model into the registry with a base_model, or pass a base model explicitly.",
          request.model_id, request.configuration_type, decided.reason));
    }
  } else if (request.base_model && !request.base_model->empty()) {
    choose_from_label(c, catalog, rules, *request.base_model);
  } else {
    throw not_found(fmt::format(
        "Model \"{}\" has no {} configuration and its base model is unknown; store a configuration, import the model "
        "into the registry with a base_model, or pass a base model explicitly.",
        request.model_id, request.configuration_type));
  }
  if (request.variant) c.variant = *request.variant;
  else if (c.stored) c.variant = stored_variant;
  if (!c.variant.empty() && !c.spec->find_variant(c.variant)) {
    std::string allowed;
    for (const auto& v : c.spec->variants) allowed += (allowed.empty() ? "" : ", ") + v.id;
    throw invalid(fmt::format("Variant \"{}\" is not known for {}; known variants: {}.", c.variant, c.spec->id,
                              allowed.empty() ? "none" : allowed),
                  {{"variant", fmt::format("is \"{}\"; allowed: {}.", c.variant, allowed.empty() ? "none" : allowed)}});
  }
  return c;
}

// The layers, bottom to top: the catalogue preset of the base model (and
// variant), the stored configuration, the request's overrides. Each value
// remembers its source.
void layer_parameters(const Choice& c, const ResolveRequest& request, ResolvedParameters& out) {
  const Preset* preset = c.spec->preset(request.configuration_type, c.variant);
  if (preset)
    overlay(out, flat(preset->steps, preset->cfg_scale, preset->sampler, preset->scheduler, preset->model_specific_params),
            kSourceBaseModel);
  if (c.stored) {
    overlay(out, flat(c.stored->steps, c.stored->cfg_scale, c.stored->sampler, c.stored->scheduler,
                      c.stored->model_specific_params),
            kSourceModel);
    out.configuration_id = c.stored->id;
    out.revision = c.stored->revision;
  }
  if (!preset && !c.stored)
    throw not_found(fmt::format("Neither model \"{}\" nor base model {} has a {} preset.", request.model_id, c.spec->id,
                                request.configuration_type));
  overlay(out, request.overrides, kSourceOverride);
}

// The last step: the layered result checked against the architecture.
// Problems can only come from the overrides (stored documents and presets were
// validated when written); they are reported, not thrown, and an override the
// architecture does not have is passed through with a note (a problem when
// strict). Aliases in the overrides become canonical names.
void check_overrides(const Catalog& catalog, const ResolveRequest& request, const std::string& variant,
                     ResolvedParameters& out) {
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
  Validator validator(catalog);
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
}

// The profile a request names: a shipped one by id, or its inline profile.
const HardwareProfile& requested_profile(const HardwareCatalog& hardware, const HardwareRequest& request) {
  if (request.profile) return *request.profile;
  if (const auto* p = hardware.find_profile(request.name)) return *p;
  throw invalid(fmt::format("Hardware profile \"{}\" is not shipped; use one of {}, or give a profile object "
                            "({{\"vram_gb\", \"system_ram_gb\", \"compute_capability\", \"count\"}}).",
                            request.name, hardware.profile_ids()),
                {{"hardware", fmt::format("is \"{}\", which is not a shipped profile; allowed: {}, or an object.",
                                          request.name, hardware.profile_ids())}});
}

// The resolved size: the parameters' width, height and video_frames, else
// the base model's first native resolution.
Workload workload_of(const BaseModelSpec& spec, const ResolvedParameters& out) {
  Workload w;
  auto integer = [&](const char* key, int fallback) {
    auto it = out.parameters.find(key);
    return it != out.parameters.end() && it->is_number_integer() ? it->get<int>() : fallback;
  };
  const auto native = spec.native_resolutions.empty() ? std::pair{1024, 1024} : spec.native_resolutions.front();
  w.width = integer("width", native.first);
  w.height = integer("height", native.second);
  w.frames = spec.modality == "video" ? integer("video_frames", 81) : 1;
  return w;
}

// The last step, with a hardware profile: plan the run and lower what must
// be lowered, each lowered value with its source and a note.
void plan_for_hardware(const HardwareCatalog* hardware, const ResolveRequest& request,
                       const Choice& choice, ResolvedParameters& out) {
  if (!hardware)
    throw unavailable("This inferconf has no hardware catalogue (hardware.json in the catalogue folder), so it cannot "
                      "plan for hardware; resolve without \"hardware\" or use a catalogue that has one.");
  const HardwareProfile& profile = requested_profile(*hardware, *request.hardware);
  if (!out.problems.empty()) return;
  HardwarePlanner planner(*hardware);
  HardwarePlan plan = planner.plan(*choice.spec, choice.variant, profile, workload_of(*choice.spec, out));
  for (const auto& a : plan.adjustments) {
    out.parameters[a.parameter] = a.to;
    out.sources[a.parameter] = kSourceHardwarePrefix + profile.id;
    out.notes.push_back({a.parameter, fmt::format("was {}; {}", a.from, a.note)});
  }
  out.hardware = std::move(plan);
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
  // Only a request with hardware has the member: answers without stay as they were.
  if (r.hardware) j["hardware"] = *r.hardware;
}

ResolvedParameters Resolver::resolve(const ResolveRequest& request) const {
  check_request(catalog_, request);
  ResolvedParameters out;
  out.model_id = request.model_id;
  out.configuration_type = request.configuration_type;
  const Choice choice = choose_base_model(data_, catalog_, rules_, request, out);
  out.base_model = choice.spec->id;
  out.variant = choice.variant;
  layer_parameters(choice, request, out);
  check_overrides(catalog_, request, choice.variant, out);
  if (request.hardware) plan_for_hardware(hardware_, request, choice, out);
  return out;
}

}  // namespace inferconf
