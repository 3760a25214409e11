#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <system_error>
#include <utility>

#include <sqlite3.h>

#include <SQLiteCpp/Exception.h>
#include <fmt/format.h>

#include "store/history_rules.hpp"
#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/cursors.hpp"
#include "store/sqlite/revisions.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/schema.hpp"

namespace inferconf::sqlite {
namespace {

constexpr std::size_t kMaxPageSize = 1000;
// Models read per statement by for_each_model().
constexpr std::size_t kModelPageSize = 512;

// JSON text of a document field; invalid UTF-8 in a string is the caller's error, not a crash.
std::string json_text(const nlohmann::json& j, std::string_view field) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    throw invalid(fmt::format("{} cannot be stored: {}; send its strings as UTF-8.", field, e.what()),
                  {{std::string(field), "received a string that is not valid UTF-8; allowed: UTF-8 text"}});
  }
}

// Binds ?1…?12 in kConfigurationColumns order, without copies: c and
// params_json must outlive the statement's execution.
void bind_configuration(SQLite::Statement& s, const InferenceConfiguration& c, const std::string& params_json) {
  s.bindNoCopy(1, c.id);
  s.bindNoCopy(2, c.model_id);
  s.bindNoCopy(3, c.base_model);
  s.bindNoCopy(4, c.configuration_type);
  s.bind(5, c.steps);
  s.bind(6, c.cfg_scale);
  s.bindNoCopy(7, c.sampler);
  s.bindNoCopy(8, c.scheduler);
  s.bindNoCopy(9, params_json);
  s.bind(10, to_millis(c.created_at));
  s.bind(11, to_millis(c.updated_at));
  s.bind(12, c.revision);
}

// Reads a row selected with kConfigurationColumns.
InferenceConfiguration read_configuration(const SQLite::Statement& s) {
  InferenceConfiguration c;
  c.id = column_text(s, 0);
  c.model_id = column_text(s, 1);
  c.base_model = column_text(s, 2);
  c.configuration_type = column_text(s, 3);
  c.steps = s.getColumn(4).getInt();
  c.cfg_scale = s.getColumn(5).getDouble();
  c.sampler = column_text(s, 6);
  c.scheduler = column_text(s, 7);
  c.model_specific_params = column_json(s, 8, "model_specific_params", c.id);
  c.created_at = from_millis(s.getColumn(9).getInt64());
  c.updated_at = from_millis(s.getColumn(10).getInt64());
  c.revision = s.getColumn(11).getInt64();
  return c;
}

ModelRecord read_model(const SQLite::Statement& s) {
  ModelRecord m;
  m.id = column_text(s, 0);
  m.name = column_text(s, 1);
  m.is_active = s.getColumn(2).getInt() != 0;
  if (!s.isColumnNull(3)) m.base_model = column_text(s, 3);
  m.metadata = column_json(s, 4, "metadata", m.id);
  if (!s.isColumnNull(5)) m.file_path = column_text(s, 5);
  return m;
}

std::optional<InferenceConfiguration> select_one(Connection& c, Sql which, std::string_view a,
                                                 std::optional<std::string_view> b = std::nullopt) {
  StatementScope s(c.statement(which));
  s->bind(1, std::string(a));
  if (b) s->bind(2, std::string(*b));
  if (!s->executeStep()) return std::nullopt;
  return read_configuration(*s);
}

std::vector<InferenceConfiguration> select_all(Connection& c, Sql which, std::string_view a,
                                               std::optional<std::string_view> b = std::nullopt) {
  StatementScope s(c.statement(which));
  s->bind(1, std::string(a));
  if (b) s->bind(2, std::string(*b));
  std::vector<InferenceConfiguration> out;
  while (s->executeStep()) out.push_back(read_configuration(*s));
  return out;
}

std::optional<std::string> id_by_model_and_type(Connection& c, std::string_view model_id, std::string_view type) {
  StatementScope s(c.statement(Sql::kIdByModelAndType));
  s->bind(1, std::string(model_id));
  s->bind(2, std::string(type));
  if (!s->executeStep()) return std::nullopt;
  return column_text(*s, 0);
}

