// The model registry: the seed's `database_models` collection, the models a
// platform serves. Population reads the active ones; resolve reads a model's
// base model from it.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/error.hpp"

namespace inferconf {

struct ModelRecord {
  std::string id;
  std::string name;
  bool is_active = true;
  std::optional<std::string> base_model;   // as the platform wrote it (may be an alias)
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<std::string> file_path;

  friend bool operator==(const ModelRecord&, const ModelRecord&) = default;
};

// Field names of a platform's registry documents. Defaults are the seed's.
struct RegistryFieldMap {
  std::string id = "id";
  std::string name = "name";
  std::string active = "is_active";
  nlohmann::json active_value = true;  // a record is active when its active field equals this
  std::string base_model = "base_model";
  std::string metadata = "metadata";
  std::string file_path = "file_path";
};

void to_json(nlohmann::json& j, const ModelRecord& m);
// Reads one registry document with a field map. Throws Error(kInvalid) naming
// the field, the value and what is allowed (missing id, wrong types...).
ModelRecord parse_model_record(const nlohmann::json& j, const RegistryFieldMap& map = {});

// Reads a JSON array or JSON Lines text of registry documents. Every bad
// record, and every id given twice, is reported (with its line or array
// index) in one Error(kInvalid); nothing is returned then.
std::vector<ModelRecord> parse_model_records(std::string_view text, const RegistryFieldMap& map = {});

// Streams a JSON Lines (or JSON array) registry export: calls on_record for
// each good record and on_error for each bad one, with its 1-based line (JSON
// Lines) or 0-based array index (JSON array), and goes on. Blank lines are
// skipped. Either form is read one record at a time: memory is that of the
// largest record, whatever the file's size. An array that is not well formed
// as a whole (no closing ']', text after it) is reported once through
// on_error with where == kWholeRegistryFile, after the items before the
// problem were handed out. What on_record throws propagates.
inline constexpr std::size_t kWholeRegistryFile = static_cast<std::size_t>(-1);
void read_model_records(std::istream& in, const RegistryFieldMap& map,
                        const std::function<void(ModelRecord&&, std::size_t where)>& on_record,
                        const std::function<void(std::size_t where, const Error&)>& on_error);

}  // namespace inferconf
