#include "store/sqlite/sqlite_store_impl.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "store/sqlite/schema.hpp"

namespace inferconf::sqlite {

SqliteStore::SqliteStore(std::filesystem::path path, const SqliteStoreOptions& options)
    : ctx_{std::move(path), options.busy_timeout},
      options_(options),
      checkpointer_(options.read_only ? nullptr
                                      : std::make_unique<Checkpointer>(ctx_, options.wal_checkpoint_bytes,
                                                                       kWalFallbackBytes)),
      pool_(ctx_, options.read_only, checkpointer_.get()) {
  with_connection([](Connection&) {});  // opens the file now, so a bad path fails here
}

// The checkpoint thread and its connection go first, so that the last of the
// pool's connections to close is the file's last: it checkpoints what is
// left in the WAL and removes it.
SqliteStore::~SqliteStore() {
  if (checkpointer_) checkpointer_->stop();
}

void SqliteStore::ensure_schema() {
  with_connection([&](Connection& c) {
    if (options_.read_only) {
      // Nothing may be written: the schema must already be current.
      const int version = schema_version(c.db());
      if (version != kSchemaVersion)
        throw unavailable(fmt::format("The database {} is open read-only and its schema (version {}) must be "
                                      "migrated to version {}; open it read-write and run `inferconf init`.",
                                      ctx_.path.string(), version, kSchemaVersion));
      return;
    }
    Transaction tx(*this, c, Transaction::kWrite);
    migrate(c.db(), ctx_);
    tx.commit();
    c.epoch.reset();
  });
}

std::vector<std::string> SqliteStore::check_schema() {
  return with_connection([&](Connection& c) { return check(c.db()); });
}

InferenceConfiguration SqliteStore::create(const CreateDTO& dto, const WriteContext& context) {
  InferenceConfiguration c = new_configuration(dto, now_utc());
  with_connection([&](Connection& conn) {
    Transaction tx(*this, conn, Transaction::kWrite);
    insert(conn, c, context);
    prune_change_log(conn);
    tx.commit();
  });
  return c;
}

std::vector<InferenceConfiguration> SqliteStore::create_many(const std::vector<CreateDTO>& dtos,
                                                const WriteContext& context) {
  const Timestamp now = now_utc();
  std::vector<InferenceConfiguration> out;
  out.reserve(dtos.size());
  for (const auto& dto : dtos) out.push_back(new_configuration(dto, now));
  if (out.empty()) return out;
  with_connection([&](Connection& conn) {
    Transaction tx(*this, conn, Transaction::kWrite);
    for (std::size_t i = 0; i < out.size(); ++i) {
      try {
        insert(conn, out[i], context);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kConflict) throw batch_conflict(e, out, i);
        throw Error(e.code(), fmt::format("Item {} of the batch: {} Nothing was created.", i, e.what()),
                    e.field_errors());
      }
    }
    prune_change_log(conn);
    tx.commit();
  });
  return out;
}

std::vector<bool> SqliteStore::create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                 const WriteContext& context) {
  std::vector<PresetForModels> groups;
  groups.reserve(dtos.size());
  for (const auto& d : dtos) groups.push_back({&d, {std::cref(d.model_id)}});
  return create_missing_for_models(groups, replace, context);
}

