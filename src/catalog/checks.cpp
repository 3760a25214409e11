#include "catalog/checks.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/field_reader.hpp"

namespace inferconf::detail {

namespace {

bool type_matches(std::string_view type, const nlohmann::json& v) {
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  return false;
}

std::string with_article(std::string_view type) {
  return type == "integer" ? "an integer" : fmt::format("a {}", type);
}

std::string because(const ParamRule& rule) {
  return rule.description.empty() ? "" : fmt::format(" ({})", rule.description);
}

// Floor modulo, so hints are right for negative values too.
long long floor_mod(long long v, long long m) { return ((v % m) + m) % m; }

// The in-range neighbours of v that satisfy the rule: "992 or 1008 would do".
std::string nearest_hint(const ParamRule& rule, long long below, long long above) {
  std::vector<std::string> hints;
  for (long long h : {below, above})
    if (!rule.range || rule.range->contains(static_cast<double>(h))) hints.push_back(std::to_string(h));
  if (hints.empty()) return "";
  return fmt::format("; {} would do", join(hints, " or "));
}

}  // namespace

std::optional<std::string> check_steps(const Constraints& c, std::string_view who, double steps) {
  if (c.steps.contains(steps)) return std::nullopt;
  if (c.steps.min == c.steps.max)
    return fmt::format("is {}, but {} allows only {}.", format_number(steps), who, format_number(c.steps.min));
  return fmt::format("is {}, but {} allows {} to {}.", format_number(steps), who, format_number(c.steps.min),
                     format_number(c.steps.max));
}

std::optional<std::string> check_cfg_scale(const Constraints& c, std::string_view who, double cfg_scale) {
  if (c.cfg_scale.contains(cfg_scale)) return std::nullopt;
  if (c.cfg_scale.min == c.cfg_scale.max && c.cfg_scale.min == 1)
    return fmt::format(
        "is {}, but {} allows only 1 (CFG off): the model is distilled to run without classifier-free guidance.",
        format_number(cfg_scale), who);
  if (c.cfg_scale.min == c.cfg_scale.max)
    return fmt::format("is {}, but {} allows only {}.", format_number(cfg_scale), who, format_number(c.cfg_scale.min));
  return fmt::format("is {}, but {} allows {} to {} (1 = CFG off).", format_number(cfg_scale), who,
                     format_number(c.cfg_scale.min), format_number(c.cfg_scale.max));
}

std::optional<std::string> check_param(const ParamRule& rule, std::string_view who, const nlohmann::json& value) {
  if (!type_matches(rule.type, value))
    return fmt::format("is {} ({}), but {} expects {} here{}.", describe_value(value), json_type_name(value), who,
                       with_article(rule.type), because(rule));
  if (!rule.allowed.empty()) {
    for (const auto& a : rule.allowed)
      if (a == value) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& a : rule.allowed) names.push_back(describe_value(a));
    return fmt::format("is {}, but {} allows only {}{}.", describe_value(value), who,
                       names.size() == 1 ? names[0] : "one of " + join(names), because(rule));
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (rule.range && !rule.range->contains(d))
      return fmt::format("is {}, but {} allows {} to {}{}.", describe_value(value), who,
                         format_number(rule.range->min), format_number(rule.range->max), because(rule));
  }
  if (value.is_number_integer() && (rule.multiple_of || rule.modulo)) {
    // Within the range (checked above), so the value fits a long long.
    const long long v = value.get<long long>();
    if (rule.multiple_of && floor_mod(v, *rule.multiple_of) != 0) {
      const long long below = v - floor_mod(v, *rule.multiple_of);
      return fmt::format("is {}, but {} needs a multiple of {}{}.", v, who, *rule.multiple_of,
                         nearest_hint(rule, below, below + *rule.multiple_of));
    }
    if (rule.modulo && floor_mod(v, *rule.modulo) != rule.remainder) {
      const long long below = v - floor_mod(v - rule.remainder, *rule.modulo);
      return fmt::format("is {}, but {} needs {}n+{}{}{}.", v, who, *rule.modulo, rule.remainder, because(rule),
                         nearest_hint(rule, below, below + *rule.modulo));
    }
  }
  return std::nullopt;
}

void check_params(const Constraints& c, std::string_view who, const nlohmann::json& params,
                  std::string_view path_prefix, std::vector<FieldError>& errors, std::vector<std::string>* unknown) {
  if (!params.is_object()) return;
  for (const auto& [key, value] : params.items()) {
    auto rule = c.params.find(key);
    if (rule == c.params.end()) {
      if (unknown) unknown->push_back(key);
      continue;
    }
    if (auto problem = check_param(rule->second, who, value))
      errors.push_back({fmt::format("{}.{}", path_prefix, key), std::move(*problem)});
  }
}

std::optional<std::string> rule_outside(const ParamRule& narrow, const ParamRule& wide) {
  if (narrow.type != wide.type)
    return fmt::format("has type {}, but the base model's rule has type {}.", narrow.type, wide.type);
  if (!narrow.allowed.empty()) {
    for (const auto& a : narrow.allowed)
      if (auto problem = check_param(wide, "the base model", a))
        return fmt::format("allows {}, which the base model's rule rejects: it {}", describe_value(a), *problem);
    return std::nullopt;
  }
  if (!wide.allowed.empty()) return "accepts a range of values, but the base model's rule allows only a list; give `allowed`.";
  if (wide.range && (!narrow.range || narrow.range->min < wide.range->min || narrow.range->max > wide.range->max))
    return fmt::format("must stay within the base model's {} to {}.", format_number(wide.range->min),
                       format_number(wide.range->max));
  if (wide.multiple_of && (!narrow.multiple_of || *narrow.multiple_of % *wide.multiple_of != 0))
    return fmt::format("must keep a multiple_of that is a multiple of the base model's {}.", *wide.multiple_of);
  if (wide.modulo && (narrow.modulo != wide.modulo || narrow.remainder != wide.remainder))
    return fmt::format("must keep the base model's rule {}n+{}.", *wide.modulo, wide.remainder);
  return std::nullopt;
}

}  // namespace inferconf::detail
