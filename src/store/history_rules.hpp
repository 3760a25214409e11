// The rules of rollback and restore that every store applies the same way,
// inside its write transaction, to what it read there.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "inferconf/error.hpp"
#include "inferconf/history.hpp"

namespace inferconf::history_rules {

// The document rollback() writes: the target revision's fields, under the
// configuration's id and created_at. kNotFound when the revision does not
// exist (never made or pruned), kInvalid when it is a tombstone.
inline InferenceConfiguration rollback_target(const InferenceConfiguration& current,
                                              const std::optional<Revision>& target, std::string_view id,
                                              std::int64_t to_revision) {
  if (!target)
    throw not_found(fmt::format("The configuration {} has no revision {} (never made, or pruned); "
                                "`inferconf history {}` lists the revisions it has.",
                                id, to_revision, id));
  if (target->is_tombstone())
    throw invalid(fmt::format("Revision {} of the configuration {} is its delete, which has no document to roll "
                              "back to; choose a revision before it.",
                              to_revision, id),
                  {{"to", fmt::format("received {} (a delete); allowed: a revision with a document", to_revision)}});
  InferenceConfiguration next = target->document;
  next.id = current.id;
  next.created_at = current.created_at;
  next.revision = current.revision;
  next.updated_at = current.updated_at;
  return next;
}

// The tombstone restore() brings back from, after checking that the
// configuration is deleted and that the caller's expected revision (the
// tombstone's) holds.
inline Revision restorable(const std::optional<InferenceConfiguration>& current,
                           const std::optional<Revision>& latest, std::string_view id,
                           std::optional<std::int64_t> expected_revision) {
  if (current)
    throw conflict(fmt::format("The configuration {} is not deleted (it is at revision {}); only a deleted "
                               "configuration can be restored, use rollback to go back to an older revision.",
                               id, current->revision));
  if (!latest || !latest->is_tombstone())
    throw not_found(fmt::format("No deleted configuration has the id \"{}\"; `inferconf audit --operation delete` "
                                "lists the deleted ones.",
                                id));
  if (expected_revision && *expected_revision != latest->revision)
    throw conflict(fmt::format("The configuration {} is at revision {} (its delete), not {} as expected; read its "
                               "history again and retry.",
                               id, latest->revision, *expected_revision))
        .as_revision_mismatch();
  return *latest;
}

// kConflict for a restore whose (model_id, configuration_type) another
// configuration holds now.
inline Error restore_taken(const InferenceConfiguration& deleted, const std::optional<std::string>& holder) {
  Error e = conflict(fmt::format("The configuration {} cannot be restored: the model \"{}\" has another \"{}\" "
                                 "configuration now (id {}); delete that one first, or keep it.",
                                 deleted.id, deleted.model_id, deleted.configuration_type,
                                 holder.value_or("unknown")));
  if (holder) e.with_existing_id(*holder);
  return e;
}

}  // namespace inferconf::history_rules
