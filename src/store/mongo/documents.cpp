#include "store/mongo/documents.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "inferconf/error.hpp"

namespace inferconf::mongo {

namespace {

int key_length(std::string_view key) { return static_cast<int>(key.size()); }

void append_array(bson_t* doc, std::string_view key, const nlohmann::json& array) {
  bson_t child;
  bson_append_array_begin(doc, key.data(), key_length(key), &child);
  std::size_t index = 0;
  for (const auto& item : array) {
    const std::string k = std::to_string(index++);
    append_json(&child, k, item);
  }
  bson_append_array_end(doc, &child);
}

nlohmann::json value_to_json(const bson_iter_t* it);

nlohmann::json container_to_json(const bson_iter_t* it, bool is_array) {
  bson_iter_t child;
  nlohmann::json out = is_array ? nlohmann::json::array() : nlohmann::json::object();
  if (!bson_iter_recurse(it, &child)) return out;
  while (bson_iter_next(&child)) {
    if (is_array)
      out.push_back(value_to_json(&child));
    else
      out[bson_iter_key(&child)] = value_to_json(&child);
  }
  return out;
}

nlohmann::json value_to_json(const bson_iter_t* it) {
  switch (bson_iter_type(it)) {
    case BSON_TYPE_DOUBLE: return bson_iter_double(it);
    case BSON_TYPE_UTF8: {
      uint32_t len = 0;
      const char* s = bson_iter_utf8(it, &len);
      return std::string(s, len);
    }
    case BSON_TYPE_DOCUMENT: return container_to_json(it, false);
    case BSON_TYPE_ARRAY: return container_to_json(it, true);
    case BSON_TYPE_BOOL: return bson_iter_bool(it);
    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED: return nullptr;
    case BSON_TYPE_INT32: return bson_iter_int32(it);
    case BSON_TYPE_INT64: return bson_iter_int64(it);
    case BSON_TYPE_DATE_TIME:
      return format_timestamp(Timestamp(std::chrono::milliseconds(bson_iter_date_time(it))));
    case BSON_TYPE_OID: {
      char hex[25];
      bson_oid_to_string(bson_iter_oid(it), hex);
      return std::string(hex);
    }
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t d;
      bson_iter_decimal128(it, &d);
      char text[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&d, text);
      return std::string(text);
    }
    default: {
      // Rare types (binary, regex, timestamp…) keep their canonical extended JSON.
      bson_t wrapper = BSON_INITIALIZER;
      bson_append_iter(&wrapper, "v", 1, it);
      char* text = bson_as_canonical_extended_json(&wrapper, nullptr);
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      bson_free(text);
      bson_destroy(&wrapper);
      return j.is_object() && j.contains("v") ? j["v"] : nlohmann::json(nullptr);
    }
  }
}

[[noreturn]] void bad_field(const std::string& id, const char* field, std::string_view problem) {
  throw Error(ErrorCode::kInternal,
              fmt::format("The document with id \"{}\" in {} has a field \"{}\" that {}; fix or delete that document.",
                          id, kConfigurations, field, problem));
}

std::string type_name(bson_type_t t) {
  switch (t) {
    case BSON_TYPE_DOUBLE: return "a double";
    case BSON_TYPE_UTF8: return "a string";
    case BSON_TYPE_DOCUMENT: return "a document";
    case BSON_TYPE_ARRAY: return "an array";
    case BSON_TYPE_BOOL: return "a boolean";
    case BSON_TYPE_NULL: return "null";
    case BSON_TYPE_INT32: return "an int32";
    case BSON_TYPE_INT64: return "an int64";
    case BSON_TYPE_DATE_TIME: return "a date";
    case BSON_TYPE_OID: return "an ObjectId";
    default: return fmt::format("of BSON type {}", static_cast<int>(t));
  }
}

class FieldFinder {
 public:
  FieldFinder(const bson_t* doc, std::string id) : doc_(doc), id_(std::move(id)) {}

  bool find(const char* field, bson_iter_t* it) const { return bson_iter_init_find(it, doc_, field); }

  std::string string(const char* field) const {
    bson_iter_t it;
    if (!find(field, &it)) bad_field(id_, field, "is missing");
    if (!BSON_ITER_HOLDS_UTF8(&it)) bad_field(id_, field, fmt::format("is {}, not a string", type_name(bson_iter_type(&it))));
    uint32_t len = 0;
    const char* s = bson_iter_utf8(&it, &len);
    return std::string(s, len);
  }

