// Change history on MongoDB: inference_configuration_revisions, written in the
// transaction of each write where the deployment has transactions, and right
// after the change on a standalone server (docs/HISTORY.md, "Guarantees
// (MongoDB)"); the history reads, rollback, restore and prune.
//
// The store-wide `sequence` comes from one counter document
// ({_id: "revisions", value}) that every write increments with findAndModify
// inside its transaction. Two transactions that both increment it conflict,
// so the one that commits second takes the next number: sequence order is
// commit order, and an audit page read with `sequence < cursor` never misses
// a revision that commits later with a smaller number. The price is that
// writes are serialised on that document (the server retries the loser, as
// SQLite's single writer would wait) and one more round trip per write. An
// ObjectId or time stamp plus a tie-break would cost nothing, but clocks and
// client-side ObjectIds are not commit order: a page could skip a revision
// committed late. On a standalone server the counter is still atomic, but a
// revision becomes visible only after its insert, so a reader may briefly
// see sequence n + 1 before n.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "store/history_rules.hpp"
#include "store/mongo/errors.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf::mongo {

namespace {

constexpr std::size_t kPruneDeleteBatch = 1000;
constexpr std::size_t kBaselineBatch = 1000;

void append_desc_sort(bson_t* opts, std::initializer_list<const char*> fields) {
  bson_t sort;
  BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort);
  for (const char* f : fields) BSON_APPEND_INT32(&sort, f, -1);
  bson_append_document_end(opts, &sort);
}

// {field: {$lt: value}}, the keyset condition of every page after the first.
void append_before(bson_t* filter, const char* field, std::int64_t value) {
  bson_t cond;
  BSON_APPEND_DOCUMENT_BEGIN(filter, field, &cond);
  BSON_APPEND_INT64(&cond, "$lt", value);
  bson_append_document_end(filter, &cond);
}

// The sequence (or revision) a page's cursor stands at; kInvalid for a cursor
// that is not one of ours.
std::optional<std::int64_t> cursor_value(std::optional<std::string_view> cursor) {
  if (!cursor) return std::nullopt;
  return decode_revision_cursor(*cursor);
}

Bson with_opts(const bson_t* session_opts) { return session_opts != nullptr ? Bson::copy_of(session_opts) : Bson(); }

}  // namespace

std::int64_t MongoStore::reserve_sequence(std::int64_t count, const bson_t* session_opts) {
  auto cl = client();
  auto coll = cl.collection(database_, kSequences);
  Bson query;
  BSON_APPEND_UTF8(query.get(), "_id", kRevisionCounterId);
  const Bson update = counter_update("$inc", count);
  FindAndModifyOptsPtr opts(mongoc_find_and_modify_opts_new());
  mongoc_find_and_modify_opts_set_update(opts.get(), update.get());
  mongoc_find_and_modify_opts_set_flags(
      opts.get(),
      static_cast<mongoc_find_and_modify_flags_t>(MONGOC_FIND_AND_MODIFY_UPSERT | MONGOC_FIND_AND_MODIFY_RETURN_NEW));
  Reply reply;
  find_and_modify(coll.get(), query.get(), opts.get(), session_opts, reply);
  bson_error_t error;
  bson_iter_t it;
  if (!bson_iter_init(&it, reply.get()) || !bson_iter_find_descendant(&it, "value.value", &it) ||
      !BSON_ITER_HOLDS_NUMBER(&it)) {
    bson_set_error(&error, MONGOC_ERROR_SERVER, 0,
                   "the revision counter {_id: \"%s\"} in %s has no numeric `value`; set it to the largest `sequence` "
                   "of %s",
                   kRevisionCounterId, kSequences, kRevisions);
    throw DriverFailure{error, Bson::copy_of(reply.get())};
  }
  return bson_iter_as_int64(&it) - count + 1;
}

void MongoStore::record_revisions(const std::vector<Change>& changes, const WriteContext& context,
                                  const bson_t* session_opts, bool ordered) {
  if (changes.empty()) return;
  const std::int64_t first = reserve_sequence(static_cast<std::int64_t>(changes.size()), session_opts);
  std::vector<Bson> docs;
  docs.reserve(changes.size());
  for (std::size_t i = 0; i < changes.size(); ++i) {
    Revision r;
    r.configuration_id = changes[i].document.id;
    r.revision = changes[i].document.revision;
    r.operation = changes[i].operation;
    r.actor = actor_of(context);
    r.reason = context.reason;
    r.at = changes[i].at;
    r.sequence = first + static_cast<std::int64_t>(i);
    r.document = changes[i].document;
    docs.push_back(revision_document(r));
  }
  auto cl = client();
  insert_all(cl.collection(database_, kRevisions).get(), docs, ordered, session_opts);
}

