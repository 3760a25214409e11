// Every route, driven over real sockets against the real server and a real
// SQLite file: the answers of well-formed requests.
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/test_server.hpp"

namespace inferconf::testing {
namespace {

class RoutesTest : public ::testing::Test {
 protected:
  TestServer server;
  HttpClient client{server.port()};

  nlohmann::json create(const std::string& model, const std::string& type = "quality",
                        const std::string& base = "sdxl") {
    Reply r = client.request("POST", "/v1/configurations", server.writer_json(), create_body(model, type, base).dump());
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.json();
  }
};

TEST_F(RoutesTest, CreateAnswers201WithLocationEtagAndTheStoredDocument) {
  Reply r = client.request("POST", "/v1/configurations", server.writer_json(), create_body("m-1").dump());
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto doc = r.json();
  EXPECT_EQ(r.header("location"), "/v1/configurations/" + doc["id"].get<std::string>());
  EXPECT_EQ(r.header("etag"), "\"" + doc["id"].get<std::string>() + ".1\"");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(doc["revision"], 1);
  EXPECT_EQ(doc["model_id"], "m-1");
  // It is in the store, not only in the server's memory.
  auto stored = server.store().get(doc["id"].get<std::string>());
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(nlohmann::json(*stored), doc);
}

TEST_F(RoutesTest, CreateNormalisesSamplerAliases) {
  auto body = create_body("m-alias");
  body["sampler"] = "DPM++ 2M";
  Reply r = client.request("POST", "/v1/configurations", server.writer_json(), body.dump());
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.json()["sampler"], "dpmpp_2m");
}

TEST_F(RoutesTest, GetByIdAnswersTheDocumentAndHonoursIfNoneMatch) {
  const auto doc = create("m-2");
  const std::string id = doc["id"];
  Reply r = client.get("/v1/configurations/" + id);
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.json(), doc);
  const std::string etag = r.header("etag");
  Reply not_modified = client.get("/v1/configurations/" + id, {{"If-None-Match", etag}});
  EXPECT_EQ(not_modified.status, 304u);
  EXPECT_TRUE(not_modified.body.empty());
  EXPECT_EQ(not_modified.header("etag"), etag);
  EXPECT_EQ(client.get("/v1/configurations/" + id, {{"If-None-Match", "W/" + etag}}).status, 304u);
  EXPECT_EQ(client.get("/v1/configurations/" + id, {{"If-None-Match", "\"other\", " + etag}}).status, 304u);
  EXPECT_EQ(client.get("/v1/configurations/" + id, {{"If-None-Match", "\"" + id + ".0\""}}).status, 200u);
}

TEST_F(RoutesTest, HeadAnswersHeadersWithoutBody) {
  const auto doc = create("m-head");
  Reply full = client.get("/v1/models/m-head/configurations/quality");
  Reply head = client.request("HEAD", "/v1/models/m-head/configurations/quality");
  EXPECT_EQ(head.status, 200u);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("content-length"), std::to_string(full.body.size()));
  EXPECT_EQ(head.header("etag"), full.header("etag"));
}

TEST_F(RoutesTest, PatchAppliesAMergePatchAndBumpsTheRevision) {
  const auto doc = create("m-3");
  const std::string id = doc["id"];
  auto headers = server.writer_json();
  headers["Content-Type"] = "application/merge-patch+json";
  headers["If-Match"] = "\"" + id + ".1\"";
  Reply r = client.request("PATCH", "/v1/configurations/" + id, headers,
                           R"({"steps": 35, "model_specific_params": {"clip_skip": null, "width": 896}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto updated = r.json();
  EXPECT_EQ(updated["revision"], 2);
  EXPECT_EQ(updated["steps"], 35);
  EXPECT_EQ(updated["model_specific_params"], (nlohmann::json{{"width", 896}, {"height", 1024}}));
  EXPECT_EQ(r.header("etag"), "\"" + id + ".2\"");
  // The next read (any route) sees the write.
  EXPECT_EQ(client.get("/v1/configurations/" + id).json(), updated);
  EXPECT_EQ(client.get("/v1/models/m-3/configurations/quality").json(), updated);
  EXPECT_EQ(nlohmann::json(*server.store().get(id)), updated);
}

TEST_F(RoutesTest, PatchAcceptsABareRevisionAndStar) {
  const auto doc = create("m-rev");
  const std::string id = doc["id"];
  auto headers = server.writer_json();
  headers["If-Match"] = "\"1\"";
  EXPECT_EQ(client.request("PATCH", "/v1/configurations/" + id, headers, R"({"steps": 31})").status, 200u);
  headers["If-Match"] = "*";
  EXPECT_EQ(client.request("PATCH", "/v1/configurations/" + id, headers, R"({"steps": 32})").status, 200u);
  headers.erase("If-Match");
  Reply r = client.request("PATCH", "/v1/configurations/" + id, headers, R"({"steps": 33})");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.json()["revision"], 4);
}

