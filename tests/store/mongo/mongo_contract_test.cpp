// Contract tests of the MongoDB store against a real wire-protocol peer.
//
// Each case file in tests/store/mongo/cases/ names one Store call and scripts the
// conversation: the commands the driver must send (exactly which fields, with
// which BSON types) and the server's replies, including errors and dropped
// connections. mock_peer.py serves the script over a real socket with
// MockupDB; this test makes the call through the real Store and the real
// libmongoc, sends what came back to the peer, and the peer judges both the
// conversation and the outcome. See mock_peer.py for the case syntax.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"
#include "store/mongo/peer_process.hpp"
#include "store/mongo/mongo_store.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kDir = fs::path(INFERCONF_SOURCE_DIR) / "tests" / "store" / "mongo";


std::optional<std::string_view> opt_string(const json& args, const char* key) {
  if (!args.contains(key) || args[key].is_null()) return std::nullopt;
  return args[key].get_ref<const std::string&>();
}

std::optional<std::int64_t> opt_revision(const json& args) {
  if (!args.contains("expected_revision") || args["expected_revision"].is_null()) return std::nullopt;
  return args["expected_revision"].get<std::int64_t>();
}

ConfigurationFilter parse_filter(const json& args) {
  ConfigurationFilter f;
  const json filter = args.value("filter", json::object());
  if (filter.contains("model_id")) f.model_id = filter["model_id"].get<std::string>();
  if (filter.contains("base_model")) f.base_model = filter["base_model"].get<std::string>();
  if (filter.contains("configuration_type")) f.configuration_type = filter["configuration_type"].get<std::string>();
  return f;
}

std::vector<CreateDTO> parse_dtos(const json& list) {
  std::vector<CreateDTO> out;
  for (const auto& d : list) out.push_back(parse_create_dto(d));
  return out;
}

json to_json_optional(const std::optional<InferenceConfiguration>& c) { return c ? json(*c) : json(nullptr); }

// A case's "context": {"actor", "reason"}: who makes a write, and why.
WriteContext parse_context(const json& args) {
  WriteContext context;
  const json c = args.value("context", json::object());
  context.actor = c.value("actor", std::string());
  if (c.contains("reason") && !c["reason"].is_null()) context.reason = c["reason"].get<std::string>();
  return context;
}

