// Change history over HTTP, driven over real sockets against the real server
// and a real SQLite file: revisions, one revision, diff, rollback, restore,
// the audit view, resolve as of a past moment, and who and why every write
// records.
#include <malloc.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/raw_socket.hpp"
#include "http/test_server.hpp"
#include "support/forwarding_store.hpp"
#include "support/sanitizers.hpp"

namespace inferconf::testing {
namespace {

class HistoryRoutes : public ::testing::Test {
 protected:
  TestServer server;
  HttpClient client{server.port()};

  std::map<std::string, std::string> json_as(const char* token) const {
    return {{"Authorization", std::string("Bearer ") + token}, {"Content-Type", "application/json"}};
  }
  nlohmann::json create(const std::string& model, const std::string& type = "quality") {
    Reply r = client.request("POST", "/v1/configurations", server.writer_json(), create_body(model, type).dump());
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.json();
  }
  nlohmann::json patch(const std::string& id, const nlohmann::json& body, const char* token = TestServer::kWriterToken,
                       std::map<std::string, std::string> extra = {}) {
    auto headers = json_as(token);
    headers.insert(extra.begin(), extra.end());
    Reply r = client.request("PATCH", "/v1/configurations/" + id, headers, body.dump());
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }
  Reply rollback(const std::string& id, const nlohmann::json& body, std::map<std::string, std::string> extra = {},
                 const char* token = TestServer::kWriterToken) {
    auto headers = json_as(token);
    headers.insert(extra.begin(), extra.end());
    return client.request("POST", "/v1/configurations/" + id + "/rollback", headers, body.dump());
  }
  nlohmann::json revisions(const std::string& id, const std::string& query = "") {
    Reply r = client.get("/v1/configurations/" + id + "/revisions" + query);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }
  std::int64_t revision_count(const std::string& id) {
    return static_cast<std::int64_t>(server.store().revisions(id, kMaxRevisionPage, std::nullopt).items.size());
  }
  static std::string etag(const std::string& id, int revision) {
    return "\"" + id + "." + std::to_string(revision) + "\"";
  }
  nlohmann::json resolve(const nlohmann::json& body) {
    Reply r = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}}, body.dump());
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  }
};

// Creates the quality configuration of `model` through the API; its id.
std::string created_id(TestServer& server, HttpClient& client, const std::string& model) {
  Reply r = client.request("POST", "/v1/configurations", server.writer_json(), create_body(model).dump());
  EXPECT_EQ(r.status, 201u) << r.body;
  return r.status == 201u ? r.json()["id"].get<std::string>() : std::string();
}

std::vector<int> revision_numbers(const nlohmann::json& page) {
  std::vector<int> out;
  for (const auto& item : page["items"]) out.push_back(item["revision"].get<int>());
  return out;
}

// The target of a Link: <target>; rel="next" header.
std::string link_target(const std::string& link) {
  const auto open = link.find('<'), close = link.find('>');
  if (open == std::string::npos || close == std::string::npos || link.find("rel=\"next\"") == std::string::npos)
    return {};
  return link.substr(open + 1, close - open - 1);
}

