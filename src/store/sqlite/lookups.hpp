// The small statements every part of the SQLite store runs inside its
// transactions — a configuration by a key, the change log's top and pruning
// mark, the store's epoch — and the errors of a write that the unique index or
// a stale revision refuses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inferconf/configuration.hpp"
#include "inferconf/error.hpp"
#include "store/sqlite/connection.hpp"

namespace inferconf::sqlite {

// The configuration the statement `which` selects with ?1 = a (and ?2 = b), or nullopt.
std::optional<InferenceConfiguration> select_one(Connection& c, Sql which, std::string_view a,
                                                 std::optional<std::string_view> b = std::nullopt);
// Every configuration it selects, in its order.
std::vector<InferenceConfiguration> select_all(Connection& c, Sql which, std::string_view a,
                                               std::optional<std::string_view> b = std::nullopt);
std::optional<std::string> id_by_model_and_type(Connection& c, std::string_view model_id, std::string_view type);

// The change log's highest sequence number (0 when empty).
std::int64_t change_top(Connection& c);
// A value of schema_meta ("" when absent).
std::string meta_value(Connection& c, const char* key);
// The highest change-log sequence number already pruned (0 when none).
std::int64_t pruned_through(Connection& c);
std::int64_t max_configuration_rowid(Connection& c);
// Appends to the change log, inside the caller's write transaction.
void log_change(Connection& c, const std::string& id, const char* op);
// The file's epoch, read once per connection.
const std::string& store_epoch(Connection& c);

// kConflict naming the configuration that already holds (model_id, type).
Error duplicate(std::string_view model_id, std::string_view type, const std::optional<std::string>& existing);
Error unknown_id(std::string_view id);
// kConflict (is_revision_mismatch()) unless expected is absent or current's revision.
void check_revision(const InferenceConfiguration& current, std::optional<std::int64_t> expected);

}  // namespace inferconf::sqlite
