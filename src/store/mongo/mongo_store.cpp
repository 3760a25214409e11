// Opening the store and the write path: create, create_many, create_missing,
// update, replace, remove.
#include "store/mongo/mongo_store.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "store/mongo/errors.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf {

namespace {

void quiet_log_handler(mongoc_log_level_t level, const char* domain, const char* message, void* data) {
  // The driver logs every heartbeat failure as a warning; our errors already
  // carry the server's message, so only its critical errors reach stderr.
  if (level <= MONGOC_LOG_LEVEL_CRITICAL) mongoc_log_default_handler(level, domain, message, data);
}

}  // namespace

namespace mongo {

void apply_uri_defaults(mongoc_uri_t* uri) {
  if (!mongoc_uri_has_option(uri, MONGOC_URI_RETRYWRITES)) mongoc_uri_set_option_as_bool(uri, MONGOC_URI_RETRYWRITES, true);
  // libmongoc waits 300 s on a silent socket: a black-holed connection would
  // hold a request (and whatever waits for it) for five minutes.
  if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, kDefaultSocketTimeoutMs);
}

void ensure_driver_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The handler goes in first, so that nothing the driver logs while it
    // initialises reaches stderr, where `--json` promises one JSON document.
    // (Debian's libmongoc initialises itself as the binary loads, before this
    // runs; see main.cpp for the one warning that can come from there.)
    if (std::getenv("INFERCONF_MONGO_LOG") == nullptr) mongoc_log_set_handler(quiet_log_handler, nullptr);
    mongoc_init();
    std::atexit([] { mongoc_cleanup(); });
  });
}

std::string Bson::to_json() const {
  char* text = bson_as_relaxed_extended_json(get(), nullptr);
  std::string out = text != nullptr ? text : "";
  bson_free(text);
  return out;
}

void append_str(bson_t* doc, const char* key, std::string_view value) {
  bson_append_utf8(doc, key, -1, value.data(), static_cast<int>(value.size()));
}

void append_revision_filter(bson_t* filter, std::int64_t revision) {
  if (revision != 1) {
    BSON_APPEND_INT64(filter, "revision", revision);
    return;
  }
  // The seed's documents have no revision field: they are at revision 1.
  bson_t cond, in;
  BSON_APPEND_DOCUMENT_BEGIN(filter, "revision", &cond);
  BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &in);
  BSON_APPEND_INT64(&in, "0", 1);
  BSON_APPEND_NULL(&in, "1");
  bson_append_array_end(&cond, &in);
  bson_append_document_end(filter, &cond);
}

namespace {

std::int64_t reply_count(const bson_t* reply, const char* key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : 0;
}

InferenceConfiguration new_configuration(const CreateDTO& dto) {
  InferenceConfiguration c = make_configuration(dto);
  c.id = new_uuid_v7();
  c.created_at = c.updated_at = now_utc();
  c.revision = 1;
  return c;
}

Error revision_mismatch(std::string_view id, std::int64_t expected, std::int64_t stored) {
  return conflict(fmt::format(
             "Configuration {} is at revision {}, not the expected revision {}: someone else changed it. Read it "
             "again and reapply your change.",
             id, stored, expected))
      .as_revision_mismatch();
}

Error unknown_id(std::string_view id) {
  return not_found(fmt::format("No configuration has id \"{}\"; list the configurations to find the right id.", id));
}

// Session options plus extra fields, for calls that take one opts document.
Bson with_session(const bson_t* session_opts) {
  return session_opts != nullptr ? Bson::copy_of(session_opts) : Bson();
}

struct TransactionContext {
  const std::function<void(DocRef)>* body;
  std::exception_ptr exception;
  std::optional<DriverFailure> failure;
};

bool transaction_callback(mongoc_client_session_t* session, void* ctx, bson_t** reply, bson_error_t* error) {
  auto* context = static_cast<TransactionContext*>(ctx);
  context->failure.reset();
  // Exceptions must not unwind through the C driver: park them and abort.
  try {
    Bson opts;
    if (!mongoc_client_session_append(session, opts.get(), error)) return false;
    (*context->body)(DocRef{opts.get()});
    return true;
  } catch (const DriverFailure& f) {
    *error = f.error;
    *reply = bson_copy(f.reply.get());
    context->failure = f;
    return false;
  } catch (...) {
    context->exception = std::current_exception();
    bson_set_error(error, MONGOC_ERROR_CLIENT, MONGOC_ERROR_CLIENT_SESSION_FAILURE, "aborted by inferconf");
    return false;
  }
}

}  // namespace

