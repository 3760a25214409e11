// The embedded store: one SQLite file ("sqlite:PATH"), the default.
//
// Layout (schema version 2, PRAGMA user_version):
//   inference_configurations  one row per configuration; timestamps are INTEGER
//                             milliseconds since the Unix epoch (UTC) because
//                             Timestamp is exactly that: lossless, no parsing on
//                             the hot path, and ordering/range queries are plain
//                             integer comparisons. The JSON layer formats them as
//                             RFC 3339; in the sqlite3 shell use
//                             strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000.0, 'unixepoch').
//   database_models           the model registry.
//   configuration_changes     a bounded change log, appended to in the
//                             transaction of every write, read by
//                             changes_since(). Writes made outside inferconf
//                             (e.g. the sqlite3 shell) are not logged.
//   schema_meta               this file's epoch (names it in change cursors) and
//                             how far the change log has been pruned.
// The connection runs in WAL mode with synchronous=NORMAL (a commit survives a
// crash of the process; the last commits may be lost on power loss), foreign
// keys on and a busy timeout. A thread of the store copies the WAL back into
// the file (checkpoints) once it passes wal_checkpoint_bytes, so that writers
// do not; it is started by the first commit that needs it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "inferconf/store.hpp"

namespace inferconf {

struct SqliteStoreOptions {
  // Opens the file with SQLITE_OPEN_READONLY: reads work, every write is
  // Error(kUnavailable). The file must exist.
  bool read_only = false;
  // How long a write waits for another writer (thread or process) before it
  // fails with Error(kUnavailable).
  std::chrono::milliseconds busy_timeout{5000};
  // How many change-log rows are kept; changes_since() with an older cursor
  // answers reload_required.
  std::int64_t change_log_keep = 10000;
  // The WAL size from which a commit wakes the store's checkpoint thread.
  // Committing threads checkpoint themselves only past 256 MiB, when that
  // thread cannot keep up.
  std::int64_t wal_checkpoint_bytes = std::int64_t{64} << 20;
};

// Opens (creating the file and its missing parent directories unless
// read_only) the SQLite database at path. Does not create the schema: call
// ensure_schema(). Throws Error(kUnavailable) naming the path when the file
// cannot be opened or created, or is not an SQLite database.
std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path, const SqliteStoreOptions& options = {});

}  // namespace inferconf