// Each preset is serialised and bound once; a row then binds only its id
// and model_id. A population batch is thousands of rows from a few dozen
// presets: comparing each row's parameters with the previous row's, to reuse
// their JSON text, took 8 % of the writer's time.
std::vector<bool> SqliteStore::create_missing_for_models(const std::vector<PresetForModels>& groups, bool replace,
                                            const WriteContext& context) {
  check_presets(groups);
  std::vector<bool> created;
  for (const auto& g : groups) created.resize(created.size() + g.model_ids.size(), false);
  if (created.empty()) return created;
  const std::int64_t millis = to_millis(now_utc());
  with_connection([&](Connection& conn) {
    Transaction tx(*this, conn, Transaction::kWrite);
    // Rows inserted by this transaction get rowids above the current
    // largest (no AUTOINCREMENT: max(rowid) + 1, and the write lock is ours).
    const std::int64_t rowid_before = replace ? 0 : max_configuration_rowid(conn);
    SQLite::Statement& stmt =
        conn.statement(replace ? Sql::kUpsertConfiguration : Sql::kInsertConfigurationIfMissing);
    std::string id;
    std::size_t row = 0;
    for (const auto& g : groups) {
      if (g.model_ids.empty()) continue;
      const CreateDTO& d = *g.preset;
      const std::string params = json_text(
          d.model_specific_params.is_object() ? d.model_specific_params : nlohmann::json::object(),
          "model_specific_params");
      StatementScope s(stmt);
      s->bindNoCopy(3, d.base_model);
      s->bindNoCopy(4, d.configuration_type);
      s->bind(5, d.steps);
      s->bind(6, d.cfg_scale);
      s->bindNoCopy(7, d.sampler);
      s->bindNoCopy(8, d.scheduler);
      s->bindNoCopy(9, params);
      s->bind(10, millis);
      s->bind(11, millis);
      s->bind(12, static_cast<std::int64_t>(1));
      for (const std::string& model_id : g.model_ids) {
        id = new_uuid_v7();
        s->bindNoCopy(1, id);
        s->bindNoCopy(2, model_id);
        if (replace) {
          s->executeStep();  // RETURNING: the id is ours only when the row is new
          const std::string stored = column_text(*s, 0);
          created[row] = stored == id;
          s->reset();
          log_change(conn, stored, created[row] ? "insert" : "update");
          record_revision(conn, stored, 0, created[row] ? RevisionOperation::kCreate : RevisionOperation::kUpdate,
                          context, millis);
        } else {
          created[row] = s->exec() == 1;
          s->reset();  // keeps the bindings of the preset
        }
        ++row;
      }
    }
    // The change log of the new rows in one statement, in insertion order.
    // One INSERT per row cost as much as the row itself: the log's CHECK
    // (op IN (...)) builds a temporary b-tree on every execution of a
    // statement, and a multi-row statement reuses it.
    if (!replace) {
      StatementScope s(conn.statement(Sql::kLogInsertsAfterRowid));
      s->bind(1, rowid_before);
      s->exec();
      // Their revisions too: one multi-row statement, no per-row round trip.
      record_inserts_after(conn, rowid_before, context, millis);
    }
    prune_change_log(conn);
    tx.commit();
  });
  return created;
}

InferenceConfiguration SqliteStore::update(std::string_view id, const UpdateDTO& update,
                              std::optional<std::int64_t> expected_revision,
                              const WriteContext& context) {
  return rewrite(id, expected_revision, RevisionOperation::kUpdate, context,
                 [&](InferenceConfiguration& next, Connection&) { apply_update(next, update); });
}

InferenceConfiguration SqliteStore::replace(std::string_view id, const CreateDTO& replacement,
                               std::optional<std::int64_t> expected_revision,
                               const WriteContext& context) {
  return rewrite(id, expected_revision, RevisionOperation::kUpdate, context,
                 [&](InferenceConfiguration& next, Connection&) {
    if (replacement.model_id != next.model_id) {
      throw invalid(
          fmt::format("model_id cannot be changed: the configuration {} belongs to the model \"{}\", the "
                      "replacement names \"{}\"; create a configuration for that model instead.",
                      next.id, next.model_id, replacement.model_id),
          {{"model_id", fmt::format("received \"{}\"; allowed: \"{}\" (the stored value)", replacement.model_id,
                                    next.model_id)}});
    }
    InferenceConfiguration fresh = make_configuration(replacement);
    fresh.id = next.id;
    fresh.created_at = next.created_at;
    next = std::move(fresh);
  });
}

void SqliteStore::remove(std::string_view id, std::optional<std::int64_t> expected_revision,
            const WriteContext& context) {
  with_connection([&](Connection& c) {
    Transaction tx(*this, c, Transaction::kWrite);
    const auto current = select_one(c, Sql::kSelectById, id);
    if (!current) throw unknown_id(id);
    check_revision(*current, expected_revision);
    // The tombstone keeps the document, read from the row before it goes.
    record_revision(c, current->id, 1, RevisionOperation::kDelete, context, to_millis(now_utc()));
    StatementScope s(c.statement(Sql::kDeleteConfiguration));
    s->bind(1, current->id);
    s->bind(2, current->revision);
    s->exec();
    log_change(c, current->id, "delete");
    prune_change_log(c);
    tx.commit();
  });
}

