// The catalogue as JSON, in base_models.json's own format.
#include <cmath>

#include "catalog/catalog_io.hpp"
#include "inferconf/catalog.hpp"

namespace inferconf {

namespace detail {

namespace {

// Integral bounds are written as integers, so "min": 1 does not become 1.0.
nlohmann::json number(double v, bool integer) {
  if (integer || (std::floor(v) == v && std::fabs(v) < 1e15)) return static_cast<long long>(v);
  return v;
}

}  // namespace

nlohmann::json to_json(const Range& r, bool integers) {
  return {{"min", number(r.min, integers)}, {"max", number(r.max, integers)}};
}

nlohmann::json to_json(const ParamRule& rule) {
  nlohmann::json j = {{"type", rule.type}};
  const bool integer = rule.type == "integer";
  if (rule.range) {
    j["min"] = number(rule.range->min, integer);
    j["max"] = number(rule.range->max, integer);
  }
  if (rule.multiple_of) j["multiple_of"] = *rule.multiple_of;
  if (rule.modulo) {
    j["modulo"] = *rule.modulo;
    j["remainder"] = rule.remainder;
  }
  if (!rule.allowed.empty()) j["allowed"] = rule.allowed;
  j["description"] = rule.description;
  return j;
}

nlohmann::json to_json(const Constraints& c) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [key, rule] : c.params) params[key] = to_json(rule);
  nlohmann::json j = {{"steps", to_json(c.steps, true)},
                      {"cfg_scale", to_json(c.cfg_scale, false)},
                      {"negative_prompt", c.negative_prompt},
                      {"params", params}};
  // Written only when declared, so a catalogue without them reads back as it was.
  if (!c.guidance_kind.empty()) j["guidance_kind"] = c.guidance_kind;
  if (!c.prediction_type.empty()) j["prediction_type"] = c.prediction_type;
  if (c.shift) j["shift"] = number(*c.shift, false);
  return j;
}

nlohmann::json to_json(const Preset& p) {
  return {{"steps", p.steps},         {"cfg_scale", p.cfg_scale},
          {"sampler", p.sampler},     {"scheduler", p.scheduler},
          {"model_specific_params", p.model_specific_params}, {"source", p.source}};
}

nlohmann::json constraint_override(const Constraints& variant, const Constraints& base) {
  nlohmann::json j = nlohmann::json::object();
  if (variant.steps.min != base.steps.min || variant.steps.max != base.steps.max)
    j["steps"] = to_json(variant.steps, true);
  if (variant.cfg_scale.min != base.cfg_scale.min || variant.cfg_scale.max != base.cfg_scale.max)
    j["cfg_scale"] = to_json(variant.cfg_scale, false);
  if (variant.negative_prompt != base.negative_prompt) j["negative_prompt"] = variant.negative_prompt;
  if (variant.guidance_kind != base.guidance_kind) j["guidance_kind"] = variant.guidance_kind;
  if (variant.prediction_type != base.prediction_type) j["prediction_type"] = variant.prediction_type;
  if (variant.shift != base.shift && variant.shift) j["shift"] = number(*variant.shift, false);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [key, rule] : base.params) {
    auto it = variant.params.find(key);
    if (it == variant.params.end()) params[key] = nullptr;
    else if (to_json(it->second) != to_json(rule)) params[key] = to_json(it->second);
  }
  if (!params.empty()) j["params"] = params;
  return j;
}

}  // namespace detail

nlohmann::json Catalog::to_json(const BaseModelSpec& b) const {
  nlohmann::json resolutions = nlohmann::json::array();
  for (const auto& [w, h] : b.native_resolutions) resolutions.push_back({w, h});
  nlohmann::json presets = nlohmann::json::object();
  for (const auto& [type, p] : b.presets) presets[type] = detail::to_json(p);
  nlohmann::json j = {{"id", b.id},
                      {"display_name", b.display_name},
                      {"family", b.family},
                      {"modality", b.modality},
                      {"native_resolutions", resolutions},
                      {"constraints", detail::to_json(b.constraints)},
                      {"presets", presets}};
  if (!b.variants.empty()) {
    auto& variants = j["variants"] = nlohmann::json::array();
    for (const auto& v : b.variants) {
      nlohmann::json vj = {{"id", v.id}, {"display_name", v.display_name}};
      if (!v.description.empty()) vj["description"] = v.description;
      if (v.constraints) vj["constraints"] = detail::constraint_override(*v.constraints, b.constraints);
      if (v.experts) vj["experts"] = *v.experts;
      if (!v.presets.empty()) {
        auto& vp = vj["presets"] = nlohmann::json::object();
        for (const auto& [type, p] : v.presets) vp[type] = detail::to_json(p);
      }
      variants.push_back(std::move(vj));
    }
  }
  if (!b.notes.empty()) j["notes"] = b.notes;
  if (!b.experts.empty()) j["experts"] = b.experts;
  return j;
}

nlohmann::json Catalog::to_json() const {
  nlohmann::json types = nlohmann::json::array();
  for (const auto& t : types_)
    types.push_back({{"id", t.id}, {"description", t.description}, {"populate", t.populate}});
  nlohmann::json bases = nlohmann::json::array();
  for (const auto& b : base_models_) bases.push_back(to_json(b));
  return {{"schema_version", 1}, {"configuration_types", types}, {"base_models", bases}};
}

}  // namespace inferconf