namespace {
thread_local mongoc_client_t* transaction_client = nullptr;

struct TransactionClientScope {
  explicit TransactionClientScope(mongoc_client_t* c) : previous(transaction_client) { transaction_client = c; }
  ~TransactionClientScope() { transaction_client = previous; }
  mongoc_client_t* previous;
};

// The first writeConcernErrors entry of a reply, as a bson_error_t.
bool write_concern_error_of(const bson_t* reply, bson_error_t* out) {
  bson_iter_t it, array, field;
  if (!bson_iter_init_find(&it, reply, "writeConcernErrors") || !bson_iter_recurse(&it, &array) ||
      !bson_iter_next(&array) || !bson_iter_recurse(&array, &field))
    return false;
  std::uint32_t code = 0;
  std::string message = "write concern error";
  while (bson_iter_next(&field)) {
    const std::string_view key = bson_iter_key(&field);
    if (key == "code") code = static_cast<std::uint32_t>(bson_iter_as_int64(&field));
    if (key == "errmsg" && BSON_ITER_HOLDS_UTF8(&field)) message = bson_iter_utf8(&field, nullptr);
  }
  bson_set_error(out, MONGOC_ERROR_WRITE_CONCERN, code, "%s", message.c_str());
  return true;
}
}  // namespace

PooledClient MongoStore::client() const {
  if (transaction_client != nullptr) return PooledClient::borrow(transaction_client);
  return PooledClient(pool_.get());
}

MongoStore::MongoStore(UriPtr uri, PoolPtr pool, std::string database, std::string description, RegistryFieldMap map)
    : uri_(std::move(uri)),
      pool_(std::move(pool)),
      database_(std::move(database)),
      description_(std::move(description)),
      map_(std::move(map)) {}

void MongoStore::fail(const DriverFailure& f, std::string_view what) const {
  // An unacknowledged write outranks whatever else went wrong in the same reply.
  bson_error_t write_concern;
  if (f.error.domain != MONGOC_ERROR_WRITE_CONCERN && write_concern_error_of(f.reply.get(), &write_concern))
    throw driver_error(write_concern, what, description_);
  throw driver_error(f.error, what, description_);
}

void MongoStore::ping() {
  auto c = client();
  Bson command;
  BSON_APPEND_INT32(command.get(), "ping", 1);
  Reply reply;
  bson_error_t error;
  if (!mongoc_client_command_simple(c.get(), "admin", command.get(), nullptr, reply.get(), &error))
    throw driver_error(error, "connect", description_);
}

bool MongoStore::supports_transactions() {
  if (const int known = transactions_.load(); known >= 0) return known == 1;
  auto c = client();
  bson_error_t error;
  ServerDescriptionPtr server(mongoc_client_select_server(c.get(), true, nullptr, &error));
  if (!server) throw DriverFailure{error, Bson()};
  const std::string type = mongoc_server_description_type(server.get());
  const bson_t* hello = mongoc_server_description_hello_response(server.get());
  bson_iter_t it;
  const bool sessions = bson_iter_init_find(&it, hello, "logicalSessionTimeoutMinutes") && BSON_ITER_HOLDS_NUMBER(&it);
  const std::int64_t wire =
      bson_iter_init_find(&it, hello, "maxWireVersion") && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : 0;
  const bool yes = sessions && ((type == "RSPrimary" && wire >= 7) || (type == "Mongos" && wire >= 8));
  transactions_.store(yes ? 1 : 0);
  return yes;
}

