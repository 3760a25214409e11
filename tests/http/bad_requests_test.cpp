// The requests the API must refuse (cases/bad_requests.json): each answered
// with the right status and an RFC 9457 problem document, over a real
// socket, and the store unchanged afterwards.
#include <fstream>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/test_server.hpp"

namespace inferconf::testing {
namespace {

nlohmann::json load_cases() {
  nlohmann::json all = nlohmann::json::array();
  for (const char* file : {"bad_requests.json", "json_policy.json", "history_bad_requests.json"}) {
    std::ifstream in(std::string(INFERCONF_SOURCE_DIR) + "/tests/http/cases/" + file);
    nlohmann::json file_cases = nlohmann::json::parse(in)["cases"];
    for (auto& c : file_cases) all.push_back(std::move(c));
  }
  return all;
}

std::string replace_all(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  }
  return text;
}

std::string unescape_bytes(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() + 0 && text[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string repeated(const nlohmann::json& spec) {
  return spec.value("prefix", "") + std::string(spec["count"].get<std::size_t>(), spec["char"].get<std::string>()[0]) +
         spec.value("suffix", "");
}

class BadRequests : public ::testing::TestWithParam<nlohmann::json> {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    HttpClient c(server_->port());
    auto q = c.request("POST", "/v1/configurations", server_->writer_json(), create_body("seed-model").dump());
    auto s = c.request("POST", "/v1/configurations", server_->writer_json(),
                       create_body("seed-model", "speed").dump());
    ASSERT_EQ(q.status, 201u) << q.body;
    ASSERT_EQ(s.status, 201u) << s.body;
    vars_ = {{"{id}", q.json()["id"]},
             {"{speed_id}", s.json()["id"]},
             {"{model}", "seed-model"},
             {"{missing_id}", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"},
             {"{writer}", TestServer::kWriterToken}};
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer* server_;
  static std::map<std::string, std::string> vars_;
};
TestServer* BadRequests::server_ = nullptr;
std::map<std::string, std::string> BadRequests::vars_;

TEST_P(BadRequests, IsRefusedWithAProblemDocumentAndChangesNothing) {
  const nlohmann::json& c = GetParam();
  const std::string before = server_->store_snapshot();
  HttpClient client(server_->port());
  Reply reply;
  if (c.contains("raw") || c.contains("raw_repeat")) {
    const std::string bytes = c.contains("raw") ? replace_all(c["raw"], vars_) : repeated(c["raw_repeat"]);
    reply = client.raw(bytes);
  } else {
    std::map<std::string, std::string> headers;
    const std::string auth = c.value("auth", "none");
    if (auth == "writer") headers["Authorization"] = std::string("Bearer ") + TestServer::kWriterToken;
    if (auth == "reader") headers["Authorization"] = std::string("Bearer ") + TestServer::kReaderToken;
    if (auth == "forged") headers["Authorization"] = "Bearer icf_forged0000000000000000000000000000000000000";
    if (c.contains("headers"))
      for (const auto& [k, v] : c["headers"].items()) headers[k] = replace_all(v.get<std::string>(), vars_);
    std::string body;
    if (c.contains("body")) body = replace_all(c["body"], vars_);
    if (c.contains("body_json")) body = replace_all(c["body_json"].dump(), vars_);
    if (c.contains("body_escaped")) body = unescape_bytes(c["body_escaped"]);
    if (c.contains("body_repeat")) body = repeated(c["body_repeat"]);
    reply = client.request(c["method"], replace_all(c["path"], vars_), headers, body);
  }
  const auto& expect = c["expect"];
  EXPECT_EQ(reply.status, expect["status"].get<unsigned>()) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  nlohmann::json problem;
  ASSERT_NO_THROW(problem = reply.json()) << reply.body;
  EXPECT_EQ(problem["type"], "urn:inferconf:problem:" + expect["type"].get<std::string>()) << reply.body;
  EXPECT_EQ(problem["status"], expect["status"]);
  EXPECT_TRUE(problem["title"].is_string() && !problem["title"].get<std::string>().empty());
  ASSERT_TRUE(problem["detail"].is_string());
  EXPECT_GT(problem["detail"].get<std::string>().size(), 20u) << "a detail a user can act on";
  if (expect.contains("detail_contains")) {
    EXPECT_NE(problem["detail"].get<std::string>().find(replace_all(expect["detail_contains"], vars_)),
              std::string::npos)
        << problem["detail"];
  }
  if (expect.contains("error_fields")) {
    std::set<std::string> fields;
    for (const auto& e : problem["errors"]) {
      fields.insert(e["field"].get<std::string>());
      EXPECT_FALSE(e["message"].get<std::string>().empty());
    }
    for (const auto& f : expect["error_fields"]) {
      EXPECT_TRUE(fields.count(f.get<std::string>())) << f << " in " << reply.body;
    }
  }
  if (expect.contains("headers")) {
    for (const auto& [name, value] : expect["headers"].items()) EXPECT_EQ(reply.header(name), value.get<std::string>());
  }
  if (c.contains("expect_body_fields")) {
    for (const auto& [name, value] : c["expect_body_fields"].items())
      EXPECT_EQ(problem[name], replace_all(value.get<std::string>(), vars_));
  }
  EXPECT_EQ(server_->store_snapshot(), before) << "the store changed";
}

std::string case_name(const ::testing::TestParamInfo<nlohmann::json>& info) {
  std::string name = info.param["name"];
  for (auto& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, BadRequests, ::testing::ValuesIn(load_cases().get<std::vector<nlohmann::json>>()),
                         case_name);

TEST(BadRequestCases, AtLeastFortyAndNamesAreUnique) {
  auto cases = load_cases();
  EXPECT_GE(cases.size(), 40u);
  std::set<std::string> names;
  for (const auto& c : cases) EXPECT_TRUE(names.insert(c["name"].get<std::string>()).second) << c["name"];
}

}  // namespace
}  // namespace inferconf::testing
