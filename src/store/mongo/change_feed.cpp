// The change feed behind change_cursor() / changes_since() (docs/MONGODB.md,
// "Several inferconf serve replicas"):
//
// * where the deployment has change streams (replica sets, sharded clusters),
//   one stream on the database, filtered to inference_configurations and the
//   tombstones of inference_configuration_deletions. A cursor is the stream's
//   resume token ("stream1:<token as canonical extended JSON>"); the store
//   keeps the stream open between calls and reopens it after the token when
//   it was lost or a different cursor is asked for;
// * elsewhere (a standalone mongod, or a server that refuses $changeStream),
//   polling: a cursor is an instant and the instant of the last full reload
//   ("poll3:<ms>.<reload ms>"); the changes are the documents whose
//   updated_at is at or after the instant minus an overlap window and the
//   tombstones since then, less what this store already reported for the
//   same cursor sequence. Writers stamp updated_at on their own clock before
//   the write becomes visible, so a write can appear after a poll whose
//   cursor is later than its stamp; the overlap catches those that appear
//   within the window, and a full reload every kPollReloadEvery the rest.
#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/mongo/errors.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf::mongo {

namespace {

constexpr std::string_view kPollPrefix = "poll3:";
// Cursors of earlier versions: an instant, with no reload instant.
constexpr std::string_view kOldPollPrefix = "poll2:";
// How far before its cursor a poll looks again (docs/MONGODB.md).
constexpr std::chrono::milliseconds kPollOverlap{15000};
// How often polling asks for a full reload (reload_required).
constexpr std::chrono::milliseconds kPollReloadEvery{10 * 60 * 1000};
constexpr std::string_view kStreamPrefix = "stream1:";

// How long a getMore of the stream waits for events when there are none: a
// refresh (which holds the HTTP server's write lock) must not block.
constexpr std::int64_t kMaxAwaitMs = 10;
// Events read by one changes_since(); the rest wait for the next call.
constexpr std::size_t kMaxEventsPerCall = 10000;
// _id -> id entries remembered for delete events; cleared when full.
constexpr std::size_t kMaxObjectIds = 100000;

// A cursor instant strictly after every write already stamped: the clock is
// read, then we wait for the next millisecond, so a write that finished
// before the cursor was made is never reported again.
Timestamp next_cursor_instant() {
  const Timestamp t = now_utc() + std::chrono::milliseconds(1);
  std::this_thread::sleep_until(std::chrono::system_clock::time_point(t));
  return t;
}

Error foreign_cursor(std::string_view cursor) {
  return invalid(
      fmt::format("The change cursor \"{}\" was not returned by this store's change_cursor(); get a fresh one.", cursor));
}

// The server has no change streams: a standalone mongod (40573), a server
// that does not know the stage (40324), or one that refuses it (115, 238).
bool no_change_streams(const bson_error_t& e) {
  if (e.domain != MONGOC_ERROR_SERVER) return false;
  return e.code == 40573 || e.code == 40324 || e.code == 115 || e.code == 238;
}

// The stream cannot continue from its token: the events are gone from the
// oplog (ChangeStreamHistoryLost 286, CappedPositionLost 136, 40585), the
// token is not valid here (InvalidResumeToken 260), or the stream broke for
// good (ChangeStreamFatalError 280). A full reload heals all of these.
bool history_lost(const bson_error_t& e) {
  if (e.domain != MONGOC_ERROR_SERVER) return false;
  return e.code == 286 || e.code == 136 || e.code == 40585 || e.code == 260 || e.code == 280;
}

std::string canonical_json(const bson_t* doc) {
  char* text = bson_as_canonical_extended_json(doc, nullptr);
  std::string out = text != nullptr ? text : "";
  bson_free(text);
  return out;
}

std::string utf8_at(const bson_t* doc, const char* dotted) {
  bson_iter_t it, found;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, dotted, &found) && BSON_ITER_HOLDS_UTF8(&found))
    return bson_iter_utf8(&found, nullptr);
  return {};
}

// The value at `key` as a one-field document's canonical JSON: a map key
// that keeps the BSON type (an ObjectId and its hex string differ).
std::string value_key(const bson_t* doc, const char* dotted) {
  bson_iter_t it, found;
  if (!bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, dotted, &found)) return {};
  Bson one;
  bson_append_iter(one.get(), "v", 1, &found);
  return canonical_json(one.get());
}