TEST_F(HistoryRoutes, ListsRevisionsNewestFirstInPagesWithANextLinkAndCursor) {
  const std::string id = create("h-list")["id"];
  for (int steps : {31, 32, 33, 34}) patch(id, {{"steps", steps}});

  Reply first = client.get("/v1/configurations/" + id + "/revisions?limit=2");
  ASSERT_EQ(first.status, 200u) << first.body;
  const auto page1 = first.json();
  EXPECT_EQ(revision_numbers(page1), (std::vector<int>{5, 4}));
  EXPECT_EQ(page1["items"][0]["operation"], "update");
  EXPECT_EQ(page1["items"][0]["actor"], "writer");
  EXPECT_EQ(page1["items"][0]["document"]["steps"], 34);
  ASSERT_TRUE(page1["next_cursor"].is_string());

  // The Link header and the cursor lead to the same next page.
  const std::string next = link_target(first.header("link"));
  ASSERT_FALSE(next.empty()) << first.header("link");
  const auto via_link = client.get(next).json();
  const auto page2 = revisions(id, "?limit=2&cursor=" + page1["next_cursor"].get<std::string>());
  EXPECT_EQ(via_link, page2);
  EXPECT_EQ(revision_numbers(page2), (std::vector<int>{3, 2}));

  const auto page3 = revisions(id, "?limit=2&cursor=" + page2["next_cursor"].get<std::string>());
  EXPECT_EQ(revision_numbers(page3), (std::vector<int>{1}));
  EXPECT_EQ(page3["items"][0]["operation"], "create");
  EXPECT_TRUE(page3["next_cursor"].is_null());
  EXPECT_FALSE(client.get("/v1/configurations/" + id + "/revisions?limit=2&cursor=" +
                          page2["next_cursor"].get<std::string>())
                   .has_header("link"));
  // The default page holds all five.
  EXPECT_EQ(revision_numbers(revisions(id)), (std::vector<int>{5, 4, 3, 2, 1}));
  // HEAD answers like GET, without the body.
  Reply head = client.request("HEAD", "/v1/configurations/" + id + "/revisions");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(HistoryRoutes, UnknownConfigurationHasNoRevisions404) {
  Reply r = client.get("/v1/configurations/6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f/revisions");
  EXPECT_EQ(r.status, 404u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
}

TEST_F(HistoryRoutes, OneRevisionWithItsEtagAnd404ForAnUnknownRevision) {
  const std::string id = create("h-one")["id"];
  patch(id, {{"steps", 12}});
  Reply r = client.get("/v1/configurations/" + id + "/revisions/1");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto rev = r.json();
  EXPECT_EQ(rev["revision"], 1);
  EXPECT_EQ(rev["configuration_id"], id);
  EXPECT_EQ(rev["operation"], "create");
  EXPECT_EQ(rev["deleted"], false);
  EXPECT_EQ(rev["document"]["steps"], 30);
  EXPECT_EQ(r.header("etag"), etag(id, 1));

  Reply missing = client.get("/v1/configurations/" + id + "/revisions/99");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_NE(missing.json()["detail"].get<std::string>().find("no revision 99"), std::string::npos) << missing.body;
}

TEST_F(HistoryRoutes, DiffIsAJsonPatchAndToDefaultsToTheNewest) {
  const std::string id = create("h-diff")["id"];
  patch(id, {{"steps", 12}, {"model_specific_params", {{"width", 832}}}});
  patch(id, {{"cfg_scale", 5.0}});

  Reply r = client.get("/v1/configurations/" + id + "/diff?from=1&to=2");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto diff = r.json();
  EXPECT_EQ(diff["from"], 1);
  EXPECT_EQ(diff["to"], 2);
  const nlohmann::json expected = nlohmann::json::array(
      {{{"op", "replace"}, {"path", "/model_specific_params/width"}, {"value", 832}},
       {{"op", "replace"}, {"path", "/steps"}, {"value", 12}}});
  EXPECT_EQ(diff["patch"], expected);
  // Applying the patch to revision 1 gives revision 2 (without what every write changes).
  auto doc1 = client.get("/v1/configurations/" + id + "/revisions/1").json()["document"];
  auto doc2 = client.get("/v1/configurations/" + id + "/revisions/2").json()["document"];
  for (auto* d : {&doc1, &doc2}) d->erase("revision"), d->erase("updated_at");
  EXPECT_EQ(doc1.patch(diff["patch"]), doc2);

  const auto to_newest = client.get("/v1/configurations/" + id + "/diff?from=1").json();
  EXPECT_EQ(to_newest["to"], 3);
  EXPECT_EQ(to_newest["patch"].size(), 3u) << to_newest;
  EXPECT_EQ(client.get("/v1/configurations/" + id + "/diff?from=1&to=9").status, 404u);
}

TEST_F(HistoryRoutes, RollbackWritesTheOldDocumentAsANewRevisionWithTheTokenNameAndReason) {
  const auto original = create("h-rollback");
  const std::string id = original["id"];
  patch(id, {{"steps", 12}});

  Reply r = rollback(id, {{"to", 1}, {"reason", "steps 12 degraded quality"}}, {{"If-Match", etag(id, 2)}},
                     TestServer::kAdminToken);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  EXPECT_EQ(doc["revision"], 3);
  EXPECT_EQ(r.header("etag"), etag(id, 3));
  auto same = doc, old = original;
  for (auto* d : {&same, &old}) d->erase("revision"), d->erase("updated_at");
  EXPECT_EQ(same, old) << "the new revision's document equals revision 1's";

  const auto rev = client.get("/v1/configurations/" + id + "/revisions/3").json();
  EXPECT_EQ(rev["operation"], "rollback");
  EXPECT_EQ(rev["actor"], "admin");
  EXPECT_EQ(rev["reason"], "steps 12 degraded quality");
  // Every read route sees it at once, and the store holds it.
  EXPECT_EQ(client.get("/v1/configurations/" + id).json(), doc);
  EXPECT_EQ(client.get("/v1/models/h-rollback/configurations/quality").json()["steps"], 30);
  EXPECT_EQ(nlohmann::json(*server.store().get(id)), doc);

  // A stale If-Match: 412, nothing written.
  Reply stale = rollback(id, {{"to", 2}}, {{"If-Match", etag(id, 2)}});
  EXPECT_EQ(stale.status, 412u) << stale.body;
  EXPECT_EQ(revision_count(id), 3);
  // A reader may not roll back.
  EXPECT_EQ(rollback(id, {{"to", 2}}, {}, TestServer::kReaderToken).status, 403u);
  EXPECT_EQ(rollback(id, {{"to", 7}}).status, 404u);
  EXPECT_EQ(revision_count(id), 3);
}

TEST_F(HistoryRoutes, TwoClientsRollingBackWithTheSameIfMatchExactlyOneWins) {
  const std::string id = create("h-race")["id"];
  for (int round = 0; round < 8; ++round) {
    const auto current = patch(id, {{"steps", 40 + round}});
    const int rev = current["revision"];
    const std::int64_t before = revision_count(id);
    std::atomic<int> ready{0};
    unsigned statuses[2] = {0, 0};
    std::string bodies[2];
    auto race = [&](int i) {
      HttpClient own(server.port());
      auto headers = json_as(i == 0 ? TestServer::kWriterToken : TestServer::kAdminToken);
      headers["If-Match"] = etag(id, rev);
      const std::string body = nlohmann::json{{"to", 1}, {"reason", "race " + std::to_string(i)}}.dump();
      own.get("/healthz");  // connected before the start line
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
      Reply r = own.request("POST", "/v1/configurations/" + id + "/rollback", headers, body);
      statuses[i] = r.status;
      bodies[i] = r.body;
    };
    std::thread a(race, 0), b(race, 1);
    a.join();
    b.join();
    const std::multiset<unsigned> got{statuses[0], statuses[1]};
    EXPECT_EQ(got, (std::multiset<unsigned>{200u, 412u})) << bodies[0] << "\n" << bodies[1];
    EXPECT_EQ(revision_count(id), before + 1) << "exactly one rollback was written";
    EXPECT_EQ(server.store().get(id)->revision, rev + 1);
  }
}

TEST_F(HistoryRoutes, RestoreBringsBackADeletedConfigurationGuardedByTheTombstonesEtag) {
  const auto original = create("h-restore");
  const std::string id = original["id"];
  auto headers = server.auth(TestServer::kAdminToken);
  headers["X-Change-Reason"] = "replaced by the speed preset";
  ASSERT_EQ(client.request("DELETE", "/v1/configurations/" + id, headers).status, 204u);
  EXPECT_EQ(client.get("/v1/configurations/" + id).status, 404u);

  const auto tombstone = revisions(id, "?limit=1")["items"][0];
  EXPECT_EQ(tombstone["operation"], "delete");
  EXPECT_EQ(tombstone["deleted"], true);
  EXPECT_EQ(tombstone["revision"], 2);
  EXPECT_EQ(tombstone["actor"], "admin");
  EXPECT_EQ(tombstone["reason"], "replaced by the speed preset");
  EXPECT_EQ(client.get("/v1/configurations/" + id + "/revisions/2").header("etag"), etag(id, 2));

  auto restore_headers = server.writer_json();
  restore_headers["If-Match"] = etag(id, 1);
  Reply stale = client.request("POST", "/v1/configurations/" + id + "/restore", restore_headers, "");
  EXPECT_EQ(stale.status, 412u) << stale.body;
  EXPECT_FALSE(server.store().get(id).has_value());

  restore_headers["If-Match"] = etag(id, 2);
  Reply r = client.request("POST", "/v1/configurations/" + id + "/restore", restore_headers,
                           R"({"reason": "deleted by mistake"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json()["revision"], 3);
  EXPECT_EQ(r.json()["steps"], original["steps"]);
  EXPECT_EQ(r.header("location"), "/v1/configurations/" + id);
  EXPECT_EQ(client.get("/v1/configurations/" + id).json(), r.json());
  const auto restored = revisions(id, "?limit=1")["items"][0];
  EXPECT_EQ(restored["operation"], "restore");
  EXPECT_EQ(restored["actor"], "writer");
  EXPECT_EQ(restored["reason"], "deleted by mistake");
  // Restoring what is not deleted is a conflict; nothing is written.
  Reply again = client.request("POST", "/v1/configurations/" + id + "/restore", server.writer_json(), "");
  EXPECT_EQ(again.status, 409u) << again.body;
  EXPECT_EQ(revision_count(id), 3);
}

TEST_F(HistoryRoutes, AuditFiltersByActorOperationModelBaseModelAndTime) {
  const std::string a = create("h-audit-a")["id"];
  const std::string b = create("h-audit-b", "speed")["id"];
  patch(a, {{"steps", 20}}, TestServer::kAdminToken);
  auto del = server.auth(TestServer::kAdminToken);
  ASSERT_EQ(client.request("DELETE", "/v1/configurations/" + b, del).status, 204u);

  auto audit = [&](const std::string& query) {
    Reply r = client.get("/v1/audit" + query);
    EXPECT_EQ(r.status, 200u) << query << ": " << r.body;
    std::vector<std::string> out;
    const nlohmann::json page = r.json();
    for (const auto& item : page["items"])
      out.push_back(item["operation"].get<std::string>() + " " + item["model_id"].get<std::string>() + " " +
                    item["actor"].get<std::string>());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(audit(""), (V{"delete h-audit-b admin", "update h-audit-a admin", "create h-audit-b writer",
                          "create h-audit-a writer"}));
  EXPECT_EQ(audit("?actor=admin"), (V{"delete h-audit-b admin", "update h-audit-a admin"}));
  EXPECT_EQ(audit("?operation=delete"), (V{"delete h-audit-b admin"}));
  EXPECT_EQ(audit("?model_id=h-audit-a"), (V{"update h-audit-a admin", "create h-audit-a writer"}));
  EXPECT_EQ(audit("?base_model=sdxl&actor=writer"), (V{"create h-audit-b writer", "create h-audit-a writer"}));
  EXPECT_EQ(audit("?base_model=flux-dev"), V{});
  EXPECT_EQ(audit("?since=2999-01-01"), V{});
  EXPECT_EQ(audit("?until=2000-01-01T00:00:00Z"), V{});
  EXPECT_EQ(audit("?since=2000-01-01&until=2999-01-01&operation=create").size(), 2u);

  // Pages keep the filters: the Link of page 1 names them.
  Reply first = client.get("/v1/audit?actor=writer&limit=1");
  ASSERT_EQ(first.status, 200u);
  const std::string next = link_target(first.header("link"));
  EXPECT_NE(next.find("actor=writer"), std::string::npos) << next;
  const auto second = client.get(next).json();
  ASSERT_EQ(second["items"].size(), 1u);
  EXPECT_EQ(second["items"][0]["model_id"], "h-audit-a");
  EXPECT_TRUE(second["next_cursor"].is_null());
}

TEST_F(HistoryRoutes, ChangeReasonHeaderIsRecordedAndTheBodysReasonWinsOverIt) {
  const std::string id = create("h-reason")["id"];
  EXPECT_TRUE(revisions(id)["items"][0]["reason"].is_null());
  patch(id, {{"steps", 21}}, TestServer::kWriterToken, {{"X-Change-Reason", "fewer steps for previews"}});
  patch(id, {{"steps", 22}, {"reason", "from the body"}}, TestServer::kWriterToken,
        {{"X-Change-Reason", "from the header"}});
  Reply created = client.request("POST", "/v1/configurations",
                                 [&] {
                                   auto h = server.writer_json();
                                   h["X-Change-Reason"] = "new speed preset";
                                   return h;
                                 }(),
                                 create_body("h-reason", "speed").dump());
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto items = revisions(id)["items"];
  EXPECT_EQ(items[0]["reason"], "from the body");
  EXPECT_EQ(items[1]["reason"], "fewer steps for previews");
  EXPECT_EQ(revisions(created.json()["id"])["items"][0]["reason"], "new speed preset");
  EXPECT_FALSE(server.store().get(id)->model_specific_params.contains("reason")) << "reason is not a parameter";

  // A reason that is not a line of UTF-8 text is refused, naming where it came from; nothing is written.
  auto bad = json_as(TestServer::kWriterToken);
  bad["X-Change-Reason"] = "\xff\xfe not utf-8";
  Reply r = client.request("PATCH", "/v1/configurations/" + id, bad, R"({"steps": 23})");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(r.json()["errors"][0]["field"], "X-Change-Reason") << r.body;
  bad["X-Change-Reason"] = std::string(1001, 'x');
  r = client.request("PATCH", "/v1/configurations/" + id, bad, R"({"steps": 23})");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(r.json()["detail"].get<std::string>().find("1001 bytes"), std::string::npos) << r.body;
  EXPECT_EQ(server.store().get(id)->revision, 3);
}

TEST_F(HistoryRoutes, ResolveAsOfAnswersTheOldRevisionAndLeavesTheCacheAlone) {
  const std::string id = create("h-asof")["id"];
  const nlohmann::json request = {{"model_id", "h-asof"}, {"configuration_type", "quality"}};
  // Warm the resolve cache with the current answer.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(resolve(request)["parameters"]["steps"], 30);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string then = format_timestamp(now_utc());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  patch(id, {{"steps", 12}});

  auto as_of = request;
  as_of["as_of"] = then;
  for (int i = 0; i < 3; ++i) {
    const auto old = resolve(as_of);
    EXPECT_EQ(old["parameters"]["steps"], 30);
    EXPECT_EQ(old["revision"], 1);
    EXPECT_EQ(old["configuration_id"], id);
    const auto now = resolve(request);
    EXPECT_EQ(now["parameters"]["steps"], 12) << "an as-of answer must not be served for today's request";
    EXPECT_EQ(now["revision"], 2);
  }
  // Before the configuration existed: the base model's preset (the request names the base model).
  auto before = request;
  before["as_of"] = "2000-01-01T00:00:00Z";
  before["base_model"] = "sdxl";
  const auto preset = resolve(before);
  EXPECT_FALSE(preset.contains("configuration_id") && preset["configuration_id"].is_string()) << preset;
  EXPECT_EQ(preset["sources"]["steps"], "base_model");

  Reply bad = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                             R"({"model_id": "h-asof", "configuration_type": "quality", "as_of": "yesterday"})");
  EXPECT_EQ(bad.status, 422u) << bad.body;
  EXPECT_EQ(bad.json()["errors"][0]["field"], "as_of");
  EXPECT_NE(bad.json()["errors"][0]["message"].get<std::string>().find("yesterday"), std::string::npos);
}

TEST(HistoryIfMatch, RequireIfMatchCoversRollbackAndRestoreAndSaysWhereTheirEtagIs) {
  TestServerOptions options;
  options.require_if_match = true;
  TestServer server(options);
  HttpClient c(server.port());
  const std::string id = created_id(server, c, "h-428");
  ASSERT_FALSE(id.empty());
  Reply rollback = c.request("POST", "/v1/configurations/" + id + "/rollback", server.writer_json(), R"({"to": 1})");
  EXPECT_EQ(rollback.status, 428u) << rollback.body;
  EXPECT_NE(rollback.json()["detail"].get<std::string>().find("GET /v1/configurations/" + id + ")"),
            std::string::npos)
      << rollback.body;
  auto del = server.auth(TestServer::kWriterToken);
  del["If-Match"] = "\"" + id + ".1\"";
  ASSERT_EQ(c.request("DELETE", "/v1/configurations/" + id, del).status, 204u);
  for (const char* if_match : {"", "*"}) {
    auto headers = server.writer_json();
    if (*if_match) headers["If-Match"] = if_match;
    Reply restore = c.request("POST", "/v1/configurations/" + id + "/restore", headers, "");
    EXPECT_EQ(restore.status, 428u) << restore.body;
    EXPECT_NE(restore.json()["detail"].get<std::string>().find("GET /v1/configurations/" + id + "/revisions"),
              std::string::npos)
        << restore.body;
  }
  EXPECT_FALSE(server.store().get(id).has_value());
  auto headers = server.writer_json();
  headers["If-Match"] = "\"" + id + ".2\"";
  EXPECT_EQ(c.request("POST", "/v1/configurations/" + id + "/restore", headers, "").status, 200u);
}

// The catalogue of a folder copied from the source tree, for a server whose
// catalogue changes between two runs.
std::filesystem::path copied_catalog(const std::filesystem::path& dir) {
  const auto to = dir / "catalog";
  std::filesystem::copy(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog", to,
                        std::filesystem::copy_options::recursive);
  return to;
}

void narrow_sdxl_width(const std::filesystem::path& catalog, int max) {
  const auto file = catalog / "base_models.json";
  nlohmann::json j = nlohmann::json::parse(std::ifstream(file));
  for (auto& b : j["base_models"])
    if (b["id"] == "sdxl") b["constraints"]["params"]["width"]["max"] = max;
  std::ofstream(file) << j.dump(2);
}

TEST(HistoryCatalogue, RollbackToARevisionTheCatalogueNowRejectsListsEachProblemAndWritesNothing) {
  const auto dir = fresh_dir("inferconf-http-history");
  const auto catalog = copied_catalog(dir);
  std::string id;
  {
    TestServerOptions options;
    options.catalog_dir = catalog;
    TestServer before(options, dir);
    HttpClient c(before.port());
    id = created_id(before, c, "h-reject");
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(c.request("PATCH", "/v1/configurations/" + id, before.writer_json(),
                        R"({"model_specific_params": {"width": 2048}, "cfg_scale": 6.5})")
                  .status,
              200u);
    ASSERT_EQ(c.request("PATCH", "/v1/configurations/" + id, before.writer_json(),
                        R"({"model_specific_params": {"width": 1024}})")
                  .status,
              200u);
  }
  narrow_sdxl_width(catalog, 1536);  // revision 2's width is no longer allowed
  TestServerOptions options;
  options.catalog_dir = catalog;
  TestServer after(options, dir);
  HttpClient c(after.port());
  const std::string before_rollback = after.store_snapshot();
  auto headers = after.writer_json();
  headers["If-Match"] = "\"" + id + ".3\"";
  Reply r = c.request("POST", "/v1/configurations/" + id + "/rollback", headers, R"({"to": 2})");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  const auto problem = r.json();
  EXPECT_EQ(problem["type"], "urn:inferconf:problem:validation-error");
  EXPECT_NE(problem["detail"].get<std::string>().find("Revision 2"), std::string::npos) << r.body;
  ASSERT_EQ(problem["errors"].size(), 1u) << r.body;
  EXPECT_EQ(problem["errors"][0]["field"], "model_specific_params.width");
  EXPECT_NE(problem["errors"][0]["message"].get<std::string>().find("2048"), std::string::npos) << r.body;
  // Nothing written: the same document, the same three revisions.
  EXPECT_EQ(after.store_snapshot(), before_rollback);
  EXPECT_EQ(after.store().revisions(id, 100, std::nullopt).items.size(), 3u);
  // Revision 1 is still acceptable.
  EXPECT_EQ(c.request("POST", "/v1/configurations/" + id + "/rollback", headers, R"({"to": 1})").status, 200u);
  after.stop();
  std::filesystem::remove_all(dir);
}

// The server keeps no history in memory: an as-of resolve reads one revision
// from the store and keeps nothing, so thousands of them at moments spread
// over a long history leave resident memory where it was.
TEST(HistoryMemory, AsOfResolvesOverALongHistoryKeepResidentMemoryFlat) {
  const auto dir = fresh_dir("inferconf-http-history-memory");
  constexpr int kModels = 20, kUpdates = 250;
  std::vector<std::vector<Timestamp>> moments(kModels);  // per model, one after each of its revisions
  {
    auto store = open_store("sqlite:" + (dir / "inferconf.db").string());
    store->ensure_schema();
    for (int m = 0; m < kModels; ++m) {
      CreateDTO dto = parse_create_dto(create_body("mem-" + std::to_string(m)));
      const std::string id = store->create(dto, {"setup", std::nullopt}).id;
      for (int u = 0; u < kUpdates; ++u) {
        UpdateDTO update;
        update.steps = 10 + u % 100;
        update.model_specific_params = nlohmann::json{{"lightning_lora", std::string(200, 'a' + u % 26)}};
        store->update(id, update, std::nullopt, {"setup", "step " + std::to_string(u)});
        moments[m].push_back(now_utc());
      }
    }
  }
  TestServer server(TestServerOptions{}, dir);
  auto resolve_round = [&](int n) {
    HttpClient client(server.port());
    for (int i = 0; i < n; ++i) {
      const auto& at = moments[i % kModels];
      const nlohmann::json body = {{"model_id", "mem-" + std::to_string(i % kModels)},
                                   {"configuration_type", "quality"},
                                   {"as_of", format_timestamp(at[(i * 37) % at.size()])}};
      Reply r = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}}, body.dump());
      ASSERT_EQ(r.status, 200u) << r.body;
      ASSERT_TRUE(r.json()["revision"].is_number_integer());
    }
  };
  // The warm-up keeps every read-pool thread busy (two clients at once), so
  // that each thread's SQLite connection reads the whole history into its
  // page cache (bounded by its cache_size) before the measurement, as do the
  // pools and malloc arenas. What must not happen is growth from then on.
  {
    std::thread other([&] { resolve_round(5000); });
    resolve_round(5000);
    other.join();
  }
  malloc_trim(0);
  const std::size_t before = resident_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  resolve_round(5000);
  const auto per_request = (std::chrono::steady_clock::now() - t0) / 5000;
  malloc_trim(0);
  const std::size_t after = resident_bytes();
  std::fprintf(stderr, "resident after 10000 as-of resolves: %zu KiB; after 5000 more: %zu KiB (%lld us a request)\n",
               before / 1024, after / 1024,
               static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(per_request).count()));
  server.stop();
  std::filesystem::remove_all(dir);
  if (kUnderAddressSanitizer) GTEST_SKIP() << "resident memory is checked in the Release pass";
  EXPECT_LE(after, before + before / 10) << "resident " << before << " -> " << after;
}

