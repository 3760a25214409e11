// POST /v1/resolve with "hardware": the cases of cases/hardware.json over a
// real socket to the real server, and a server whose catalogue folder has no
// hardware.json answering 503 rather than guessing.
#include <fstream>

#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"
#include "http/http_client.hpp"
#include "http/test_server.hpp"

namespace inferconf::testing {
namespace {

const nlohmann::json& hardware_cases() {
  static const nlohmann::json cases = read_json(std::filesystem::path(INFERCONF_SOURCE_DIR) / "tests/http/cases/hardware.json");
  return cases;
}

class HardwareResolve : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    HttpClient client(server_->port());
    for (const auto& c : hardware_cases()["configurations"])
      ASSERT_EQ(client.request("POST", "/v1/configurations", server_->writer_json(), c.dump()).status, 201u);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer* server_;
};
TestServer* HardwareResolve::server_ = nullptr;

TEST_P(HardwareResolve, AnswersAsTheCaseSays) {
  const auto& c = hardware_cases()["cases"][GetParam()];
  SCOPED_TRACE(c["name"].get<std::string>());
  HttpClient client(server_->port());
  const std::string path = "/v1/resolve" + c.value("query", std::string());
  const Reply r = client.request("POST", path, {{"Content-Type", "application/json"}}, c["body"].dump());
  EXPECT_EQ(r.status, c["status"].get<unsigned>()) << r.body;
  if (r.status >= 400) {
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
  }
  const nlohmann::json texts = c.contains("text") ? c["text"] : nlohmann::json::array();
  const nlohmann::json fields = c.contains("json") ? c["json"] : nlohmann::json::object();
  for (const auto& text : texts)
    EXPECT_NE(r.body.find(text.get<std::string>()), std::string::npos) << "missing " << text << " in " << r.body;
  const auto j = r.json();
  for (const auto& [pointer, want] : fields.items()) {
    const nlohmann::json::json_pointer p(pointer);
    if (want.is_object() && want.contains("$present")) {
      EXPECT_EQ(j.contains(p), want["$present"].get<bool>()) << pointer << " in " << r.body;
      continue;
    }
    ASSERT_TRUE(j.contains(p)) << pointer << " missing in " << r.body;
    EXPECT_EQ(j[p], want) << pointer;
  }
  if (c.value("repeat", false)) {
    const Reply again = client.request("POST", path, {{"Content-Type", "application/json"}}, c["body"].dump());
    EXPECT_EQ(again.body, r.body);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, HardwareResolve, ::testing::Range<std::size_t>(0, hardware_cases()["cases"].size()),
                         [](const ::testing::TestParamInfo<std::size_t>& i) {
                           return hardware_cases()["cases"][i.param]["name"].get<std::string>();
                         });

TEST(HardwareResolveWithoutHardwareJson, AnswersServiceUnavailableNamingTheFile) {
  TempDir dir;
  for (const auto& e : std::filesystem::directory_iterator(source_catalog_dir()))
    if (e.path().filename() != "hardware.json") dir.write(e.path().filename().string(), read_text(e.path()));
  TestServerOptions options;
  options.catalog_dir = dir.path();
  TestServer server(options);
  HttpClient client(server.port());
  const Reply r = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                                 R"({"model_id": "m", "configuration_type": "quality", "base_model": "sdxl",
                                     "hardware": "consumer_8gb"})");
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_NE(r.body.find("hardware.json"), std::string::npos) << r.body;
  const Reply plain = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                                     R"({"model_id": "m", "configuration_type": "quality", "base_model": "sdxl"})");
  EXPECT_EQ(plain.status, 200u) << "everything else is still served: " << plain.body;
  const Reply exported = client.request("POST", "/v1/resolve?format=comfyui", {{"Content-Type", "application/json"}},
                                        R"({"model_id": "m", "configuration_type": "quality", "base_model": "sdxl",
                                            "hardware": "consumer_8gb"})");
  EXPECT_EQ(exported.status, 503u) << exported.body;
  EXPECT_NE(exported.body.find("hardware.json"), std::string::npos) << exported.body;
}

}  // namespace
}  // namespace inferconf::testing
