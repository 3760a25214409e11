#include "store/sqlite/connection.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include <SQLiteCpp/Exception.h>
#include <fmt/format.h>

#include "store/sqlite/checkpointer.hpp"

namespace inferconf::sqlite {
namespace {

#define IC_COLUMNS                                                                                                 \
  "id, model_id, base_model, configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, " \
  "created_at, updated_at, revision"
#define IC_SELECT "SELECT " IC_COLUMNS " FROM inference_configurations "
#define IC_INSERT                                      \
  "INSERT INTO inference_configurations (" IC_COLUMNS \
  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
#define REV_COLUMNS                                                                                       \
  "seq, configuration_id, revision, operation, actor, reason, changed_at, model_id, base_model, "           \
  "configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, created_at, updated_at"
#define REV_SELECT "SELECT " REV_COLUMNS " FROM inference_configuration_revisions "
#define REV_RECORD                                                                                           \
  "INSERT INTO inference_configuration_revisions (configuration_id, revision, operation, actor, reason, "   \
  "changed_at, model_id, base_model, configuration_type, steps, cfg_scale, sampler, scheduler, "            \
  "model_specific_params, created_at, updated_at) "
// A revision's time never goes back in commit order (seq): when the clock
// does, the revision takes its predecessor's time. The audit view turns a
// time range into a range of seq by bisection (revisions.cpp) rather than
// keeping an index on changed_at, which every write would have to update.
#define REV_TIME(param)                                                                                     \
  "max(" param ", coalesce((SELECT changed_at FROM inference_configuration_revisions ORDER BY seq DESC "    \
  "LIMIT 1), 0))"
#define MODEL_SELECT "SELECT id, name, is_active, base_model, metadata, file_path FROM database_models "

// In the order of enum Sql.
constexpr const char* kStatementText[] = {
    "BEGIN IMMEDIATE",
    "BEGIN DEFERRED",
    "COMMIT",
    "ROLLBACK",
    IC_INSERT,
    IC_INSERT "ON CONFLICT (model_id, configuration_type) DO NOTHING",
    // revision > 1 in the result tells an overwrite from a creation.
    IC_INSERT
    "ON CONFLICT (model_id, configuration_type) DO UPDATE SET base_model = excluded.base_model, "
    "steps = excluded.steps, cfg_scale = excluded.cfg_scale, sampler = excluded.sampler, "
    "scheduler = excluded.scheduler, model_specific_params = excluded.model_specific_params, "
    "updated_at = excluded.updated_at, revision = revision + 1 RETURNING id, revision",
    "UPDATE inference_configurations SET base_model = ?2, configuration_type = ?3, steps = ?4, cfg_scale = ?5, "
    "sampler = ?6, scheduler = ?7, model_specific_params = ?8, updated_at = ?9, revision = ?10 "
    "WHERE id = ?1 AND revision = ?11",
    "DELETE FROM inference_configurations WHERE id = ?1 AND revision = ?2",
    IC_SELECT "WHERE id = ?1",
    IC_SELECT "WHERE model_id = ?1 AND configuration_type = ?2",
    IC_SELECT "WHERE model_id = ?1 ORDER BY configuration_type, id",
    IC_SELECT "WHERE model_id = ?1 AND configuration_type = ?2 ORDER BY id",
    IC_SELECT "WHERE base_model = ?1 ORDER BY model_id, configuration_type",
    IC_SELECT "WHERE base_model = ?1 AND configuration_type = ?2 ORDER BY model_id",
    IC_SELECT "WHERE base_model = ?1 AND configuration_type = ?2 ORDER BY model_id LIMIT 1",
    IC_SELECT "ORDER BY id",
    "SELECT id FROM inference_configurations WHERE model_id = ?1 AND configuration_type = ?2",
    "SELECT coalesce(max(seq), 0) FROM configuration_changes",
    "INSERT INTO configuration_changes (id, op) VALUES (?1, ?2)",
    "INSERT INTO configuration_changes (id, op) SELECT id, 'insert' FROM inference_configurations WHERE rowid > ?1 "
    "ORDER BY rowid",
    "SELECT coalesce(max(rowid), 0) FROM inference_configurations",
    "SELECT id, max(seq) AS last FROM configuration_changes WHERE seq > ?1 GROUP BY id ORDER BY last",
    "SELECT value FROM schema_meta WHERE key = ?1",
    "INSERT INTO schema_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    "DELETE FROM configuration_changes WHERE seq <= ?1",
    "INSERT INTO database_models (id, name, is_active, base_model, metadata, file_path) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
    "is_active = excluded.is_active, base_model = excluded.base_model, metadata = excluded.metadata, "
    "file_path = excluded.file_path",
    MODEL_SELECT "WHERE id = ?1",
    MODEL_SELECT "ORDER BY id LIMIT ?1",
    MODEL_SELECT "WHERE is_active = 1 ORDER BY id LIMIT ?1",
    MODEL_SELECT "WHERE id > ?1 ORDER BY id LIMIT ?2",
    MODEL_SELECT "WHERE is_active = 1 AND id > ?1 ORDER BY id LIMIT ?2",
    "SELECT count(*) FROM database_models",
    "SELECT count(*) FROM database_models WHERE is_active = 1",
    REV_RECORD "SELECT id, revision + ?2, ?3, ?4, ?5, " REV_TIME("?6") ", model_id, base_model, configuration_type, steps, "
               "cfg_scale, sampler, scheduler, model_specific_params, created_at, updated_at "
               "FROM inference_configurations WHERE id = ?1",
    REV_RECORD "SELECT id, revision, ?2, ?3, ?4, " REV_TIME("?5") ", model_id, base_model, configuration_type, steps, cfg_scale, "
               "sampler, scheduler, model_specific_params, created_at, updated_at "
               "FROM inference_configurations WHERE rowid > ?1 ORDER BY rowid",
    REV_SELECT "WHERE configuration_id = ?1 AND revision < ?2 ORDER BY revision DESC LIMIT ?3",
    REV_SELECT "WHERE model_id = ?1 AND configuration_type = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
    REV_SELECT "WHERE configuration_id = ?1 AND revision = ?2",
    REV_SELECT "WHERE configuration_id = ?1 ORDER BY revision DESC LIMIT 1",
    REV_SELECT "WHERE model_id = ?1 AND configuration_type = ?2 AND changed_at <= ?3 "
               "ORDER BY changed_at DESC, seq DESC LIMIT 1",
    "INSERT INTO inference_configurations (" IC_COLUMNS ") SELECT configuration_id, model_id, base_model, "
    "configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, created_at, ?3, revision + 1 "
    "FROM inference_configuration_revisions WHERE configuration_id = ?1 AND revision = ?2",
};
static_assert(std::size(kStatementText) == static_cast<std::size_t>(Sql::kCount_),
              "one statement text per enum Sql value");

#undef IC_COLUMNS
#undef IC_SELECT
#undef IC_INSERT
#undef MODEL_SELECT
#undef REV_COLUMNS
#undef REV_SELECT
#undef REV_RECORD
#undef REV_TIME

constexpr std::size_t kMaxIdleConnections = 16;

// Before SQLite's first use in the process: no memory statistics. Otherwise
// every allocation takes a global mutex to count itself; nothing of ours reads
// the counts (sqlite3_memory_used, a soft heap limit), and populate's writer
// spent 4 % of its time there. Fails harmlessly (SQLITE_MISUSE) when something
// else in the process initialised SQLite first.
void configure_sqlite_once() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

// Changing the journal mode needs the file to itself, and SQLite answers
// SQLITE_BUSY at once, without calling the busy handler, while any other
// connection holds a lock on it — as when two processes create the same new
// database. So it waits on its own clock, up to the same busy timeout.
void switch_to_wal(SQLite::Database& db, std::chrono::milliseconds busy_timeout) {
  const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
  for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(50))) {
    try {
      db.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() + pause > deadline) throw;
    }
    std::this_thread::sleep_for(pause);
  }
}

