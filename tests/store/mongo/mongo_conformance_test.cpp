// The Store conformance suite against a real MongoDB, when
// INFERCONF_TEST_MONGODB_URI names one (mongod or a replica set; see
// docs/MONGODB.md). Each test gets a database of its own, dropped at the end.
// Without the variable every test is skipped with "SKIPPED: no MongoDB".
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include <chrono>
#include <thread>

#include <mongoc/mongoc.h>

#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"
#include "store/mongo/mongo_store.hpp"
#include "store/mongo/mongo_store_impl.hpp"
#include "store/store_conformance.hpp"

namespace inferconf::testing {
namespace {

const char* mongodb_uri() { return std::getenv("INFERCONF_TEST_MONGODB_URI"); }

// The test URI with its database replaced by `database`.
std::string with_database(const std::string& uri, const std::string& database) {
  const auto hosts = uri.find("://") + 3;
  const auto slash = uri.find('/', hosts);
  const auto query = uri.find('?', hosts);
  const std::string base = uri.substr(0, std::min(slash, query));
  const std::string options = query == std::string::npos ? "" : uri.substr(query);
  return base + "/" + database + options;
}

std::mutex databases_mutex;
std::vector<std::string> databases;  // created by this run, dropped at the end

void drop_database(const std::string& uri_text) {
  bson_error_t error;
  mongoc_uri_t* uri = mongoc_uri_new_with_error(uri_text.c_str(), &error);
  if (uri == nullptr) return;
  mongoc_client_t* client = mongoc_client_new_from_uri(uri);
  if (client != nullptr) {
    mongoc_database_t* db = mongoc_client_get_database(client, mongoc_uri_get_database(uri));
    mongoc_database_drop(db, &error);
    mongoc_database_destroy(db);
    mongoc_client_destroy(client);
  }
  mongoc_uri_destroy(uri);
}

class DropDatabases : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard lock(databases_mutex);
    for (const auto& uri : databases) drop_database(uri);
  }
};

// Never called: stands in for a store when the test is skipped, because the
// suite's SetUp asserts a non-null store after make() returns.
class SkippedStore final : public Store {
  [[noreturn]] static void unused() { throw std::logic_error("the MongoDB conformance test was skipped"); }

 public:
  std::string describe() const override { return "skipped"; }
  void ensure_schema() override { unused(); }
  std::vector<std::string> check_schema() override { unused(); }
  InferenceConfiguration create(const CreateDTO&, const WriteContext&) override { unused(); }
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>&, const WriteContext&) override { unused(); }
  std::vector<bool> create_missing(const std::vector<CreateDTO>&, bool, const WriteContext&) override { unused(); }
  std::optional<InferenceConfiguration> get(std::string_view) override { unused(); }
  InferenceConfiguration update(std::string_view, const UpdateDTO&, std::optional<std::int64_t>, const WriteContext&) override { unused(); }
  InferenceConfiguration replace(std::string_view, const CreateDTO&, std::optional<std::int64_t>, const WriteContext&) override { unused(); }
  void remove(std::string_view, std::optional<std::int64_t>, const WriteContext&) override { unused(); }
  std::vector<InferenceConfiguration> find_by_model_id(std::string_view, std::optional<std::string_view>) override {
    unused();
  }
  std::vector<InferenceConfiguration> find_by_base_model(std::string_view, std::optional<std::string_view>) override {
    unused();
  }
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view, std::string_view) override { unused(); }
  std::optional<InferenceConfiguration> find_by_base_model_and_type(std::string_view, std::string_view) override {
    unused();
  }
  ConfigurationPage list(const ConfigurationFilter&, std::size_t, std::optional<std::string_view>) override { unused(); }
  std::int64_t count(const ConfigurationFilter&) override { unused(); }
  void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>&) override { unused(); }
  std::string change_cursor() override { unused(); }
  ChangeSet changes_since(std::string_view) override { unused(); }
  void upsert_models(const std::vector<ModelRecord>&) override { unused(); }
  std::optional<ModelRecord> get_model(std::string_view) override { unused(); }
  void for_each_model(bool, const std::function<bool(const ModelRecord&)>&) override { unused(); }
  std::int64_t count_models(bool) override { unused(); }
};