std::int64_t change_top(Connection& c) {
  StatementScope s(c.statement(Sql::kChangeTop));
  s->executeStep();
  return s->getColumn(0).getInt64();
}

std::string meta_value(Connection& c, const char* key) {
  StatementScope s(c.statement(Sql::kMetaGet));
  s->bind(1, key);
  return s->executeStep() ? column_text(*s, 0) : std::string();
}

// The highest change-log sequence number already pruned (0 when none).
std::int64_t pruned_through(Connection& c) {
  StatementScope s(c.statement(Sql::kMetaGet));
  s->bind(1, kMetaPrunedThrough);
  return s->executeStep() ? s->getColumn(0).getInt64() : 0;
}

std::int64_t max_configuration_rowid(Connection& c) {
  StatementScope s(c.statement(Sql::kMaxConfigurationRowid));
  s->executeStep();
  return s->getColumn(0).getInt64();
}

// Appends to the change log, inside the caller's write transaction.
void log_change(Connection& c, const std::string& id, const char* op) {
  StatementScope s(c.statement(Sql::kLogChange));
  s->bindNoCopy(1, id);
  s->bind(2, op);
  s->exec();
}

const std::string& store_epoch(Connection& c) {
  if (!c.epoch) c.epoch = meta_value(c, kMetaEpoch);
  return *c.epoch;
}

Error duplicate(std::string_view model_id, std::string_view type, const std::optional<std::string>& existing) {
  Error e = conflict(fmt::format(
      "The model \"{}\" already has a \"{}\" configuration (id {}); update that one, or delete it first.", model_id,
      type, existing.value_or("unknown")));
  if (existing) e.with_existing_id(*existing);
  return e;
}

Error unknown_id(std::string_view id) {
  return not_found(
      fmt::format("No configuration has the id \"{}\"; list the configurations to find the right id.", id));
}

void check_revision(const InferenceConfiguration& current, std::optional<std::int64_t> expected) {
  if (expected && *expected != current.revision) {
    throw conflict(fmt::format(
                       "The configuration {} is at revision {}, not {} as expected: it changed since it was read; "
                       "read it again and retry.",
                       current.id, current.revision, *expected))
        .as_revision_mismatch();
  }
}

// WHERE clause and its bindings for a ConfigurationFilter (and a keyset bound).
struct FilterSql {
  std::string where;
  std::vector<std::string> values;
};

FilterSql filter_sql(const ConfigurationFilter& f, const std::optional<std::string>& after_id) {
  FilterSql out;
  const auto add = [&](const char* column, const char* op, const std::optional<std::string>& v) {
    if (!v) return;
    out.where += out.where.empty() ? " WHERE " : " AND ";
    out.values.push_back(*v);
    out.where += fmt::format("{} {} ?{}", column, op, out.values.size());
  };
  add("model_id", "=", f.model_id);
  add("base_model", "=", f.base_model);
  add("configuration_type", "=", f.configuration_type);
  add("id", ">", after_id);
  return out;
}

}  // namespace

