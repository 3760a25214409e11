// Reading columns of the SQLite store's rows: text, JSON and timestamps.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "inferconf/configuration.hpp"
#include "inferconf/error.hpp"

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

}  // namespace inferconf::sqlite