// A store that keeps no history: every history call answers as Store's
// defaults do, the writes go to the real store.
class StoreWithoutHistory : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  RevisionPage revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) override {
    return Store::revisions(id, limit, cursor);
  }
  std::optional<Revision> get_revision(std::string_view id, std::int64_t revision) override {
    return Store::get_revision(id, revision);
  }
  std::optional<Revision> revision_as_of(std::string_view model_id, std::string_view type, Timestamp at) override {
    return Store::revision_as_of(model_id, type, at);
  }
  RevisionPage audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) override {
    return Store::audit(query, limit, cursor);
  }
  InferenceConfiguration rollback(std::string_view id, std::int64_t to, std::optional<std::int64_t> expected,
                                  const WriteContext& context) override {
    return Store::rollback(id, to, expected, context);
  }
  InferenceConfiguration restore(std::string_view id, std::optional<std::int64_t> expected,
                                 const WriteContext& context) override {
    return Store::restore(id, expected, context);
  }
};

TEST(HistoryWithoutHistory, AStoreWithoutHistoryAnswers503SayingSoOnEveryHistoryRoute) {
  TestServerOptions options;
  options.wrap_store = [](Store& real) { return std::make_unique<StoreWithoutHistory>(real); };
  TestServer server(options);
  HttpClient c(server.port());
  const std::string id = created_id(server, c, "h-none");
  ASSERT_FALSE(id.empty());
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"GET", "/v1/configurations/" + id + "/revisions"},
      {"GET", "/v1/configurations/" + id + "/revisions/1"},
      {"GET", "/v1/configurations/" + id + "/diff?from=1"},
      {"POST", "/v1/configurations/" + id + "/rollback"},
      {"POST", "/v1/configurations/" + id + "/restore"},
      {"GET", "/v1/audit"},
      {"POST", "/v1/resolve"},
  };
  for (const auto& [method, target] : calls) {
    std::string body;
    if (target.ends_with("/rollback")) body = R"({"to": 1})";
    if (target == "/v1/resolve")
      body = R"({"model_id": "h-none", "configuration_type": "quality", "as_of": "2026-01-01"})";
    Reply r = c.request(method, target, server.writer_json(), body);
    EXPECT_EQ(r.status, 503u) << method << " " << target << ": " << r.body;
    EXPECT_NE(r.json()["detail"].get<std::string>().find("does not keep change history"), std::string::npos)
        << r.body;
    EXPECT_FALSE(r.has_header("retry-after")) << "retrying cannot help";
    EXPECT_EQ(r.body.find(server.dir().string()), std::string::npos) << "the store's path stays in the server";
  }
  // Without as_of, resolve does not need history.
  EXPECT_EQ(c.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                      R"({"model_id": "h-none", "configuration_type": "quality"})")
                .status,
            200u);
}

}  // namespace
}  // namespace inferconf::testing
