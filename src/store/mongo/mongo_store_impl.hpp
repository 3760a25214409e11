// The MongoStore class, split over mongo_store.cpp (open, writes),
// mongo_queries.cpp (reads, pagination, change feed), mongo_schema.cpp
// (indexes) and mongo_registry.cpp (database_models).
#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>
#include <utility>

#include "inferconf/store.hpp"
#include "store/mongo/documents.hpp"
#include "store/mongo/handles.hpp"

namespace inferconf::mongo {

// A failed driver call, with its reply (whose errorLabels decide whether a
// transaction is retried). Thrown by the helpers below and mapped to
// inferconf::Error at the edge of every Store method.
struct DriverFailure {
  bson_error_t error;
  Bson reply;
};

// An open change stream (change_feed.cpp) with the pooled client it runs on.
struct HeldStream {
  PooledClient client;  // the stream's, for its whole life
  DatabasePtr database;
  ChangeStreamPtr stream;
  std::string token;  // canonical JSON of the resume token it stands at; "" if the server gave none
};

class MongoStore final : public Store {
 public:
  MongoStore(UriPtr uri, PoolPtr pool, std::string database, std::string description, RegistryFieldMap map);
  ~MongoStore() override;

  std::string describe() const override { return description_; }
  void ensure_schema() override;
  std::vector<std::string> check_schema() override;