void MongoStore::record_after(const std::vector<Change>& changes, const WriteContext& context,
                              const bson_t* session_opts, std::string_view made) {
  if (session_opts != nullptr) {
    record_revisions(changes, context, session_opts);  // a failure aborts the change with it
    return;
  }
  try {
    record_revisions(changes, context, nullptr);
  } catch (const DriverFailure& f) {
    const Error cause = driver_error(f.error, fmt::format("record the revision in {}", kRevisions), description_);
    const bool deleted = changes.size() == 1 && changes.front().operation == RevisionOperation::kDelete;
    throw unavailable(fmt::format(
        "{}, but the change history of this write could not be recorded (a standalone MongoDB server has no "
        "transactions): {} "
        "The change itself is in place: do not repeat it. {}",
        made, cause.what(),
        deleted ? "`inferconf restore` cannot bring this configuration back, since its delete has no record."
                : fmt::format("To record it, once the server is writable again run db.{}.dropIndex(\"sequence_1\") "
                              "in mongosh, then `inferconf init`: it rebuilds the index and records a baseline "
                              "revision for every configuration whose current revision has no record.",
                              kRevisions)));
  }
}

std::optional<Revision> MongoStore::find_revision(const bson_t* filter, const bson_t* opts, bool primary) const {
  Bson with_limit = opts != nullptr ? Bson::copy_of(opts) : Bson();
  BSON_APPEND_INT64(with_limit.get(), "limit", 1);
  BSON_APPEND_INT64(with_limit.get(), "maxTimeMS", kReadMaxTimeMs);
  std::optional<Revision> found;
  find_each(kRevisions, filter, with_limit.get(), primary, [&](DocRef ref) {
    found = revision_from_bson(ref.doc);
    return false;
  });
  return found;
}

RevisionPage MongoStore::revision_page(const bson_t* filter, const char* order, std::size_t limit) const {
  Bson opts;
  append_desc_sort(opts.get(), {order});
  // One more than asked tells whether there is a next page.
  BSON_APPEND_INT64(opts.get(), "limit", static_cast<std::int64_t>(limit) + 1);
  BSON_APPEND_INT64(opts.get(), "maxTimeMS", kReadMaxTimeMs);
  RevisionPage page;
  find_each(kRevisions, filter, opts.get(), false, [&](DocRef ref) {
    page.items.push_back(revision_from_bson(ref.doc));
    return true;
  });
  if (page.items.size() > limit) {
    page.items.pop_back();
    const Revision& last = page.items.back();
    page.next_cursor = encode_revision_cursor(std::string_view(order) == "revision" ? last.revision : last.sequence);
  }
  return page;
}

RevisionPage MongoStore::revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) {
  check_revision_page_limit(limit);
  const auto before = cursor_value(cursor);
  try {
    Bson filter;
    append_str(filter.get(), "configuration_id", id);
    if (before) append_before(filter.get(), "revision", *before);
    return revision_page(filter.get(), "revision", limit);
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the history of configuration {}", id));
  }
}

RevisionPage MongoStore::revisions_of_model(std::string_view model_id, std::string_view configuration_type,
                                            std::size_t limit, std::optional<std::string_view> cursor) {
  check_revision_page_limit(limit);
  const auto before = cursor_value(cursor);
  try {
    Bson filter;
    append_str(filter.get(), "model_id", model_id);
    append_str(filter.get(), "configuration_type", configuration_type);
    if (before) append_before(filter.get(), "sequence", *before);
    return revision_page(filter.get(), "sequence", limit);
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the history of the \"{}\" configuration of model \"{}\"", configuration_type, model_id));
  }
}

std::optional<Revision> MongoStore::get_revision(std::string_view id, std::int64_t revision) {
  try {
    Bson filter;
    append_str(filter.get(), "configuration_id", id);
    BSON_APPEND_INT64(filter.get(), "revision", revision);
    return find_revision(filter.get(), nullptr, false);
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read revision {} of configuration {}", revision, id));
  }
}