void MongoStore::in_transaction(const Body& body) {
  if (!supports_transactions()) {
    body(DocRef{nullptr});
    return;
  }
  auto c = client();
  bson_error_t error;
  SessionPtr session(mongoc_client_start_session(c.get(), nullptr, &error));
  if (!session) throw DriverFailure{error, Bson()};
  TransactionContext context{&body, nullptr, std::nullopt};
  TransactionClientScope scope(c.get());
  // A transaction must read from the primary whatever readPreference the URI
  // sets (the session would otherwise inherit it and the server refuse the
  // reads), and its reads and commit must not be rolled back by an election.
  TransactionOptsPtr txn(mongoc_transaction_opts_new());
  ReadPrefsPtr primary(mongoc_read_prefs_new(MONGOC_READ_PRIMARY));
  mongoc_transaction_opts_set_read_prefs(txn.get(), primary.get());
  ReadConcernPtr majority_read(mongoc_read_concern_new());
  mongoc_read_concern_set_level(majority_read.get(), MONGOC_READ_CONCERN_LEVEL_MAJORITY);
  mongoc_transaction_opts_set_read_concern(txn.get(), majority_read.get());
  WriteConcernPtr majority_write(mongoc_write_concern_new());
  mongoc_write_concern_set_wmajority(majority_write.get(), 0);
  mongoc_transaction_opts_set_write_concern(txn.get(), majority_write.get());
  Reply reply;
  if (mongoc_client_session_with_transaction(session.get(), transaction_callback, txn.get(), &context, reply.get(),
                                             &error))
    return;
  if (context.exception) std::rethrow_exception(context.exception);
  if (context.failure) throw *context.failure;  // keeps the writeErrors of the failed command
  throw DriverFailure{error, Bson::copy_of(reply.get())};
}

std::string MongoStore::existing_id(const std::string& model_id, const std::string& configuration_type) const {
  Bson filter;
  append_str(filter.get(), "model_id", model_id);
  append_str(filter.get(), "configuration_type", configuration_type);
  auto found = find_one(filter.get(), nullptr, true);
  return found ? found->id : std::string();
}

void MongoStore::throw_duplicate(const std::string& model_id, const std::string& configuration_type) const {
  std::string id;
  // The conflict is the news; failing to name the other document is not.
  // Called from a DriverFailure handler, so a DriverFailure of the lookup
  // must be caught here too: nothing above this would catch it.
  try {
    id = existing_id(model_id, configuration_type);
  } catch (const Error&) {
  } catch (const DriverFailure&) {
  }
  throw conflict(fmt::format("Model \"{}\" already has a \"{}\" configuration{}; update that one or delete it first.",
                             model_id, configuration_type, id.empty() ? "" : fmt::format(" (id {})", id)))
      .with_existing_id(id);
}

InferenceConfiguration MongoStore::create(const CreateDTO& dto, const WriteContext& context) {
  InferenceConfiguration c = new_configuration(dto);
  try {
    in_transaction([&](DocRef session) {
      auto cl = client();
      auto coll = cl.collection(database_, kConfigurations);
      Bson doc = configuration_document(c);
      Reply reply;
      bson_error_t error;
      if (!mongoc_collection_insert_one(coll.get(), doc.get(), session.doc, reply.get(), &error))
        throw DriverFailure{error, Bson::copy_of(reply.get())};
      record_after({{c, RevisionOperation::kCreate, c.created_at}}, context, session.doc,
                   fmt::format("The configuration {} was created", c.id));
    });
  } catch (const DriverFailure& f) {
    if (is_duplicate_key(f.error)) throw_duplicate(c.model_id, c.configuration_type);
    fail(f, fmt::format("create the \"{}\" configuration of model \"{}\"", c.configuration_type, c.model_id));
  }
  return c;
}

std::vector<WriteError> write_errors(const bson_t* reply) {
  std::vector<WriteError> out;
  bson_iter_t it, array;
  if (!bson_iter_init_find(&it, reply, "writeErrors") || !bson_iter_recurse(&it, &array)) return out;
  while (bson_iter_next(&array)) {
    bson_iter_t field;
    WriteError e{0, 0};
    if (bson_iter_recurse(&array, &field))
      while (bson_iter_next(&field)) {
        const std::string_view key = bson_iter_key(&field);
        if (key == "index") e.index = static_cast<std::size_t>(bson_iter_as_int64(&field));
        if (key == "code") e.code = bson_iter_as_int64(&field);
      }
    out.push_back(e);
  }
  return out;
}

bool has_write_concern_error(const bson_t* reply) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, reply, "writeConcernErrors")) return false;
  bson_iter_t array;
  return bson_iter_recurse(&it, &array) && bson_iter_next(&array);
}