void skip_without_mongodb() { GTEST_SKIP() << "SKIPPED: no MongoDB (set INFERCONF_TEST_MONGODB_URI to run this suite)"; }

std::unique_ptr<Store> fresh_mongo_store() {
  const char* base = mongodb_uri();
  if (base == nullptr || *base == '\0') {
    skip_without_mongodb();
    return std::make_unique<SkippedStore>();
  }
  static std::atomic<int> n{0};
  static ::testing::Environment* const cleanup = ::testing::AddGlobalTestEnvironment(new DropDatabases);
  (void)cleanup;
  const std::string uri =
      with_database(base, "inferconf_conformance_" + std::to_string(getpid()) + "_" + std::to_string(n++));
  {
    std::lock_guard lock(databases_mutex);
    databases.push_back(uri);
  }
  auto store = open_mongo_store(uri);
  store->ensure_schema();
  return store;
}

INSTANTIATE_TEST_SUITE_P(Mongo, StoreConformance, ::testing::Values(StoreFactory{"mongodb", fresh_mongo_store}),
                         StoreFactoryName());

// One line that says so, whatever the gtest output settings.
TEST(MongoConformance, Availability) {
  if (mongodb_uri() == nullptr || *mongodb_uri() == '\0') {
    std::printf("SKIPPED: no MongoDB (set INFERCONF_TEST_MONGODB_URI, see docs/MONGODB.md)\n");
    GTEST_SKIP() << "SKIPPED: no MongoDB";
  }
  auto store = open_mongo_store(mongodb_uri());
  EXPECT_FALSE(store->describe().empty());
}

// --- The MongoDB contract cases against a real server ---
// The same situations as tests/store/mongo/cases/ (the transaction's read
// preference, malformed documents, foreign writes, BSON types, late writes
// under polling, error mapping), on a real deployment. Cases that need a
// fail point skip themselves on a server started without
// --setParameter enableTestCommands=1.

// A fresh database of its own, the store on it (with extra URI options) and
// a plain driver client for writing as the Python platform would.
struct RealServer {
  std::string uri;
  std::unique_ptr<Store> store;
  mongoc_client_t* client = nullptr;
  mongoc_collection_t* configurations = nullptr;

  ~RealServer() {
    if (configurations != nullptr) mongoc_collection_destroy(configurations);
    if (client != nullptr) mongoc_client_destroy(client);
  }

  static std::unique_ptr<RealServer> open(const std::string& options = "") {
    const char* base = mongodb_uri();
    if (base == nullptr || *base == '\0') return nullptr;
    static std::atomic<int> n{0};
    auto out = std::make_unique<RealServer>();
    out->uri = with_database(base, "inferconf_real_" + std::to_string(getpid()) + "_" + std::to_string(n++));
    {
      std::lock_guard lock(databases_mutex);
      databases.push_back(out->uri);
    }
    static ::testing::Environment* const cleanup = ::testing::AddGlobalTestEnvironment(new DropDatabases);
    (void)cleanup;
    const std::string with_options =
        options.empty() ? out->uri : out->uri + (out->uri.find('?') == std::string::npos ? "?" : "&") + options;
    out->store = open_mongo_store(with_options);
    out->store->ensure_schema();
    bson_error_t error;
    mongoc_uri_t* parsed = mongoc_uri_new_with_error(out->uri.c_str(), &error);
    out->client = mongoc_client_new_from_uri(parsed);
    out->configurations = mongoc_client_get_collection(out->client, mongoc_uri_get_database(parsed),
                                                       "inference_configurations");
    mongoc_uri_destroy(parsed);
    return out;
  }

  // Inserts a document given as canonical extended JSON.
  void insert(const std::string& json) {
    bson_error_t error;
    bson_t* doc = bson_new_from_json(reinterpret_cast<const std::uint8_t*>(json.data()), -1, &error);
    ASSERT_NE(doc, nullptr) << error.message;
    ASSERT_TRUE(mongoc_collection_insert_one(configurations, doc, nullptr, nullptr, &error)) << error.message;
    bson_destroy(doc);
  }