InferenceConfiguration SqliteStore::new_configuration(const CreateDTO& dto, Timestamp now) {
  InferenceConfiguration c = make_configuration(dto);
  c.id = new_uuid_v7();
  c.created_at = c.updated_at = now;
  c.revision = 1;
  return c;
}

// INSERTs c; the unique index, not a prior lookup, decides whether it is a duplicate.
void SqliteStore::insert(Connection& conn, const InferenceConfiguration& c, const WriteContext& context) {
  const std::string params = json_text(c.model_specific_params, "model_specific_params");
  StatementScope s(conn.statement(Sql::kInsertConfiguration));
  bind_configuration(*s, c, params);
  try {
    s->exec();
  } catch (const SQLite::Exception& e) {
    if (!is_unique_violation(e)) throw;
    throw duplicate(c.model_id, c.configuration_type, id_by_model_and_type(conn, c.model_id, c.configuration_type));
  }
  log_change(conn, c.id, "insert");
  record_revision(conn, c.id, 0, RevisionOperation::kCreate, context, to_millis(c.created_at));
}

// A conflict inside create_many: against a stored configuration, or against an earlier item of the batch.
Error SqliteStore::batch_conflict(const Error& e, const std::vector<InferenceConfiguration>& batch, std::size_t i) {
  for (std::size_t j = 0; j < i; ++j) {
    if (batch[j].id == e.existing_id()) {
      return conflict(fmt::format(
          "Items {} and {} of the batch both give the model \"{}\" a \"{}\" configuration; nothing was created.",
          j, i, batch[i].model_id, batch[i].configuration_type));
    }
  }
  Error out = conflict(fmt::format("Item {} of the batch: {} Nothing was created.", i, e.what()));
  out.with_existing_id(e.existing_id());
  return out;
}

// Keeps the change log bounded. Runs inside the caller's write transaction;
// prunes in steps of keep/8 so that most writes only read two values.
void SqliteStore::prune_change_log(Connection& c) {
  const std::int64_t keep = std::max<std::int64_t>(options_.change_log_keep, 1);
  const std::int64_t top = change_top(c);
  if (top - pruned_through(c) <= keep + keep / 8) return;
  const std::int64_t new_mark = top - keep;
  {
    StatementScope s(c.statement(Sql::kPruneChanges));
    s->bind(1, new_mark);
    s->exec();
  }
  StatementScope s(c.statement(Sql::kMetaSet));
  s->bind(1, kMetaPrunedThrough);
  s->bind(2, std::to_string(new_mark));
  s->exec();
}

}  // namespace inferconf::sqlite

namespace inferconf {

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& path, const SqliteStoreOptions& options) {
  if (path.empty()) throw invalid("The SQLite database path is empty; give a file name such as data/inferconf.db.");
  if (options.wal_checkpoint_bytes <= 0)
    throw invalid(fmt::format("wal_checkpoint_bytes is {}; allowed: a positive number of bytes.",
                              options.wal_checkpoint_bytes),
                  {{"wal_checkpoint_bytes",
                    fmt::format("received {}; allowed: 1 or more", options.wal_checkpoint_bytes)}});
  if (options.read_only && !std::filesystem::exists(path)) {
    throw unavailable(fmt::format(
        "The database file {} does not exist, and a read-only store cannot create it; check the path, or create "
        "the store with `inferconf init` first.",
        path.string()));
  }
  if (!options.read_only && path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      throw unavailable(fmt::format(
          "Cannot create the directory {} for the database {} ({}); choose a database path in a writable directory.",
          path.parent_path().string(), path.string(), ec.message()));
    }
  }
  return std::make_unique<sqlite::SqliteStore>(path, options);
}

}  // namespace inferconf
