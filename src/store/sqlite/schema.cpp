#include "store/sqlite/schema.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <tuple>

#include <sqlite3.h>

#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "inferconf/configuration.hpp"

namespace inferconf::sqlite {
namespace {

struct ColumnSpec {
  const char* name;
  const char* type;
  bool not_null;
};

struct TableSpec {
  const char* name;
  std::vector<ColumnSpec> columns;
};

struct IndexSpec {
  const char* name;
  const char* table;
  bool unique;
  std::vector<std::string> columns;
};

// The seed's indexes (model_id, base_model, UNIQUE (model_id, configuration_type)),
// the unique id, and the registry's unique id.
const std::vector<IndexSpec>& index_specs() {
  static const std::vector<IndexSpec> specs = {
      {"idx_inference_configurations_id", "inference_configurations", true, {"id"}},
      {"idx_inference_configurations_model_id", "inference_configurations", false, {"model_id"}},
      {"idx_inference_configurations_base_model", "inference_configurations", false, {"base_model"}},
      {"idx_inference_configurations_model_id_configuration_type",
       "inference_configurations",
       true,
       {"model_id", "configuration_type"}},
      {"idx_database_models_id", "database_models", true, {"id"}},
      // History: a configuration's revisions, and the point-in-time lookup
      // by (model_id, configuration_type). No index for the audit view: every
      // index is one more page each write puts in the WAL (with two more, an
      // update with its revision took 2x as long), and the audit reads a range
      // of seq, found by time with a bisection (revisions.cpp), then filters.
      {"idx_inference_configuration_revisions_configuration_revision",
       "inference_configuration_revisions",
       true,
       {"configuration_id", "revision"}},
      {"idx_inference_configuration_revisions_model_type_changed_at",
       "inference_configuration_revisions",
       false,
       {"model_id", "configuration_type", "changed_at"}},
  };
  return specs;
}

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs = {
      {"inference_configurations",
       {{"id", "TEXT", true},
        {"model_id", "TEXT", true},
        {"base_model", "TEXT", true},
        {"configuration_type", "TEXT", true},
        {"steps", "INTEGER", true},
        {"cfg_scale", "REAL", true},
        {"sampler", "TEXT", true},
        {"scheduler", "TEXT", true},
        {"model_specific_params", "TEXT", true},
        {"created_at", "INTEGER", true},
        {"updated_at", "INTEGER", true},
        {"revision", "INTEGER", true}}},
      {"database_models",
       {{"id", "TEXT", true},
        {"name", "TEXT", true},
        {"is_active", "INTEGER", true},
        {"base_model", "TEXT", false},
        {"metadata", "TEXT", true},
        {"file_path", "TEXT", false}}},
      {"configuration_changes", {{"seq", "INTEGER", false}, {"id", "TEXT", true}, {"op", "TEXT", true}}},
      {"schema_meta", {{"key", "TEXT", true}, {"value", "TEXT", true}}},
      {"inference_configuration_revisions",
       {{"seq", "INTEGER", false},
        {"configuration_id", "TEXT", true},
        {"revision", "INTEGER", true},
        {"operation", "TEXT", true},
        {"actor", "TEXT", true},
        {"reason", "TEXT", false},
        {"changed_at", "INTEGER", true},
        {"model_id", "TEXT", true},
        {"base_model", "TEXT", true},
        {"configuration_type", "TEXT", true},
        {"steps", "INTEGER", true},
        {"cfg_scale", "REAL", true},
        {"sampler", "TEXT", true},
        {"scheduler", "TEXT", true},
        {"model_specific_params", "TEXT", true},
        {"created_at", "INTEGER", true},
        {"updated_at", "INTEGER", true}}},
  };
  return specs;
}

// Version 1: the seed's collections as tables.
constexpr const char* kVersion1Tables[] = {
    "CREATE TABLE IF NOT EXISTS inference_configurations ("
    " id TEXT NOT NULL,"
    " model_id TEXT NOT NULL,"
    " base_model TEXT NOT NULL,"
    " configuration_type TEXT NOT NULL,"
    " steps INTEGER NOT NULL,"
    " cfg_scale REAL NOT NULL,"
    " sampler TEXT NOT NULL,"
    " scheduler TEXT NOT NULL,"
    // No json_valid() CHECK: it parses every document again on insert (a
    // sixth of the bulk-insert time); the store writes serialised objects only
    // and a reader names any row whose JSON does not parse.
    " model_specific_params TEXT NOT NULL DEFAULT '{}',"
    " created_at INTEGER NOT NULL,"  // milliseconds since the Unix epoch, UTC
    " updated_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS database_models ("
    " id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " is_active INTEGER NOT NULL CHECK (is_active IN (0, 1)),"
    " base_model TEXT,"
    " metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),"
    " file_path TEXT)",
};

// Version 2: optimistic concurrency and the change log.
constexpr const char* kVersion2Changes[] = {
    "ALTER TABLE inference_configurations ADD COLUMN revision INTEGER NOT NULL DEFAULT 1 CHECK (revision >= 1)",
};

// Created when missing by every ensure_schema(), so a dropped one comes back.
// The store appends to configuration_changes in the transaction of each write
// (not with triggers: a trigger makes every INSERT keep a statement journal,
// which tripled the CPU cost of a bulk insert). No AUTOINCREMENT: pruning keeps
// the newest rows, so max(seq) never goes back, and it spares an update of
// sqlite_sequence per row.
constexpr const char* kVersion2Tables[] = {
    "CREATE TABLE IF NOT EXISTS configuration_changes ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL,"
    " op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')))",
    "CREATE TABLE IF NOT EXISTS schema_meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
};

// Version 3: change history. The document after each change is kept in the
// configuration's own columns rather than as one JSON text, so that the
// revision of a write is one INSERT … SELECT from the row just written (no
// serialisation, and a batch of creates records all its revisions in one
// statement). seq is the store-wide commit order (the audit view's order and
// cursor). No CHECK on operation: see configuration_changes above.
constexpr const char* kVersion3Tables[] = {
    "CREATE TABLE IF NOT EXISTS inference_configuration_revisions ("
    " seq INTEGER PRIMARY KEY,"
    " configuration_id TEXT NOT NULL,"
    " revision INTEGER NOT NULL,"
    " operation TEXT NOT NULL,"  // create update delete restore rollback baseline prune
    " actor TEXT NOT NULL,"
    " reason TEXT,"
    " changed_at INTEGER NOT NULL,"  // milliseconds since the Unix epoch, UTC
    " model_id TEXT NOT NULL,"
    " base_model TEXT NOT NULL,"
    " configuration_type TEXT NOT NULL,"
    " steps INTEGER NOT NULL,"
    " cfg_scale REAL NOT NULL,"
    " sampler TEXT NOT NULL,"
    " scheduler TEXT NOT NULL,"
    " model_specific_params TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL)",
};

// The configurations that existed before history was kept get one revision
// each: their current document, so that rollback and as-of start from it. In
// the order of their times, which must not go back in seq order (see REV_TIME).
constexpr const char* kVersion3Baseline =
    "INSERT INTO inference_configuration_revisions (configuration_id, revision, operation, actor, reason, "
    "changed_at, model_id, base_model, configuration_type, steps, cfg_scale, sampler, scheduler, "
    "model_specific_params, created_at, updated_at) "
    "SELECT id, revision, 'baseline', 'inferconf-migration', 'history starts here', updated_at, model_id, "
    "base_model, configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, created_at, "
    "updated_at FROM inference_configurations ORDER BY updated_at, rowid";

std::string index_ddl(const IndexSpec& spec) {
  return fmt::format("CREATE {}INDEX IF NOT EXISTS {} ON {} ({})", spec.unique ? "UNIQUE " : "", spec.name,
                     spec.table, fmt::join(spec.columns, ", "));
}

std::string describe(const IndexSpec& spec) {
  return fmt::format("{}{}({})", spec.unique ? "UNIQUE " : "", spec.table, fmt::join(spec.columns, ", "));
}

// The index as the file defines it, or nullopt when there is none by that name.
std::optional<IndexSpec> actual_index(SQLite::Database& db, const IndexSpec& expected) {
  SQLite::Statement table(db, "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?1");
  table.bind(1, expected.name);
  if (!table.executeStep()) return std::nullopt;
  IndexSpec actual{expected.name, "", false, {}};
  const std::string table_name = table.getColumn(0).getString();
  actual.table = table_name == expected.table ? expected.table : "another table";
  SQLite::Statement list(db, "SELECT \"unique\", partial FROM pragma_index_list(?1) WHERE name = ?2");
  list.bind(1, table_name);
  list.bind(2, expected.name);
  if (list.executeStep()) actual.unique = list.getColumn(0).getInt() == 1 && list.getColumn(1).getInt() == 0;
  SQLite::Statement info(db, "SELECT name FROM pragma_index_info(?1) ORDER BY seqno");
  info.bind(1, expected.name);
  while (info.executeStep()) actual.columns.push_back(info.getColumn(0).getString());
  return actual;
}

bool same(const IndexSpec& a, const IndexSpec& b) {
  return std::string_view(a.table) == b.table && a.unique == b.unique && a.columns == b.columns;
}

// CREATE INDEX IF NOT EXISTS keeps an index of the same name whatever its
// definition, so one that differs must be refused here.
void refuse_conflicting_indexes(SQLite::Database& db) {
  for (const auto& spec : index_specs()) {
    const auto actual = actual_index(db, spec);
    if (actual && !same(*actual, spec)) {
      throw invalid(fmt::format(
          "The index {} exists as {} but inferconf needs it as {}; drop it (DROP INDEX {}) and run `inferconf init` "
          "again.",
          spec.name, describe(*actual), describe(spec), spec.name));
    }
  }
}

// A unique index cannot be built over duplicate rows: name them.
[[noreturn]] void throw_duplicates(SQLite::Database& db, const IndexSpec& spec) {
  std::vector<std::string> examples;
  if (spec.columns.size() == 2) {
    SQLite::Statement dup(db,
                          "SELECT model_id, configuration_type, count(*) FROM inference_configurations "
                          "GROUP BY model_id, configuration_type HAVING count(*) > 1 ORDER BY 1, 2 LIMIT 5");
    while (dup.executeStep())
      examples.push_back(fmt::format("model \"{}\" type \"{}\" ({} rows)", dup.getColumn(0).getString(),
                                     dup.getColumn(1).getString(), dup.getColumn(2).getInt64()));
  } else {
    SQLite::Statement dup(db, fmt::format("SELECT id, count(*) FROM {} GROUP BY id HAVING count(*) > 1 ORDER BY 1 "
                                          "LIMIT 5",
                                          spec.table));
    while (dup.executeStep())
      examples.push_back(
          fmt::format("id \"{}\" ({} rows)", dup.getColumn(0).getString(), dup.getColumn(1).getInt64()));
  }
  throw invalid(fmt::format(
      "Cannot create the unique index {} on {}: existing rows repeat the same values ({}); delete or fix the "
      "duplicates and run `inferconf init` again.",
      spec.name, describe(spec), fmt::join(examples, "; ")));
}

void create_indexes(SQLite::Database& db) {
  for (const auto& spec : index_specs()) {
    try {
      db.exec(index_ddl(spec));
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT) throw_duplicates(db, spec);
      throw;
    }
  }
}

