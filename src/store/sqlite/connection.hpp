// SQLite connections of one store: each used by one thread at a time, leased
// from a small pool, with its prepared statements cached.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "store/sqlite/sqlite_errors.hpp"

namespace inferconf::sqlite {

// The statements of the store, prepared once per connection. Their text is in
// connection.cpp (kStatementText), in this order.
enum class Sql : std::size_t {
  kBeginImmediate,
  kBeginDeferred,
  kCommit,
  kRollback,
  kInsertConfiguration,
  kInsertConfigurationIfMissing,
  kUpsertConfiguration,
  kUpdateConfiguration,
  kDeleteConfiguration,
  kSelectById,
  kSelectByModelAndType,
  kSelectByModel,
  kSelectByModelOfType,
  kSelectByBase,
  kSelectByBaseOfType,
  kSelectFirstByBaseOfType,
  kSelectAllById,
  kIdByModelAndType,
  kChangeTop,
  kLogChange,
  kLogInsertsAfterRowid,   // the change log of a create_missing() batch, in one statement
  kMaxConfigurationRowid,
  kChangedIdsAfter,
  kMetaGet,
  kMetaSet,
  kPruneChanges,
  kUpsertModel,
  kSelectModel,
  kSelectAllModels,          // first page: LIMIT ?1
  kSelectActiveModels,
  kSelectAllModelsAfter,     // next pages: id > ?1 LIMIT ?2 (keyset)
  kSelectActiveModelsAfter,
  kCountAllModels,
  kCountActiveModels,
  // History (inference_configuration_revisions).
  kRecordRevision,            // the revision of the row with id ?1, its revision + ?2
  kRecordInsertsAfterRowid,   // the create revisions of a create_missing() batch, in one statement
  kSelectRevisionsOf,         // ?1 id, revision < ?2, newest first, LIMIT ?3
  kSelectRevisionsOfModel,    // ?1 model_id, ?2 type, seq < ?3, newest first, LIMIT ?4
  kSelectRevision,            // ?1 id, ?2 revision
  kSelectLatestRevision,      // ?1 id
  kSelectRevisionAsOf,        // ?1 model_id, ?2 type, changed_at <= ?3
  kRestoreFromRevision,       // re-inserts ?1 from its revision ?2, updated_at ?3
  kCount_  // number of statements
};

// Column list of every SELECT of a whole configuration, in read_configuration()'s order.
inline constexpr std::string_view kConfigurationColumns =
    "id, model_id, base_model, configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, "
    "created_at, updated_at, revision";

// Column list of every SELECT of a whole revision, in read_revision()'s order.
inline constexpr std::string_view kRevisionColumns =
    "seq, configuration_id, revision, operation, actor, reason, changed_at, model_id, base_model, "
    "configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, created_at, updated_at";

class Checkpointer;

// The WAL size at which a commit checkpoints on its own thread: 256 MiB (on
// disk, not in memory) rather than SQLite's 1000 pages, because a bulk write
// of a few thousand rows per transaction would otherwise checkpoint (two
// fsyncs) after every commit, and pages rewritten by many transactions are
// copied back once per checkpoint. populate at 1M models with 4 KiB pages and
// no background checkpoints: 75 s with a 64 MiB WAL, 55 s with 256 MiB, 61 s
// with 1 GiB (same machine, same minutes).
inline constexpr std::int64_t kWalFallbackBytes = std::int64_t{256} << 20;

class Connection {
 public:
  // Opens the file and sets the connection's pragmas; forces a read of the
  // header so that "not a database" fails here, not on first use. Commits on
  // a read-write connection report to checkpointer when there is one, and
  // otherwise checkpoint themselves once the WAL reaches kWalFallbackBytes.
  Connection(const StoreContext& ctx, bool read_only, Checkpointer* checkpointer);

  SQLite::Database& db() { return db_; }
  // The cached prepared statement (prepared on first use).
  SQLite::Statement& statement(Sql which);
  // A cached statement for SQL built at run time from a small set of shapes (list/count filters).
  SQLite::Statement& statement(const std::string& sql);

  // The store epoch read from schema_meta, cached: it never changes for a file.
  std::optional<std::string> epoch;

 private:
  SQLite::Database db_;  // declared first: statements must be finalised before it closes
  std::array<std::unique_ptr<SQLite::Statement>, static_cast<std::size_t>(Sql::kCount_)> cached_;
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> dynamic_;
};

// Resets a statement when the scope ends so that no read transaction stays
// open on the connection (an unfinished SELECT would pin a WAL snapshot).
class StatementScope {
 public:
  explicit StatementScope(SQLite::Statement& s);
  ~StatementScope();
  StatementScope(const StatementScope&) = delete;
  StatementScope& operator=(const StatementScope&) = delete;
  SQLite::Statement& operator*() { return s_; }
  SQLite::Statement* operator->() { return &s_; }

 private:
  SQLite::Statement& s_;
};

class ConnectionPool {
 public:
  // checkpointer: null for a read-only pool; must outlive the pool's connections.
  ConnectionPool(StoreContext ctx, bool read_only, Checkpointer* checkpointer);

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> c) : pool_(&pool), c_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *c_; }
    Connection* operator->() { return c_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> c_;
  };

  // An idle connection, or a new one when every connection is in use.
  Lease acquire();

 private:
  void release(std::unique_ptr<Connection> c);

  StoreContext ctx_;
  bool read_only_;
  Checkpointer* checkpointer_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace inferconf::sqlite
