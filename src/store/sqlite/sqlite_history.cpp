#include "store/sqlite/sqlite_store_impl.hpp"

#include "store/history_rules.hpp"

namespace inferconf::sqlite {

RevisionPage SqliteStore::revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) {
  return with_connection([&](Connection& c) { return select_revisions_of(c, id, limit, cursor); });
}

RevisionPage SqliteStore::revisions_of_model(std::string_view model_id, std::string_view type, std::size_t limit,
                                std::optional<std::string_view> cursor) {
  return with_connection([&](Connection& c) { return select_revisions_of_model(c, model_id, type, limit, cursor); });
}

std::optional<Revision> SqliteStore::get_revision(std::string_view id, std::int64_t revision) {
  return with_connection([&](Connection& c) { return select_revision(c, id, revision); });
}

std::optional<Revision> SqliteStore::revision_as_of(std::string_view model_id, std::string_view type, Timestamp at) {
  return with_connection([&](Connection& c) { return select_revision_as_of(c, model_id, type, at); });
}

RevisionPage SqliteStore::audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) {
  return with_connection([&](Connection& c) { return select_audit(c, query, limit, cursor); });
}

InferenceConfiguration SqliteStore::rollback(std::string_view id, std::int64_t to_revision,
                                std::optional<std::int64_t> expected_revision, const WriteContext& context) {
  return rewrite(id, expected_revision, RevisionOperation::kRollback, context,
                 [&](InferenceConfiguration& next, Connection& c) {
                   // Read in the write's transaction: the target cannot be pruned in between.
                   next = history_rules::rollback_target(next, select_revision(c, id, to_revision), id, to_revision);
                 });
}

InferenceConfiguration SqliteStore::restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                               const WriteContext& context) {
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

PruneResult SqliteStore::prune_history(const PruneRule& rule, const WriteContext& context) {
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

}  // namespace inferconf::sqlite