  double number(const char* field) const {
    bson_iter_t it;
    if (!find(field, &it)) bad_field(id_, field, "is missing");
    if (BSON_ITER_HOLDS_DECIMAL128(&it)) {
      // pymongo writes Python's decimal.Decimal as Decimal128.
      bson_decimal128_t d;
      bson_iter_decimal128(&it, &d);
      char text[BSON_DECIMAL128_STRING];
      bson_decimal128_to_string(&d, text);
      char* end = nullptr;
      const double v = std::strtod(text, &end);
      if (end == text || *end != '\0' || !std::isfinite(v))
        bad_field(id_, field, fmt::format("is the Decimal128 {}, not a finite number", text));
      return v;
    }
    if (!BSON_ITER_HOLDS_NUMBER(&it)) bad_field(id_, field, fmt::format("is {}, not a number", type_name(bson_iter_type(&it))));
    return bson_iter_as_double(&it);
  }

  int integer(const char* field) const {
    bson_iter_t it;
    if (!find(field, &it)) bad_field(id_, field, "is missing");
    if (BSON_ITER_HOLDS_INT32(&it)) return bson_iter_int32(&it);
    const double v = number(field);
    if (std::trunc(v) != v || v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      bad_field(id_, field, fmt::format("is {}, not a whole number", v));
    return static_cast<int>(v);
  }

  Timestamp timestamp(const char* field) const {
    bson_iter_t it;
    if (!find(field, &it)) bad_field(id_, field, "is missing");
    if (BSON_ITER_HOLDS_DATE_TIME(&it)) return Timestamp(std::chrono::milliseconds(bson_iter_date_time(&it)));
    if (BSON_ITER_HOLDS_UTF8(&it)) {
      // The seed's documents carry ISO strings such as "2024-01-01T00:00:00Z".
      const std::string text = string(field);
      if (auto t = parse_timestamp(text)) return *t;
      // Python's datetime.utcnow().isoformat() has no offset; the platform
      // writes UTC, so a naive date-time is read as UTC.
      if (auto t = parse_timestamp(text + "Z")) return *t;
      bad_field(id_, field, fmt::format("is \"{}\", not an ISO 8601 date-time", text));
    }
    bad_field(id_, field, fmt::format("is {}, not a date", type_name(bson_iter_type(&it))));
  }

 private:
  const bson_t* doc_;
  std::string id_;
};

}  // namespace

void append_json(bson_t* doc, std::string_view key, const nlohmann::json& value) {
  const char* k = key.data();
  const int n = key_length(key);
  switch (value.type()) {
    case nlohmann::json::value_t::null: bson_append_null(doc, k, n); break;
    case nlohmann::json::value_t::boolean: bson_append_bool(doc, k, n, value.get<bool>()); break;
    case nlohmann::json::value_t::number_integer: {
      const auto v = value.get<std::int64_t>();
      if (v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max())
        bson_append_int32(doc, k, n, static_cast<std::int32_t>(v));
      else
        bson_append_int64(doc, k, n, v);
      break;
    }
    case nlohmann::json::value_t::number_unsigned: {
      const auto v = value.get<std::uint64_t>();
      if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
        bson_append_int32(doc, k, n, static_cast<std::int32_t>(v));
      else if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        bson_append_int64(doc, k, n, static_cast<std::int64_t>(v));
      else
        bson_append_double(doc, k, n, static_cast<double>(v));
      break;
    }
    case nlohmann::json::value_t::number_float: bson_append_double(doc, k, n, value.get<double>()); break;
    case nlohmann::json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      bson_append_utf8(doc, k, n, s.data(), static_cast<int>(s.size()));
      break;
    }
    case nlohmann::json::value_t::array: append_array(doc, key, value); break;
    case nlohmann::json::value_t::object: {
      bson_t child;
      bson_append_document_begin(doc, k, n, &child);
      for (const auto& [name, item] : value.items()) append_json(&child, name, item);
      bson_append_document_end(doc, &child);
      break;
    }
    default: bson_append_null(doc, k, n); break;
  }
}

Bson json_to_bson(const nlohmann::json& object) {
  Bson doc;
  for (const auto& [name, item] : object.items()) append_json(doc.get(), name, item);
  return doc;
}

nlohmann::json bson_to_json(const bson_t* doc) {
  nlohmann::json out = nlohmann::json::object();
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return out;
  while (bson_iter_next(&it)) out[bson_iter_key(&it)] = value_to_json(&it);
  return out;
}

void append_timestamp(bson_t* doc, const char* key, Timestamp t) {
  bson_append_date_time(doc, key, -1, t.time_since_epoch().count());
}

