// Change history in the SQLite store: the rows of
// inference_configuration_revisions, written inside the transaction of each
// write (the caller's) and read by the history methods of the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "inferconf/history.hpp"
#include "store/sqlite/connection.hpp"

namespace inferconf::sqlite {

// Records the revision of the configuration row `id` as it is now, numbered
// its revision + offset (1 for the tombstone, written just before the row is
// deleted). Inside the caller's write transaction.
void record_revision(Connection& c, const std::string& id, int offset, RevisionOperation op,
                     const WriteContext& context, std::int64_t changed_at_ms);
// Records a create revision for every configuration row inserted after
// `rowid` (a batch of creates), in one statement, in insertion order.
void record_inserts_after(Connection& c, std::int64_t rowid, const WriteContext& context,
                          std::int64_t changed_at_ms);

// Reads a row selected with kRevisionColumns.
Revision read_revision(const SQLite::Statement& s);

RevisionPage select_revisions_of(Connection& c, std::string_view id, std::size_t limit,
                                 std::optional<std::string_view> cursor);
RevisionPage select_revisions_of_model(Connection& c, std::string_view model_id, std::string_view type,
                                       std::size_t limit, std::optional<std::string_view> cursor);
std::optional<Revision> select_revision(Connection& c, std::string_view id, std::int64_t revision);
std::optional<Revision> select_latest_revision(Connection& c, std::string_view id);
std::optional<Revision> select_revision_as_of(Connection& c, std::string_view model_id, std::string_view type,
                                              Timestamp at);
RevisionPage select_audit(Connection& c, const AuditQuery& query, std::size_t limit,
                          std::optional<std::string_view> cursor);

// Deletes the revisions the rule selects; returns how many. Inside the
// caller's write transaction.
std::int64_t delete_pruned(Connection& c, const PruneRule& rule);
// Records the audit row of a prune that removed `removed` revisions.
Revision record_prune(Connection& c, const PruneRule& rule, std::int64_t removed, const WriteContext& context,
                      Timestamp now);

}  // namespace inferconf::sqlite