std::optional<Revision> MongoStore::revision_as_of(std::string_view model_id, std::string_view configuration_type,
                                                   Timestamp at) {
  try {
    Bson filter;
    append_str(filter.get(), "model_id", model_id);
    append_str(filter.get(), "configuration_type", configuration_type);
    bson_t cond;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "at", &cond);
    append_timestamp(&cond, "$lte", at);
    bson_append_document_end(filter.get(), &cond);
    Bson opts;
    // Two revisions in the same millisecond: the later committed one.
    append_desc_sort(opts.get(), {"at", "sequence"});
    return find_revision(filter.get(), opts.get(), false);
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the \"{}\" configuration of model \"{}\" as of {}", configuration_type, model_id,
                        format_timestamp(at)));
  }
}

RevisionPage MongoStore::audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) {
  check_revision_page_limit(limit);
  const auto before = cursor_value(cursor);
  try {
    Bson filter;
    if (query.actor) append_str(filter.get(), "actor", *query.actor);
    if (query.model_id) append_str(filter.get(), "model_id", *query.model_id);
    if (query.base_model) append_str(filter.get(), "base_model", *query.base_model);
    if (query.operation) append_str(filter.get(), "operation", to_string(*query.operation));
    if (query.since || query.until) {
      bson_t cond;
      BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "at", &cond);
      if (query.since) append_timestamp(&cond, "$gte", *query.since);
      if (query.until) append_timestamp(&cond, "$lte", *query.until);
      bson_append_document_end(filter.get(), &cond);
    }
    if (before) append_before(filter.get(), "sequence", *before);
    return revision_page(filter.get(), "sequence", limit);
  } catch (const DriverFailure& f) {
    fail(f, "read the audit view of the change history");
  }
}

InferenceConfiguration MongoStore::rollback(std::string_view id, std::int64_t to_revision,
                                            std::optional<std::int64_t> expected_revision,
                                            const WriteContext& context) {
  std::optional<Revision> target;
  return rewrite_recorded(
      id, expected_revision, RevisionOperation::kRollback, context,
      [&](InferenceConfiguration& next, DocRef session) {
        // Read in the write's transaction: a prune cannot remove the target in
        // between. Read once per attempt, after the expected revision held.
        Bson filter;
        append_str(filter.get(), "configuration_id", id);
        BSON_APPEND_INT64(filter.get(), "revision", to_revision);
        target = find_revision(filter.get(), session.doc, true);
        next = history_rules::rollback_target(next, target, id, to_revision);
      },
      fmt::format("roll configuration {} back to revision {}", id, to_revision));
}

InferenceConfiguration MongoStore::restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                           const WriteContext& context) {
  InferenceConfiguration restored;
  try {
    in_transaction([&](DocRef session) {
      Bson by_id;
      append_str(by_id.get(), "id", id);
      const auto current = find_one(by_id.get(), session.doc, true);
      Bson of_id;
      append_str(of_id.get(), "configuration_id", id);
      Bson newest = with_opts(session.doc);
      append_desc_sort(newest.get(), {"revision"});
      const Revision tombstone =
          history_rules::restorable(current, find_revision(of_id.get(), newest.get(), true), id, expected_revision);
      restored = tombstone.document;
      restored.id = tombstone.configuration_id;
      restored.revision = tombstone.revision + 1;
      restored.updated_at = std::max(now_utc(), tombstone.at);
      auto cl = client();
      auto coll = cl.collection(database_, kConfigurations);
      Bson doc = configuration_document(restored);
      Reply reply;
      bson_error_t error;
      if (!mongoc_collection_insert_one(coll.get(), doc.get(), session.doc, reply.get(), &error))
        throw DriverFailure{error, Bson::copy_of(reply.get())};
      // Its delete markers go: the change feed's polling would otherwise
      // report the configuration both restored and deleted.
      auto deletions = cl.collection(database_, kDeletions);
      Reply marker_reply;
      if (!mongoc_collection_delete_many(deletions.get(), by_id.get(), session.doc, marker_reply.get(), &error))
        throw DriverFailure{error, Bson::copy_of(marker_reply.get())};
      record_after({{restored, RevisionOperation::kRestore, restored.updated_at}}, context, session.doc,
                   fmt::format("The configuration {} was restored as revision {}", restored.id, restored.revision));
    });
  } catch (const DriverFailure& f) {
    if (is_duplicate_key(f.error)) {
      std::optional<std::string> holder;
      try {
        if (auto id_now = existing_id(restored.model_id, restored.configuration_type); !id_now.empty()) holder = id_now;
      } catch (const Error&) {
      } catch (const DriverFailure&) {
      }
      throw history_rules::restore_taken(restored, holder);
    }
    fail(f, fmt::format("restore configuration {}", id));
  }
  return restored;
}

