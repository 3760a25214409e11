// Checkpoints the WAL of one store on a thread of its own, so that the thread
// that commits does not stop to copy the WAL back into the database file.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "store/sqlite/sqlite_errors.hpp"

struct sqlite3;

namespace inferconf::sqlite {

class Connection;

// A commit that leaves the WAL at request_bytes or more wakes the thread,
// which runs PASSIVE checkpoints (they never block a writer or a reader) until
// the WAL is fully copied back; the next write transaction then starts the WAL
// over from its beginning. A commit that finds the WAL at fallback_bytes or
// more — the thread cannot keep up, or a long reader holds it back —
// checkpoints itself, as SQLite's automatic checkpoint would.
class Checkpointer {
 public:
  // One checkpoint pass over db: the SQLite result code, with the WAL's frames
  // and those copied back in *wal_frames and *copied (as
  // sqlite3_wal_checkpoint_v2). Runs on the checkpointer's thread; an
  // exception it throws is logged and the thread goes on waiting for the next
  // request.
  using Pass = std::function<int(sqlite3* db, int* wal_frames, int* copied)>;
  // The pass of a store: a PASSIVE checkpoint of every attached database.
  static int passive_pass(sqlite3* db, int* wal_frames, int* copied);

  Checkpointer(StoreContext ctx, std::int64_t request_bytes, std::int64_t fallback_bytes, Pass pass = passive_pass);
  ~Checkpointer();  // stop()
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Makes every commit on db report its WAL size to this object (sqlite3_wal_hook,
  // in place of SQLite's automatic checkpoint). page_size: the file's. Thread-safe;
  // db must not commit after stop().
  void watch(sqlite3* db, std::int64_t page_size);

  // Lets a checkpoint in progress finish, joins the thread and closes its
  // connection. What is left in the WAL is checkpointed by SQLite when the last
  // connection to the file closes. Idempotent.
  void stop();

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_frames);
  void run();

  const StoreContext ctx_;
  const std::int64_t request_bytes_;
  const std::int64_t fallback_bytes_;
  const Pass pass_;
  std::atomic<std::int64_t> page_size_{4096};
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  std::atomic<bool> stopping_ = false;  // written under mu_
  std::unique_ptr<Connection> connection_;  // the thread's own, opened on first use
  bool failing_ = false;                    // the thread's: the last checkpoint failed (and was logged)
  std::thread thread_;                      // started by the first request
};

}  // namespace inferconf::sqlite
