#include "store/sqlite/rows.hpp"

namespace inferconf::sqlite {

// JSON text of a document field; invalid UTF-8 in a string is the caller's error, not a crash.
std::string json_text(const nlohmann::json& j, std::string_view field) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    throw invalid(fmt::format("{} cannot be stored: {}; send its strings as UTF-8.", field, e.what()),
                  {{std::string(field), "received a string that is not valid UTF-8; allowed: UTF-8 text"}});
  }
}

// Binds ?1…?12 in kConfigurationColumns order, without copies: c and
// params_json must outlive the statement's execution.
void bind_configuration(SQLite::Statement& s, const InferenceConfiguration& c, const std::string& params_json) {
  s.bindNoCopy(1, c.id);
  s.bindNoCopy(2, c.model_id);
  s.bindNoCopy(3, c.base_model);
  s.bindNoCopy(4, c.configuration_type);
  s.bind(5, c.steps);
  s.bind(6, c.cfg_scale);
  s.bindNoCopy(7, c.sampler);
  s.bindNoCopy(8, c.scheduler);
  s.bindNoCopy(9, params_json);
  s.bind(10, to_millis(c.created_at));
  s.bind(11, to_millis(c.updated_at));
  s.bind(12, c.revision);
}

void read_document_columns(const SQLite::Statement& s, int first, std::string_view params_name,
                           InferenceConfiguration& c) {
  c.model_id = column_text(s, first);
  c.base_model = column_text(s, first + 1);
  c.configuration_type = column_text(s, first + 2);
  c.steps = s.getColumn(first + 3).getInt();
  c.cfg_scale = s.getColumn(first + 4).getDouble();
  c.sampler = column_text(s, first + 5);
  c.scheduler = column_text(s, first + 6);
  c.model_specific_params = column_json(s, first + 7, params_name, c.id);
  c.created_at = from_millis(s.getColumn(first + 8).getInt64());
  c.updated_at = from_millis(s.getColumn(first + 9).getInt64());
}

InferenceConfiguration read_configuration(const SQLite::Statement& s) {
  InferenceConfiguration c;
  c.id = column_text(s, 0);
  read_document_columns(s, 1, "model_specific_params", c);
  c.revision = s.getColumn(11).getInt64();
  return c;
}

ModelRecord read_model(const SQLite::Statement& s) {
  ModelRecord m;
  m.id = column_text(s, 0);
  m.name = column_text(s, 1);
  m.is_active = s.getColumn(2).getInt() != 0;
  if (!s.isColumnNull(3)) m.base_model = column_text(s, 3);
  m.metadata = column_json(s, 4, "metadata", m.id);
  if (!s.isColumnNull(5)) m.file_path = column_text(s, 5);
  return m;
}

}  // namespace inferconf::sqlite
