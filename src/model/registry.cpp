// Wire format of the model registry (`database_models`) and its import files.
#include <cctype>
#include <istream>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "inferconf/dto.hpp"
#include "inferconf/registry.hpp"
#include "common/field_reader.hpp"

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

}  // namespace

void read_model_records(std::istream& in, const RegistryFieldMap& map,
                        const std::function<void(ModelRecord&&, std::size_t)>& on_record,
                        const std::function<void(std::size_t, const Error&)>& on_error) {
  // Peek at the first non-blank character: '[' is a JSON array (read whole),
  // anything else is JSON Lines (streamed line by line).
  while (in && std::isspace(in.peek())) in.get();
  if (in.peek() == '[') {
    std::stringstream buffer;
    buffer << in.rdbuf();
    nlohmann::json all;
    try {
      // A platform's whole export: no size limit (a JSON Lines export is read line by line instead).
      JsonLimits whole_file;
      whole_file.max_bytes = std::numeric_limits<std::size_t>::max();
      all = parse_json_text(buffer.str(), "The registry file", whole_file);
    } catch (const Error& e) {
      on_error(0, e);
      return;
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
      try {
        on_record(parse_model_record(all[i], map), i);
      } catch (const Error& e) {
        on_error(i, e);
      }
    }
    return;
  }
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      on_record(parse_model_record(parse_json_text(line, fmt::format("Line {}", number)), map), number);
    } catch (const Error& e) {
      on_error(number, e);
    }
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
        if (e.field_errors().empty()) {
          problems.push_back({fmt::format("{} {}", unit, where), e.what()});
          return;
        }
        for (const auto& f : e.field_errors())
          problems.push_back({fmt::format("{} {}: {}", unit, where, f.field), f.message});
      });
  if (!problems.empty())
    throw invalid(fmt::format("The registry has {} problem(s); nothing was imported.", problems.size()),
                  std::move(problems));
  return records;
}

}  // namespace inferconf