// The transaction an event belongs to ("" outside one): its session and number.
std::string transaction_key(const bson_t* event) {
  const std::string lsid = value_key(event, "lsid");
  const std::string number = value_key(event, "txnNumber");
  return lsid.empty() || number.empty() ? std::string() : lsid + number;
}

}  // namespace

MongoStore::~MongoStore() = default;

bool MongoStore::try_change_streams() {
  if (const int known = change_streams_.load(); known >= 0) return known == 1;
  // The open stream keeps one pooled connection for itself: with a pool of
  // one, every other request would wait for it forever.
  if (const int pool = mongoc_uri_get_option_as_int32(uri_.get(), MONGOC_URI_MAXPOOLSIZE, 100); pool < 2) {
    spdlog::warn("MongoDB: the connection string sets maxPoolSize={}, which leaves no connection for a change stream "
                 "next to the requests; polling updated_at instead (set maxPoolSize to 2 or more for change streams).",
                 pool);
    change_streams_.store(0);
    return false;
  }
  auto c = client();
  bson_error_t error;
  ServerDescriptionPtr server(mongoc_client_select_server(c.get(), false, nullptr, &error));
  if (!server) throw DriverFailure{error, Bson()};
  // A standalone mongod never has change streams: do not even ask.
  if (std::string_view(mongoc_server_description_type(server.get())) == "Standalone") {
    change_streams_.store(0);
    return false;
  }
  return true;  // decided by the first attempt
}

std::unique_ptr<HeldStream> MongoStore::open_stream(const bson_t* resume_after) {
  auto held = std::make_unique<HeldStream>(HeldStream{client(), nullptr, nullptr, {}});
  held->database.reset(mongoc_client_get_database(held->client.get(), database_.c_str()));
  // On the primary, like the full reload (for_each_configuration): a stream
  // and a reload read on different members could leave a gap between them.
  ReadPrefsPtr primary(mongoc_read_prefs_new(MONGOC_READ_PRIMARY));
  mongoc_database_set_read_prefs(held->database.get(), primary.get());
  // Only our two collections: other collections of a shared database are
  // none of the index's business. invalidate and dropDatabase end the stream.
  Bson pipeline;
  {
    bson_t stages, stage, match, any, alt, in;
    BSON_APPEND_ARRAY_BEGIN(pipeline.get(), "pipeline", &stages);
    BSON_APPEND_DOCUMENT_BEGIN(&stages, "0", &stage);
    BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &match);
    BSON_APPEND_ARRAY_BEGIN(&match, "$or", &any);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "0", &alt);
    BSON_APPEND_UTF8(&alt, "ns.coll", kConfigurations);
    bson_append_document_end(&any, &alt);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "1", &alt);
    BSON_APPEND_UTF8(&alt, "ns.coll", kDeletions);
    BSON_APPEND_UTF8(&alt, "operationType", "insert");
    bson_append_document_end(&any, &alt);
    BSON_APPEND_DOCUMENT_BEGIN(&any, "2", &alt);
    bson_t op;
    BSON_APPEND_DOCUMENT_BEGIN(&alt, "operationType", &op);
    BSON_APPEND_ARRAY_BEGIN(&op, "$in", &in);
    BSON_APPEND_UTF8(&in, "0", "invalidate");
    BSON_APPEND_UTF8(&in, "1", "dropDatabase");
    bson_append_array_end(&op, &in);
    bson_append_document_end(&alt, &op);
    bson_append_document_end(&any, &alt);
    bson_append_array_end(&match, &any);
    bson_append_document_end(&stage, &match);
    bson_append_document_end(&stages, &stage);
    bson_append_array_end(pipeline.get(), &stages);
  }
  Bson opts;
  BSON_APPEND_UTF8(opts.get(), "fullDocument", "updateLookup");
  BSON_APPEND_INT64(opts.get(), "maxAwaitTimeMS", kMaxAwaitMs);
  if (resume_after != nullptr) BSON_APPEND_DOCUMENT(opts.get(), "resumeAfter", resume_after);
  held->stream.reset(mongoc_database_watch(held->database.get(), pipeline.get(), opts.get()));
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_change_stream_error_document(held->stream.get(), &error, &reply))
    throw DriverFailure{error, reply != nullptr ? Bson::copy_of(reply) : Bson()};
  if (const bson_t* token = mongoc_change_stream_get_resume_token(held->stream.get())) held->token = canonical_json(token);
  return held;
}

