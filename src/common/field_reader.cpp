#include "common/field_reader.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace inferconf::detail {

std::string json_type_name(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

std::string describe_value(const nlohmann::json& v) {
  if (v.is_array()) return fmt::format("an array of {} items", v.size());
  if (v.is_object()) return fmt::format("an object with {} keys", v.size());
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

FieldReader::FieldReader(const nlohmann::json& object, std::string prefix, std::vector<FieldError>& errors)
    : object_(object), prefix_(std::move(prefix)), errors_(errors), is_object_(object.is_object()) {
  if (!is_object_) {
    errors_.push_back({prefix_.empty() ? "$" : prefix_,
                       fmt::format("must be a JSON object, but it is {}.", json_type_name(object))});
  }
}

std::string FieldReader::path(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
}

void FieldReader::error(std::string_view key, std::string message) { errors_.push_back({path(key), std::move(message)}); }

void FieldReader::reject_unknown(std::initializer_list<std::string_view> allowed) {
  if (!is_object_) return;
  for (const auto& [key, value] : object_.items()) {
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      error(key, fmt::format("is not a known field; the fields allowed here are: {}.", list));
    }
  }
}

void FieldReader::reject_present(std::initializer_list<std::string_view> immutable, std::string_view why) {
  if (!is_object_) return;
  for (auto key : immutable)
    if (object_.contains(key)) error(key, std::string(why));
}

bool FieldReader::has(std::string_view key) const { return is_object_ && object_.contains(key); }

const nlohmann::json* FieldReader::find(std::string_view key, bool required) {
  if (!is_object_) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end()) {
    if (required) error(key, "is required but missing.");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> FieldReader::string(std::string_view key, bool required, std::size_t max_length) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    error(key, fmt::format("must be a string, but it is {} ({}).", json_type_name(*v), describe_value(*v)));
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.empty()) {
    error(key, "must not be empty.");
    return std::nullopt;
  }
  if (s.size() > max_length) {
    error(key, fmt::format("is {} characters long; at most {} are allowed.", s.size(), max_length));
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> FieldReader::integer64(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      error(key, fmt::format("is {}, which is too large.", describe_value(*v)));
      return std::nullopt;
    }
    return v->get<std::int64_t>();
  }
  error(key, fmt::format("must be an integer, but it is {} ({}).", json_type_name(*v), describe_value(*v)));
  return std::nullopt;
}

std::optional<int> FieldReader::integer(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) {
    error(key, fmt::format("must be an integer, but it is {} ({}).", json_type_name(*v), describe_value(*v)));
    return std::nullopt;
  }
  const bool too_big = v->is_number_unsigned() ? v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT32_MAX)
                                               : (v->get<std::int64_t>() > INT32_MAX || v->get<std::int64_t>() < INT32_MIN);
  if (too_big) {
    error(key, fmt::format("is {}, which is outside the 32-bit integer range.", describe_value(*v)));
    return std::nullopt;
  }
  return v->get<int>();
}

std::optional<double> FieldReader::number(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    error(key, fmt::format("must be a number, but it is {} ({}).", json_type_name(*v), describe_value(*v)));
    return std::nullopt;
  }
  const double d = v->get<double>();
  if (!std::isfinite(d)) {
    error(key, "must be a finite number.");
    return std::nullopt;
  }
  return d;
}

std::optional<bool> FieldReader::boolean(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    error(key, fmt::format("must be true or false, but it is {} ({}).", json_type_name(*v), describe_value(*v)));
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<nlohmann::json> FieldReader::object(std::string_view key, bool required) {
  const auto* v = find(key, required);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    error(key, fmt::format("must be a JSON object, but it is {} ({}).", json_type_name(*v), describe_value(*v)));
    return std::nullopt;
  }
  return *v;
}

}  // namespace inferconf::detail