void insert_all(mongoc_collection_t* coll, const std::vector<Bson>& docs, bool ordered, const bson_t* session_opts) {
  // A plain array: std::vector<const bson_t*> trips GCC's alignment warning.
  struct Pointers {
    explicit Pointers(std::size_t n) : data(static_cast<const bson_t**>(bson_malloc0(sizeof(const bson_t*) * n))) {}
    ~Pointers() { bson_free(data); }
    Pointers(const Pointers&) = delete;
    Pointers& operator=(const Pointers&) = delete;
    const bson_t** data;
  } pointers(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) pointers.data[i] = docs[i].get();
  Bson opts = with_session(session_opts);
  BSON_APPEND_BOOL(opts.get(), "ordered", ordered);
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_insert_many(coll, pointers.data, docs.size(), opts.get(), reply.get(), &error))
    throw DriverFailure{error, Bson::copy_of(reply.get())};
}


void find_and_modify(mongoc_collection_t* coll, const bson_t* query, mongoc_find_and_modify_opts_t* opts,
                     const bson_t* session_opts, Reply& reply) {
  bson_error_t error;
  if (session_opts != nullptr && !mongoc_find_and_modify_opts_append(opts, session_opts)) {
    bson_set_error(&error, MONGOC_ERROR_COMMAND, MONGOC_ERROR_COMMAND_INVALID_ARG,
                   "the session could not be added to findAndModify");
    throw DriverFailure{error, Bson()};
  }
  if (!mongoc_collection_find_and_modify_with_opts(coll, query, opts, reply.get(), &error))
    throw DriverFailure{error, Bson::copy_of(reply.get())};
}

Bson counter_update(const char* op, std::int64_t value) {
  Bson update;
  bson_t body;
  BSON_APPEND_DOCUMENT_BEGIN(update.get(), op, &body);
  BSON_APPEND_INT64(&body, "value", value);
  bson_append_document_end(update.get(), &body);
  return update;
}

void append_in(bson_t* doc, const char* key, const std::vector<std::string>& values) {
  bson_t cond, in;
  BSON_APPEND_DOCUMENT_BEGIN(doc, key, &cond);
  BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &in);
  for (std::size_t i = 0; i < values.size(); ++i) append_str(&in, std::to_string(i).c_str(), values[i]);
  bson_append_array_end(&cond, &in);
  bson_append_document_end(doc, &cond);
}

std::vector<InferenceConfiguration> MongoStore::create_many(const std::vector<CreateDTO>& dtos,
                                                            const WriteContext& context) {
  std::vector<InferenceConfiguration> configs;
  if (dtos.empty()) return configs;
  std::vector<Bson> docs;
  std::vector<Change> changes;
  std::vector<std::string> ids;
  for (const auto& dto : dtos) {
    configs.push_back(new_configuration(dto));
    docs.push_back(configuration_document(configs.back()));
    changes.push_back({configs.back(), RevisionOperation::kCreate, configs.back().created_at});
    ids.push_back(configs.back().id);
  }
  const std::string what = fmt::format("create {} configurations", configs.size());
  try {
    const bool atomic = supports_transactions();
    bool recording = false;
    try {
      in_transaction([&](DocRef session) {
        auto cl = client();
        recording = false;
        insert_all(cl.collection(database_, kConfigurations).get(), docs, true, session.doc);
        // The batch's revisions: one insert_many, in the batch's transaction.
        recording = true;
        record_revisions(changes, context, session.doc);
      });
    } catch (const DriverFailure&) {
      if (!atomic) {
        // A standalone mongod has no transactions: take back what the ordered
        // inserts stored before one stopped (the batch, then its revisions).
        // The ids are ours and brand new.
        auto cl = client();
        const std::vector<const char*> collections =
            recording ? std::vector<const char*>{kConfigurations, kRevisions} : std::vector<const char*>{kConfigurations};
        for (const char* collection : collections) {
          auto coll = cl.collection(database_, collection);
          Bson filter;
          append_in(filter.get(), collection == kRevisions ? "configuration_id" : "id", ids);
          Reply reply;
          bson_error_t error;
          if (!mongoc_collection_delete_many(coll.get(), filter.get(), nullptr, reply.get(), &error))
            throw driver_error(error,
                               fmt::format("{} (the batch failed part-way and removing what it had written to {} "
                                           "failed too; delete the ids of model {} created just now)",
                                           what, collection, configs.front().model_id),
                               description_);
        }
      }
      throw;
    }
  } catch (const DriverFailure& f) {
    if (is_duplicate_key(f.error)) {
      const auto errors = write_errors(f.reply.get());
      const std::size_t i = errors.empty() ? 0 : std::min(errors.front().index, configs.size() - 1);
      throw_duplicate(configs[i].model_id, configs[i].configuration_type);
    }
    fail(f, what);
  }
  return configs;
}