std::string MongoStore::poll_cursor() {
  // The cursor is an instant of our clock, but callers (serve's /readyz, the
  // index reload) take a cursor to know the store answers: ask it.
  ping();
  const auto now = next_cursor_instant().time_since_epoch().count();
  return fmt::format("{}{}.{}", kPollPrefix, now, now);
}

std::string MongoStore::change_cursor() {
  try {
    if (try_change_streams()) {
      // Opening the stream is the round trip that tells the store answers,
      // and its first resume token is "now".
      std::unique_ptr<HeldStream> fresh;
      try {
        fresh = open_stream(nullptr);
      } catch (const DriverFailure& f) {
        if (!no_change_streams(f.error)) throw;
        if (change_streams_.exchange(0) != 0)
          spdlog::info(
              "MongoDB at {} has no change streams ({}); inferconf polls updated_at and its deletion tombstones "
              "instead, so writes by other programs that do not set updated_at are not seen until a reload.",
              description_, f.error.message);
        return poll_cursor();
      }
      change_streams_.store(1);
      std::string cursor = fmt::format("{}{}", kStreamPrefix, fresh->token);
      std::lock_guard lock(stream_mutex_);
      // A stream already held serves the caller that holds its cursor (the
      // index's refresh); a probe (/readyz) must not make it reopen. Without
      // a token, only the stream itself can continue from this cursor.
      if (!stream_ || fresh->token.empty()) stream_ = std::move(fresh);
      return cursor;
    }
    return poll_cursor();
  } catch (const DriverFailure& f) {
    fail(f, "open a change stream on inference_configurations");
  }
}

ChangeSet MongoStore::changes_since(std::string_view cursor) {
  // The feed runs on the server's refresh thread: an unexpected exception
  // (not an inferconf::Error, which the caller reports and retries) must not
  // end it. It is logged with its context, the stream is dropped and the
  // caller told to reload, which starts the feed over.
  try {
    if (cursor.substr(0, kStreamPrefix.size()) == kStreamPrefix) return stream_changes(cursor);
    return poll_changes(cursor);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::error("MongoDB at {}: the change feed failed unexpectedly while reading the changes after cursor \"{}\" "
                  "({}); starting it over with a full reload.",
                  description_, cursor.substr(0, 200), e.what());
  } catch (...) {
    spdlog::error("MongoDB at {}: the change feed failed with an unknown exception while reading the changes after "
                  "cursor \"{}\"; starting it over with a full reload.",
                  description_, cursor.substr(0, 200));
  }
  {
    std::lock_guard lock(stream_mutex_);
    stream_.reset();
  }
  ChangeSet out;
  out.cursor = std::string(cursor);
  out.reload_required = true;
  return out;
}

