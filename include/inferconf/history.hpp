// Change history: every write of a configuration leaves a revision.
//
// A revision records, for one configuration, the whole document after the
// change (for a delete, a tombstone that keeps the document as it was deleted,
// so that it can be restored), the operation, who made it (the actor), why
// (an optional reason) and when. The store writes it in the same transaction
// as the change it records. Revisions of a configuration are numbered like its
// `revision` field: 1 for the create, + 1 for every later write, the delete
// included; a restore continues after the tombstone.
//
// The store's methods that read and rewrite history are declared in
// store.hpp; this header holds the records they exchange.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/configuration.hpp"

namespace inferconf {

// Who makes a write, and why: passed with every write to the store, which
// records it in the revision. An empty actor is stored as "unknown".
struct WriteContext {
  std::string actor;                  // the token's name over HTTP; --actor, else $USER, on the CLI; "populate"
  std::optional<std::string> reason;  // --reason, X-Change-Reason, a request's "reason" field
};

// What a revision records. kBaseline marks the revision that a schema
// migration gives every configuration that existed before history was kept;
// kPrune is the audit record of a prune (it belongs to no configuration).
enum class RevisionOperation { kCreate, kUpdate, kDelete, kRestore, kRollback, kBaseline, kPrune };

std::string_view to_string(RevisionOperation op);
// nullopt for a name that is none of create, update, delete, restore,
// rollback, baseline, prune.
std::optional<RevisionOperation> parse_revision_operation(std::string_view name);
// "create, update, delete, restore, rollback, baseline, prune": for messages.
std::string revision_operation_names();

struct Revision {
  std::string configuration_id;  // for a prune record: "prune:" + a UUID
  std::int64_t revision = 0;
  RevisionOperation operation = RevisionOperation::kCreate;
  std::string actor;
  std::optional<std::string> reason;
  Timestamp at{};
  // The document after the change; for a delete, the document that was
  // deleted (its revision field is the tombstone's). For a prune record only
  // model_specific_params is meaningful: it holds `details`.
  InferenceConfiguration document;
  std::int64_t sequence = 0;  // the store-wide order of revisions (commit order)

  bool is_tombstone() const { return operation == RevisionOperation::kDelete; }
  friend bool operator==(const Revision&, const Revision&) = default;
};

// {"configuration_id", "revision", "operation", "actor", "reason", "at",
//  "deleted", "document"}; a prune record has "details" instead of "document".
void to_json(nlohmann::json& j, const Revision& r);

struct RevisionPage {
  std::vector<Revision> items;            // newest first
  std::optional<std::string> next_cursor;  // absent on the last page
};

// Filters of the audit view; an empty member matches everything. since and
// until bound the revision's time, both inclusive.
struct AuditQuery {
  std::optional<std::string> actor;
  std::optional<Timestamp> since;
  std::optional<Timestamp> until;
  std::optional<std::string> model_id;
  std::optional<std::string> base_model;
  std::optional<RevisionOperation> operation;
};

// What prune removes: per configuration, the revisions beyond the `keep`
// newest and/or older than `older_than` (both when both are given). The
// newest revision of a configuration (its current one, or its tombstone) and
// its last delete are never removed, nor prune records.
struct PruneRule {
  std::optional<std::int64_t> keep;      // 1 or more
  std::optional<Timestamp> older_than;
};

struct PruneResult {
  std::int64_t removed = 0;
  Revision record;  // the audit record of this prune
};

// The largest page of revisions a store returns.
inline constexpr std::size_t kMaxRevisionPage = 1000;

// kInvalid naming the field unless 1 <= limit <= kMaxRevisionPage.
void check_revision_page_limit(std::size_t limit);
// kInvalid naming the problem unless the rule has keep >= 1 or older_than.
void check_prune_rule(const PruneRule& rule);

// The opaque cursor of revision pages: a store-wide sequence number.
std::string encode_revision_cursor(std::int64_t sequence);
// kInvalid for a cursor that encode_revision_cursor() did not make.
std::int64_t decode_revision_cursor(std::string_view cursor);

// What a diff compares of a revision: its document without what every write
// changes (revision, updated_at), so that a patch shows the change itself,
// and "deleted": true for a tombstone.
nlohmann::json revision_diff_content(const Revision& r);
// The RFC 6902 JSON Patch that turns revision_diff_content(from) into
// revision_diff_content(to).
nlohmann::json revision_patch(const Revision& from, const Revision& to);

// A moment given to a history query (--since, --as-of, ?since=, "as_of"): an
// RFC 3339 date-time (2026-12-01T09:30:00Z) or a date (2026-12-01, its
// midnight UTC). nullopt for anything else.
std::optional<Timestamp> parse_moment(std::string_view text);
// "2026-12-01T09:30:00Z or 2026-12-01": what parse_moment() accepts, for messages.
inline constexpr std::string_view kMomentFormats = "an RFC 3339 date-time such as 2026-12-01T09:30:00Z, or a date "
                                                   "such as 2026-12-01 (its midnight UTC)";

// The actor recorded for an empty WriteContext::actor.
inline constexpr std::string_view kUnknownActor = "unknown";
inline std::string actor_of(const WriteContext& context) {
  return context.actor.empty() ? std::string(kUnknownActor) : context.actor;
}

}  // namespace inferconf