json page_json(const RevisionPage& page) {
  return json{{"items", page.items}, {"next_cursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
}

std::optional<Timestamp> opt_time(const json& args, const char* key) {
  if (!args.contains(key) || args[key].is_null()) return std::nullopt;
  return parse_timestamp(args[key].get<std::string>());
}

AuditQuery parse_audit(const json& args) {
  AuditQuery q;
  const json filter = args.value("query", json::object());
  if (filter.contains("actor")) q.actor = filter["actor"].get<std::string>();
  if (filter.contains("model_id")) q.model_id = filter["model_id"].get<std::string>();
  if (filter.contains("base_model")) q.base_model = filter["base_model"].get<std::string>();
  if (filter.contains("operation")) q.operation = parse_revision_operation(filter["operation"].get<std::string>());
  q.since = opt_time(filter, "since");
  q.until = opt_time(filter, "until");
  return q;
}

json revision_json(const std::optional<Revision>& r) { return r ? json(*r) : json(nullptr); }

RegistryFieldMap parse_field_map(const json& j) {
  RegistryFieldMap map;
  if (j.contains("id")) map.id = j["id"];
  if (j.contains("name")) map.name = j["name"];
  if (j.contains("active")) map.active = j["active"];
  if (j.contains("active_value")) map.active_value = j["active_value"];
  if (j.contains("base_model")) map.base_model = j["base_model"];
  if (j.contains("metadata")) map.metadata = j["metadata"];
  if (j.contains("file_path")) map.file_path = j["file_path"];
  return map;
}

json changes_json(const ChangeSet& changes) {
  return json{{"upserted", changes.upserted},
              {"deleted_ids", changes.deleted_ids},
              {"cursor", changes.cursor},
              {"reload_required", changes.reload_required}};
}

// Makes the call a case names and returns what it returned, as JSON.
json call(Store& store, const std::string& method, const json& args) {
  if (method == "open") return json(store.describe());
  if (method == "ensure_schema") return store.ensure_schema(), json(nullptr);
  if (method == "check_schema") return json(store.check_schema());
  if (method == "create") return json(store.create(parse_create_dto(args.at("dto")), parse_context(args)));
  if (method == "create_many") return json(store.create_many(parse_dtos(args.at("dtos")), parse_context(args)));
  if (method == "create_missing")
    return json(store.create_missing(parse_dtos(args.at("dtos")), args.value("replace", false), parse_context(args)));
  if (method == "get") return to_json_optional(store.get(args.at("id").get<std::string>()));
  if (method == "update")
    return json(store.update(args.at("id").get<std::string>(), parse_update_dto(args.at("update")), opt_revision(args),
                             parse_context(args)));
  if (method == "replace")
    return json(
        store.replace(args.at("id").get<std::string>(), parse_create_dto(args.at("replacement")), opt_revision(args),
                      parse_context(args)));
  if (method == "remove")
    return store.remove(args.at("id").get<std::string>(), opt_revision(args), parse_context(args)), json(nullptr);
  if (method == "revisions")
    return page_json(store.revisions(args.at("id").get<std::string>(), args.at("limit").get<std::size_t>(),
                                     opt_string(args, "cursor")));
  if (method == "revisions_of_model")
    return page_json(store.revisions_of_model(args.at("model_id").get<std::string>(),
                                              args.at("configuration_type").get<std::string>(),
                                              args.at("limit").get<std::size_t>(), opt_string(args, "cursor")));
  if (method == "get_revision")
    return revision_json(store.get_revision(args.at("id").get<std::string>(), args.at("revision").get<std::int64_t>()));
  if (method == "revision_as_of")
    return revision_json(store.revision_as_of(args.at("model_id").get<std::string>(),
                                              args.at("configuration_type").get<std::string>(), *opt_time(args, "at")));
  if (method == "audit")
    return page_json(store.audit(parse_audit(args), args.at("limit").get<std::size_t>(), opt_string(args, "cursor")));
  if (method == "rollback")
    return json(store.rollback(args.at("id").get<std::string>(), args.at("to").get<std::int64_t>(), opt_revision(args),
                               parse_context(args)));
  if (method == "restore")
    return json(store.restore(args.at("id").get<std::string>(), opt_revision(args), parse_context(args)));
  if (method == "prune_history") {
    PruneRule rule;
    if (args.contains("keep")) rule.keep = args["keep"].get<std::int64_t>();
    rule.older_than = opt_time(args, "older_than");
    const PruneResult result = store.prune_history(rule, parse_context(args));
    return json{{"removed", result.removed}, {"record", result.record}};
  }
  if (method == "find_by_model_id")
    return json(store.find_by_model_id(args.at("model_id").get<std::string>(), opt_string(args, "configuration_type")));
  if (method == "find_by_base_model")
    return json(
        store.find_by_base_model(args.at("base_model").get<std::string>(), opt_string(args, "configuration_type")));
  if (method == "find_by_model_and_type")
    return to_json_optional(store.find_by_model_and_type(args.at("model_id").get<std::string>(),
                                                         args.at("configuration_type").get<std::string>()));
  if (method == "find_by_base_model_and_type")
    return to_json_optional(store.find_by_base_model_and_type(args.at("base_model").get<std::string>(),
                                                              args.at("configuration_type").get<std::string>()));
  if (method == "list") {
    auto page = store.list(parse_filter(args), args.at("limit").get<std::size_t>(), opt_string(args, "cursor"));
    return json{{"items", page.items}, {"next_cursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
  }
  if (method == "count") return json(store.count(parse_filter(args)));
  if (method == "for_each_configuration") {
    json ids = json::array();
    const std::size_t stop_after = args.value("stop_after", std::size_t{1000000});
    store.for_each_configuration([&](const InferenceConfiguration& c) {
      ids.push_back(c.id);
      return ids.size() < stop_after;
    });
    return ids;
  }
  if (method == "change_cursor") return json(store.change_cursor());
  if (method == "changes_since") return changes_json(store.changes_since(args.at("cursor").get<std::string>()));
  if (method == "change_feed") {
    // What the HTTP server's index does: take a cursor (or the case's), then
    // poll with the cursor each change set returns, taking a fresh one when
    // a reload is required. With "probe": true, a change_cursor() call
    // precedes each poll, as the server's /readyz does.
    std::string cursor = args.contains("cursor") ? args["cursor"].get<std::string>() : store.change_cursor();
    json out{{"cursor", cursor}, {"polls", json::array()}};
    for (int i = 0; i < args.value("polls", 1); ++i) {
      // A probe (/readyz) takes a cursor of its own between two polls.
      if (args.value("probe", false)) (void)store.change_cursor();
      json poll = changes_json(store.changes_since(cursor));
      cursor = poll["cursor"];
      if (poll["reload_required"].get<bool>()) cursor = poll["reload_cursor"] = store.change_cursor();
      out["polls"].push_back(poll);
    }
    return out;
  }
  if (method == "upsert_models") {
    std::vector<ModelRecord> models;
    // Built field by field rather than parsed, so records the parser would
    // refuse (an empty id) reach the store's own checks.
    for (const auto& m : args.at("models")) {
      ModelRecord r;
      r.id = m.at("id");
      r.name = m.at("name");
      r.is_active = m.value("is_active", true);
      if (m.contains("base_model") && !m["base_model"].is_null()) r.base_model = m["base_model"];
      r.metadata = m.value("metadata", json::object());
      if (m.contains("file_path") && !m["file_path"].is_null()) r.file_path = m["file_path"];
      models.push_back(r);
    }
    store.upsert_models(models);
    return json(nullptr);
  }
  if (method == "get_model") {
    auto m = store.get_model(args.at("id").get<std::string>());
    return m ? json(*m) : json(nullptr);
  }
  if (method == "for_each_model") {
    json models = json::array();
    store.for_each_model(args.value("active_only", false), [&](const ModelRecord& m) {
      models.push_back(m);
      return true;
    });
    return models;
  }
  if (method == "count_models") return json(store.count_models(args.value("active_only", false)));
  throw std::invalid_argument("unknown method in case file: " + method);
}

json error_json(const Error& e) {
  return json{{"error",
               {{"code", to_string(e.code())},
                {"message", e.what()},
                {"existing_id", e.existing_id()},
                {"revision_mismatch", e.is_revision_mismatch()}}}};
}

// A case's "unreadable_id": reading the document with that id throws a
// std::runtime_error, as a reader meeting an exhausted allocator or a bug
// would: the operation meets an exception that is not an inferconf::Error.
void make_reader_throw(Store& store, const std::string& id) {
  dynamic_cast<mongo::MongoStore&>(store).set_configuration_reader([id](mongo::DocRef ref, std::string* problem) {
    bson_iter_t it;
    if (bson_iter_init_find(&it, ref.doc, "id") && BSON_ITER_HOLDS_UTF8(&it) && id == bson_iter_utf8(&it, nullptr))
      throw std::runtime_error("the reader broke on " + id);
    return mongo::read_configuration(ref.doc, problem);
  });
}

// What the store logs during a case (its "log" in the outcome): the default
// logger writes to a string for the case's lifetime.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("contract", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const {
    spdlog::default_logger()->flush();
    return out_.str();
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream out_;
};

class MongoContract : public ::testing::TestWithParam<std::string> {};

TEST_P(MongoContract, Case) {
  const fs::path file = kDir / "cases" / (GetParam() + ".json");
  std::ifstream in(file);
  const json spec = json::parse(in);
  // Small timeouts keep a case that goes wrong short.
  auto mock = start_mock_peer(kDir / "mock_peer.py", file, spec, 3000, 2000);
  ASSERT_FALSE(mock.uri.empty()) << "the mock peer did not start: " << mock.error;
  PeerProcess& peer = *mock.process;
  const std::string& uri = mock.uri;

  const json operation = spec.at("operation");
  json outcome;
  const LogCapture log;
  try {
    auto store = open_mongo_store(uri, parse_field_map(spec.value("registry_fields", json::object())));
    if (spec.contains("unreadable_id")) make_reader_throw(*store, spec["unreadable_id"].get<std::string>());
    outcome = json{{"result", call(*store, operation.at("method"), operation.value("args", json::object()))}};
  } catch (const Error& e) {
    outcome = error_json(e);
  } catch (const std::exception& e) {
    outcome = json{{"exception", e.what()}};
  }
  outcome["log"] = log.text();
  peer.write_line(outcome.dump());
  const std::string verdict = peer.read_rest(std::chrono::seconds(20));
  EXPECT_NE(verdict.find("RESULT OK"), std::string::npos)
      << spec.value("description", std::string()) << "\n" << verdict << "\noutcome: " << outcome.dump(2);
}

// libmongoc's own socketTimeoutMS is 300 s: a black-holed connection would
// hold a request for five minutes. The store sets a shorter one unless the
// connection string says otherwise.
TEST(MongoUriDefaults, SocketTimeoutDefaultsToOneMinuteUnlessTheUriSetsIt) {
  mongo::ensure_driver_initialised();
  mongo::UriPtr plain(mongoc_uri_new("mongodb://127.0.0.1:1/testdb"));
  ASSERT_TRUE(plain);
  mongo::apply_uri_defaults(plain.get());
  EXPECT_EQ(mongoc_uri_get_option_as_int32(plain.get(), MONGOC_URI_SOCKETTIMEOUTMS, 0), 60000);
  EXPECT_TRUE(mongoc_uri_get_option_as_bool(plain.get(), MONGOC_URI_RETRYWRITES, false));

  mongo::UriPtr own(mongoc_uri_new("mongodb://127.0.0.1:1/testdb?socketTimeoutMS=5000&retryWrites=false"));
  ASSERT_TRUE(own);
  mongo::apply_uri_defaults(own.get());
  EXPECT_EQ(mongoc_uri_get_option_as_int32(own.get(), MONGOC_URI_SOCKETTIMEOUTMS, 0), 5000);
  EXPECT_FALSE(mongoc_uri_get_option_as_bool(own.get(), MONGOC_URI_RETRYWRITES, true));
}

// Option names are case-insensitive in a connection string, so a secret
// must be hidden however its option is spelt; the AWS session token travels
// in authMechanismProperties.
TEST(MongoRedaction, SecretOptionsAreHiddenWhateverTheirCase) {
  const std::string shown = redact_mongo_uri(
      "mongodb://user:pa55@h1:27017/db?TLSCERTIFICATEKEYFILEPASSWORD=keypass&tls=true&"
      "authMechanism=MONGODB-AWS&authmechanismproperties=AWS_SESSION_TOKEN:sessiontoken");
  for (const char* secret : {"pa55", "keypass", "sessiontoken", "user"})
    EXPECT_EQ(shown.find(secret), std::string::npos) << secret << " in " << shown;
  EXPECT_NE(shown.find("tls=true"), std::string::npos) << shown;
  EXPECT_NE(shown.find("h1:27017/db"), std::string::npos) << shown;
}

INSTANTIATE_TEST_SUITE_P(Cases, MongoContract, ::testing::ValuesIn(case_names(kDir / "cases")),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace inferconf::testing