std::string meta_value(SQLite::Database& db, const char* key) {
  SQLite::Statement q(db, "SELECT value FROM schema_meta WHERE key = ?1");
  q.bind(1, key);
  return q.executeStep() ? q.getColumn(0).getString() : std::string();
}

}  // namespace

int schema_version(SQLite::Database& db) { return db.execAndGet("PRAGMA user_version").getInt(); }

void migrate(SQLite::Database& db, const StoreContext& ctx) {
  const int version = schema_version(db);
  if (version > kSchemaVersion) {
    throw unavailable(fmt::format(
        "The database {} has schema version {}, newer than this inferconf understands ({}); use a newer inferconf.",
        ctx.path.string(), version, kSchemaVersion));
  }
  refuse_conflicting_indexes(db);
  if (version < 1) {
    for (const char* ddl : kVersion1Tables) db.exec(ddl);
  }
  if (version < 2) {
    for (const char* ddl : kVersion2Changes) db.exec(ddl);
  }
  for (const char* ddl : kVersion2Tables) db.exec(ddl);
  for (const char* ddl : kVersion3Tables) db.exec(ddl);
  if (version < 3) db.exec(kVersion3Baseline);
  SQLite::Statement meta(db, "INSERT OR IGNORE INTO schema_meta (key, value) VALUES (?1, ?2)");
  meta.bind(1, kMetaEpoch);
  meta.bind(2, new_uuid_v7());
  meta.exec();
  meta.reset();
  meta.bind(1, kMetaPrunedThrough);
  meta.bind(2, "0");
  meta.exec();
  create_indexes(db);
  db.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
}