std::vector<bool> MongoStore::create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                             const WriteContext& context) {
  std::vector<bool> created(dtos.size(), false);
  if (dtos.empty()) return created;
  const std::string what = fmt::format("create the missing configurations of {} (model, type) pairs", dtos.size());
  try {
    const bool atomic = supports_transactions();
    in_transaction([&](DocRef session) {
      const bson_t* session_opts = session.doc;
      std::fill(created.begin(), created.end(), false);  // a retried transaction starts over
      std::vector<Change> changes;
      auto key = [](const std::string& m, const std::string& t) { return m + '\0' + t; };
      std::set<std::string> model_ids, types;
      for (const auto& d : dtos) {
        model_ids.insert(d.model_id);
        types.insert(d.configuration_type);
      }
      Bson filter;
      for (const auto& [field, values] : {std::pair{"model_id", &model_ids}, std::pair{"configuration_type", &types}}) {
        bson_t cond, in;
        BSON_APPEND_DOCUMENT_BEGIN(filter.get(), field, &cond);
        BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &in);
        std::size_t i = 0;
        for (const auto& v : *values) append_str(&in, std::to_string(i++).c_str(), v);
        bson_append_array_end(&cond, &in);
        bson_append_document_end(filter.get(), &cond);
      }
      std::map<std::string, std::string> existing;  // key -> id
      // Only the fields that say a pair exists: a document whose other fields
      // another program wrote badly still exists and must not be duplicated.
      Bson probe_opts = with_session(session_opts);
      {
        bson_t projection;
        BSON_APPEND_DOCUMENT_BEGIN(probe_opts.get(), "projection", &projection);
        BSON_APPEND_INT32(&projection, "_id", 0);
        BSON_APPEND_INT32(&projection, "id", 1);
        BSON_APPEND_INT32(&projection, "model_id", 1);
        BSON_APPEND_INT32(&projection, "configuration_type", 1);
        bson_append_document_end(probe_opts.get(), &projection);
      }
      find_each(kConfigurations, filter.get(), probe_opts.get(), true, [&](DocRef ref) {
        auto text = [&](const char* field) {
          bson_iter_t it;
          return bson_iter_init_find(&it, ref.doc, field) && BSON_ITER_HOLDS_UTF8(&it)
                     ? std::string(bson_iter_utf8(&it, nullptr))
                     : std::string();
        };
        existing.emplace(key(text("model_id"), text("configuration_type")), text("id"));
        return true;
      });

      std::vector<std::size_t> to_insert, to_replace;
      std::set<std::string> scheduled;
      for (std::size_t i = 0; i < dtos.size(); ++i) {
        const auto k = key(dtos[i].model_id, dtos[i].configuration_type);
        if (existing.count(k) == 0 && scheduled.insert(k).second)
          to_insert.push_back(i);
        else
          to_replace.push_back(i);
      }
      std::vector<Bson> docs;
      std::vector<InferenceConfiguration> inserted;
      for (std::size_t i : to_insert) {
        inserted.push_back(new_configuration(dtos[i]));
        docs.push_back(configuration_document(inserted.back()));
        created[i] = true;
      }
      if (!docs.empty()) {
        auto cl = client();
        try {
          // Without a transaction, the unique index settles races with
          // concurrent writers: a duplicate key means "already exists".
          insert_all(cl.collection(database_, kConfigurations).get(), docs, atomic, session_opts);
        } catch (const DriverFailure& f) {
          const auto errors = write_errors(f.reply.get());
          const bool only_duplicates =
              !atomic && !errors.empty() && !has_write_concern_error(f.reply.get()) &&
              std::all_of(errors.begin(), errors.end(), [](const WriteError& e) { return is_duplicate_key_code(e.code); });
          if (!only_duplicates) throw;
          for (const auto& e : errors) {
            if (e.index >= to_insert.size()) throw;
            created[to_insert[e.index]] = false;
            to_replace.push_back(to_insert[e.index]);
          }
        }
      }
      // In a transaction, one insert_many of every revision at the end; on a
      // standalone server, each step's revisions right after it, so that a
      // failing overwrite leaves no earlier change without its revision.
      auto record = [&] {
        if (changes.empty()) return;
        record_after(changes, context, session_opts,
                     changes.size() == 1
                         ? fmt::format("The configuration {} was {}", changes.front().document.id,
                                       changes.front().operation == RevisionOperation::kCreate ? "created" : "overwritten")
                         : fmt::format("{} configurations were created or overwritten", changes.size()));
        changes.clear();
      };
      for (std::size_t k = 0; k < to_insert.size(); ++k)
        if (created[to_insert[k]]) changes.push_back({inserted[k], RevisionOperation::kCreate, inserted[k].created_at});
      if (!atomic) record();
      for (std::size_t i : replace ? to_replace : std::vector<std::size_t>{}) {
        Bson by_pair;
        append_str(by_pair.get(), "model_id", dtos[i].model_id);
        append_str(by_pair.get(), "configuration_type", dtos[i].configuration_type);
        auto current = find_one(by_pair.get(), session_opts, true);
        if (!current) continue;  // deleted meanwhile: nothing to overwrite
        const CreateDTO& dto = dtos[i];
        const InferenceConfiguration next =
            rewrite(current->id, std::nullopt, [&](InferenceConfiguration& c) { c = make_configuration(dto); },
                    session_opts);
        changes.push_back({next, RevisionOperation::kUpdate, next.updated_at});
        if (!atomic) record();
      }
      record();
    });
  } catch (const DriverFailure& f) {
    fail(f, what);
  }
  return created;
}

