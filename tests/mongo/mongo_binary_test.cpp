// Contract tests of the real `inferconf` binary against a scripted MongoDB
// wire-protocol peer.
//
// Each case file in tests/mongo/binary_cases/ runs one command line,
// `inferconf --db mongodb://127.0.0.1:PORT/testdb?… ARGS…`, and scripts the
// conversation with the peer exactly as the in-process cases of
// tests/mongo/cases/ do (see mock_peer.py for the matching syntax): which
// commands the binary must send, with which fields and BSON types, and what
// the server answers, including error replies and dropped connections. When
// the binary has exited, the test sends the peer what the process did,
//   {"exit_code": N, "stdout": "...", "stderr": "...",
//    "stdout_json": <stdout parsed as JSON, or null>, "stderr_json": <same for stderr>}
// and the peer judges it against the case's `outcome`, and checks that no
// command arrived beyond those scripted.
//
// Case keys besides those of mock_peer.py:
//   "args":  the command line after `--db URI` ({dir} is a scratch folder)
//   "files": {"name": JSON or text} written into {dir} first
//   "stdin": JSON or text given to the process
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mongo/peer_process.hpp"
#include "support/run_process.hpp"

namespace inferconf::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kDir = fs::path(INFERCONF_SOURCE_DIR) / "tests" / "mongo";

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kDir / "binary_cases"))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

// (Not std::regex: GCC 12 warns inside it under the sanitizer build.)
void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) text.replace(p, from.size(), to);
}

std::string text_of(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(2); }

json parsed_or_null(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

class MongoBinary : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferconf-mongo-binary-" + std::to_string(::getpid()) + "-" + GetParam());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_P(MongoBinary, Case) {
  const fs::path file = kDir / "binary_cases" / (GetParam() + ".json");
  std::ifstream in(file);
  const json spec = json::parse(in);
  const json files = spec.value("files", json::object());
  for (const auto& [name, content] : files.items()) std::ofstream(dir_ / name, std::ios::binary) << text_of(content);

  PeerProcess peer({"/usr/bin/python3", (kDir / "mock_peer.py").string(), file.string()});
  const std::string first = peer.read_line(std::chrono::seconds(20));
  ASSERT_EQ(first.rfind("PORT ", 0), 0u) << "the mock peer did not start: " << first << peer.read_rest(std::chrono::seconds(2));
  const std::string port = first.substr(5);

  // Short timeouts: a case that goes wrong fails in seconds instead of hanging
  // (5 s, not less: the sanitizer build on a loaded machine is slow).
  std::string uri = spec.value(
      "uri",
      std::string("mongodb://127.0.0.1:{port}/testdb?serverSelectionTimeoutMS=5000&connectTimeoutMS=2000"
                  "&socketTimeoutMS=5000&heartbeatFrequencyMS=500{options}"));
  std::string options = spec.value("uri_options", std::string());
  if (spec.value("topology", std::string("standalone")) == "replset") options += "&replicaSet=rs0";
  replace_all(uri, "{port}", port);
  replace_all(uri, "{options}", options);

  std::vector<std::string> args{"--db", uri};
  for (const auto& a : spec.at("args")) {
    std::string arg = a.get<std::string>();
    replace_all(arg, "{dir}", dir_.string());
    args.push_back(arg);
  }
  const std::string stdin_text = spec.contains("stdin") ? text_of(spec["stdin"]) : std::string();
  const auto result = run_process(inferconf_binary(), args, stdin_text,
                                  {{"INFERCONF_CATALOG", std::string(INFERCONF_SOURCE_DIR) + "/catalog"}}, 60);

  const json outcome{{"exit_code", result.exit_code},
                     {"stdout", result.out},
                     {"stderr", result.err},
                     {"stdout_json", parsed_or_null(result.out)},
                     {"stderr_json", parsed_or_null(result.err)}};
  peer.write_line(outcome.dump(-1, ' ', false, json::error_handler_t::replace));
  const std::string verdict = peer.read_rest(std::chrono::seconds(30));
  std::string command = "inferconf";
  for (const auto& a : args) command += " " + a;
  EXPECT_NE(verdict.find("RESULT OK"), std::string::npos)
      << spec.value("description", std::string()) << "\n$ " << command << "\n"
      << verdict << "\nexit code: " << result.exit_code << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err;
}

INSTANTIATE_TEST_SUITE_P(Cases, MongoBinary, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace inferconf::testing