  InferenceConfiguration create(const CreateDTO& dto, const WriteContext& context = {}) override;
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos,
                                                  const WriteContext& context = {}) override;
  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                   const WriteContext& context = {}) override;
  std::optional<InferenceConfiguration> get(std::string_view id) override;
  InferenceConfiguration update(std::string_view id, const UpdateDTO& update,
                                std::optional<std::int64_t> expected_revision,
                                const WriteContext& context = {}) override;
  InferenceConfiguration replace(std::string_view id, const CreateDTO& replacement,
                                 std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context = {}) override;
  void remove(std::string_view id, std::optional<std::int64_t> expected_revision,
              const WriteContext& context = {}) override;

  std::vector<InferenceConfiguration> find_by_model_id(std::string_view model_id,
                                                       std::optional<std::string_view> configuration_type) override;
  std::vector<InferenceConfiguration> find_by_base_model(std::string_view base_model,
                                                         std::optional<std::string_view> configuration_type) override;
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view configuration_type) override;
  std::optional<InferenceConfiguration> find_by_base_model_and_type(std::string_view base_model,
                                                                    std::string_view configuration_type) override;
  ConfigurationPage list(const ConfigurationFilter& filter, std::size_t limit,
                         std::optional<std::string_view> cursor) override;
  std::int64_t count(const ConfigurationFilter& filter) override;
  void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) override;
  std::string change_cursor() override;
  ChangeSet changes_since(std::string_view cursor) override;

  RevisionPage revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) override;
  RevisionPage revisions_of_model(std::string_view model_id, std::string_view configuration_type, std::size_t limit,
                                  std::optional<std::string_view> cursor) override;
  std::optional<Revision> get_revision(std::string_view id, std::int64_t revision) override;
  std::optional<Revision> revision_as_of(std::string_view model_id, std::string_view configuration_type,
                                         Timestamp at) override;
  RevisionPage audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) override;
  InferenceConfiguration rollback(std::string_view id, std::int64_t to_revision,
                                  std::optional<std::int64_t> expected_revision, const WriteContext& context) override;
  InferenceConfiguration restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context) override;
  PruneResult prune_history(const PruneRule& rule, const WriteContext& context) override;

  void upsert_models(const std::vector<ModelRecord>& models) override;
  std::optional<ModelRecord> get_model(std::string_view id) override;
  void for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) override;
  std::int64_t count_models(bool active_only) override;

  // Pings the deployment (admin.ping), authenticating on the way.
  void ping();

  // How a document read from inference_configurations (scans, pages, the
  // change feed) becomes a configuration: nullopt with *problem set for a
  // document that is not one, which is then quarantined. Default:
  // read_configuration. A reader that throws is an unexpected failure of the
  // operation that read the document; the change feed survives it (reload).
  // Not thread-safe: set it before the store is shared.
  using ConfigurationReader = std::function<std::optional<InferenceConfiguration>(DocRef, std::string*)>;
  void set_configuration_reader(ConfigurationReader reader) { reader_ = std::move(reader); }

 private:
  using DocFn = std::function<bool(DocRef)>;
  using Body = std::function<void(DocRef session_opts)>;

  // Inside in_transaction() on this thread: the transaction's client, since a
  // session only works with the client that started it. Otherwise one from the pool.
  PooledClient client() const;
  [[noreturn]] void fail(const DriverFailure& f, std::string_view what) const;

  // Runs find and calls fn per document until it returns false. `primary`
  // forces a primary read (read-your-writes inside a write operation);
  // otherwise the URI's readPreference applies.
  void find_each(const char* collection, const bson_t* filter, const bson_t* opts, bool primary, const DocFn& fn) const;
  std::vector<InferenceConfiguration> find_configurations(const bson_t* filter, const bson_t* opts,
                                                          bool primary = false) const;
  std::optional<InferenceConfiguration> find_one(const bson_t* filter, const bson_t* opts = nullptr,
                                                 bool primary = false) const;
  std::int64_t count_documents(const char* collection, const bson_t* filter) const;
  // Reads a document met in a scan; a document that is not a configuration
  // (written by another program) is skipped and logged as quarantined, once
  // per document and problem, so that the valid ones go on being served.
  std::optional<InferenceConfiguration> scanned(const bson_t* doc) const;

  // On a sharded cluster (mongos), a sentence saying inference_configurations
  // is sharded when collStats says so; nullopt otherwise or when unknown.
  std::optional<std::string> sharded_problem() const;
  // The id of the configuration holding (model_id, configuration_type), if any.
  std::string existing_id(const std::string& model_id, const std::string& configuration_type) const;
  [[noreturn]] void throw_duplicate(const std::string& model_id, const std::string& configuration_type) const;

  // Whether the deployment runs multi-document transactions (replica set
  // primary or mongos with sessions); a standalone mongod does not.
  bool supports_transactions();
  // Runs body in a transaction (retried by the driver on transient errors)
  // when supported, otherwise directly with no session options.
  void in_transaction(const Body& body);

  // The read-check-write loop of update(), replace(), rollback() and the
  // overwrites of create_missing(); returns the new state. Records no revision.
  InferenceConfiguration rewrite(std::string_view id, std::optional<std::int64_t> expected_revision,
                                 const std::function<void(InferenceConfiguration&)>& change, const bson_t* session_opts);

  // --- Change history (mongo_history.cpp) ---
  // One revision to record: the configuration after the change (for a
  // delete, as deleted, numbered as its tombstone).
  struct Change {
    InferenceConfiguration document;
    RevisionOperation operation;
    Timestamp at;
  };
  // Hands out `count` consecutive store-wide sequence numbers and returns the
  // first. Throws DriverFailure.
  std::int64_t reserve_sequence(std::int64_t count, const bson_t* session_opts);
  // Inserts the revisions of `changes` (one insert_many) with consecutive
  // sequence numbers, in the caller's transaction (session_opts) or, on a
  // standalone server, right after the change. Throws DriverFailure.
  void record_revisions(const std::vector<Change>& changes, const WriteContext& context, const bson_t* session_opts,
                        bool ordered = true);
  // record_revisions() after the change `made` (a sentence: "The configuration
  // … was updated to revision 4"). In a transaction a failure aborts the
  // change with it (DriverFailure); on a standalone server the change stays,
  // and the failure becomes an Error saying so and how to repair it.
  void record_after(const std::vector<Change>& changes, const WriteContext& context, const bson_t* session_opts,
                    std::string_view made);
  std::optional<Revision> find_revision(const bson_t* filter, const bson_t* opts, bool primary) const;
  // The page of revisions matching filter, newest first by `order`
  // ("revision" or "sequence"), whose value is the next page's cursor.
  RevisionPage revision_page(const bson_t* filter, const char* order, std::size_t limit) const;
  // ensure_schema(): a `baseline` revision for every configuration whose
  // current revision has no record (the seed's documents, and on a
  // standalone server a change whose revision write was lost in a crash).
  void record_baselines();

  // rewrite() and its revision, in one transaction where the deployment has them.
  InferenceConfiguration rewrite_recorded(std::string_view id, std::optional<std::int64_t> expected_revision,
                                          RevisionOperation operation, const WriteContext& context,
                                          const std::function<void(InferenceConfiguration&, DocRef)>& change,
                                          std::string_view what);

  // The change feed (change_feed.cpp): a change stream where the deployment
  // has them, polling on updated_at and the tombstones otherwise.
  // Whether to try a change stream: not on a standalone mongod, nor after the
  // deployment refused one.
  bool try_change_streams();
  std::string poll_cursor();
  ChangeSet poll_changes(std::string_view cursor);
  // Opens a change stream on the database's configuration and tombstone
  // collections, after `resume_after` when given. Throws DriverFailure.
  std::unique_ptr<HeldStream> open_stream(const bson_t* resume_after);
  ChangeSet stream_changes(std::string_view cursor);
  // Reads the events available now from stream_ into out.
  void drain(ChangeSet& out);

  UriPtr uri_;
  PoolPtr pool_;
  std::string database_;
  std::string description_;
  RegistryFieldMap map_;
  ConfigurationReader reader_ = [](DocRef ref, std::string* problem) { return read_configuration(ref.doc, problem); };
  std::atomic<int> transactions_{-1};  // -1 unknown, 0 no, 1 yes
  std::atomic<int> change_streams_{-1};  // -1 unknown, 0 polling, 1 change streams
  // Declared after pool_: destroyed first, giving its client back to the pool.
  std::mutex stream_mutex_;
  std::unique_ptr<HeldStream> stream_;
  // _id -> id of configurations seen in the stream: delete events name only _id.
  std::unordered_map<std::string, std::string> object_ids_;
  // What polling reported within the overlap window, for the sequence of
  // cursors ending in poll_last_cursor_: id -> (revision, updated_at ms), and
  // tombstone id -> deleted_at ms.
  std::mutex poll_mutex_;
  std::string poll_last_cursor_;
  std::unordered_map<std::string, std::pair<std::int64_t, std::int64_t>> poll_seen_;
  std::unordered_map<std::string, std::int64_t> poll_seen_deleted_;
  // Problems already logged by scanned(); cleared when full.
  mutable std::mutex quarantine_mutex_;
  mutable std::set<std::string> quarantined_;
};