InferenceConfiguration MongoStore::rewrite(std::string_view id, std::optional<std::int64_t> expected_revision,
                                           const std::function<void(InferenceConfiguration&)>& change,
                                           const bson_t* session_opts) {
  // Optimistic concurrency: the update matches only the revision and the
  // updated_at we read. The Python platform's own writes stamp updated_at
  // but do not bump revision, so a write by either program between our read
  // and our write makes the update match nothing; we then read again.
  for (int attempt = 0; attempt < 50; ++attempt) {
    Bson by_id;
    append_str(by_id.get(), "id", id);
    Bson read_opts = with_session(session_opts);
    BSON_APPEND_INT64(read_opts.get(), "limit", 1);
    std::optional<Bson> stored;
    find_each(kConfigurations, by_id.get(), read_opts.get(), true, [&](DocRef ref) {
      stored = Bson::copy_of(ref.doc);
      return false;
    });
    if (!stored) throw unknown_id(id);
    const InferenceConfiguration current = configuration_from_bson(stored->get());
    if (expected_revision && current.revision != *expected_revision)
      throw revision_mismatch(id, *expected_revision, current.revision);
    InferenceConfiguration next = current;
    change(next);
    next.id = current.id;
    next.created_at = current.created_at;
    next.updated_at = std::max(now_utc(), current.updated_at);
    next.revision = current.revision + 1;

    Bson selector;
    append_str(selector.get(), "id", id);
    append_revision_filter(selector.get(), current.revision);
    bson_iter_t stamp;
    if (bson_iter_init_find(&stamp, stored->get(), "updated_at"))
      bson_append_iter(selector.get(), "updated_at", -1, &stamp);  // as stored: a Date or the seed's string
    Bson update = configuration_update(stored->get(), current, next);
    auto cl = client();
    auto coll = cl.collection(database_, kConfigurations);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_update_one(coll.get(), selector.get(), update.get(), session_opts, reply.get(), &error)) {
      if (is_duplicate_key(error) && session_opts == nullptr) throw_duplicate(next.model_id, next.configuration_type);
      throw DriverFailure{error, Bson::copy_of(reply.get())};
    }
    if (reply_count(reply.get(), "matchedCount") == 1) return next;
    // The caller's change was made against the revision it expected; what
    // is stored now is something else, even when the other writer (the
    // platform) left the revision as it was.
    if (expected_revision) {
      const auto now = find_one(by_id.get(), session_opts, true);
      if (!now) throw unknown_id(id);
      if (now->revision != *expected_revision) throw revision_mismatch(id, *expected_revision, now->revision);
      throw conflict(fmt::format(
                         "Configuration {} was changed by another writer while inferconf was updating it (revision "
                         "{} expected, its updated_at moved); nothing was written. Read it again and reapply your "
                         "change.",
                         id, *expected_revision))
          .as_revision_mismatch();
    }
  }
  throw conflict(fmt::format("Configuration {} kept changing while inferconf tried to update it; try again.", id));
}