TEST_F(RoutesTest, DeleteAnswers204AndTheConfigurationIsGone) {
  const auto doc = create("m-4");
  const std::string id = doc["id"];
  auto headers = server.auth(TestServer::kWriterToken);
  headers["If-Match"] = "\"" + id + ".1\"";
  Reply r = client.request("DELETE", "/v1/configurations/" + id, headers);
  EXPECT_EQ(r.status, 204u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(client.get("/v1/configurations/" + id).status, 404u);
  EXPECT_EQ(client.get("/v1/models/m-4/configurations/quality").status, 404u);
  EXPECT_FALSE(server.store().get(id).has_value());
}

TEST_F(RoutesTest, ModelRoutesAreTheSeedsRepositoryQueries) {
  const auto q = create("m-5", "quality");
  const auto s = create("m-5", "speed");
  create("m-6", "quality");
  Reply all = client.get("/v1/models/m-5/configurations");
  ASSERT_EQ(all.status, 200u);
  EXPECT_EQ(all.json()["items"], nlohmann::json::array({q, s}));
  EXPECT_EQ(client.get("/v1/models/m-5/configurations?configuration_type=speed").json()["items"],
            nlohmann::json::array({s}));
  Reply one = client.get("/v1/models/m-5/configurations/speed");
  ASSERT_EQ(one.status, 200u);
  EXPECT_EQ(one.json(), s);
  EXPECT_EQ(one.header("etag"), "\"" + s["id"].get<std::string>() + ".1\"");
  EXPECT_EQ(client.get("/v1/models/nobody/configurations").json()["items"], nlohmann::json::array());
  Reply missing = client.get("/v1/models/m-6/configurations/speed");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
}

TEST_F(RoutesTest, ModelIdsAreDecodedFromThePath) {
  const auto doc = create("org/model name+ü");
  Reply r = client.get("/v1/models/org%2Fmodel%20name%2B%C3%BC/configurations/quality");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json(), doc);
}

