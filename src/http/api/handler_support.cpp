#include "http/api/handler_support.hpp"

#include <charconv>

#include <fmt/format.h>

#include "common/messages.hpp"
#include "http/api/problem.hpp"
#include "inferconf/json_text.hpp"
#include "inferconf/resolve_request.hpp"

namespace inferconf::http {

void check_key(std::string_view field, const std::string& value) {
  if (value.empty())
    throw invalid(fmt::format("{} is empty; give a value.", field), {{std::string(field), "is empty."}});
  if (value.size() > kMaxRequestKeyBytes)
    throw invalid(
        fmt::format("{} is {} bytes long; at most {} are allowed.", field, value.size(), kMaxRequestKeyBytes),
        {{std::string(field), fmt::format("is longer than {} bytes.", kMaxRequestKeyBytes)}});
}

void check_type(const Catalog& catalog, const std::string& type, std::string_view field) {
  if (!catalog.has_type(type))
    throw detail::unknown_configuration_type(field, type, detail::ids_of(catalog.configuration_types()));
}

std::size_t parse_limit(const std::string& text, std::size_t max, std::size_t default_limit) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > max)
    throw invalid(fmt::format("limit \"{}\" is not a whole number from 1 to {}.", text.substr(0, 40), max),
                  {{"limit", fmt::format("is \"{}\"; allowed: an integer from 1 to {} (default {}).",
                                         text.substr(0, 40), max, default_limit)}});
  return value;
}

Response not_a_uuid(const std::string& id) {
  return problem("invalid-parameter",
                 fmt::format("\"{}\" is not a configuration id; ids are UUIDs.", id.substr(0, 100)),
                 {{"id", "must be a UUID."}});
}

std::variant<nlohmann::json, Response> read_json(const std::string& body) {
  try {
    return parse_json_text(body, "the request body");
  } catch (const Error& e) {
    return problem("malformed-json", e.what(), e.field_errors());
  } catch (const nlohmann::json::exception&) {
    // Whatever the JSON reader lets through is still the client's mistake.
    return problem("malformed-json", "The request body could not be read as JSON: a value in it is out of range or "
                                     "cannot be represented; send numbers within the range of a double.");
  }
}

void append_items(std::string& out, const std::vector<DocRef>& items) {
  out += "{\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i]->body();
  }
  out += ']';
}

}  // namespace inferconf::http