PruneResult MongoStore::prune_history(const PruneRule& rule, const WriteContext& context) {
  check_prune_rule(rule);
  const std::int64_t keep = rule.keep.value_or(1);
  const std::int64_t older_than =
      rule.older_than ? rule.older_than->time_since_epoch().count() : std::numeric_limits<std::int64_t>::max();
  PruneResult result;
  try {
    in_transaction([&](DocRef session) {
      result = PruneResult{};
      // Every configuration's revisions, newest first: the first of each is
      // its newest (never removed), the first delete met its last delete.
      Bson filter;
      bson_t cond;
      BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "operation", &cond);
      BSON_APPEND_UTF8(&cond, "$ne", "prune");
      bson_append_document_end(filter.get(), &cond);
      Bson opts = with_opts(session.doc);
      append_desc_sort(opts.get(), {"configuration_id", "revision"});
      bson_t projection;
      BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "projection", &projection);
      for (const char* field : {"_id", "configuration_id", "revision", "operation", "at"})
        BSON_APPEND_INT32(&projection, field, 1);
      bson_append_document_end(opts.get(), &projection);

      auto cl = client();
      auto coll = cl.collection(database_, kRevisions);
      std::vector<Bson> doomed;  // {_id: value} of each revision to remove
      // Removes doomed[begin, end) in one delete.
      auto remove_range = [&](std::size_t begin, std::size_t end) {
        Bson selector;
        bson_t id_cond, in;
        BSON_APPEND_DOCUMENT_BEGIN(selector.get(), "_id", &id_cond);
        BSON_APPEND_ARRAY_BEGIN(&id_cond, "$in", &in);
        for (std::size_t i = begin; i < end; ++i) {
          bson_iter_t it;
          if (bson_iter_init_find(&it, doomed[i].get(), "_id"))
            bson_append_iter(&in, std::to_string(i - begin).c_str(), -1, &it);
        }
        bson_append_array_end(&id_cond, &in);
        bson_append_document_end(selector.get(), &id_cond);
        Reply reply;
        bson_error_t error;
        if (!mongoc_collection_delete_many(coll.get(), selector.get(), session.doc, reply.get(), &error))
          throw DriverFailure{error, Bson::copy_of(reply.get())};
        bson_iter_t it;
        if (bson_iter_init_find(&it, reply.get(), "deletedCount") && BSON_ITER_HOLDS_NUMBER(&it))
          result.removed += bson_iter_as_int64(&it);
      };
      std::string configuration;
      std::int64_t rank = 0;
      bool delete_seen = false;
      find_each(kRevisions, filter.get(), opts.get(), true, [&](DocRef ref) {
        bson_iter_t it;
        const std::string id =
            bson_iter_init_find(&it, ref.doc, "configuration_id") && BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, nullptr) : "";
        if (id != configuration) {
          configuration = id;
          rank = 0;
          delete_seen = false;
        }
        ++rank;
        const bool is_delete = bson_iter_init_find(&it, ref.doc, "operation") && BSON_ITER_HOLDS_UTF8(&it) &&
                               std::string_view(bson_iter_utf8(&it, nullptr)) == "delete";
        const bool last_delete = is_delete && !delete_seen;
        delete_seen = delete_seen || is_delete;
        const std::int64_t at =
            bson_iter_init_find(&it, ref.doc, "at") && BSON_ITER_HOLDS_DATE_TIME(&it) ? bson_iter_date_time(&it) : older_than;
        if (rank > keep && at < older_than && !last_delete && bson_iter_init_find(&it, ref.doc, "_id")) {
          Bson key;
          bson_append_iter(key.get(), "_id", -1, &it);
          doomed.push_back(std::move(key));
        }
        return true;
      });
      // Deleted after the scan: removing documents under an open cursor
      // could make it skip others.
      for (std::size_t begin = 0; begin < doomed.size(); begin += kPruneDeleteBatch)
        remove_range(begin, std::min(doomed.size(), begin + kPruneDeleteBatch));

      Revision& record = result.record;
      record.configuration_id = "prune:" + new_uuid_v7();
      record.revision = 1;
      record.operation = RevisionOperation::kPrune;
      record.actor = actor_of(context);
      record.reason = context.reason;
      record.at = now_utc();
      nlohmann::json details{{"removed", result.removed}};
      if (rule.keep) details["keep"] = *rule.keep;
      if (rule.older_than) details["older_than"] = format_timestamp(*rule.older_than);
      record.document.id = record.configuration_id;
      record.document.revision = 1;
      record.document.created_at = record.document.updated_at = record.at;
      record.document.model_specific_params = std::move(details);
      try {
        record.sequence = reserve_sequence(1, session.doc);
        const Bson doc = revision_document(record);
        Reply reply;
        bson_error_t error;
        if (!mongoc_collection_insert_one(coll.get(), doc.get(), session.doc, reply.get(), &error))
          throw DriverFailure{error, Bson::copy_of(reply.get())};
      } catch (const DriverFailure& f) {
        if (session.doc != nullptr) throw;
        throw unavailable(fmt::format(
            "The prune removed {} revisions, but its own audit record could not be written (a standalone MongoDB "
            "server has no transactions): {} The revisions are gone; nothing needs repeating.",
            result.removed, driver_error(f.error, "record the prune", description_).what()));
      }
    });
  } catch (const DriverFailure& f) {
    fail(f, "prune the change history");
  }
  return result;
}