namespace {

void append_mutable_fields(bson_t* doc, const InferenceConfiguration& c) {
  BSON_APPEND_UTF8(doc, "model_id", c.model_id.c_str());
  BSON_APPEND_UTF8(doc, "base_model", c.base_model.c_str());
  BSON_APPEND_UTF8(doc, "configuration_type", c.configuration_type.c_str());
  BSON_APPEND_INT32(doc, "steps", c.steps);
  BSON_APPEND_DOUBLE(doc, "cfg_scale", c.cfg_scale);
  BSON_APPEND_UTF8(doc, "sampler", c.sampler.c_str());
  BSON_APPEND_UTF8(doc, "scheduler", c.scheduler.c_str());
  append_json(doc, "model_specific_params",
              c.model_specific_params.is_object() ? c.model_specific_params : nlohmann::json::object());
}

}  // namespace

Bson configuration_document(const InferenceConfiguration& c) {
  Bson doc;
  BSON_APPEND_UTF8(doc.get(), "id", c.id.c_str());
  append_mutable_fields(doc.get(), c);
  append_timestamp(doc.get(), "created_at", c.created_at);
  append_timestamp(doc.get(), "updated_at", c.updated_at);
  BSON_APPEND_INT64(doc.get(), "revision", c.revision);
  return doc;
}

Bson configuration_set_fields(const InferenceConfiguration& c) {
  Bson doc;
  append_mutable_fields(doc.get(), c);
  append_timestamp(doc.get(), "updated_at", c.updated_at);
  BSON_APPEND_INT64(doc.get(), "revision", c.revision);
  return doc;
}

namespace {

// A model_specific_params key that can be written as part of a dotted path.
bool path_safe(const std::string& key) {
  return !key.empty() && key.find('.') == std::string::npos && key.front() != '$';
}

// Adds to `set`/`unset` the paths under `prefix` that turn `before` into
// `after`; false when a key cannot be addressed by a path.
bool diff_params(const std::string& prefix, const nlohmann::json& before, const nlohmann::json& after, bson_t* set,
                 bson_t* unset) {
  for (const auto& [key, value] : after.items()) {
    if (!path_safe(key)) return false;
    const std::string path = prefix + "." + key;
    const auto old = before.find(key);
    if (old != before.end() && *old == value) continue;
    if (old != before.end() && old->is_object() && value.is_object() && !value.empty() && !old->empty()) {
      if (!diff_params(path, *old, value, set, unset)) return false;
      continue;
    }
    append_json(set, path, value);
  }
  for (const auto& [key, value] : before.items()) {
    if (after.contains(key)) continue;
    if (!path_safe(key)) return false;
    BSON_APPEND_UTF8(unset, (prefix + "." + key).c_str(), "");
  }
  return true;
}

}  // namespace

Bson configuration_update(const bson_t* stored, const InferenceConfiguration& before,
                          const InferenceConfiguration& after) {
  Bson set, unset;
  if (after.model_id != before.model_id) BSON_APPEND_UTF8(set.get(), "model_id", after.model_id.c_str());
  if (after.base_model != before.base_model) BSON_APPEND_UTF8(set.get(), "base_model", after.base_model.c_str());
  if (after.configuration_type != before.configuration_type)
    BSON_APPEND_UTF8(set.get(), "configuration_type", after.configuration_type.c_str());
  if (after.steps != before.steps) BSON_APPEND_INT32(set.get(), "steps", after.steps);
  if (after.cfg_scale != before.cfg_scale) BSON_APPEND_DOUBLE(set.get(), "cfg_scale", after.cfg_scale);
  if (after.sampler != before.sampler) BSON_APPEND_UTF8(set.get(), "sampler", after.sampler.c_str());
  if (after.scheduler != before.scheduler) BSON_APPEND_UTF8(set.get(), "scheduler", after.scheduler.c_str());
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& old_params = before.model_specific_params.is_object() ? before.model_specific_params : empty;
  const nlohmann::json& new_params = after.model_specific_params.is_object() ? after.model_specific_params : empty;
  bson_iter_t it;
  const bool stored_document =
      bson_iter_init_find(&it, stored, "model_specific_params") && BSON_ITER_HOLDS_DOCUMENT(&it);
  if (old_params != new_params || !stored_document) {
    Bson params_set, params_unset;
    if (stored_document && diff_params("model_specific_params", old_params, new_params, params_set.get(),
                                       params_unset.get())) {
      bson_concat(set.get(), params_set.get());
      bson_concat(unset.get(), params_unset.get());
    } else {
      // A key no path can address (a dot, a leading $) or no document yet:
      // the whole document, keeping the stored value of every unchanged key.
      bson_t child;
      BSON_APPEND_DOCUMENT_BEGIN(set.get(), "model_specific_params", &child);
      bson_iter_t params;
      std::set<std::string> kept;
      if (stored_document && bson_iter_recurse(&it, &params))
        while (bson_iter_next(&params)) {
          const std::string key = bson_iter_key(&params);
          const auto now = new_params.find(key);
          if (now != new_params.end() && *now == value_to_json(&params)) {
            bson_append_iter(&child, key.c_str(), static_cast<int>(key.size()), &params);
            kept.insert(key);
          }
        }
      for (const auto& [key, value] : new_params.items())
        if (kept.count(key) == 0) append_json(&child, key, value);
      bson_append_document_end(set.get(), &child);
    }
  }
  append_timestamp(set.get(), "updated_at", after.updated_at);
  BSON_APPEND_INT64(set.get(), "revision", after.revision);
  Bson update;
  BSON_APPEND_DOCUMENT(update.get(), "$set", set.get());
  if (!bson_empty(unset.get())) BSON_APPEND_DOCUMENT(update.get(), "$unset", unset.get());
  return update;
}