  // The stored document with this id, as canonical extended JSON.
  std::string raw(const std::string& id) {
    bson_t filter = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&filter, "id", id.c_str());
    mongoc_cursor_t* cursor = mongoc_collection_find_with_opts(configurations, &filter, nullptr, nullptr);
    const bson_t* doc = nullptr;
    std::string out;
    if (mongoc_cursor_next(cursor, &doc)) {
      char* text = bson_as_canonical_extended_json(doc, nullptr);
      out = text;
      bson_free(text);
    }
    mongoc_cursor_destroy(cursor);
    bson_destroy(&filter);
    return out;
  }

  // Runs configureFailPoint failCommand; false when the server refuses it.
  bool fail_point(const std::string& data_json, int times = 1) {
    const std::string json = "{\"configureFailPoint\": \"failCommand\", \"mode\": {\"times\": " +
                             std::to_string(times) + "}, \"data\": " + data_json + "}";
    bson_error_t error;
    bson_t* command = bson_new_from_json(reinterpret_cast<const std::uint8_t*>(json.data()), -1, &error);
    if (command == nullptr) return false;
    const bool ok = mongoc_client_command_simple(client, "admin", command, nullptr, nullptr, &error);
    bson_destroy(command);
    return ok;
  }
};

#define REAL_SERVER_OR_SKIP(name, options)                                                                   \
  auto name = RealServer::open(options);                                                                     \
  if (!name) GTEST_SKIP() << "SKIPPED: no MongoDB (set INFERCONF_TEST_MONGODB_URI, see docs/MONGODB.md)"

CreateDTO sdxl_dto(const std::string& model, const std::string& type) {
  return parse_create_dto(nlohmann::json{{"model_id", model},
                                         {"base_model", "sdxl"},
                                         {"configuration_type", type},
                                         {"steps", 30},
                                         {"cfg_scale", 7.0},
                                         {"sampler", "dpmpp_2m"},
                                         {"scheduler", "karras"},
                                         {"model_specific_params", {{"width", 1024}, {"height", 1024}}}});
}

std::string platform_document(const std::string& id, const std::string& type, const std::string& extra) {
  return "{\"id\": \"" + id + "\", \"model_id\": \"platform-model\", \"base_model\": \"sdxl\", \"configuration_type\": \"" +
         type +
         "\", \"steps\": 30, \"cfg_scale\": 7.5, \"sampler\": \"euler\", \"scheduler\": \"karras\", "
         "\"model_specific_params\": {\"width\": 1024}, \"created_at\": {\"$date\": \"2025-06-01T12:00:00Z\"}, "
         "\"updated_at\": {\"$date\": \"2025-06-01T12:00:00Z\"}" +
         extra + "}";
}

TEST(MongoRealServer, TransactionReadsFromThePrimaryWhateverTheUriReadPreference) {
  REAL_SERVER_OR_SKIP(db, "readPreference=secondaryPreferred");
  const auto created = db->store->create_missing({sdxl_dto("m1", "quality"), sdxl_dto("m1", "speed")}, false);
  EXPECT_EQ(created, (std::vector<bool>{true, true}));
  const auto again = db->store->create_missing({sdxl_dto("m1", "quality")}, true);
  EXPECT_EQ(again, (std::vector<bool>{false}));
}

TEST(MongoRealServer, MalformedDocumentsAreQuarantinedAndTheValidOnesServed) {
  REAL_SERVER_OR_SKIP(db, "");
  db->insert(platform_document("a-valid", "quality", ""));
  db->insert(platform_document("b-valid", "speed", ""));
  db->insert("{\"id\": \"c-bad\", \"model_id\": \"platform-model\", \"base_model\": \"sdxl\", \"configuration_type\": "
             "\"balanced\", \"steps\": \"30\", \"cfg_scale\": 7.5, \"sampler\": \"euler\", \"scheduler\": null, "
             "\"model_specific_params\": \"{}\", \"created_at\": \"2025-06-01T12:00:00\", \"updated_at\": "
             "\"2025-06-01T12:00:00\"}");
  db->insert("{\"id\": \"d-naive\", \"model_id\": \"platform-model\", \"base_model\": \"sdxl\", \"configuration_type\": "
             "\"portrait\", \"steps\": 30, \"cfg_scale\": 7.5, \"sampler\": \"euler\", \"scheduler\": \"karras\", "
             "\"created_at\": \"2025-06-01T12:00:00.123456\", \"updated_at\": \"2025-06-01T12:00:00\"}");
  std::vector<std::string> ids;
  db->store->for_each_configuration([&](const InferenceConfiguration& c) {
    ids.push_back(c.id);
    return true;
  });
  EXPECT_EQ(ids, (std::vector<std::string>{"a-valid", "b-valid", "d-naive"}));
  // The malformed document still exists: populate must not create its pair again.
  EXPECT_EQ(db->store->create_missing({sdxl_dto("platform-model", "balanced")}, false), (std::vector<bool>{false}));
}

