// Turns SQLite failures into inferconf::Error sentences a user can act on.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include <SQLiteCpp/Exception.h>

#include "inferconf/error.hpp"

namespace inferconf::sqlite {

// What every message needs to know about the store it speaks of.
struct StoreContext {
  std::filesystem::path path;
  std::chrono::milliseconds busy_timeout;
};

// The Error for an SQLite result code (primary or extended) and SQLite's own
// message. Locking, I/O, permission and "not a database" failures are
// kUnavailable; rejected values are kInvalid; anything else is kInternal.
Error sqlite_error(int extended_code, std::string_view sqlite_message, const StoreContext& ctx);
inline Error sqlite_error(const SQLite::Exception& e, const StoreContext& ctx) {
  return sqlite_error(e.getExtendedErrorCode(), e.what(), ctx);
}

// True when e is a violation of a UNIQUE index.
bool is_unique_violation(const SQLite::Exception& e) noexcept;

}  // namespace inferconf::sqlite