InferenceConfiguration MongoStore::update(std::string_view id, const UpdateDTO& u,
                                          std::optional<std::int64_t> expected_revision,
                                          const WriteContext& context) {
  return rewrite_recorded(id, expected_revision, RevisionOperation::kUpdate, context,
                          [&](InferenceConfiguration& c, DocRef) { apply_update(c, u); },
                          fmt::format("update configuration {}", id));
}

InferenceConfiguration MongoStore::replace(std::string_view id, const CreateDTO& replacement,
                                           std::optional<std::int64_t> expected_revision,
                                           const WriteContext& context) {
  return rewrite_recorded(id, expected_revision, RevisionOperation::kUpdate, context,
                          [&](InferenceConfiguration& c, DocRef) { c = make_configuration(replacement); },
                          fmt::format("replace configuration {}", id));
}

InferenceConfiguration MongoStore::rewrite_recorded(std::string_view id, std::optional<std::int64_t> expected_revision,
                                                    RevisionOperation operation, const WriteContext& context,
                                                    const std::function<void(InferenceConfiguration&, DocRef)>& change,
                                                    std::string_view what) {
  InferenceConfiguration next;
  std::optional<std::pair<std::string, std::string>> pair;  // the (model_id, type) the change writes
  try {
    in_transaction([&](DocRef session) {
      next = rewrite(
          id, expected_revision,
          [&](InferenceConfiguration& c) {
            change(c, session);
            pair.emplace(c.model_id, c.configuration_type);
          },
          session.doc);
      record_after({{next, operation, next.updated_at}}, context, session.doc,
                   fmt::format("The configuration {} was changed to revision {}", next.id, next.revision));
    });
  } catch (const DriverFailure& f) {
    // In a transaction the duplicate key comes out of it unmapped.
    if (is_duplicate_key(f.error) && pair) throw_duplicate(pair->first, pair->second);
    fail(f, what);
  }
  return next;
}

void MongoStore::remove(std::string_view id, std::optional<std::int64_t> expected_revision,
                        const WriteContext& context) {
  try {
    bool deleted = false;
    // The marker for changes_since() and the tombstone revision are written
    // with the delete, in the same transaction where the deployment has them.
    in_transaction([&](DocRef session) {
      deleted = false;
      auto cl = client();
      auto coll = cl.collection(database_, kConfigurations);
      Bson selector;
      append_str(selector.get(), "id", id);
      if (expected_revision) append_revision_filter(selector.get(), *expected_revision);
      // findAndModify rather than delete: the tombstone keeps the document as
      // it was deleted, read in the same atomic step.
      FindAndModifyOptsPtr opts(mongoc_find_and_modify_opts_new());
      mongoc_find_and_modify_opts_set_flags(opts.get(), MONGOC_FIND_AND_MODIFY_REMOVE);
      Reply reply;
      find_and_modify(coll.get(), selector.get(), opts.get(), session.doc, reply);
      bson_error_t error;
      bson_iter_t value;
      if (!bson_iter_init_find(&value, reply.get(), "value") || !BSON_ITER_HOLDS_DOCUMENT(&value)) return;
      std::uint32_t length = 0;
      const std::uint8_t* data = nullptr;
      bson_iter_document(&value, &length, &data);
      bson_t stored;
      bson_init_static(&stored, data, length);
      InferenceConfiguration tombstone = configuration_from_bson(&stored);
      deleted = true;
      auto deletions = cl.collection(database_, kDeletions);
      const Timestamp now = now_utc();
      Bson marker;
      append_str(marker.get(), "id", id);
      append_timestamp(marker.get(), "deleted_at", now);
      Reply marker_reply;
      if (!mongoc_collection_insert_one(deletions.get(), marker.get(), session.doc, marker_reply.get(), &error))
        throw DriverFailure{error, Bson::copy_of(marker_reply.get())};
      tombstone.revision += 1;
      record_after({{tombstone, RevisionOperation::kDelete, now}}, context, session.doc,
                   fmt::format("The configuration {} was deleted (its revision {})", tombstone.id, tombstone.revision));
    });
    if (deleted) return;
    Bson by_id;
    append_str(by_id.get(), "id", id);
    auto current = find_one(by_id.get(), nullptr, true);
    if (!current) throw unknown_id(id);
    throw revision_mismatch(id, expected_revision.value_or(current->revision), current->revision);
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("delete configuration {}", id));
  }
}

}  // namespace mongo

