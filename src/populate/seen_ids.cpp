#include "populate/seen_ids.hpp"

#include <cstdint>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include "inferconf/error.hpp"

namespace inferconf::populate {
namespace {

// 4 MiB of pages in memory (SQLite allocates them as used); a million ids of
// ~10 characters take ~25 MiB of pages, the rest is read back from the
// temporary file when needed. Registries exported in id order insert at the
// right edge of the index, so the cache rarely misses.
constexpr int kCacheKiB = 4096;

Error temp_error(const SQLite::Exception& e) {
  return unavailable(fmt::format(
      "The repeated-id check of the registry import cannot use its temporary file ({}); make SQLite's temporary "
      "folder writable and large enough (set SQLITE_TMPDIR or TMPDIR to such a folder) and run the import again.",
      e.what()));
}

}  // namespace

SeenIds::SeenIds() {
  try {
    // An empty file name: SQLite's private temporary database, on disk (with
    // the default temp_store, as Debian builds it: SQLITE_TEMP_STORE=1),
    // deleted when closed. Only the cache below lives in our memory.
    db_ = std::make_unique<SQLite::Database>("", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db_->exec(fmt::format("PRAGMA cache_size = -{}", kCacheKiB));
    // Nothing to recover: the file dies with the process.
    db_->exec("PRAGMA journal_mode = OFF");
    db_->exec("PRAGMA synchronous = OFF");
    db_->exec("PRAGMA locking_mode = EXCLUSIVE");
    db_->exec("CREATE TABLE seen (id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL) WITHOUT ROWID");
    insert_ = std::make_unique<SQLite::Statement>(*db_, "INSERT INTO seen VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING");
    first_ = std::make_unique<SQLite::Statement>(*db_, "SELECT first_seen FROM seen WHERE id = ?1");
    // One transaction for the whole import: a commit per id would write its
    // pages to the file each time. Pages that do not fit the cache spill.
    db_->exec("BEGIN");
  } catch (const SQLite::Exception& e) {
    throw temp_error(e);
  }
}

SeenIds::~SeenIds() {
  // Statements before the database; the file is deleted on close.
  first_.reset();
  insert_.reset();
}

std::size_t SeenIds::insert(const std::string& id, std::size_t where) {
  try {
    insert_->reset();
    insert_->bindNoCopy(1, id);
    insert_->bind(2, static_cast<std::int64_t>(where));
    if (insert_->exec() == 1) return where;
    first_->reset();
    first_->bindNoCopy(1, id);
    if (!first_->executeStep()) return where;  // cannot happen: the INSERT just found it
    return static_cast<std::size_t>(first_->getColumn(0).getInt64());
  } catch (const SQLite::Exception& e) {
    throw temp_error(e);
  }
}

}  // namespace inferconf::populate