TEST_F(RoutesTest, ListingPagesThroughEveryConfigurationOnce) {
  std::set<std::string> created;
  for (int i = 0; i < 7; ++i) {
    created.insert(create("list-" + std::to_string(i), "quality")["id"].get<std::string>());
    if (i % 2 == 0) created.insert(create("list-" + std::to_string(i), "speed", "sdxl")["id"].get<std::string>());
  }
  std::set<std::string> seen;
  std::string target = "/v1/configurations?limit=3";
  int pages = 0;
  while (true) {
    Reply r = client.get(target);
    ASSERT_EQ(r.status, 200u) << r.body;
    auto page = r.json();
    ASSERT_LE(page["items"].size(), 3u);
    for (const auto& item : page["items"]) EXPECT_TRUE(seen.insert(item["id"].get<std::string>()).second);
    ++pages;
    if (page["next_cursor"].is_null()) break;
    target = "/v1/configurations?limit=3&cursor=" + page["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 4);  // 11 items, 3 per page
  auto speed = client.get("/v1/configurations?configuration_type=speed&limit=500").json();
  EXPECT_EQ(speed["items"].size(), 4u);
  for (const auto& item : speed["items"]) EXPECT_EQ(item["configuration_type"], "speed");
  auto by_model = client.get("/v1/configurations?model_id=list-2").json();
  EXPECT_EQ(by_model["items"].size(), 2u);
  EXPECT_TRUE(by_model["next_cursor"].is_null());
}

TEST_F(RoutesTest, BaseModelRoutesServeTheCatalogueAndItsConfigurations) {
  create("b-1", "quality", "sdxl");
  create("b-2", "quality", "flux_dev")["id"];
  auto flux = client.request("POST", "/v1/configurations", server.writer_json(),
                             nlohmann::json{{"model_id", "b-3"}, {"base_model", "flux_dev"},
                                            {"configuration_type", "speed"}, {"steps", 20}, {"cfg_scale", 1.0},
                                            {"sampler", "euler"}, {"scheduler", "simple"},
                                            {"model_specific_params", {{"guidance", 3.5}}}}
                                 .dump());
  ASSERT_EQ(flux.status, 201u) << flux.body;
  Reply catalogue = client.get("/v1/base-models");
  ASSERT_EQ(catalogue.status, 200u);
  EXPECT_EQ(catalogue.json(), server.catalog().to_json());
  Reply sdxl = client.get("/v1/base-models/sdxl");
  ASSERT_EQ(sdxl.status, 200u);
  EXPECT_EQ(sdxl.json(), server.catalog().to_json(*server.catalog().find("sdxl")));
  EXPECT_EQ(client.get("/v1/base-models/nope").status, 404u);
  auto page = client.get("/v1/base-models/flux_dev/configurations?limit=1").json();
  ASSERT_EQ(page["items"].size(), 1u);
  EXPECT_EQ(page["items"][0]["model_id"], "b-2");  // ordered by (model_id, type)
  auto next = client.get("/v1/base-models/flux_dev/configurations?limit=1&cursor=" +
                         page["next_cursor"].get<std::string>())
                  .json();
  ASSERT_EQ(next["items"].size(), 1u);
  EXPECT_EQ(next["items"][0]["model_id"], "b-3");
  EXPECT_TRUE(next["next_cursor"].is_null());
  EXPECT_EQ(client.get("/v1/base-models/flux_dev/configurations?configuration_type=speed").json()["items"].size(), 1u);
}

TEST_F(RoutesTest, ResolveLayersPresetStoredConfigurationAndOverrides) {
  create("r-1", "quality", "sdxl");
  Reply r = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                           R"({"model_id": "r-1", "configuration_type": "quality", "overrides": {"steps": 40}})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j["base_model"], "sdxl");
  EXPECT_EQ(j["parameters"]["steps"], 40);
  EXPECT_EQ(j["sources"]["steps"], "override");
  EXPECT_EQ(j["parameters"]["sampler"], "dpmpp_2m");
  EXPECT_EQ(j["sources"]["sampler"], "model");
  EXPECT_EQ(j["parameters"]["width"], 1024);
  EXPECT_EQ(j["revision"], 1);
  // A model without a stored configuration falls back to its base model's preset.
  Reply preset = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                                R"({"model_id": "unknown", "base_model": "sdxl", "configuration_type": "speed"})");
  ASSERT_EQ(preset.status, 200u) << preset.body;
  EXPECT_EQ(preset.json()["sources"]["steps"], "base_model");
  EXPECT_TRUE(preset.json()["configuration_id"].is_null());
}

TEST_F(RoutesTest, ResolveAnswers422ListingEveryProblemOfTheOverrides) {
  create("r-2", "quality", "sdxl");
  Reply r = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                           R"({"model_id": "r-2", "configuration_type": "quality",
                               "overrides": {"steps": 1000, "width": 1001, "sampler": "no_such_sampler"}})");
  ASSERT_EQ(r.status, 422u) << r.body;
  auto j = r.json();
  EXPECT_EQ(j["type"], "urn:inferconf:problem:validation-error");
  std::set<std::string> fields;
  for (const auto& e : j["errors"]) fields.insert(e["field"].get<std::string>());
  EXPECT_TRUE(fields.count("overrides.steps")) << r.body;
  EXPECT_TRUE(fields.count("overrides.width")) << r.body;
  EXPECT_TRUE(fields.count("overrides.sampler")) << r.body;
  EXPECT_EQ(j["resolved"]["model_id"], "r-2");
}