TEST(MongoRealServer, UpdateKeepsTheBsonTypesOfUntouchedValues) {
  REAL_SERVER_OR_SKIP(db, "");
  db->insert("{\"id\": \"typed\", \"model_id\": \"platform-model\", \"base_model\": \"sdxl\", \"configuration_type\": "
             "\"quality\", \"steps\": {\"$numberLong\": \"30\"}, \"cfg_scale\": {\"$numberDecimal\": \"7.5\"}, "
             "\"sampler\": \"euler\", \"scheduler\": \"karras\", \"model_specific_params\": {\"height\": 1024, "
             "\"ratio\": {\"$numberDecimal\": \"1.25\"}, \"trained_on\": {\"$date\": \"2024-03-01T00:00:00Z\"}, "
             "\"source\": {\"$oid\": \"65a0000000000000000000ff\"}, \"blob\": {\"$binary\": {\"base64\": \"AAEC\", "
             "\"subType\": \"00\"}}}, \"created_at\": {\"$date\": \"2025-06-01T12:00:00Z\"}, \"updated_at\": "
             "{\"$date\": \"2025-06-01T12:00:00Z\"}}");
  const auto updated = db->store->update("typed", parse_update_dto(nlohmann::json{{"sampler", "dpmpp_2m"},
                                                                                   {"model_specific_params",
                                                                                    {{"height", 1216}}}}),
                                         1);
  EXPECT_EQ(updated.cfg_scale, 7.5);
  const std::string raw = db->raw("typed");
  for (const char* kept : {"\"cfg_scale\" : { \"$numberDecimal\" : \"7.5\" }", "\"steps\" : { \"$numberLong\" : \"30\" }",
                           "\"ratio\" : { \"$numberDecimal\" : \"1.25\" }", "\"trained_on\" : { \"$date\"",
                           "\"source\" : { \"$oid\"", "\"blob\" : { \"$binary\"", "\"height\" : { \"$numberInt\" : \"1216\" }"})
    EXPECT_NE(raw.find(kept), std::string::npos) << kept << " not in " << raw;
}

TEST(MongoRealServer, AForeignSetBetweenReadAndWriteIsAConflict) {
  REAL_SERVER_OR_SKIP(db, "");
  const auto c = db->store->create(sdxl_dto("m2", "quality"));
  // Hold inferconf's update on the server while the platform writes.
  if (!db->fail_point("{\"failCommands\": [\"update\"], \"blockConnection\": true, \"blockTimeMS\": 1500, "
                      "\"appName\": \"inferconf\"}"))
    GTEST_SKIP() << "the server refuses failCommand (start it with --setParameter enableTestCommands=1)";
  std::thread platform([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&filter, "id", c.id.c_str());
    BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
    BSON_APPEND_UTF8(&set, "sampler", "euler_a");
    BSON_APPEND_DATE_TIME(&set, "updated_at", 4102444800000);  // the platform's own stamp
    bson_append_document_end(&update, &set);
    bson_error_t error;
    mongoc_collection_update_one(db->configurations, &filter, &update, nullptr, nullptr, &error);
    bson_destroy(&filter);
    bson_destroy(&update);
  });
  try {
    db->store->update(c.id, parse_update_dto(nlohmann::json{{"steps", 40}}), 1);
    ADD_FAILURE() << "the platform's write was overwritten";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kConflict) << e.what();
  }
  platform.join();
  EXPECT_EQ(db->store->get(c.id)->sampler, "euler_a");
}

