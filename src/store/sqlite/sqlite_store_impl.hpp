// The SQLite store's class, shared by the files that implement it by concern
// (as the MongoDB store is split): sqlite_store.cpp (opening, schema and the
// writes of configurations), sqlite_queries.cpp (the reads), sqlite_changes.cpp
// (the change feed), sqlite_history.cpp (change history) and
// sqlite_registry.cpp (the model registry). Private to src/store/sqlite.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include <SQLiteCpp/Exception.h>

#include "inferconf/store.hpp"
#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/lookups.hpp"
#include "store/sqlite/revisions.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_errors.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace inferconf::sqlite {

// One SQLite file. Connections come from a pool, one thread per connection at
// a time; writers inside this process queue on write_mu_ (cheaper and fairer
// than SQLite's sleeping busy handler), writers of other processes on the
// busy timeout.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path path, const SqliteStoreOptions& options);

  ~SqliteStore() override;

  std::string describe() const override { return "sqlite:" + ctx_.path.string(); }

  // --- Schema (sqlite_store.cpp) ---
  void ensure_schema() override;
  std::vector<std::string> check_schema() override;

  // --- Writes of configurations (sqlite_store.cpp) ---
  InferenceConfiguration create(const CreateDTO& dto, const WriteContext& context = {}) override;
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos,
                                                  const WriteContext& context = {}) override;
  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                   const WriteContext& context = {}) override;
  std::vector<bool> create_missing_for_models(const std::vector<PresetForModels>& groups, bool replace,
                                              const WriteContext& context = {}) override;
  InferenceConfiguration update(std::string_view id, const UpdateDTO& update,
                                std::optional<std::int64_t> expected_revision,
                                const WriteContext& context = {}) override;
  InferenceConfiguration replace(std::string_view id, const CreateDTO& replacement,
                                 std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context = {}) override;
  void remove(std::string_view id, std::optional<std::int64_t> expected_revision,
              const WriteContext& context = {}) override;

  // --- Reads of configurations (sqlite_queries.cpp) ---
  std::optional<InferenceConfiguration> get(std::string_view id) override;
  std::vector<InferenceConfiguration> find_by_model_id(std::string_view model_id,
                                                       std::optional<std::string_view> type) override;
  std::vector<InferenceConfiguration> find_by_base_model(std::string_view base_model,
                                                         std::optional<std::string_view> type) override;
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) override;
  std::optional<InferenceConfiguration> find_by_base_model_and_type(std::string_view base_model,
                                                                    std::string_view type) override;
  ConfigurationPage list(const ConfigurationFilter& filter, std::size_t limit,
                         std::optional<std::string_view> cursor) override;
  std::int64_t count(const ConfigurationFilter& filter) override;
  void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) override;

  // --- The change feed (sqlite_changes.cpp) ---
  std::string change_cursor() override;
  ChangeSet changes_since(std::string_view cursor) override;

  // --- Change history (sqlite_history.cpp; the statements in revisions.cpp) ---
  RevisionPage revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) override;
  RevisionPage revisions_of_model(std::string_view model_id, std::string_view type, std::size_t limit,
                                  std::optional<std::string_view> cursor) override;
  std::optional<Revision> get_revision(std::string_view id, std::int64_t revision) override;
  std::optional<Revision> revision_as_of(std::string_view model_id, std::string_view type, Timestamp at) override;
  RevisionPage audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) override;
  InferenceConfiguration rollback(std::string_view id, std::int64_t to_revision,
                                  std::optional<std::int64_t> expected_revision, const WriteContext& context) override;
  InferenceConfiguration restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context) override;
  PruneResult prune_history(const PruneRule& rule, const WriteContext& context) override;

  // --- The model registry (sqlite_registry.cpp) ---
  void upsert_models(const std::vector<ModelRecord>& models) override;
  std::optional<ModelRecord> get_model(std::string_view id) override;
  void for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) override;
  std::int64_t count_models(bool active_only) override;

 private:
  // BEGIN … COMMIT, rolled back unless committed. Write transactions take the
  // write lock at BEGIN (IMMEDIATE): a read-then-write never has to upgrade,
  // which SQLite could only refuse with SQLITE_BUSY.
  class Transaction {
   public:
    enum Kind { kRead, kWrite };
    Transaction(SqliteStore& store, Connection& c, Kind kind) : c_(c) {
      if (kind == kWrite) {
        lock_ = std::unique_lock(store.write_mu_, std::defer_lock);
        if (!lock_.try_lock_for(store.ctx_.busy_timeout))
          throw sqlite_error(SQLITE_BUSY, "another thread of this process is writing", store.ctx_);
      }
      run(kind == kWrite ? Sql::kBeginImmediate : Sql::kBeginDeferred);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
      if (done_) return;
      // Fails harmlessly when SQLite already rolled back (after SQLITE_FULL, SQLITE_IOERR…).
      SQLite::Statement& rollback = c_.statement(Sql::kRollback);
      rollback.tryExecuteStep();
      rollback.tryReset();
    }
    void commit() {
      run(Sql::kCommit);
      done_ = true;
    }

   private:
    void run(Sql which) {
      StatementScope s(c_.statement(which));
      s->exec();
    }
    Connection& c_;
    std::unique_lock<std::timed_mutex> lock_;
    bool done_ = false;
  };

  template <class Fn>
  auto with_connection(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
    try {
      auto lease = pool_.acquire();
      return fn(*lease);
    } catch (const SQLite::Exception& e) {
      throw sqlite_error(e, ctx_);
    }
  }

  static InferenceConfiguration new_configuration(const CreateDTO& dto, Timestamp now);

  // INSERTs c; the unique index, not a prior lookup, decides whether it is a duplicate.
  static void insert(Connection& conn, const InferenceConfiguration& c, const WriteContext& context);

  // A conflict inside create_many: against a stored configuration, or against an earlier item of the batch.
  static Error batch_conflict(const Error& e, const std::vector<InferenceConfiguration>& batch, std::size_t i);

  // The read-modify-write of update() and replace(), under the write lock.
  template <class Change>
  InferenceConfiguration rewrite(std::string_view id, std::optional<std::int64_t> expected_revision,
                                 RevisionOperation op, const WriteContext& context, Change&& change) {
    return with_connection([&](Connection& c) {
      Transaction tx(*this, c, Transaction::kWrite);
      const auto current = select_one(c, Sql::kSelectById, id);
      if (!current) throw unknown_id(id);
      check_revision(*current, expected_revision);
      InferenceConfiguration next = *current;
      change(next, c);
      next.updated_at = now_utc();
      next.revision = current->revision + 1;
      StatementScope s(c.statement(Sql::kUpdateConfiguration));
      s->bind(1, next.id);
      s->bind(2, next.base_model);
      s->bind(3, next.configuration_type);
      s->bind(4, next.steps);
      s->bind(5, next.cfg_scale);
      s->bind(6, next.sampler);
      s->bind(7, next.scheduler);
      s->bind(8, json_text(next.model_specific_params, "model_specific_params"));
      s->bind(9, to_millis(next.updated_at));
      s->bind(10, next.revision);
      s->bind(11, current->revision);
      int changed = 0;
      try {
        changed = s->exec();
      } catch (const SQLite::Exception& e) {
        if (!is_unique_violation(e)) throw;
        throw duplicate(next.model_id, next.configuration_type,
                        id_by_model_and_type(c, next.model_id, next.configuration_type));
      }
      if (changed != 1) check_revision(*current, current->revision + 1);  // cannot happen under the write lock
      log_change(c, next.id, "update");
      record_revision(c, next.id, 0, op, context, to_millis(next.updated_at));
      prune_change_log(c);
      tx.commit();
      return next;
    });
  }

  // Keeps the change log bounded. Runs inside the caller's write transaction;
  // prunes in steps of keep/8 so that most writes only read two values.
  void prune_change_log(Connection& c);

  StoreContext ctx_;
  SqliteStoreOptions options_;
  std::timed_mutex write_mu_;
  std::unique_ptr<Checkpointer> checkpointer_;  // null when read-only
  ConnectionPool pool_;
};

}  // namespace inferconf::sqlite