// Timeouts (docs/MONGODB.md, "Timeouts"): socketTimeoutMS when the
// connection string sets none, and the server-side limit of every bounded
// read (lookups, pages, counts, polls; not the full scan of a reload).
inline constexpr std::int32_t kDefaultSocketTimeoutMs = 60000;
inline constexpr std::int64_t kReadMaxTimeMs = 20000;
// Sets the defaults inferconf adds to a connection string that does not set
// them: retryWrites=true, socketTimeoutMS=kDefaultSocketTimeoutMs.
void apply_uri_defaults(mongoc_uri_t* uri);

// Writes a string field equal to `value`, or `{ $in: [value, null] }` style
// revision filters; small helpers shared by the .cpp files.
void append_revision_filter(bson_t* filter, std::int64_t revision);
void append_str(bson_t* doc, const char* key, std::string_view value);
void append_configuration_filter(bson_t* doc, const ConfigurationFilter& filter);
// `sort: {field: 1, …}` in this order.
void append_sort(bson_t* opts, std::initializer_list<const char*> fields);
// `{$in: [values…]}` under key.
void append_in(bson_t* doc, const char* key, const std::vector<std::string>& values);

// One entry of a reply's writeErrors.
struct WriteError {
  std::size_t index;
  std::int64_t code;
};
std::vector<WriteError> write_errors(const bson_t* reply);
bool has_write_concern_error(const bson_t* reply);
// findAndModify with opts, in the session of session_opts when given; the
// reply's `value` is the document. Throws DriverFailure.
void find_and_modify(mongoc_collection_t* coll, const bson_t* query, mongoc_find_and_modify_opts_t* opts,
                     const bson_t* session_opts, Reply& reply);
// {op: {value: <int64>}}, the update of the revision counter.
Bson counter_update(const char* op, std::int64_t value);
// insert_many of docs (in the session of session_opts, when given). Throws DriverFailure.
void insert_all(mongoc_collection_t* coll, const std::vector<Bson>& docs, bool ordered, const bson_t* session_opts);

}  // namespace inferconf::mongo
