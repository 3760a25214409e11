// The ids a registry import has seen, for the repeated-id check, kept out of
// process memory: a private temporary SQLite database (deleted when closed)
// holds (id, where first seen), with a page cache of a few MiB. The set can
// grow to any registry size while the process stays the same size; the pages
// beyond the cache live in a temporary file (SQLite's temporary folder:
// $SQLITE_TMPDIR, $TMPDIR, /var/tmp or /tmp), i.e. in the OS page cache or on
// disk, not in our resident memory. Ids are compared exactly.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace inferconf::populate {

class SeenIds {
 public:
  // Opens the temporary database. Throws Error(kUnavailable) when it cannot.
  SeenIds();
  ~SeenIds();
  SeenIds(const SeenIds&) = delete;
  SeenIds& operator=(const SeenIds&) = delete;

  // Records `id` as seen at `where` and returns `where`; when it was seen
  // before, returns where it was first seen instead (and records nothing).
  // Throws Error(kUnavailable) when the temporary file cannot be written
  // (e.g. its folder is full), naming the folder setting to change.
  std::size_t insert(const std::string& id, std::size_t where);

 private:
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<SQLite::Statement> insert_;
  std::unique_ptr<SQLite::Statement> first_;
};

}  // namespace inferconf::populate
