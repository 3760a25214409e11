// The SQLite schema: its versions, the forward migrations between them, and
// the check that a file's schema is exactly the current one.
//
// Version history (PRAGMA user_version):
//   0  empty file.
//   1  inference_configurations and database_models with their indexes.
//   2  + inference_configurations.revision (optimistic concurrency),
//      + configuration_changes (change log written by the store with each write),
//      + schema_meta (store epoch, change-log pruning mark).
//   3  + inference_configuration_revisions (change history, one row per
//      revision, written by the store in the transaction of each write); each
//      configuration that existed before gets a baseline revision.
#pragma once

#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>

#include "store/sqlite/sqlite_errors.hpp"

namespace inferconf::sqlite {

inline constexpr int kSchemaVersion = 3;

// schema_meta keys.
inline constexpr const char* kMetaEpoch = "store_epoch";
inline constexpr const char* kMetaPrunedThrough = "change_log_pruned_through";

// Brings the schema forward to kSchemaVersion. Must run inside a write
// transaction (DDL is transactional in SQLite, so a failed migration leaves
// the file as it was). Throws Error(kUnavailable) for a file of a newer
// version and Error(kInvalid) when an index of ours exists with another
// definition or existing rows violate a unique index.
void migrate(SQLite::Database& db, const StoreContext& ctx);

// One sentence per difference between the file's schema and version
// kSchemaVersion; empty when they match.
std::vector<std::string> check(SQLite::Database& db);

// The version stored in the file.
int schema_version(SQLite::Database& db);

}  // namespace inferconf::sqlite