TEST(MongoRealServer, PollingReportsAWriteStampedBeforeTheCursor) {
  REAL_SERVER_OR_SKIP(db, "maxPoolSize=1");  // one connection: the store polls
  const std::string cursor = db->store->change_cursor();
  // Stamped five seconds ago, visible only now (a long batch, a retried write).
  const auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     5000;
  db->insert("{\"id\": \"late\", \"model_id\": \"platform-model\", \"base_model\": \"sdxl\", \"configuration_type\": "
             "\"quality\", \"steps\": 30, \"cfg_scale\": 7.5, \"sampler\": \"euler\", \"scheduler\": \"karras\", "
             "\"created_at\": {\"$date\": {\"$numberLong\": \"" + std::to_string(stamp) +
             "\"}}, \"updated_at\": {\"$date\": {\"$numberLong\": \"" + std::to_string(stamp) + "\"}}}");
  const ChangeSet changes = db->store->changes_since(cursor);
  ASSERT_EQ(changes.upserted.size(), 1u);
  EXPECT_EQ(changes.upserted[0].id, "late");
  EXPECT_TRUE(db->store->changes_since(changes.cursor).upserted.empty()) << "reported twice";
}

TEST(MongoRealServer, UnauthorizedNamesThePrivilegeNotThePassword) {
  REAL_SERVER_OR_SKIP(db, "");
  if (!db->fail_point("{\"failCommands\": [\"find\"], \"errorCode\": 13, \"appName\": \"inferconf\"}"))
    GTEST_SKIP() << "the server refuses failCommand (start it with --setParameter enableTestCommands=1)";
  try {
    db->store->get("anything");
    ADD_FAILURE() << "the fail point did not fire";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("password"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not allowed"), std::string::npos) << e.what();
  }
}

// The change feed meets an exception that is not an inferconf::Error while
// reading a document (the reader throws, as on an exhausted allocator): it
// asks for a full reload instead of letting the exception end the caller's
// refresh thread, and the next cursor works again.
TEST(MongoRealServer, TheChangeFeedSurvivesAReaderThrowingANonInferconfException) {
  REAL_SERVER_OR_SKIP(db, "");
  std::atomic<bool> broken{true};
  dynamic_cast<mongo::MongoStore&>(*db->store)
      .set_configuration_reader([&broken](mongo::DocRef ref, std::string* problem) {
        if (broken.load()) throw std::runtime_error("the reader broke");
        return mongo::read_configuration(ref.doc, problem);
      });
  const std::string cursor = db->store->change_cursor();
  db->insert(platform_document("fed", "quality", ""));
  ChangeSet changes;
  for (int i = 0; i < 50 && !changes.reload_required; ++i) {
    changes = db->store->changes_since(cursor);
    if (!changes.reload_required) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(changes.reload_required) << "the feed did not turn the exception into a reload";
  broken = false;
  std::vector<std::string> ids;
  db->store->for_each_configuration([&](const InferenceConfiguration& c) {
    ids.push_back(c.id);
    return true;
  });
  EXPECT_EQ(ids, std::vector<std::string>{"fed"});
  const std::string fresh = db->store->change_cursor();
  db->insert(platform_document("fed-later", "speed", ""));
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    for (const auto& c : db->store->changes_since(fresh).upserted) seen |= c.id == "fed-later";
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen) << "the feed did not go on after the reload";
}

// A malformed document arriving through the change feed (the platform's
// scheduler: null) is skipped and the feed moves past it: the valid write
// after it is still reported.
TEST(MongoRealServer, TheChangeFeedSkipsAMalformedDocumentAndReportsTheNextWrite) {
  REAL_SERVER_OR_SKIP(db, "");
  std::string cursor = db->store->change_cursor();
  std::string bad = platform_document("bad-feed", "quality", "");
  const std::string karras = "\"scheduler\": \"karras\"";
  bad.replace(bad.find(karras), karras.size(), "\"scheduler\": null");
  db->insert(bad);
  db->insert(platform_document("good-feed", "speed", ""));
  std::vector<std::string> ids;
  for (int i = 0; i < 50 && ids.empty(); ++i) {
    const ChangeSet changes = db->store->changes_since(cursor);
    ASSERT_FALSE(changes.reload_required);
    for (const auto& c : changes.upserted) ids.push_back(c.id);
    cursor = changes.cursor;
    if (ids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ids, std::vector<std::string>{"good-feed"});
}

// --- Change history on a real server ---

// Drops one index of inference_configuration_revisions, as docs/HISTORY.md
// tells an operator to do to ask init for the baseline repair.
void drop_revision_index(RealServer& db, const char* name) {
  bson_error_t error;
  mongoc_uri_t* parsed = mongoc_uri_new_with_error(db.uri.c_str(), &error);
  mongoc_collection_t* revisions =
      mongoc_client_get_collection(db.client, mongoc_uri_get_database(parsed), "inference_configuration_revisions");
  EXPECT_TRUE(mongoc_collection_drop_index(revisions, name, &error)) << error.message;
  mongoc_collection_destroy(revisions);
  mongoc_uri_destroy(parsed);
}

// Whether the deployment runs transactions: a replica set member or mongos.
bool has_transactions(RealServer& db) {
  bson_t command = BSON_INITIALIZER;
  BSON_APPEND_INT32(&command, "hello", 1);
  bson_t reply;
  bson_error_t error;
  const bool ok = mongoc_client_command_simple(db.client, "admin", &command, nullptr, &reply, &error);
  bson_iter_t it;
  const bool yes = ok && (bson_iter_init_find(&it, &reply, "setName") ||
                          (bson_iter_init_find(&it, &reply, "msg") && BSON_ITER_HOLDS_UTF8(&it) &&
                           std::string_view(bson_iter_utf8(&it, nullptr)) == "isdbgrid"));
  bson_destroy(&reply);
  bson_destroy(&command);
  return yes;
}

TEST(MongoRealServer, TheSeedsDocumentsGetABaselineRevisionWhenTheRevisionIndexesAreCreated) {
  REAL_SERVER_OR_SKIP(db, "");
  db->insert(platform_document("seed-1", "quality", ""));
  EXPECT_TRUE(db->store->revisions("seed-1", 10, std::nullopt).items.empty());
  drop_revision_index(*db, "sequence_1");
  db->store->ensure_schema();
  db->store->ensure_schema();  // with the indexes in place: no second baseline
  const auto page = db->store->revisions("seed-1", 10, std::nullopt);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].operation, RevisionOperation::kBaseline);
  EXPECT_EQ(page.items[0].revision, 1);
  EXPECT_EQ(page.items[0].actor, "inferconf-migration");
  EXPECT_EQ(page.items[0].document, *db->store->get("seed-1"));
  const auto then = db->store->revision_as_of("platform-model", "quality", now_utc());
  ASSERT_TRUE(then);
  EXPECT_EQ(then->configuration_id, "seed-1");
  EXPECT_TRUE(db->store->check_schema().empty());
}

