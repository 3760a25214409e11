// Reading and writing the parts of base_models.json. Readers collect every
// problem (JSON path relative to the file, value, what is allowed) instead of
// stopping at the first; writers produce exactly what the readers accept, so
// Catalog::from_json(catalog.to_json(), ...) gives the same catalogue back.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"

namespace inferconf::detail {

// The text of a file of the catalogue folder. Throws Error(kUnavailable)
// naming the file and why it cannot be read (and where the folder is set).
std::string read_catalogue_file(const std::filesystem::path& path);

// {"min": a, "max": b}; integers only when `integers`.
std::optional<Range> read_range(const nlohmann::json& j, const std::string& path, bool integers,
                                std::vector<FieldError>& errors);
std::optional<ParamRule> read_rule(const nlohmann::json& j, const std::string& path, std::vector<FieldError>& errors);
// A base model's constraints: steps, cfg_scale and negative_prompt required, params optional.
Constraints read_constraints(const nlohmann::json& j, const std::string& path, std::vector<FieldError>& errors);
// A variant's constraints: every member optional and laid over the base's;
// params per key (null removes the base's rule). Each rule must stay within the
// base's, so a document valid for a variant is valid for its base model.
Constraints read_constraint_override(const nlohmann::json& j, const Constraints& base, const std::string& path,
                                     std::vector<FieldError>& errors);

nlohmann::json to_json(const Range& r, bool integers);
nlohmann::json to_json(const ParamRule& rule);
nlohmann::json to_json(const Constraints& c);
nlohmann::json to_json(const Preset& p);
// What read_constraint_override needs to turn base into variant.
nlohmann::json constraint_override(const Constraints& variant, const Constraints& base);

}  // namespace inferconf::detail
