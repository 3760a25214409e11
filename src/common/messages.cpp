#include "common/messages.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/field_reader.hpp"
#include "common/text.hpp"

namespace inferconf::detail {

std::string quoted(std::string_view given) { return describe_value(nlohmann::json(std::string(given))); }

std::string unknown_configuration_type_detail(std::string_view given, const std::vector<std::string>& known) {
  return fmt::format("is {}, which is not a configuration type; allowed: {}.", detail::quoted(given), join(known));
}

Error unknown_configuration_type(std::string_view field, std::string_view given, const std::vector<std::string>& known) {
  std::string message = fmt::format("{} {} is not known; use one of: {}.", field, detail::quoted(given), join(known));
  return invalid(std::move(message), {{std::string(field), unknown_configuration_type_detail(given, known)}});
}

}  // namespace inferconf::detail
