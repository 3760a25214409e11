// Reading constraints and model_specific_params rules from base_models.json.
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "catalog/catalog_io.hpp"
#include "catalog/checks.hpp"
#include "common/field_reader.hpp"

namespace inferconf::detail {

namespace {

std::string at(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

bool is_rule_type(const std::string& t) { return t == "integer" || t == "number" || t == "string" || t == "boolean"; }

}  // namespace

std::optional<Range> read_range(const nlohmann::json& j, const std::string& path, bool integers,
                                std::vector<FieldError>& errors) {
  const auto before = errors.size();
  FieldReader r(j, path, errors);
  r.reject_unknown({"min", "max"});
  std::optional<double> min, max;
  if (integers) {
    if (auto v = r.integer("min", true)) min = *v;
    if (auto v = r.integer("max", true)) max = *v;
  } else {
    min = r.number("min", true);
    max = r.number("max", true);
  }
  if (min && max && *min > *max)
    errors.push_back({path, fmt::format("has min {} above max {}; min must not exceed max.", format_number(*min),
                                        format_number(*max))});
  if (errors.size() != before || !min || !max) return std::nullopt;
  return Range{*min, *max};
}

std::optional<ParamRule> read_rule(const nlohmann::json& j, const std::string& path, std::vector<FieldError>& errors) {
  const auto before = errors.size();
  FieldReader r(j, path, errors);
  r.reject_unknown({"type", "min", "max", "multiple_of", "modulo", "remainder", "allowed", "description"});
  if (!r.is_object()) return std::nullopt;
  ParamRule rule;
  if (auto t = r.string("type", true)) {
    rule.type = *t;
    if (!is_rule_type(rule.type)) {
      r.error("type", fmt::format("is \"{}\", but the allowed types are integer, number, string and boolean.", *t));
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (auto d = r.string("description", true, 1000)) rule.description = *d;
  const bool numeric = rule.type == "integer" || rule.type == "number";
  const bool integer = rule.type == "integer";
  auto only_for = [&](std::string_view key, bool allowed, std::string_view types) {
    if (r.has(key) && !allowed)
      r.error(key, fmt::format("applies only to {} parameters, but this one is {}.", types, rule.type));
    return r.has(key) && allowed;
  };
  const bool has_min = only_for("min", numeric, "integer and number");
  const bool has_max = only_for("max", numeric, "integer and number");
  if (has_min || has_max) {
    // min and max come as a pair: a one-sided range would make messages like "allows 5 to inf".
    nlohmann::json pair = nlohmann::json::object();
    if (r.has("min")) pair["min"] = j["min"];
    if (r.has("max")) pair["max"] = j["max"];
    rule.range = read_range(pair, path, integer, errors);
  }
  if (only_for("multiple_of", integer, "integer")) {
    auto m = r.integer("multiple_of", true);
    if (m && *m < 2) r.error("multiple_of", fmt::format("is {}, but it must be 2 or more.", *m));
    else if (m) rule.multiple_of = *m;
  }
  if (only_for("modulo", integer, "integer")) {
    auto m = r.integer("modulo", true);
    auto rem = r.integer("remainder", true);
    if (m && *m < 2) r.error("modulo", fmt::format("is {}, but it must be 2 or more.", *m));
    if (m && rem && (*rem < 0 || *rem >= *m))
      r.error("remainder", fmt::format("is {}, but with modulo {} it must be 0 to {}.", *rem, *m, *m - 1));
    if (m && rem && *m >= 2 && *rem >= 0 && *rem < *m) {
      rule.modulo = *m;
      rule.remainder = *rem;
    }
  } else if (r.has("remainder")) {
    r.error("remainder", "needs modulo: the rule is value % modulo == remainder.");
  }
  if (r.has("allowed")) {
    const auto& allowed = j["allowed"];
    if (!allowed.is_array() || allowed.empty()) {
      r.error("allowed", fmt::format("must be a non-empty array of {} values, but it is {}.", rule.type,
                                     describe_value(allowed)));
    } else {
      // Each allowed value must pass the rule's own other checks.
      ParamRule without_list = rule;
      for (std::size_t i = 0; i < allowed.size(); ++i) {
        if (auto problem = check_param(without_list, "this rule", allowed[i]))
          errors.push_back({fmt::format("{}.allowed[{}]", path, i), *problem});
        else
          rule.allowed.push_back(allowed[i]);
      }
    }
  }
  if (errors.size() != before) return std::nullopt;
  return rule;
}

namespace {

void read_params(const nlohmann::json& j, const std::string& path, std::map<std::string, ParamRule>& params,
                 std::vector<FieldError>& errors) {
  if (!j.is_object()) {
    errors.push_back({path, fmt::format("must be an object mapping a parameter name to its rule, but it is {}.",
                                        json_type_name(j))});
    return;
  }
  for (const auto& [key, value] : j.items())
    if (auto rule = read_rule(value, at(path, key), errors)) params[key] = std::move(*rule);
}

// How a model is guided and what it predicts decide what its presets mean, so
// an unknown word here would silently mean nothing: it is refused with the list.
constexpr std::string_view kGuidanceKinds[] = {"cfg", "distilled", "embedded", "none", "true_cfg"};
constexpr std::string_view kPredictionTypes[] = {"epsilon", "flow", "v_prediction"};
constexpr double kMaxShift = 100;

template <std::size_t N>
std::optional<std::string> read_word(FieldReader& r, std::string_view key, const std::string_view (&allowed)[N],
                                     std::string_view what) {
  auto v = r.string(key, false);
  if (!v) return std::nullopt;
  for (auto a : allowed)
    if (a == *v) return v;
  std::vector<std::string> names(std::begin(allowed), std::end(allowed));
  r.error(key, fmt::format("is \"{}\", which is not a {}; allowed: {}.", *v, what, join(names)));
  return std::nullopt;
}

// guidance_kind, prediction_type and shift, each optional, laid over c.
void read_model_kind(FieldReader& r, Constraints& c) {
  if (auto v = read_word(r, "guidance_kind", kGuidanceKinds, "guidance kind")) c.guidance_kind = *v;
  if (auto v = read_word(r, "prediction_type", kPredictionTypes, "prediction type")) c.prediction_type = *v;
  if (auto v = r.number("shift", false)) {
    if (!(*v > 0 && *v <= kMaxShift))
      r.error("shift", fmt::format("is {}, but a sampling shift is above 0 and at most {}.", format_number(*v),
                                   format_number(kMaxShift)));
    else
      c.shift = *v;
  }
}

// A shift moves a flow model's noise schedule; on an epsilon or v-prediction
// model it has no meaning, so declaring one there is a mistake in the data.
void check_model_kind(FieldReader& r, const Constraints& c) {
  if (c.shift && !c.prediction_type.empty() && c.prediction_type != "flow")
    r.error("shift", fmt::format("is {}, but prediction_type is {}: a sampling shift applies to flow models only; "
                                 "remove it or set prediction_type to flow.",
                                 format_number(*c.shift), c.prediction_type));
}

}  // namespace

Constraints read_constraints(const nlohmann::json& j, const std::string& path, std::vector<FieldError>& errors) {
  Constraints c;
  FieldReader r(j, path, errors);
  r.reject_unknown({"steps", "cfg_scale", "negative_prompt", "params", "guidance_kind", "prediction_type", "shift"});
  if (!r.is_object()) return c;
  read_model_kind(r, c);
  check_model_kind(r, c);
  if (!r.has("steps")) r.error("steps", "is required but missing; give {\"min\": 1, \"max\": ...}.");
  else if (auto range = read_range(j["steps"], at(path, "steps"), true, errors)) c.steps = *range;
  if (!r.has("cfg_scale")) r.error("cfg_scale", "is required but missing; give {\"min\": 1, \"max\": ...}.");
  else if (auto range = read_range(j["cfg_scale"], at(path, "cfg_scale"), false, errors)) c.cfg_scale = *range;
  if (c.steps.min < 1 && r.has("steps")) r.error("steps", "must start at 1 or more: a sampler needs at least one step.");
  if (auto b = r.boolean("negative_prompt", true)) c.negative_prompt = *b;
  if (r.has("params")) read_params(j["params"], at(path, "params"), c.params, errors);
  return c;
}

Constraints read_constraint_override(const nlohmann::json& j, const Constraints& base, const std::string& path,
                                     std::vector<FieldError>& errors) {
  Constraints c = base;
  FieldReader r(j, path, errors);
  r.reject_unknown({"steps", "cfg_scale", "negative_prompt", "params", "guidance_kind", "prediction_type", "shift"});
  if (!r.is_object()) return c;
  read_model_kind(r, c);
  check_model_kind(r, c);
  auto within = [&](std::string_view key, const Range& narrow, const Range& wide) {
    if (narrow.min < wide.min || narrow.max > wide.max)
      r.error(key, fmt::format("is {} to {}, but must stay within the base model's {} to {}.", format_number(narrow.min),
                               format_number(narrow.max), format_number(wide.min), format_number(wide.max)));
  };
  if (r.has("steps"))
    if (auto range = read_range(j["steps"], at(path, "steps"), true, errors)) {
      within("steps", *range, base.steps);
      c.steps = *range;
    }
  if (r.has("cfg_scale"))
    if (auto range = read_range(j["cfg_scale"], at(path, "cfg_scale"), false, errors)) {
      within("cfg_scale", *range, base.cfg_scale);
      c.cfg_scale = *range;
    }
  if (r.has("negative_prompt"))
    if (auto b = r.boolean("negative_prompt", true)) c.negative_prompt = *b;
  if (!r.has("params")) return c;
  const auto& params = j["params"];
  const auto params_path = at(path, "params");
  if (!params.is_object()) {
    errors.push_back({params_path, fmt::format("must be an object mapping a parameter name to its rule or null, but "
                                               "it is {}.",
                                               json_type_name(params))});
    return c;
  }
  for (const auto& [key, value] : params.items()) {
    const auto key_path = at(params_path, key);
    auto base_rule = base.params.find(key);
    if (base_rule == base.params.end()) {
      // A key the base does not know would be "unknown" when a document is
      // validated without its variant: declare it on the base model first.
      errors.push_back({key_path, "is not a parameter of the base model; declare its rule in the base model's "
                                  "constraints.params, then narrow it here."});
      continue;
    }
    if (value.is_null()) {
      c.params.erase(key);
      continue;
    }
    auto rule = read_rule(value, key_path, errors);
    if (!rule) continue;
    if (auto problem = rule_outside(*rule, base_rule->second)) {
      errors.push_back({key_path, std::move(*problem)});
      continue;
    }
    c.params[key] = std::move(*rule);
  }
  return c;
}

}  // namespace inferconf::detail