InferenceConfiguration configuration_from_bson(const bson_t* doc) {
  bson_iter_t it;
  std::string id = "(no id)";
  if (bson_iter_init_find(&it, doc, "id") && BSON_ITER_HOLDS_UTF8(&it)) id = bson_iter_utf8(&it, nullptr);
  FieldFinder f(doc, id);
  InferenceConfiguration c;
  c.id = f.string("id");
  c.model_id = f.string("model_id");
  c.base_model = f.string("base_model");
  c.configuration_type = f.string("configuration_type");
  c.steps = f.integer("steps");
  c.cfg_scale = f.number("cfg_scale");
  c.sampler = f.string("sampler");
  c.scheduler = f.string("scheduler");
  if (f.find("model_specific_params", &it) && !BSON_ITER_HOLDS_NULL(&it)) {
    if (!BSON_ITER_HOLDS_DOCUMENT(&it))
      bad_field(c.id, "model_specific_params", fmt::format("is {}, not a document", type_name(bson_iter_type(&it))));
    c.model_specific_params = value_to_json(&it);
  }
  c.created_at = f.timestamp("created_at");
  c.updated_at = f.timestamp("updated_at");
  if (f.find("revision", &it)) {
    if (!BSON_ITER_HOLDS_INT32(&it) && !BSON_ITER_HOLDS_INT64(&it))
      bad_field(c.id, "revision", fmt::format("is {}, not an integer", type_name(bson_iter_type(&it))));
    c.revision = bson_iter_as_int64(&it);
  } else {
    c.revision = 1;  // written by the seed's repository, which had no revisions
  }
  return c;
}

std::optional<InferenceConfiguration> read_configuration(const bson_t* doc, std::string* problem) {
  try {
    return configuration_from_bson(doc);
  } catch (const std::exception& e) {
    if (problem != nullptr) *problem = e.what();
    return std::nullopt;
  }
}

Bson revision_document(const Revision& r) {
  Bson doc;
  BSON_APPEND_UTF8(doc.get(), "configuration_id", r.configuration_id.c_str());
  BSON_APPEND_INT64(doc.get(), "revision", r.revision);
  BSON_APPEND_UTF8(doc.get(), "operation", std::string(to_string(r.operation)).c_str());
  BSON_APPEND_UTF8(doc.get(), "actor", r.actor.c_str());
  if (r.reason) BSON_APPEND_UTF8(doc.get(), "reason", r.reason->c_str());
  append_timestamp(doc.get(), "at", r.at);
  BSON_APPEND_INT64(doc.get(), "sequence", r.sequence);
  // Copies of the document's keys, for the indexes of --as-of and the audit filters.
  BSON_APPEND_UTF8(doc.get(), "model_id", r.document.model_id.c_str());
  BSON_APPEND_UTF8(doc.get(), "base_model", r.document.base_model.c_str());
  BSON_APPEND_UTF8(doc.get(), "configuration_type", r.document.configuration_type.c_str());
  if (r.operation == RevisionOperation::kPrune) {
    append_json(doc.get(), "details", r.document.model_specific_params);
  } else {
    InferenceConfiguration d = r.document;
    d.revision = r.revision;
    const Bson body = configuration_document(d);
    BSON_APPEND_DOCUMENT(doc.get(), "document", body.get());
  }
  return doc;
}

namespace {

[[noreturn]] void bad_revision(const std::string& name, const char* field, std::string_view problem) {
  throw unavailable(fmt::format("The revision {} in {} has a field \"{}\" that {}; fix or delete that document.",
                                name, kRevisions, field, problem));
}

}  // namespace

