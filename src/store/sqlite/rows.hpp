// Reading and writing the SQLite store's rows: text, JSON and timestamps,
// configurations and model records.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "inferconf/configuration.hpp"
#include "inferconf/error.hpp"
#include "inferconf/registry.hpp"

namespace inferconf::sqlite {

inline std::int64_t to_millis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_millis(std::int64_t ms) { return Timestamp{std::chrono::milliseconds{ms}}; }

inline std::string column_text(const SQLite::Statement& s, int i) {
  const SQLite::Column col = s.getColumn(i);
  return std::string(col.getText(), static_cast<std::size_t>(col.getBytes()));
}

// A JSON column; a row whose text does not parse is named, as kUnavailable.
inline nlohmann::json column_json(const SQLite::Statement& s, int i, std::string_view what, std::string_view id) {
  const SQLite::Column col = s.getColumn(i);
  const char* text = col.getText();
  try {
    return nlohmann::json::parse(text, text + col.getBytes());
  } catch (const nlohmann::json::exception& e) {
    throw unavailable(fmt::format("The stored {} of \"{}\" is not valid JSON ({}); fix or delete that row.", what,
                                  id, e.what()));
  }
}

// JSON text of a document field; invalid UTF-8 in a string is the caller's error, not a crash.
std::string json_text(const nlohmann::json& j, std::string_view field);

// Binds ?1…?12 in kConfigurationColumns order, without copies: c and
// params_json must outlive the statement's execution.
void bind_configuration(SQLite::Statement& s, const InferenceConfiguration& c, const std::string& params_json);

// Reads the columns model_id … updated_at of a configuration document (in
// kConfigurationColumns order) from column `first` on, into c; c.id names the
// row in an error. The configurations table and the revisions table keep
// these ten columns in the same order.
void read_document_columns(const SQLite::Statement& s, int first, std::string_view params_name,
                           InferenceConfiguration& c);

// Reads a row selected with kConfigurationColumns.
InferenceConfiguration read_configuration(const SQLite::Statement& s);

// Reads a row of database_models (id, name, is_active, base_model, metadata, file_path).
ModelRecord read_model(const SQLite::Statement& s);

}  // namespace inferconf::sqlite