// One SQLite file. Connections come from a pool, one thread per connection at
// a time; writers inside this process queue on write_mu_ (cheaper and fairer
// than SQLite's sleeping busy handler), writers of other processes on the
// busy timeout.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::filesystem::path path, const SqliteStoreOptions& options)
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
  ~SqliteStore() override {
    if (checkpointer_) checkpointer_->stop();
  }

  std::string describe() const override { return "sqlite:" + ctx_.path.string(); }

  void ensure_schema() override {
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

  std::vector<std::string> check_schema() override {
    return with_connection([&](Connection& c) { return check(c.db()); });
  }

  InferenceConfiguration create(const CreateDTO& dto, const WriteContext& context = {}) override {
    InferenceConfiguration c = new_configuration(dto, now_utc());
    with_connection([&](Connection& conn) {
      Transaction tx(*this, conn, Transaction::kWrite);
      insert(conn, c, context);
      prune_change_log(conn);
      tx.commit();
    });
    return c;
  }

  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos,
                                                  const WriteContext& context = {}) override {
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

  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                   const WriteContext& context = {}) override {
    std::vector<PresetForModels> groups;
    groups.reserve(dtos.size());
    for (const auto& d : dtos) groups.push_back({&d, {std::cref(d.model_id)}});
    return create_missing_for_models(groups, replace, context);
  }

  // Each preset is serialised and bound once; a row then binds only its id
  // and model_id. A population batch is thousands of rows from a few dozen
  // presets: comparing each row's parameters with the previous row's, to reuse
  // their JSON text, took 8 % of the writer's time.
  std::vector<bool> create_missing_for_models(const std::vector<PresetForModels>& groups, bool replace,
                                              const WriteContext& context = {}) override {
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

  std::optional<InferenceConfiguration> get(std::string_view id) override {
    return with_connection([&](Connection& c) { return select_one(c, Sql::kSelectById, id); });
  }

  InferenceConfiguration update(std::string_view id, const UpdateDTO& update,
                                std::optional<std::int64_t> expected_revision,
                                const WriteContext& context = {}) override {
    return rewrite(id, expected_revision, RevisionOperation::kUpdate, context,
                   [&](InferenceConfiguration& next, Connection&) { apply_update(next, update); });
  }

  InferenceConfiguration replace(std::string_view id, const CreateDTO& replacement,
                                 std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context = {}) override {
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

  void remove(std::string_view id, std::optional<std::int64_t> expected_revision,
              const WriteContext& context = {}) override {
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

  std::vector<InferenceConfiguration> find_by_model_id(std::string_view model_id,
                                                       std::optional<std::string_view> type) override {
    return with_connection([&](Connection& c) {
      return type ? select_all(c, Sql::kSelectByModelOfType, model_id, type)
                  : select_all(c, Sql::kSelectByModel, model_id);
    });
  }

  std::vector<InferenceConfiguration> find_by_base_model(std::string_view base_model,
                                                         std::optional<std::string_view> type) override {
    return with_connection([&](Connection& c) {
      return type ? select_all(c, Sql::kSelectByBaseOfType, base_model, type)
                  : select_all(c, Sql::kSelectByBase, base_model);
    });
  }

  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) override {
    return with_connection([&](Connection& c) { return select_one(c, Sql::kSelectByModelAndType, model_id, type); });
  }

  std::optional<InferenceConfiguration> find_by_base_model_and_type(std::string_view base_model,
                                                                    std::string_view type) override {
    return with_connection(
        [&](Connection& c) { return select_one(c, Sql::kSelectFirstByBaseOfType, base_model, type); });
  }

  ConfigurationPage list(const ConfigurationFilter& filter, std::size_t limit,
                         std::optional<std::string_view> cursor) override {
    if (limit < 1 || limit > kMaxPageSize)
      throw invalid(fmt::format("limit must be between 1 and {}; got {}.", kMaxPageSize, limit),
                    {{"limit", fmt::format("received {}; allowed: 1 to {}", limit, kMaxPageSize)}});
    std::optional<std::string> after;
    if (cursor) after = decode_page_cursor(*cursor);
    const FilterSql f = filter_sql(filter, after);
    return with_connection([&](Connection& c) {
      StatementScope s(c.statement(fmt::format("SELECT {} FROM inference_configurations{} ORDER BY id LIMIT ?{}",
                                               kConfigurationColumns, f.where, f.values.size() + 1)));
      for (std::size_t i = 0; i < f.values.size(); ++i) s->bind(static_cast<int>(i + 1), f.values[i]);
      // One row more than asked tells whether another page follows.
      s->bind(static_cast<int>(f.values.size() + 1), static_cast<std::int64_t>(limit + 1));
      ConfigurationPage page;
      while (s->executeStep()) page.items.push_back(read_configuration(*s));
      if (page.items.size() > limit) {
        page.items.pop_back();
        page.next_cursor = encode_page_cursor(page.items.back().id);
      }
      return page;
    });
  }

  std::int64_t count(const ConfigurationFilter& filter) override {
    const FilterSql f = filter_sql(filter, std::nullopt);
    return with_connection([&](Connection& c) {
      StatementScope s(c.statement(fmt::format("SELECT count(*) FROM inference_configurations{}", f.where)));
      for (std::size_t i = 0; i < f.values.size(); ++i) s->bind(static_cast<int>(i + 1), f.values[i]);
      s->executeStep();
      return s->getColumn(0).getInt64();
    });
  }

  void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) override {
    with_connection([&](Connection& c) {
      StatementScope s(c.statement(Sql::kSelectAllById));
      while (s->executeStep()) {
        if (!fn(read_configuration(*s))) break;
      }
    });
  }

  std::string change_cursor() override {
    return with_connection([&](Connection& c) { return encode_change_cursor({store_epoch(c), change_top(c)}); });
  }

  ChangeSet changes_since(std::string_view cursor) override {
    const ChangeCursor since = decode_change_cursor(cursor);
    return with_connection([&](Connection& c) {
      // One snapshot: the cursor returned covers exactly the changes read.
      Transaction tx(*this, c, Transaction::kRead);
      ChangeSet out;
      const std::int64_t top = change_top(c);
      out.cursor = encode_change_cursor({store_epoch(c), top});
      if (since.epoch != store_epoch(c) || since.seq > top || since.seq < pruned_through(c)) {
        out.reload_required = true;
        return out;
      }
      std::vector<std::string> ids;
      {
        StatementScope s(c.statement(Sql::kChangedIdsAfter));
        s->bind(1, since.seq);
        while (s->executeStep()) ids.push_back(column_text(*s, 0));
      }
      for (auto& id : ids) {
        if (auto current = select_one(c, Sql::kSelectById, id)) {
          out.upserted.push_back(std::move(*current));
        } else {
          out.deleted_ids.push_back(std::move(id));
        }
      }
      tx.commit();
      return out;
    });
  }

  RevisionPage revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) override {
    return with_connection([&](Connection& c) { return select_revisions_of(c, id, limit, cursor); });
  }

  RevisionPage revisions_of_model(std::string_view model_id, std::string_view type, std::size_t limit,
                                  std::optional<std::string_view> cursor) override {
    return with_connection([&](Connection& c) { return select_revisions_of_model(c, model_id, type, limit, cursor); });
  }

  std::optional<Revision> get_revision(std::string_view id, std::int64_t revision) override {
    return with_connection([&](Connection& c) { return select_revision(c, id, revision); });
  }

  std::optional<Revision> revision_as_of(std::string_view model_id, std::string_view type, Timestamp at) override {
    return with_connection([&](Connection& c) { return select_revision_as_of(c, model_id, type, at); });
  }

  RevisionPage audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) override {
    return with_connection([&](Connection& c) { return select_audit(c, query, limit, cursor); });
  }

  InferenceConfiguration rollback(std::string_view id, std::int64_t to_revision,
                                  std::optional<std::int64_t> expected_revision, const WriteContext& context) override {
    return rewrite(id, expected_revision, RevisionOperation::kRollback, context,
                   [&](InferenceConfiguration& next, Connection& c) {
                     // Read in the write's transaction: the target cannot be pruned in between.
                     next = history_rules::rollback_target(next, select_revision(c, id, to_revision), id, to_revision);
                   });
  }

  InferenceConfiguration restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context) override {
    return with_connection([&](Connection& c) {
      Transaction tx(*this, c, Transaction::kWrite);
      const Revision tombstone = history_rules::restorable(select_one(c, Sql::kSelectById, id), select_latest_revision(c, id), id,
                                            expected_revision);
      const Timestamp now = now_utc();
      StatementScope s(c.statement(Sql::kRestoreFromRevision));
      s->bind(1, tombstone.configuration_id);
      s->bind(2, tombstone.revision);
      s->bind(3, to_millis(now));
      try {
        s->exec();
      } catch (const SQLite::Exception& e) {
        if (!is_unique_violation(e)) throw;
        const auto& d = tombstone.document;
        throw history_rules::restore_taken(d, id_by_model_and_type(c, d.model_id, d.configuration_type));
      }
      log_change(c, tombstone.configuration_id, "insert");
      record_revision(c, tombstone.configuration_id, 0, RevisionOperation::kRestore, context, to_millis(now));
      prune_change_log(c);
      auto restored = select_one(c, Sql::kSelectById, id);
      tx.commit();
      return *restored;
    });
  }

  PruneResult prune_history(const PruneRule& rule, const WriteContext& context) override {
    check_prune_rule(rule);
    return with_connection([&](Connection& c) {
      Transaction tx(*this, c, Transaction::kWrite);
      PruneResult result;
      result.removed = delete_pruned(c, rule);
      result.record = record_prune(c, rule, result.removed, context, now_utc());
      tx.commit();
      return result;
    });
  }

  void upsert_models(const std::vector<ModelRecord>& models) override {
    for (std::size_t i = 0; i < models.size(); ++i) {
      if (models[i].id.empty())
        throw invalid(fmt::format("models[{}].id is empty; every model record needs an id.", i),
                      {{fmt::format("models[{}].id", i), "received \"\"; allowed: a non-empty string"}});
    }
    if (models.empty()) return;
    with_connection([&](Connection& c) {
      Transaction tx(*this, c, Transaction::kWrite);
      for (const auto& m : models) {
        StatementScope s(c.statement(Sql::kUpsertModel));
        s->bind(1, m.id);
        s->bind(2, m.name);
        s->bind(3, m.is_active ? 1 : 0);
        if (m.base_model) {
          s->bind(4, *m.base_model);
        } else {
          s->bind(4);  // NULL
        }
        s->bind(5, json_text(m.metadata, "metadata"));
        if (m.file_path) {
          s->bind(6, *m.file_path);
        } else {
          s->bind(6);
        }
        s->exec();
      }
      tx.commit();
    });
  }

  std::optional<ModelRecord> get_model(std::string_view id) override {
    return with_connection([&](Connection& c) -> std::optional<ModelRecord> {
      StatementScope s(c.statement(Sql::kSelectModel));
      s->bind(1, std::string(id));
      if (!s->executeStep()) return std::nullopt;
      return read_model(*s);
    });
  }

  // Keyset paging: each page is one short read (its statement is reset, and
  // the connection returned to the pool, before fn sees the page). A single
  // cursor over the whole registry would hold one WAL snapshot for the whole
  // run: no checkpoint could complete behind it, so the WAL of a population
  // run would grow to the size of everything it wrote, and the reading
  // connection would need a cache of its own next to the writer's.
  void for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) override {
    std::vector<ModelRecord> page;
    page.reserve(kModelPageSize);
    std::optional<std::string> after;
    for (;;) {
      page.clear();
      with_connection([&](Connection& c) {
        const Sql which = after ? (active_only ? Sql::kSelectActiveModelsAfter : Sql::kSelectAllModelsAfter)
                                : (active_only ? Sql::kSelectActiveModels : Sql::kSelectAllModels);
        StatementScope s(c.statement(which));
        int limit_param = 1;
        if (after) s->bindNoCopy(limit_param++, *after);
        s->bind(limit_param, static_cast<std::int64_t>(kModelPageSize));
        while (s->executeStep()) page.push_back(read_model(*s));
      });
      for (const auto& m : page) {
        if (!fn(m)) return;
      }
      if (page.size() < kModelPageSize) return;
      after = std::move(page.back().id);
    }
  }

  std::int64_t count_models(bool active_only) override {
    return with_connection([&](Connection& c) {
      StatementScope s(c.statement(active_only ? Sql::kCountActiveModels : Sql::kCountAllModels));
      s->executeStep();
      return s->getColumn(0).getInt64();
    });
  }

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

  static InferenceConfiguration new_configuration(const CreateDTO& dto, Timestamp now) {
    InferenceConfiguration c = make_configuration(dto);
    c.id = new_uuid_v7();
    c.created_at = c.updated_at = now;
    c.revision = 1;
    return c;
  }

  // INSERTs c; the unique index, not a prior lookup, decides whether it is a duplicate.
  static void insert(Connection& conn, const InferenceConfiguration& c, const WriteContext& context) {
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
  static Error batch_conflict(const Error& e, const std::vector<InferenceConfiguration>& batch, std::size_t i) {
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
  void prune_change_log(Connection& c) {
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

  StoreContext ctx_;
  SqliteStoreOptions options_;
  std::timed_mutex write_mu_;
  std::unique_ptr<Checkpointer> checkpointer_;  // null when read-only
  ConnectionPool pool_;
};

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
