// Messages that several layers give about the same mistake, worded once so a
// user reads the same sentence from the CLI, the HTTP API and the validator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "inferconf/error.hpp"

namespace inferconf::detail {

// The ids of a range of catalogue entries (anything with an `id` member), in order.
template <class Range>
std::vector<std::string> ids_of(const Range& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) ids.push_back(e.id);
  return ids;
}

// A received string as messages quote it: JSON-quoted, at most 80 characters.
std::string quoted(std::string_view given);

// Continues a field path: "is \"balanced\", which is not a configuration type;
// allowed: quality, speed."
std::string unknown_configuration_type_detail(std::string_view given, const std::vector<std::string>& known);

// Error(kInvalid) for a configuration type that a request or an option (field:
// "configuration_type", "--types", …) names and the catalogue does not declare:
// "configuration_type \"creative\" is not known; use one of: quality, speed.",
// with the field error of unknown_configuration_type_detail().
Error unknown_configuration_type(std::string_view field, std::string_view given, const std::vector<std::string>& known);

}  // namespace inferconf::detail