Revision revision_from_bson(const bson_t* doc) {
  Revision r;
  bson_iter_t it;
  std::string name = "(no configuration_id)";
  if (bson_iter_init_find(&it, doc, "configuration_id") && BSON_ITER_HOLDS_UTF8(&it)) name = bson_iter_utf8(&it, nullptr);
  auto text = [&](const char* field, bool required) -> std::optional<std::string> {
    bson_iter_t f;
    if (!bson_iter_init_find(&f, doc, field) || BSON_ITER_HOLDS_NULL(&f)) {
      if (required) bad_revision(name, field, "is missing");
      return std::nullopt;
    }
    if (!BSON_ITER_HOLDS_UTF8(&f)) bad_revision(name, field, fmt::format("is {}, not a string", type_name(bson_iter_type(&f))));
    uint32_t len = 0;
    const char* s = bson_iter_utf8(&f, &len);
    return std::string(s, len);
  };
  auto integer = [&](const char* field) -> std::int64_t {
    bson_iter_t f;
    if (!bson_iter_init_find(&f, doc, field)) bad_revision(name, field, "is missing");
    if (!BSON_ITER_HOLDS_INT32(&f) && !BSON_ITER_HOLDS_INT64(&f))
      bad_revision(name, field, fmt::format("is {}, not an integer", type_name(bson_iter_type(&f))));
    return bson_iter_as_int64(&f);
  };
  r.configuration_id = *text("configuration_id", true);
  r.revision = integer("revision");
  name = fmt::format("{} of \"{}\"", r.revision, r.configuration_id);
  const std::string op = *text("operation", true);
  const auto parsed = parse_revision_operation(op);
  if (!parsed) bad_revision(name, "operation", fmt::format("is \"{}\", not one of {}", op, revision_operation_names()));
  r.operation = *parsed;
  r.actor = *text("actor", true);
  r.reason = text("reason", false);
  if (!bson_iter_init_find(&it, doc, "at") || !BSON_ITER_HOLDS_DATE_TIME(&it))
    bad_revision(name, "at", "is missing or not a date");
  r.at = Timestamp(std::chrono::milliseconds(bson_iter_date_time(&it)));
  r.sequence = integer("sequence");
  if (r.operation == RevisionOperation::kPrune) {
    InferenceConfiguration& d = r.document;
    d.id = r.configuration_id;
    d.revision = r.revision;
    d.created_at = d.updated_at = r.at;
    if (bson_iter_init_find(&it, doc, "details") && BSON_ITER_HOLDS_DOCUMENT(&it)) d.model_specific_params = value_to_json(&it);
    return r;
  }
  if (!bson_iter_init_find(&it, doc, "document") || !BSON_ITER_HOLDS_DOCUMENT(&it))
    bad_revision(name, "document", "is missing or not a document");
  std::uint32_t length = 0;
  const std::uint8_t* data = nullptr;
  bson_iter_document(&it, &length, &data);
  bson_t body;
  if (!bson_init_static(&body, data, length)) bad_revision(name, "document", "is not valid BSON");
  std::string problem;
  auto document = read_configuration(&body, &problem);
  if (!document) bad_revision(name, "document", fmt::format("is not a configuration ({})", problem));
  r.document = std::move(*document);
  r.document.revision = r.revision;
  return r;
}

ModelRecord model_from_bson(const bson_t* doc, const RegistryFieldMap& map) {
  return parse_model_record(bson_to_json(doc), map);
}

Bson model_set_fields(const ModelRecord& m, const RegistryFieldMap& map) {
  Bson doc;
  BSON_APPEND_UTF8(doc.get(), map.name.c_str(), m.name.c_str());
  // An inactive record gets the opposite boolean, or null when the platform
  // marks activity with a non-boolean value (we cannot guess its other values).
  nlohmann::json active = m.is_active ? map.active_value
                          : map.active_value.is_boolean() ? nlohmann::json(!map.active_value.get<bool>())
                                                          : nlohmann::json(nullptr);
  append_json(doc.get(), map.active, active);
  append_json(doc.get(), map.base_model, m.base_model ? nlohmann::json(*m.base_model) : nlohmann::json(nullptr));
  append_json(doc.get(), map.metadata, m.metadata.is_object() ? m.metadata : nlohmann::json::object());
  append_json(doc.get(), map.file_path, m.file_path ? nlohmann::json(*m.file_path) : nlohmann::json(nullptr));
  return doc;
}

}  // namespace inferconf::mongo