int open_flags(bool read_only) {
  // NOMUTEX: a connection is only ever used by the thread that leased it.
  return (read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) | SQLite::OPEN_NOMUTEX;
}

}  // namespace

Connection::Connection(const StoreContext& ctx, bool read_only, Checkpointer* checkpointer)
    : db_(ctx.path, open_flags(read_only), static_cast<int>(ctx.busy_timeout.count())) {
  // Reading the journal mode reads the file header: "not a database" fails here.
  SQLite::Statement mode(db_, "PRAGMA journal_mode");
  mode.executeStep();
  const std::string current = mode.getColumn(0).getString();
  mode.reset();
  if (!read_only && current != "wal") {
    // 4 KiB pages for a new file (a file's page size is fixed once it has
    // content, and in WAL mode for good). Every page a write changes is
    // copied whole into the WAL: an update with its revision changes four, so
    // with 16 KiB pages it took 1.7x as long as an update before history, and
    // with 4 KiB pages it takes less time than that did. A bulk populate
    // pays for it: 16 KiB pages, fuller, cut its b-tree work (its CPU time at
    // 1M models is about 8 % higher with 4 KiB).
    if (db_.execAndGet("PRAGMA page_count").getInt64() == 0) db_.exec("PRAGMA page_size = 4096");
    switch_to_wal(db_, ctx.busy_timeout);
  }
  db_.exec("PRAGMA foreign_keys = ON");
  db_.exec("PRAGMA synchronous = NORMAL");
  // 16 MiB per connection (an upper bound, allocated as used). A population
  // batch of 2000 models writes at the right edge of every index (time-ordered
  // ids), a few MiB; a page that spills from the cache mid-transaction would
  // be written to the WAL again. No more: populate reads the registry on one
  // connection while it writes on another, and a long job must stay under
  // 100 MB resident whatever the size of the file (the OS page cache, which is
  // not ours, holds the rest). With 32 MiB each, 1M models peaked at 82 MB
  // (98 MB with --registry) for the same speed.
  db_.exec("PRAGMA cache_size = -16384");
  const std::int64_t page_size = db_.execAndGet("PRAGMA page_size").getInt64();
  if (checkpointer != nullptr && !read_only) {
    checkpointer->watch(db_.getHandle(), page_size);
  } else {
    const std::int64_t wal_pages = kWalFallbackBytes / std::max<std::int64_t>(page_size, 512);
    db_.exec(fmt::format("PRAGMA wal_autocheckpoint = {}", wal_pages));
  }
  // Statement journals (kept by multi-row statements) and temporary b-trees in
  // memory: on disk a journal costs a dozen pwrite() calls per row.
  db_.exec("PRAGMA temp_store = MEMORY");
}

