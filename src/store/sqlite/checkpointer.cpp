#include "store/sqlite/checkpointer.hpp"

#include <cstdio>
#include <exception>
#include <utility>

#include <sqlite3.h>

#include "inferconf/error.hpp"
#include "store/sqlite/connection.hpp"

namespace inferconf::sqlite {

int Checkpointer::passive_pass(sqlite3* db, int* wal_frames, int* copied) {
  return sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, wal_frames, copied);
}

Checkpointer::Checkpointer(StoreContext ctx, std::int64_t request_bytes, std::int64_t fallback_bytes, Pass pass)
    : ctx_(std::move(ctx)), request_bytes_(request_bytes), fallback_bytes_(fallback_bytes), pass_(std::move(pass)) {}

Checkpointer::~Checkpointer() { stop(); }

void Checkpointer::watch(sqlite3* db, std::int64_t page_size) {
  page_size_.store(page_size, std::memory_order_relaxed);
  sqlite3_wal_hook(db, &Checkpointer::on_commit, this);
}

void Checkpointer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  connection_.reset();
}

// Runs on the committing thread, inside COMMIT: only a size check and, rarely,
// a notify. Its result becomes the result of the COMMIT (which has happened),
// so it is always SQLITE_OK, as in SQLite's own hook.
int Checkpointer::on_commit(void* self_ptr, sqlite3* db, const char* schema, int wal_frames) {
  auto& self = *static_cast<Checkpointer*>(self_ptr);
  const std::int64_t bytes = std::int64_t{wal_frames} * self.page_size_.load(std::memory_order_relaxed);
  if (bytes < self.request_bytes_) return SQLITE_OK;
  if (bytes >= self.fallback_bytes_) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  {
    std::lock_guard lock(self.mu_);
    if (self.stopping_) return SQLITE_OK;
    self.wanted_ = true;
    if (!self.thread_.joinable()) self.thread_ = std::thread([&self] { self.run(); });
  }
  self.cv_.notify_one();
  return SQLITE_OK;
}

void Checkpointer::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return wanted_ || stopping_; });
      if (stopping_) return;
      wanted_ = false;
    }
    // A failure (the file cannot be opened, an I/O error) is not reported
    // here: the next commit asks again, and past fallback_bytes the committer
    // checkpoints itself and meets the error where it can be reported.
    try {
      if (!connection_) connection_ = std::make_unique<Connection>(ctx_, false, nullptr);
      int wal_frames = 0;
      int copied = 0;
      // Copies what was committed when it began; a pass that did not reach the
      // end of the WAL (a commit came in meanwhile) is followed by another.
      for (int pass = 0; pass < 8 && !stopping_.load(); ++pass) {
        if (pass_(connection_->db().getHandle(), &wal_frames, &copied) != SQLITE_OK || copied >= wal_frames) break;
      }
      failing_ = false;
    } catch (...) {
      // Nothing may leave this thread (std::terminate would end the process
      // under every client). The failure is logged once until a checkpoint
      // succeeds again, not at every commit.
      connection_.reset();
      if (!failing_) {
        failing_ = true;
        std::fprintf(stderr,
                     "inferconf: the WAL checkpointer of %s failed (%s); commits go on, the next one that grows the "
                     "WAL asks again.\n",
                     ctx_.path.string().c_str(), describe_current_exception().c_str());
      }
    }
  }
}

}  // namespace inferconf::sqlite
