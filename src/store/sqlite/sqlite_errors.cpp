#include "store/sqlite/sqlite_errors.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include "store/sqlite/schema.hpp"

namespace inferconf::sqlite {

Error sqlite_error(int extended_code, std::string_view msg, const StoreContext& ctx) {
  const std::string path = ctx.path.string();
  switch (extended_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable(fmt::format(
          "The database {} stayed locked by another connection for more than {} ms; retry later, or stop the "
          "process that holds it.",
          path, ctx.busy_timeout.count()));
    case SQLITE_NOTADB:
      return unavailable(fmt::format(
          "The file {} is not an SQLite database ({}); point --db at an inferconf database, or at a file name that "
          "does not exist yet to create one.",
          path, msg));
    case SQLITE_CORRUPT:
      return unavailable(fmt::format(
          "The database file {} is corrupt ({}); restore it from a backup, or move it away and run `inferconf init` "
          "to start a new one.",
          path, msg));
    case SQLITE_CANTOPEN:
      return unavailable(fmt::format(
          "Cannot open or create the database file {} ({}); check that its directory exists and is writable.", path,
          msg));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return unavailable(fmt::format(
          "Cannot write the database file {} ({}); check the permissions of the file and of its directory, and "
          "that it is not opened read-only.",
          path, msg));
    case SQLITE_FULL:
      return unavailable(fmt::format("The disk holding the database {} is full ({}); free some space and retry.",
                                     path, msg));
    case SQLITE_IOERR:
      return unavailable(fmt::format(
          "Reading or writing the database {} failed with an I/O error ({}); check the disk and the permissions of "
          "the file and its directory.",
          path, msg));
    case SQLITE_CONSTRAINT:
      return invalid(fmt::format("The database {} rejected the values written ({}).", path, msg));
    case SQLITE_ERROR:
      if (msg.find("no such table") != std::string_view::npos ||
          msg.find("no such column") != std::string_view::npos) {
        return unavailable(fmt::format(
            "The database {} does not have the inferconf schema (version {}) ({}); run `inferconf init` on it to "
            "create or migrate the schema.",
            path, kSchemaVersion, msg));
      }
      break;
    default:
      break;
  }
  return Error(ErrorCode::kInternal,
               fmt::format("SQLite failed on the database {} ({}, code {}).", path, msg, extended_code));
}

bool is_unique_violation(const SQLite::Exception& e) noexcept {
  return e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE ||
         e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY;
}

}  // namespace inferconf::sqlite