SQLite::Statement& Connection::statement(Sql which) {
  auto& slot = cached_[static_cast<std::size_t>(which)];
  if (!slot) slot = std::make_unique<SQLite::Statement>(db_, kStatementText[static_cast<std::size_t>(which)]);
  return *slot;
}

SQLite::Statement& Connection::statement(const std::string& sql) {
  auto& slot = dynamic_[sql];
  if (!slot) slot = std::make_unique<SQLite::Statement>(db_, sql);
  return *slot;
}

StatementScope::StatementScope(SQLite::Statement& s) : s_(s) { s_.tryReset(); }

StatementScope::~StatementScope() {
  s_.tryReset();
  // sqlite3_reset keeps the bindings: a parameter a later use forgets to bind must be NULL, not a stale value.
  try {
    s_.clearBindings();
  } catch (const SQLite::Exception&) {
    // sqlite3_clear_bindings cannot fail; nothing to do.
  }
}

ConnectionPool::ConnectionPool(StoreContext ctx, bool read_only, Checkpointer* checkpointer)
    : ctx_(std::move(ctx)), read_only_(read_only), checkpointer_(checkpointer) {
  configure_sqlite_once();
}

ConnectionPool::Lease ConnectionPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(c));
    }
  }
  return Lease(*this, std::make_unique<Connection>(ctx_, read_only_, checkpointer_));
}

void ConnectionPool::release(std::unique_ptr<Connection> c) {
  // A connection left inside a transaction (a failed ROLLBACK) is not reused.
  if (!sqlite3_get_autocommit(c->db().getHandle())) {
    sqlite3_exec(c->db().getHandle(), "ROLLBACK", nullptr, nullptr, nullptr);
    if (!sqlite3_get_autocommit(c->db().getHandle())) return;
  }
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(c));
}

ConnectionPool::Lease::~Lease() {
  if (c_) pool_->release(std::move(c_));
}

}  // namespace inferconf::sqlite