void MongoStore::record_baselines() {
  // The configurations whose current revision has no record: a $lookup of
  // (id, revision) in the unique index of the revisions, one per document.
  const nlohmann::json pipeline = nlohmann::json::array({
      {{"$lookup",
        {{"from", kRevisions},
         {"let", {{"id", "$id"}, {"revision", {{"$ifNull", nlohmann::json::array({"$revision", 1})}}}}},
         {"pipeline",
          nlohmann::json::array(
              {{{"$match",
                 {{"$expr",
                   {{"$and", nlohmann::json::array({{{"$eq", nlohmann::json::array({"$configuration_id", "$$id"})}},
                                                    {{"$eq", nlohmann::json::array({"$revision", "$$revision"})}}})}}}}}},
               {{"$limit", 1}},
               {{"$project", {{"_id", 1}}}}})},
         {"as", "recorded"}}}},
      {{"$match", {{"recorded", {{"$size", 0}}}}}},
      {{"$project", {{"recorded", 0}}}},
  });
  const Bson command = json_to_bson(nlohmann::json{{"pipeline", pipeline}});
  auto cl = client();
  auto coll = cl.collection(database_, kConfigurations);
  ReadPrefsPtr primary(mongoc_read_prefs_new(MONGOC_READ_PRIMARY));
  CursorPtr cursor(mongoc_collection_aggregate(coll.get(), MONGOC_QUERY_NONE, command.get(), nullptr, primary.get()));
  const WriteContext migration{"inferconf-migration", std::string("history starts here")};
  std::vector<Change> batch;
  auto flush = [&] {
    if (batch.empty()) return;
    try {
      // Unordered: a write that recorded a revision meanwhile wins (duplicate key).
      record_revisions(batch, migration, nullptr, false);
    } catch (const DriverFailure& f) {
      const auto errors = write_errors(f.reply.get());
      if (errors.empty() || has_write_concern_error(f.reply.get()) ||
          !std::all_of(errors.begin(), errors.end(), [](const WriteError& e) { return is_duplicate_key_code(e.code); }))
        throw;
    }
    batch.clear();
  };
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    auto c = scanned(doc);  // a document that is not a configuration has no revision to give
    if (!c) continue;
    batch.push_back({*c, RevisionOperation::kBaseline, c->updated_at});
    if (batch.size() >= kBaselineBatch) flush();
  }
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor.get(), &error, &reply))
    throw DriverFailure{error, reply != nullptr ? Bson::copy_of(reply) : Bson()};
  flush();
}

}  // namespace inferconf::mongo
