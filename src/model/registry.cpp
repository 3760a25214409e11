// Wire format of the model registry (`database_models`) and its import files.
#include <cctype>
#include <istream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "inferconf/dto.hpp"
#include "inferconf/registry.hpp"
#include "common/field_reader.hpp"
#include "inferconf/json_text.hpp"
#include "model/json_array_items.hpp"

namespace inferconf {

void to_json(nlohmann::json& j, const ModelRecord& m) {
  j = nlohmann::json{{"id", m.id}, {"name", m.name}, {"is_active", m.is_active}, {"metadata", m.metadata}};
  j["base_model"] = m.base_model ? nlohmann::json(*m.base_model) : nlohmann::json(nullptr);
  j["file_path"] = m.file_path ? nlohmann::json(*m.file_path) : nlohmann::json(nullptr);
}

ModelRecord parse_model_record(const nlohmann::json& j, const RegistryFieldMap& map) {
  std::vector<FieldError> errors;
  detail::FieldReader r(j, "", errors);
  ModelRecord m;
  if (r.is_object()) {
    // Platforms use string or numeric ids (and MongoDB's {"$oid": …} in extended JSON).
    auto it = j.find(map.id);
    if (it == j.end() || it->is_null()) {
      r.error(map.id, "is required: every model needs an id.");
    } else if (it->is_string() && !it->get_ref<const std::string&>().empty()) {
      m.id = it->get<std::string>();
    } else if (it->is_number_integer()) {
      m.id = it->dump();
    } else if (it->is_object() && it->contains("$oid") && (*it)["$oid"].is_string()) {
      m.id = (*it)["$oid"].get<std::string>();
    } else {
      r.error(map.id, fmt::format("must be a non-empty string or an integer, but it is {} ({}).",
                                  detail::json_type_name(*it), detail::describe_value(*it)));
    }
    if (m.id.size() > 256) r.error(map.id, fmt::format("is {} characters long; at most 256 are allowed.", m.id.size()));
    if (r.has(map.name) && !j.at(map.name).is_null()) {
      if (auto v = r.string(map.name, true, 1024)) m.name = *v;
    } else {
      m.name = m.id;
    }
    // The seed selects active models with {is_active: true}: a record without the field is not active.
    auto active = j.find(map.active);
    if (active != j.end()) {
      if (map.active_value.is_boolean() && !active->is_boolean())
        r.error(map.active, fmt::format("must be true or false, but it is {} ({}).", detail::json_type_name(*active),
                                        detail::describe_value(*active)));
      m.is_active = *active == map.active_value;
    } else {
      m.is_active = false;
    }
    if (r.has(map.base_model) && !j.at(map.base_model).is_null())
      if (auto v = r.string(map.base_model, true)) m.base_model = *v;
    if (r.has(map.metadata) && !j.at(map.metadata).is_null())
      if (auto v = r.object(map.metadata, true)) m.metadata = std::move(*v);
    if (r.has(map.file_path) && !j.at(map.file_path).is_null())
      if (auto v = r.string(map.file_path, true, 4096)) m.file_path = *v;
  }
  if (!errors.empty()) throw invalid("The model record is invalid.", std::move(errors));
  return m;
}

namespace {

bool starts_with_array(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '[';
  }
  return false;
}

// A record's own problems go to on_error; whatever on_record throws (a store
// that cannot write, a cancelled import) goes to the caller.
std::optional<ModelRecord> parse_registry_item(std::string_view text, std::string_view what,
                                               const RegistryFieldMap& map, std::size_t where,
                                               const std::function<void(std::size_t, const Error&)>& on_error) {
  try {
    return parse_model_record(parse_json_text(text, what), map);
  } catch (const Error& e) {
    on_error(where, e);
    return std::nullopt;
  }
}

void read_array_records(std::istream& in, std::size_t first_line, const RegistryFieldMap& map,
                        const std::function<void(ModelRecord&&, std::size_t)>& on_record,
                        const std::function<void(std::size_t, const Error&)>& on_error) {
  const JsonLimits per_item;
  // A file that is not one array is reported once, for the whole file.
  std::optional<JsonArrayItems> items;
  try {
    items.emplace(in, per_item.max_bytes, first_line);
  } catch (const Error& e) {
    on_error(kWholeRegistryFile, e);
    return;
  }
  for (;;) {
    std::optional<JsonArrayItems::Item> item;
    try {
      item = items->next();
    } catch (const Error& e) {
      on_error(kWholeRegistryFile, e);
      return;
    }
    if (!item) return;
    if (item->too_large) {
      on_error(item->index,
               invalid(fmt::format("Item {} (line {}) is longer than {} bytes.", item->index, item->line,
                                   per_item.max_bytes),
                       {{"$", fmt::format("is longer than {} bytes; allowed: registry records of at most that size.",
                                          per_item.max_bytes)}}));
      continue;
    }
    auto record = parse_registry_item(item->text, fmt::format("Item {} (line {})", item->index, item->line), map,
                                      item->index, on_error);
    if (record) on_record(std::move(*record), item->index);
  }
}

}  // namespace

void read_model_records(std::istream& in, const RegistryFieldMap& map,
                        const std::function<void(ModelRecord&&, std::size_t)>& on_record,
                        const std::function<void(std::size_t, const Error&)>& on_error) {
  // Peek at the first non-blank character: '[' is a JSON array, anything
  // else JSON Lines; both are read one record at a time.
  std::size_t first_line = 1;
  while (in && std::isspace(in.peek()))
    if (in.get() == '\n') ++first_line;
  if (in.peek() == '[') {
    read_array_records(in, first_line, map, on_record, on_error);
    return;
  }
  std::string line;
  std::size_t number = first_line - 1;  // the blank lines skipped above count
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto record = parse_registry_item(line, fmt::format("Line {}", number), map, number, on_error);
    if (record) on_record(std::move(*record), number);
  }
}

std::vector<ModelRecord> parse_model_records(std::string_view text, const RegistryFieldMap& map) {
  std::vector<ModelRecord> records;
  std::vector<FieldError> problems;
  std::map<std::string, std::size_t> seen;
  const bool array = starts_with_array(text);
  const char* unit = array ? "item" : "line";
  std::istringstream in{std::string(text)};
  read_model_records(
      in, map,
      [&](ModelRecord&& m, std::size_t where) {
        auto [it, inserted] = seen.emplace(m.id, where);
        if (!inserted) {
          problems.push_back({fmt::format("{} {}", unit, where),
                              fmt::format("repeats the id \"{}\" of {} {}; each model may appear once.", m.id, unit,
                                          it->second)});
          return;
        }
        records.push_back(std::move(m));
      },
      [&](std::size_t where, const Error& e) {
        const std::string place = where == kWholeRegistryFile ? "file" : fmt::format("{} {}", unit, where);
        if (e.field_errors().empty()) {
          problems.push_back({place, e.what()});
          return;
        }
        for (const auto& f : e.field_errors()) problems.push_back({fmt::format("{}: {}", place, f.field), f.message});
      });
  if (!problems.empty())
    throw invalid(fmt::format("The registry has {} problem(s); nothing was imported.", problems.size()),
                  std::move(problems));
  return records;
}

}  // namespace inferconf