TEST_F(RoutesTest, RepeatedResolvesFollowEveryChangeOfTheConfiguration) {
  const auto doc = create("r-3", "quality", "sdxl");
  const std::string id = doc["id"];
  const std::string body = R"({"model_id": "r-3", "configuration_type": "quality", "overrides": {"width": 896}})";
  auto resolve = [&] {
    Reply r = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}}, body);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.json();
  };
  EXPECT_EQ(resolve()["parameters"]["steps"], 30);
  EXPECT_EQ(resolve()["parameters"]["steps"], 30);  // answered again, the same
  ASSERT_EQ(client.request("PATCH", "/v1/configurations/" + id, server.writer_json(), R"({"steps": 44})").status, 200u);
  auto after = resolve();
  EXPECT_EQ(after["parameters"]["steps"], 44);
  EXPECT_EQ(after["revision"], 2);
  // A change by another connection, picked up by the refresh.
  auto other = open_store(server.db_uri());
  UpdateDTO u;
  u.steps = 45;
  other->update(id, u, std::nullopt);
  nlohmann::json seen;
  for (int i = 0; i < 150; ++i) {
    seen = resolve();
    if (seen["parameters"]["steps"] == 45) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(seen["parameters"]["steps"], 45);
  // Deleted: the model falls back to its base model's preset (the request names no base model: 404).
  ASSERT_EQ(client.request("DELETE", "/v1/configurations/" + id, server.auth(TestServer::kWriterToken)).status, 204u);
  EXPECT_EQ(client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}}, body).status, 404u);
}

TEST_F(RoutesTest, OperationsRoutes) {
  create("ops-1");
  Reply health = client.get("/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.json()["status"], "ok");
  Reply ready = client.get("/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_EQ(ready.json()["configurations"], 1);
  client.get("/v1/nowhere");
  Reply metrics = client.get("/metrics");
  ASSERT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("inferconf_http_requests_total{route=\"/v1/configurations\",method=\"POST\",status=\"201\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("inferconf_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("inferconf_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("inferconf_configurations 1\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("inferconf_store_errors_total 0\n"), std::string::npos);
  Reply openapi = client.get("/openapi.json");
  ASSERT_EQ(openapi.status, 200u);
  EXPECT_EQ(openapi.json()["openapi"], "3.1.0");
}

TEST_F(RoutesTest, OptionsListsTheAllowedMethods) {
  Reply r = client.request("OPTIONS", "/v1/configurations");
  EXPECT_EQ(r.status, 204u);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, POST, OPTIONS");
}

TEST_F(RoutesTest, PipelinedRequestsAreAnsweredInOrder) {
  create("pipe-1");
  client.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /v1/models/pipe-1/configurations/quality HTTP/1.1\r\n"
              "Host: localhost\r\n\r\nGET /v1/nothing HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(client.read_reply().status, 200u);
  Reply second = client.read_reply();
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.json()["model_id"], "pipe-1");
  EXPECT_EQ(client.read_reply().status, 404u);
}

TEST_F(RoutesTest, RequestLogHasOneJsonLinePerRequestAndNoToken) {
  create("log-1");
  client.get("/v1/models/log-1/configurations/quality");
  client.get("/healthz");
  server.stop();  // flushes the log
  std::ifstream in(server.log_path());
  std::string line, all;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) {
    all += line + "\n";
    lines.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(lines.size(), 3u) << all;
  EXPECT_EQ(lines[0]["method"], "POST");
  EXPECT_EQ(lines[0]["status"], 201);
  EXPECT_EQ(lines[0]["principal"], "writer");
  EXPECT_EQ(lines[1]["target"], "/v1/models/log-1/configurations/quality");
  EXPECT_TRUE(lines[1]["principal"].is_null());
  EXPECT_EQ(all.find(TestServer::kWriterToken), std::string::npos);
}

TEST_F(RoutesTest, ReadsNeedATokenWithAuthReads) {
  TestServerOptions options;
  options.auth_reads = true;
  TestServer guarded(options);
  HttpClient c(guarded.port());
  EXPECT_EQ(c.get("/v1/base-models").status, 401u);
  EXPECT_EQ(c.get("/v1/base-models", guarded.auth(TestServer::kReaderToken)).status, 200u);
  EXPECT_EQ(c.get("/healthz").status, 200u);  // operations stay open
  Reply resolve = c.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                            R"({"model_id": "x", "base_model": "sdxl", "configuration_type": "quality"})");
  EXPECT_EQ(resolve.status, 401u);
}

}  // namespace
}  // namespace inferconf::testing