// A refused revision insert: on a replica set the transaction takes the
// change back with it; on a standalone server the change stays and the
// error says so.
TEST(MongoRealServer, ARefusedRevisionInsertAbortsTheChangeOrSaysItWasMade) {
  REAL_SERVER_OR_SKIP(db, "");
  const auto c = db->store->create(sdxl_dto("m-history", "quality"));
  if (!db->fail_point("{\"failCommands\": [\"insert\"], \"errorCode\": 13, \"appName\": \"inferconf\"}"))
    GTEST_SKIP() << "the server refuses failCommand (start it with --setParameter enableTestCommands=1)";
  UpdateDTO u;
  u.steps = 41;
  try {
    db->store->update(c.id, u, 1, WriteContext{"bob", std::nullopt});
    FAIL() << "the revision insert was refused: the update must fail";
  } catch (const Error& e) {
    const std::string message = e.what();
    if (has_transactions(*db)) {
      EXPECT_EQ(db->store->get(c.id)->revision, 1) << "the transaction takes the change back: " << message;
      EXPECT_EQ(message.find("was changed to revision"), std::string::npos) << message;
    } else {
      EXPECT_EQ(db->store->get(c.id)->revision, 2) << message;
      EXPECT_NE(message.find("was changed to revision 2"), std::string::npos) << message;
      EXPECT_NE(message.find("do not repeat it"), std::string::npos) << message;
    }
  }
  EXPECT_EQ(db->store->revisions(c.id, 10, std::nullopt).items.size(), 1u);
}

}  // namespace
}  // namespace inferconf::testing
