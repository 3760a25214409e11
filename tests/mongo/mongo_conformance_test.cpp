// The Store conformance suite against a real MongoDB, when
// INFERCONF_TEST_MONGODB_URI names one (mongod or a replica set; see
// docs/MONGODB.md). Each test gets a database of its own, dropped at the end.
// Without the variable every test is skipped with "SKIPPED: no MongoDB".
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include <mongoc/mongoc.h>

#include "store/mongo/mongo_store.hpp"
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
  InferenceConfiguration create(const CreateDTO&) override { unused(); }
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>&) override { unused(); }
  std::vector<bool> create_missing(const std::vector<CreateDTO>&, bool) override { unused(); }
  std::optional<InferenceConfiguration> get(std::string_view) override { unused(); }
  InferenceConfiguration update(std::string_view, const UpdateDTO&, std::optional<std::int64_t>) override { unused(); }
  InferenceConfiguration replace(std::string_view, const CreateDTO&, std::optional<std::int64_t>) override { unused(); }
  void remove(std::string_view, std::optional<std::int64_t>) override { unused(); }
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

}  // namespace
}  // namespace inferconf::testing
