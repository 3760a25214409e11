// A thin RAII layer over the libmongoc / libbson handles the MongoDB store
// uses. Every handle is a unique_ptr with the driver's destroy function, so an
// exception thrown half-way through an operation never leaks a client back
// into limbo or a cursor on the server.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <bson/bson.h>
#include <mongoc/mongoc.h>

namespace inferconf::mongo {

// mongoc_init() once per process, mongoc_cleanup() at exit (after every pool
// has been destroyed, since pools are owned by stores destroyed before statics).
void ensure_driver_initialised();

template <typename T, void (*Destroy)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept {
    if (p != nullptr) Destroy(p);
  }
};

using UriPtr = std::unique_ptr<mongoc_uri_t, Deleter<mongoc_uri_t, mongoc_uri_destroy>>;
using PoolPtr = std::unique_ptr<mongoc_client_pool_t, Deleter<mongoc_client_pool_t, mongoc_client_pool_destroy>>;
using CollectionPtr = std::unique_ptr<mongoc_collection_t, Deleter<mongoc_collection_t, mongoc_collection_destroy>>;
using DatabasePtr = std::unique_ptr<mongoc_database_t, Deleter<mongoc_database_t, mongoc_database_destroy>>;
using CursorPtr = std::unique_ptr<mongoc_cursor_t, Deleter<mongoc_cursor_t, mongoc_cursor_destroy>>;
using SessionPtr =
    std::unique_ptr<mongoc_client_session_t, Deleter<mongoc_client_session_t, mongoc_client_session_destroy>>;
using ChangeStreamPtr =
    std::unique_ptr<mongoc_change_stream_t, Deleter<mongoc_change_stream_t, mongoc_change_stream_destroy>>;
using ServerDescriptionPtr = std::unique_ptr<mongoc_server_description_t,
                                             Deleter<mongoc_server_description_t, mongoc_server_description_destroy>>;
using TransactionOptsPtr =
    std::unique_ptr<mongoc_transaction_opt_t, Deleter<mongoc_transaction_opt_t, mongoc_transaction_opts_destroy>>;
using ReadConcernPtr = std::unique_ptr<mongoc_read_concern_t, Deleter<mongoc_read_concern_t, mongoc_read_concern_destroy>>;
using WriteConcernPtr =
    std::unique_ptr<mongoc_write_concern_t, Deleter<mongoc_write_concern_t, mongoc_write_concern_destroy>>;
using ReadPrefsPtr = std::unique_ptr<mongoc_read_prefs_t, Deleter<mongoc_read_prefs_t, mongoc_read_prefs_destroy>>;
using FindAndModifyOptsPtr = std::unique_ptr<mongoc_find_and_modify_opts_t,
                                             Deleter<mongoc_find_and_modify_opts_t, mongoc_find_and_modify_opts_destroy>>;
using BulkPtr = std::unique_ptr<mongoc_bulk_operation_t,
                                Deleter<mongoc_bulk_operation_t, mongoc_bulk_operation_destroy>>;

// An owned bson_t on the heap; also used for replies, which must be destroyed
// even when the call failed.
class Bson {
 public:
  Bson() : doc_(bson_new()) {}
  explicit Bson(bson_t* adopted) : doc_(adopted) {}
  Bson(const Bson& other) : doc_(bson_copy(other.get())) {}
  Bson& operator=(const Bson& other) {
    if (this != &other) {
      bson_t* copy = bson_copy(other.get());
      bson_destroy(doc_);
      doc_ = copy;
    }
    return *this;
  }
  Bson(Bson&& other) noexcept : doc_(other.doc_) { other.doc_ = nullptr; }
  Bson& operator=(Bson&& other) noexcept {
    std::swap(doc_, other.doc_);
    return *this;
  }
  // A raw pointer rather than unique_ptr<bson_t>: bson_t is over-aligned and
  // GCC warns about the alignment attribute on template arguments.
  ~Bson() {
    if (doc_ != nullptr) bson_destroy(doc_);
  }

  static Bson copy_of(const bson_t* doc) { return Bson(bson_copy(doc)); }

  bson_t* get() noexcept { return doc_; }
  const bson_t* get() const noexcept { return doc_; }
  // Relaxed extended JSON, for messages.
  std::string to_json() const;

 private:
  bson_t* doc_;
};

// A borrowed document, passed through std::function (see Bson on alignment).
struct DocRef {
  const bson_t* doc;
};

// The `reply` out-parameter of driver calls: the driver initialises it (even
// on failure), we destroy it. Not movable: a heap-grown bson_t points into
// itself, so copy it into a Bson to keep it.
class Reply {
 public:
  Reply() { bson_init(&doc_); }
  ~Reply() { bson_destroy(&doc_); }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  bson_t* get() noexcept { return &doc_; }
  const bson_t* get() const noexcept { return &doc_; }

 private:
  bson_t doc_;
};

// A client popped from a pool and pushed back on destruction.
class PooledClient {
 public:
  explicit PooledClient(mongoc_client_pool_t* pool) : pool_(pool), client_(mongoc_client_pool_pop(pool)) {}
  // Uses a client someone else popped (the one a transaction's session belongs to).
  static PooledClient borrow(mongoc_client_t* client) { return PooledClient(client); }
  PooledClient(PooledClient&& other) noexcept : pool_(other.pool_), client_(other.client_) { other.client_ = nullptr; }
  ~PooledClient() {
    if (client_ != nullptr && pool_ != nullptr) mongoc_client_pool_push(pool_, client_);
  }
  PooledClient(const PooledClient&) = delete;
  PooledClient& operator=(const PooledClient&) = delete;

  mongoc_client_t* get() const noexcept { return client_; }
  CollectionPtr collection(const std::string& db, const char* name) const {
    return CollectionPtr(mongoc_client_get_collection(client_, db.c_str(), name));
  }

 private:
  explicit PooledClient(mongoc_client_t* borrowed) : pool_(nullptr), client_(borrowed) {}
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
};

}  // namespace inferconf::mongo