std::string redact_mongo_uri(std::string_view uri) {
  std::string out(uri);
  const auto scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  const auto hosts_begin = scheme + 3;
  const auto hosts_end = out.find_first_of("/?", hosts_begin);
  const auto at = out.rfind('@', hosts_end == std::string::npos ? std::string::npos : hosts_end);
  if (at != std::string::npos && at >= hosts_begin) out.erase(hosts_begin, at + 1 - hosts_begin);
  // Options that can carry a secret: a key file's password, and the AWS
  // session token among authMechanismProperties. Option names are
  // case-insensitive in a connection string, so they are matched so.
  const auto query = out.find('?');
  if (query == std::string::npos) return out;
  std::string lower = out;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  for (const std::string secret : {"tlscertificatekeyfilepassword=", "authmechanismproperties="}) {
    for (auto p = lower.find(secret, query); p != std::string::npos; p = lower.find(secret, p + secret.size())) {
      if (lower[p - 1] != '?' && lower[p - 1] != '&') continue;
      const auto value = p + secret.size();
      const auto end = out.find('&', value);
      const auto length = (end == std::string::npos ? out.size() : end) - value;
      out.replace(value, length, "***");
      lower.replace(value, length, "***");
    }
  }
  return out;
}

namespace {

// The driver's own parse errors may quote the password ("Password \"…\" must
// not have unescaped chars"): replace it before the message is shown.
std::string scrub_password(std::string message, std::string_view uri) {
  const auto scheme = uri.find("://");
  if (scheme == std::string_view::npos) return message;
  const auto hosts_begin = scheme + 3;
  const auto hosts_end = uri.find_first_of("/?", hosts_begin);
  const auto at = uri.rfind('@', hosts_end == std::string_view::npos ? std::string_view::npos : hosts_end);
  if (at == std::string_view::npos || at < hosts_begin) return message;
  const std::string_view userinfo = uri.substr(hosts_begin, at - hosts_begin);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos || colon + 1 == userinfo.size()) return message;
  const std::string password(userinfo.substr(colon + 1));
  for (auto p = message.find(password); p != std::string::npos; p = message.find(password, p + 3))
    message.replace(p, password.size(), "***");
  return message;
}

}  // namespace

std::unique_ptr<Store> open_mongo_store(std::string_view uri, const RegistryFieldMap& map) {
  mongo::ensure_driver_initialised();
  const std::string text(uri);
  const std::string shown = redact_mongo_uri(text);
  bson_error_t error;
  mongo::UriPtr parsed(mongoc_uri_new_with_error(text.c_str(), &error));
  if (!parsed)
    throw invalid(fmt::format(
        "The MongoDB connection string \"{}\" is not valid: {}. Write it as "
        "mongodb://[USER:PASSWORD@]HOST[:PORT][,HOST…]/DATABASE[?OPTIONS] or mongodb+srv://HOST/DATABASE[?OPTIONS].",
        shown, scrub_password(error.message, text)));
  const char* database = mongoc_uri_get_database(parsed.get());
  if (database == nullptr || *database == '\0')
    throw invalid(fmt::format(
        "The MongoDB connection string \"{}\" names no database; add it after the hosts, e.g. "
        "mongodb://localhost:27017/inferconf.",
        shown));
  if (mongoc_write_concern_get_w(mongoc_uri_get_write_concern(parsed.get())) == MONGOC_WRITE_CONCERN_W_UNACKNOWLEDGED)
    throw invalid(fmt::format(
        "The MongoDB connection string \"{}\" sets w=0 (unacknowledged writes); inferconf must know that a write "
        "was applied. Remove w=0 or use w=1 or w=majority.",
        shown));
  mongo::apply_uri_defaults(parsed.get());
  if (mongoc_uri_get_appname(parsed.get()) == nullptr) mongoc_uri_set_appname(parsed.get(), "inferconf");
  mongo::PoolPtr pool(mongoc_client_pool_new_with_error(parsed.get(), &error));
  if (!pool)
    throw invalid(fmt::format("The MongoDB connection string \"{}\" cannot be used: {}.", shown,
                              scrub_password(error.message, text)));
  mongoc_client_pool_set_error_api(pool.get(), MONGOC_ERROR_API_VERSION_2);
  auto store = std::make_unique<mongo::MongoStore>(std::move(parsed), std::move(pool), database, shown, map);
  store->ping();
  return store;
}

}  // namespace inferconf