std::vector<std::string> check(SQLite::Database& db) {
  std::vector<std::string> problems;
  const int version = schema_version(db);
  if (version != kSchemaVersion) {
    problems.push_back(fmt::format(
        "The schema version is {}, not {}; run `inferconf init` to migrate it.", version, kSchemaVersion));
  }

  for (const auto& table : table_specs()) {
    SQLite::Statement cols(db, "SELECT name, upper(type), \"notnull\" FROM pragma_table_info(?1) ORDER BY cid");
    cols.bind(1, table.name);
    std::vector<std::tuple<std::string, std::string, bool>> found;
    while (cols.executeStep())
      found.emplace_back(cols.getColumn(0).getString(), cols.getColumn(1).getString(), cols.getColumn(2).getInt());
    if (found.empty()) {
      problems.push_back(fmt::format("The table {} is missing; run `inferconf init` to create it.", table.name));
      continue;
    }
    for (const auto& want : table.columns) {
      const auto it =
          std::find_if(found.begin(), found.end(), [&](const auto& f) { return std::get<0>(f) == want.name; });
      if (it == found.end()) {
        problems.push_back(fmt::format("The table {} has no column {}; run `inferconf init` to migrate it.",
                                       table.name, want.name));
      } else if (std::get<1>(*it) != want.type || std::get<2>(*it) != want.not_null) {
        problems.push_back(fmt::format("The column {}.{} is declared {}{} but must be {}{}.", table.name, want.name,
                                       std::get<1>(*it), std::get<2>(*it) ? " NOT NULL" : "", want.type,
                                       want.not_null ? " NOT NULL" : ""));
      }
    }
    for (const auto& f : found) {
      const bool known = std::any_of(table.columns.begin(), table.columns.end(),
                                     [&](const ColumnSpec& c) { return std::get<0>(f) == c.name; });
      if (!known)
        problems.push_back(fmt::format("The table {} has a column {} that inferconf does not define.", table.name,
                                       std::get<0>(f)));
    }
  }

  for (const auto& spec : index_specs()) {
    const auto actual = actual_index(db, spec);
    if (!actual) {
      problems.push_back(fmt::format("The index {} on {} is missing; run `inferconf init` to create it.", spec.name,
                                     describe(spec)));
    } else if (!same(*actual, spec)) {
      problems.push_back(fmt::format("The index {} is {} but must be {}; drop it (DROP INDEX {}) and run "
                                     "`inferconf init`.",
                                     spec.name, describe(*actual), describe(spec), spec.name));
    }
  }
  SQLite::Statement extra(db,
                          "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                          "('inference_configurations', 'database_models', 'inference_configuration_revisions') AND name NOT LIKE 'sqlite_autoindex_%' "
                          "ORDER BY name");
  while (extra.executeStep()) {
    const std::string name = extra.getColumn(0).getString();
    const bool ours = std::any_of(index_specs().begin(), index_specs().end(),
                                  [&](const IndexSpec& s) { return name == s.name; });
    if (!ours)
      problems.push_back(fmt::format("The index {} on {} is not one inferconf defines; drop it unless it was added "
                                     "on purpose.",
                                     name, extra.getColumn(1).getString()));
  }

  const std::string mode = db.execAndGet("PRAGMA journal_mode").getString();
  if (mode != "wal")
    problems.push_back(fmt::format("The journal mode is {}, not wal; open the store read-write once to switch it.",
                                   mode));
  try {
    if (version >= 2 && meta_value(db, kMetaEpoch).empty())
      problems.push_back("The schema_meta table has no store_epoch; run `inferconf init` to restore it.");
  } catch (const SQLite::Exception&) {
    // A missing schema_meta table is already reported above.
  }
  return problems;
}

}  // namespace inferconf::sqlite