ChangeSet MongoStore::poll_changes(std::string_view cursor) {
  std::int64_t since_ms = 0;
  std::optional<std::int64_t> reloaded_ms;
  {
    const bool old = cursor.substr(0, kOldPollPrefix.size()) == kOldPollPrefix;
    if (!old && cursor.substr(0, kPollPrefix.size()) != kPollPrefix) throw foreign_cursor(cursor);
    const std::string_view rest = cursor.substr(kPollPrefix.size());
    const auto dot = rest.find('.');
    if (old == (dot != std::string_view::npos)) throw foreign_cursor(cursor);
    auto number = [&](std::string_view digits, std::int64_t& out) {
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) throw foreign_cursor(cursor);
    };
    number(rest.substr(0, dot), since_ms);
    if (!old) {
      std::int64_t r = 0;
      number(rest.substr(dot + 1), r);
      reloaded_ms = r;
    }
  }
  try {
    const Timestamp since{std::chrono::milliseconds(since_ms)};
    const Timestamp from = since - kPollOverlap;
    const Timestamp next = next_cursor_instant();
    const std::int64_t next_ms = next.time_since_epoch().count();
    // A cursor of an earlier version starts the reload clock now.
    const std::int64_t reload_base = reloaded_ms.value_or(next_ms);
    ChangeSet changes;
    changes.cursor = fmt::format("{}{}.{}", kPollPrefix, next_ms, reload_base);
    if (next - Timestamp{std::chrono::milliseconds(reload_base)} >= kPollReloadEvery) {
      // Writes that became visible later than the overlap window, and writes
      // by programs that do not stamp updated_at, are only seen by a reload.
      changes.reload_required = true;
      return changes;
    }

    Bson updated;
    bson_t cond;
    BSON_APPEND_DOCUMENT_BEGIN(updated.get(), "updated_at", &cond);
    append_timestamp(&cond, "$gte", from);
    bson_append_document_end(updated.get(), &cond);
    Bson opts;
    append_sort(opts.get(), {"updated_at", "id"});
    BSON_APPEND_INT64(opts.get(), "maxTimeMS", kReadMaxTimeMs);
    std::vector<InferenceConfiguration> upserted = find_configurations(updated.get(), opts.get());

    std::vector<std::pair<std::string, std::int64_t>> deleted;
    Bson deleted_filter;
    BSON_APPEND_DOCUMENT_BEGIN(deleted_filter.get(), "deleted_at", &cond);
    append_timestamp(&cond, "$gte", from);
    bson_append_document_end(deleted_filter.get(), &cond);
    Bson deleted_opts;
    append_sort(deleted_opts.get(), {"deleted_at"});
    BSON_APPEND_INT64(deleted_opts.get(), "maxTimeMS", kReadMaxTimeMs);
    find_each(kDeletions, deleted_filter.get(), deleted_opts.get(), false, [&](DocRef ref) {
      bson_iter_t it;
      std::int64_t at = 0;
      if (bson_iter_init_find(&it, ref.doc, "deleted_at") && BSON_ITER_HOLDS_DATE_TIME(&it)) at = bson_iter_date_time(&it);
      if (bson_iter_init_find(&it, ref.doc, "id") && BSON_ITER_HOLDS_UTF8(&it))
        deleted.emplace_back(bson_iter_utf8(&it, nullptr), at);
      return true;
    });

    // The overlap window reads again what the previous poll of the same
    // sequence reported: leave out what is unchanged since.
    std::lock_guard lock(poll_mutex_);
    if (cursor != poll_last_cursor_) {
      poll_seen_.clear();
      poll_seen_deleted_.clear();
    }
    std::unordered_set<std::string> read_now;
    for (const auto& c : upserted) read_now.insert(c.id);
    for (const auto& d : deleted) read_now.insert(d.first);
    for (auto& c : upserted) {
      const std::pair<std::int64_t, std::int64_t> version{c.revision, c.updated_at.time_since_epoch().count()};
      auto [it, fresh] = poll_seen_.try_emplace(c.id, version);
      if (!fresh && it->second == version) continue;
      it->second = version;
      changes.upserted.push_back(std::move(c));
    }
    for (auto& [id, at] : deleted) {
      auto [it, fresh] = poll_seen_deleted_.try_emplace(id, at);
      if (!fresh && it->second == at) continue;
      it->second = at;
      changes.deleted_ids.push_back(std::move(id));
    }
    // What is older than this window, and was not read in it, cannot come
    // back in the next one.
    const std::int64_t from_ms = from.time_since_epoch().count();
    std::erase_if(poll_seen_, [&](const auto& e) { return e.second.second < from_ms && !read_now.count(e.first); });
    std::erase_if(poll_seen_deleted_, [&](const auto& e) { return e.second < from_ms && !read_now.count(e.first); });
    poll_last_cursor_ = changes.cursor;
    return changes;
  } catch (const DriverFailure& f) {
    fail(f, "read the changes since the last poll");
  }
}

ChangeSet MongoStore::stream_changes(std::string_view cursor) {
  const std::string token(cursor.substr(kStreamPrefix.size()));
  Bson resume_after;
  if (!token.empty()) {
    bson_error_t error;
    bson_t* parsed = bson_new_from_json(reinterpret_cast<const std::uint8_t*>(token.data()),
                                        static_cast<ssize_t>(token.size()), &error);
    if (parsed == nullptr) throw foreign_cursor(cursor);
    resume_after = Bson(parsed);
  }
  ChangeSet out;
  out.cursor = std::string(cursor);
  std::lock_guard lock(stream_mutex_);
  try {
    if (!stream_ || stream_->token != token) {
      stream_.reset();
      // Nothing to resume from: only a full read can catch up.
      if (token.empty()) {
        out.reload_required = true;
        return out;
      }
      stream_ = open_stream(resume_after.get());
    }
    drain(out);
    if (out.reload_required) stream_.reset();  // the reload's change_cursor() opens a fresh one
    return out;
  } catch (const DriverFailure& f) {
    // The driver already resumed once after a network error or an election
    // (the change streams spec); what reaches us is final for this stream.
    stream_.reset();
    if (history_lost(f.error)) {
      spdlog::warn("The change stream of MongoDB at {} cannot resume ({}); reloading every configuration.",
                   description_, f.error.message);
      out.reload_required = true;
      return out;
    }
    fail(f, "read the change stream of inference_configurations");
  } catch (...) {
    stream_.reset();  // a document that is not a configuration: start over from the cursor next time
    throw;
  }
}

