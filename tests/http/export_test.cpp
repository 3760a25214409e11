// POST /v1/resolve?format=...: the cases of tests/http/cases/export.json, each
// sent over a real socket to the real server (SQLite file, registry and a
// stored configuration seeded first) and its answer checked field by field.
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/test_server.hpp"
#include "support/run_process.hpp"

namespace inferconf::testing {
namespace {

const nlohmann::json& export_cases() {
  static const nlohmann::json cases = [] {
    std::ifstream in(std::filesystem::path(INFERCONF_SOURCE_DIR) / "tests/http/cases/export.json");
    return nlohmann::json::parse(in);
  }();
  return cases;
}

// Whether `inputs` holds every member of `wanted` with an equal value.
bool includes(const nlohmann::json& inputs, const nlohmann::json& wanted) {
  for (const auto& [k, v] : wanted.items())
    if (!inputs.contains(k) || inputs[k] != v) return false;
  return true;
}

class ExportCase : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    std::vector<ModelRecord> models;
    for (const auto& m : export_cases()["models"]) {
      ModelRecord r;
      r.id = m["id"];
      r.name = m["name"];
      r.base_model = m["base_model"].get<std::string>();
      if (m.contains("file_path")) r.file_path = m["file_path"].get<std::string>();
      if (m.contains("metadata")) r.metadata = m["metadata"];
      models.push_back(r);
    }
    server_->store().upsert_models(models);
    HttpClient client(server_->port());
    for (const auto& c : export_cases()["configurations"])
      ASSERT_EQ(client.request("POST", "/v1/configurations", server_->writer_json(), c.dump()).status, 201u);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer* server_;
};
TestServer* ExportCase::server_ = nullptr;

TEST_P(ExportCase, AnswersAsTheCaseSays) {
  const auto& c = export_cases()["cases"][GetParam()];
  SCOPED_TRACE(c["name"].get<std::string>());
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
  if (c.contains("headers"))
    for (const auto& [k, v] : c["headers"].items()) headers[k] = v;
  const std::string body = c.contains("raw_body") ? c["raw_body"].get<std::string>() : c["body"].dump();
  const std::string before = server_->store_snapshot();
  HttpClient client(server_->port());
  const Reply r = client.request("POST", "/v1/resolve" + c["query"].get<std::string>(), headers, body);

  EXPECT_EQ(r.status, c["status"].get<unsigned>()) << r.body;
  if (c.contains("content_type")) {
    EXPECT_EQ(r.header("content-type"), c["content_type"].get<std::string>());
  }
  if (r.status >= 400) {
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
  }
  const nlohmann::json texts = c.contains("text") ? c["text"] : nlohmann::json::array();
  const nlohmann::json fields = c.contains("json") ? c["json"] : nlohmann::json::object();
  const nlohmann::json nodes = c.contains("nodes") ? c["nodes"] : nlohmann::json::array();
  for (const auto& text : texts)
    EXPECT_NE(r.body.find(text.get<std::string>()), std::string::npos) << "missing \"" << text << "\" in " << r.body;
  if (!fields.empty() || !nodes.empty()) {
    const auto j = r.json();
    for (const auto& [pointer, want] : fields.items()) {
      const nlohmann::json::json_pointer p(pointer);
      if (want.is_object() && want.contains("$present")) {
        EXPECT_EQ(j.contains(p) && !j[p].is_null(), want["$present"].get<bool>()) << pointer << " in " << r.body;
        continue;
      }
      ASSERT_TRUE(j.contains(p)) << pointer << " missing in " << r.body;
      EXPECT_EQ(j[p], want) << pointer;
    }
    for (const auto& node : nodes) {
      bool found = false;
      for (const auto& [id, n] : j["body"]["prompt"].items())
        found = found || (n["class_type"] == node["class_type"] && includes(n["inputs"], node["inputs"]));
      EXPECT_TRUE(found) << "no node " << node.dump() << " in " << j["body"].dump();
    }
  }
  // An export reads; it never writes.
  EXPECT_EQ(server_->store_snapshot(), before);
}

// The HTTP export and `inferconf export` are one function: for every format
// and every base model of the demo registry they give the same request.
TEST(ExportOverHttp, GivesWhatTheCommandLineGivesForEveryBaseModel) {
  const std::string binary = inferconf_binary();
  if (!std::filesystem::exists(binary)) GTEST_SKIP() << binary << " is not built";
  TestServer server;
  const auto catalog = std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog";
  // The demo registry names no base model: `demo` lays out its checkpoint
  // headers next to the store and `populate` reads them.
  const auto demo = run_process(binary, {"--db", server.db_uri(), "--catalog", catalog.string(), "demo"});
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  const auto populated = run_process(binary, {"--db", server.db_uri(), "--catalog", catalog.string(), "populate"});
  ASSERT_EQ(populated.exit_code, 0) << populated.out << populated.err;
  HttpClient client(server.port());
  // The server sees another process's writes at its next refresh.
  for (int i = 0; i < 100 && client.request("GET", "/v1/models/realvisxl-v4/configurations/speed").status != 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::set<std::string> bases;
  int compared = 0;
  std::vector<ModelRecord> models;
  server.store().for_each_model(true, [&](const ModelRecord& m) {
    models.push_back(m);
    return true;
  });
  for (const auto& m : models) {
    if (const auto stored = server.store().find_by_model_and_type(m.id, "speed")) bases.insert(stored->base_model);
    for (const std::string format : {"comfyui", "a1111", "diffusers", "infotext"}) {
      SCOPED_TRACE(m.id + " " + format);
      const auto cli = run_process(binary, {"--db", server.db_uri(), "--catalog", catalog.string(), "--json", "export",
                                            "--model-id", m.id, "--type", "speed", "--format", format, "--seed", "42",
                                            "--prompt", "a red fox"});
      const nlohmann::json body = {{"model_id", m.id},
                                   {"configuration_type", "speed"},
                                   {"export", {{"seed", 42}, {"prompt", "a red fox"}}}};
      const Reply r = client.request("POST", "/v1/resolve?format=" + format, {{"Content-Type", "application/json"}},
                                     body.dump());
      if (cli.exit_code != 0) {  // e.g. A1111 and video: both refuse
        EXPECT_EQ(r.status, 422u) << r.body;
        EXPECT_NE(r.body.find("not-exportable"), std::string::npos) << r.body;
        continue;
      }
      ASSERT_EQ(r.status, 200u) << r.body;
      auto http = r.json();
      http.erase("resolved");
      EXPECT_EQ(http, nlohmann::json::parse(cli.out));
      ++compared;
    }
  }
  EXPECT_GE(bases.size(), 9u);
  EXPECT_GE(compared, 40);
}

INSTANTIATE_TEST_SUITE_P(Cases, ExportCase, ::testing::Range<std::size_t>(0, export_cases()["cases"].size()),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           std::string name;
                           for (char ch : export_cases()["cases"][info.param]["name"].get<std::string>())
                             name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return std::to_string(info.param) + "_" + name;
                         });

}  // namespace
}  // namespace inferconf::testing
