// Checks of values against a base model's constraints, shared by the
// Validator (user documents) and the catalogue loader (shipped presets), so a
// preset is held to exactly the rules a user's document is.
//
// Messages follow the FieldError convention: they continue the field path
// ("steps" + " " + "is 200, but sdxl allows 1 to 150.").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/text.hpp"
#include "inferconf/catalog.hpp"

namespace inferconf::detail {

// Problems of steps / cfg_scale against c; `who` names the architecture
// ("sdxl", "wan_2_2/ti2v_5b").
std::optional<std::string> check_steps(const Constraints& c, std::string_view who, double steps);
std::optional<std::string> check_cfg_scale(const Constraints& c, std::string_view who, double cfg_scale);

// Problem of one model_specific_params value against its rule, or nullopt.
std::optional<std::string> check_param(const ParamRule& rule, std::string_view who, const nlohmann::json& value);

// Checks every key of params (an object) that c knows; appends a FieldError at
// path_prefix + "." + key for each problem, and each key c does not know to
// unknown (when given).
void check_params(const Constraints& c, std::string_view who, const nlohmann::json& params,
                  std::string_view path_prefix, std::vector<FieldError>& errors,
                  std::vector<std::string>* unknown);

// Why `narrow` accepts a value `wide` rejects (a variant's rule must stay within
// its base's so a document valid for the variant is valid for the base), or nullopt.
std::optional<std::string> rule_outside(const ParamRule& narrow, const ParamRule& wide);

}  // namespace inferconf::detail
