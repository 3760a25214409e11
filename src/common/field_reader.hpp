// Reads the fields of one JSON object strictly, collecting every problem
// (field path, value received, what is allowed) instead of stopping at the first.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/error.hpp"

namespace inferconf::detail {

// A short rendering of a received value for messages: "\"abc\"", "12", "an array of 3 items".
std::string describe_value(const nlohmann::json& v);
std::string json_type_name(const nlohmann::json& v);

class FieldReader {
 public:
  // prefix: the path of this object inside the document ("" at the top).
  FieldReader(const nlohmann::json& object, std::string prefix, std::vector<FieldError>& errors);

  // False (and an error recorded) when the value is not a JSON object.
  bool is_object() const { return is_object_; }
  // Records an error for every key not in allowed.
  void reject_unknown(std::initializer_list<std::string_view> allowed);
  // Records "cannot be changed" for every present key in immutable.
  void reject_present(std::initializer_list<std::string_view> immutable, std::string_view why);

  bool has(std::string_view key) const;
  std::optional<std::string> string(std::string_view key, bool required, std::size_t max_length = 256);
  std::optional<int> integer(std::string_view key, bool required);
  std::optional<std::int64_t> integer64(std::string_view key, bool required);
  std::optional<double> number(std::string_view key, bool required);
  std::optional<bool> boolean(std::string_view key, bool required);
  std::optional<nlohmann::json> object(std::string_view key, bool required);

  std::string path(std::string_view key) const;
  void error(std::string_view key, std::string message);

 private:
  const nlohmann::json* find(std::string_view key, bool required);

  const nlohmann::json& object_;
  std::string prefix_;
  std::vector<FieldError>& errors_;
  bool is_object_;
};

}  // namespace inferconf::detail