void MongoStore::drain(ChangeSet& out) {
  std::map<std::string, InferenceConfiguration> upserts;
  std::vector<std::string> deleted;
  std::set<std::string> deleted_set;
  std::set<std::string> tombstone_transactions;
  std::vector<std::string> unknown_deletes;  // their transactions; must each have written a tombstone
  auto record_delete = [&](const std::string& id) {
    upserts.erase(id);
    if (deleted_set.insert(id).second) deleted.push_back(id);
  };
  auto remember = [&](const std::string& object_id, const std::string& id) {
    if (object_id.empty()) return;
    if (object_ids_.size() >= kMaxObjectIds) object_ids_.clear();
    object_ids_[object_id] = id;
  };

  mongoc_change_stream_t* stream = stream_->stream.get();
  const bson_t* event = nullptr;
  std::size_t events = 0;
  while (!out.reload_required && events < kMaxEventsPerCall && mongoc_change_stream_next(stream, &event)) {
    ++events;
    const std::string op = utf8_at(event, "operationType");
    const std::string collection = utf8_at(event, "ns.coll");
    if (op == "invalidate" || op == "dropDatabase" || op == "drop" || op == "rename") {
      out.reload_required = true;  // the collection is gone or renamed: everything may have changed
    } else if (collection == kDeletions) {
      // inferconf's remove() writes {id, deleted_at} with the delete, in one transaction.
      const std::string id = utf8_at(event, "fullDocument.id");
      if (!id.empty()) record_delete(id);
      if (auto txn = transaction_key(event); !txn.empty()) tombstone_transactions.insert(txn);
    } else if (collection != kConfigurations) {
      continue;  // not ours (the server-side $match already leaves these out)
    } else if (op == "delete") {
      // Delete events carry only documentKey {_id}.
      const auto known = object_ids_.find(value_key(event, "documentKey._id"));
      if (known != object_ids_.end()) {
        record_delete(known->second);
      } else if (auto txn = transaction_key(event); !txn.empty()) {
        unknown_deletes.push_back(txn);
      } else {
        out.reload_required = true;  // another program deleted a document we cannot name
      }
    } else if (op == "insert" || op == "update" || op == "replace") {
      bson_iter_t it;
      // fullDocument is null when the document was deleted before the lookup:
      // its delete event follows.
      if (!bson_iter_init_find(&it, event, "fullDocument") || !BSON_ITER_HOLDS_DOCUMENT(&it)) continue;
      std::uint32_t length = 0;
      const std::uint8_t* data = nullptr;
      bson_iter_document(&it, &length, &data);
      bson_t document;
      if (!bson_init_static(&document, data, length)) continue;
      // A document that is not a configuration is skipped (and logged) and
      // the stream goes on past it: re-reading the event would fail forever.
      auto c = scanned(&document);
      if (!c) continue;
      remember(value_key(&document, "_id"), c->id);
      // An insert after a delete of the same id in one batch (a replace by
      // another program) leaves the document, not the deletion.
      if (deleted_set.erase(c->id) != 0) deleted.erase(std::find(deleted.begin(), deleted.end(), c->id));
      upserts.insert_or_assign(c->id, std::move(*c));
    }
  }
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_change_stream_error_document(stream, &error, &reply))
    throw DriverFailure{error, reply != nullptr ? Bson::copy_of(reply) : Bson()};
  for (const auto& txn : unknown_deletes)
    if (tombstone_transactions.count(txn) == 0) out.reload_required = true;
  if (const bson_t* token = mongoc_change_stream_get_resume_token(stream)) stream_->token = canonical_json(token);
  out.cursor = fmt::format("{}{}", kStreamPrefix, stream_->token);
  for (auto& [id, c] : upserts) out.upserted.push_back(std::move(c));
  out.deleted_ids = std::move(deleted);
}

}  // namespace inferconf::mongo
