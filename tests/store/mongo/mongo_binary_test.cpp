// Contract tests of the real `inferconf` binary against a scripted MongoDB
// wire-protocol peer.
//
// Each case file in tests/store/mongo/binary_cases/ runs one command line,
// `inferconf --db mongodb://127.0.0.1:PORT/testdb?… ARGS…`, and scripts the
// conversation with the peer exactly as the in-process cases of
// tests/store/mongo/cases/ do (see mock_peer.py for the matching syntax): which
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
//   "safetensors": {"name": "LAYOUT"} sparse checkpoints written into {dir} first
//            (header only, the data a hole), LAYOUT one of sdxl_checkpoint,
//            sd15_checkpoint, flux_dev, flux_schnell, wan21_t2v_1_3b, vae_sd,
//            lora_sdxl (tests/detect/layouts.hpp). Skipped when the test was
//            built without the detect layer.
//   "serve": [{"method": "GET", "path": "/v1/...", "headers": {...}, "body": JSON}...]: the command is a server
//            (`serve --listen 127.0.0.1:0 …`): once it prints "listening on
//            http://HOST:PORT", these requests are made in order, then it gets
//            SIGTERM; "wait_ms": N in a request waits that long before it (to let
//            the server's refresh run). The outcome then also has "responses": [{"status": N,
//            "body": "...", "body_json": ...}...]; stdout and stderr are merged
//            into "stdout". Skipped when the binary was built without `serve`.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/mongo/peer_process.hpp"
#include "support/run_process.hpp"
#ifdef INFERCONF_MONGO_SAFETENSORS
#include "detect/layouts.hpp"
#endif

namespace inferconf::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kDir = fs::path(INFERCONF_SOURCE_DIR) / "tests" / "store" / "mongo";



std::string text_of(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(2); }

json parsed_or_null(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

#ifdef INFERCONF_MONGO_SAFETENSORS
// The checkpoint layouts a case can ask for (as in tests/populate).
detect::testing::Layout layout_named(const std::string& name) {
  namespace dt = detect::testing;
  if (name == "sdxl_checkpoint") return dt::sdxl_checkpoint();
  if (name == "sd15_checkpoint") return dt::sd15_checkpoint();
  if (name == "flux_dev") return dt::flux_dit(true);
  if (name == "flux_schnell") return dt::flux_dit(false);
  if (name == "wan21_t2v_1_3b") return dt::wan_dit(1536, 8960, 30, 16, 16, false, detect::Dtype::F16);
  if (name == "vae_sd") return dt::ldm_vae(4);
  if (name == "lora_sdxl") return dt::lora_kohya_sdxl();
  throw std::invalid_argument("unknown safetensors layout " + name);
}
#endif

struct HttpReply {
  int status = 0;
  std::string body;
};

// One HTTP/1.1 request on its own connection (Connection: close), read to EOF.
HttpReply http_request(unsigned short port, const std::string& method, const std::string& path,
                       const std::string& headers, const std::string& body) {
  HttpReply reply;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return reply;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers;
  if (!body.empty())
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  close(fd);
  if (response.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::atoi(response.c_str() + 9);
  if (const auto end = response.find("\r\n\r\n"); end != std::string::npos) reply.body = response.substr(end + 4);
  return reply;
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
  // (Without the command, `serve --help` prints the top-level help and exits 0.)
  if (spec.contains("serve") && run_process(inferconf_binary(), {"serve", "--help"}).out.find("--listen") == std::string::npos)
    GTEST_SKIP() << "this build of inferconf has no `serve` command (the http layer was not built)";
  const json files = spec.value("files", json::object());
  for (const auto& [name, content] : files.items()) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << text_of(content);
  }
  if (spec.contains("safetensors")) {
#ifdef INFERCONF_MONGO_SAFETENSORS
    for (const auto& [name, layout] : spec["safetensors"].items()) {
      fs::create_directories((dir_ / name).parent_path());
      detect::write_sparse_safetensors(dir_ / name, layout_named(layout.get<std::string>()));
    }
#else
    GTEST_SKIP() << "this test was built without the detect layer: no .safetensors fixtures";
#endif
  }

  // Short timeouts: a case that goes wrong fails in seconds instead of hanging
  // (5 s, not less: the sanitizer build on a loaded machine is slow).
  auto mock = start_mock_peer(kDir / "mock_peer.py", file, spec, 5000, 5000);
  ASSERT_FALSE(mock.uri.empty()) << "the mock peer did not start: " << mock.error;
  PeerProcess& peer = *mock.process;
  const std::string& uri = mock.uri;

  std::vector<std::string> args{"--db", uri};
  for (const auto& a : spec.at("args")) {
    std::string arg = a.get<std::string>();
    replace_all(arg, "{dir}", dir_.string());
    args.push_back(arg);
  }
  const std::string stdin_text = spec.contains("stdin") ? text_of(spec["stdin"]) : std::string();
  json outcome;
  ProcessResult result;
  if (spec.contains("serve")) {
    // A server, through sh for `2>&1`: its "listening on" line is on stderr.
    std::string shell = "exec '" + inferconf_binary() + "' --catalog '" + INFERCONF_SOURCE_DIR + "/catalog'";
    for (const auto& a : args) shell += " '" + a + "'";
    shell += " 2>&1";
    PeerProcess server({"/bin/sh", "-c", shell});
    std::string seen;
    unsigned short http_port = 0;
    const std::string marker = "listening on http://127.0.0.1:";
    for (int i = 0; i < 200 && http_port == 0; ++i) {
      const std::string line = server.read_line(std::chrono::seconds(30));
      if (line.empty()) break;  // it exited, or said nothing for 30 s
      seen += line + "\n";
      if (const auto p = line.find(marker); p != std::string::npos)
        http_port = static_cast<unsigned short>(std::atoi(line.c_str() + p + marker.size()));
    }
    json responses = json::array();
    if (http_port != 0)
      for (const auto& r : spec["serve"]) {
        if (r.contains("wait_ms")) std::this_thread::sleep_for(std::chrono::milliseconds(r["wait_ms"].get<int>()));
        std::string headers;
        const json fields = r.contains("headers") ? r["headers"] : json::object();
        for (const auto& [name, value] : fields.items()) headers += name + ": " + value.get<std::string>() + "\r\n";
        const auto reply = http_request(http_port, r.value("method", std::string("GET")), r.at("path").get<std::string>(),
                                        headers, r.contains("body") ? r["body"].dump() : std::string());
        responses.push_back({{"status", reply.status}, {"body", reply.body}, {"body_json", parsed_or_null(reply.body)}});
      }
    std::string rest;
    result.exit_code = server.signal_and_wait(SIGTERM, std::chrono::seconds(30), &rest);
    result.out = seen + rest;
    outcome = json{{"exit_code", result.exit_code}, {"stdout", result.out}, {"responses", responses}};
  } else {
    result = run_process(inferconf_binary(), args, stdin_text,
                         {{"INFERCONF_CATALOG", std::string(INFERCONF_SOURCE_DIR) + "/catalog"}}, 60);
    outcome = json{{"exit_code", result.exit_code},
                   {"stdout", result.out},
                   {"stderr", result.err},
                   {"stdout_json", parsed_or_null(result.out)},
                   {"stderr_json", parsed_or_null(result.err)}};
  }
  peer.write_line(outcome.dump(-1, ' ', false, json::error_handler_t::replace));
  const std::string verdict = peer.read_rest(std::chrono::seconds(30));
  std::string command = "inferconf";
  for (const auto& a : args) command += " " + a;
  EXPECT_NE(verdict.find("RESULT OK"), std::string::npos)
      << spec.value("description", std::string()) << "\n$ " << command << "\n"
      << verdict << "\nexit code: " << result.exit_code << "\nstdout:\n" << result.out << "\nstderr:\n" << result.err;
}

// Regression (CI failed at stop 10): libmongoc maps /dev/shm/mongoc-<pid> as
// the binary loads and removes it only on a normal exit. Killed inferconf
// processes left their files behind; a later process given the same pid
// printed "Falling back to malloc for counters" on stderr ahead of its --json
// error, which was then not one JSON document.
TEST(MongoDriverCounters, KilledBinaryLeavesNoSharedMemoryFileBehind) {
  if (run_process(inferconf_binary(), {"serve", "--help"}).out.find("--listen") == std::string::npos)
    GTEST_SKIP() << "this build of inferconf has no `serve` command (the http layer was not built)";
  const fs::path dir = fs::temp_directory_path() / ("inferconf-shm-" + std::to_string(getpid()));
  fs::create_directories(dir);
  PeerProcess server({"/bin/sh", "-c",
                      "echo $$; exec \"$0\" --db \"$1\" --catalog \"$2\" serve --listen 127.0.0.1:0 2>&1",
                      inferconf_binary(), "sqlite:" + (dir / "store.db").string(),
                      std::string(INFERCONF_SOURCE_DIR) + "/catalog"});
  const std::string pid = server.read_line(std::chrono::seconds(10));
  ASSERT_FALSE(pid.empty()) << "the shell did not start";
  std::string seen;
  for (int i = 0; i < 50 && seen.find("listening on") == std::string::npos; ++i) {
    const std::string line = server.read_line(std::chrono::seconds(30));
    if (line.empty()) break;
    seen += line + "\n";
  }
  ASSERT_NE(seen.find("listening on"), std::string::npos) << "serve did not start:\n" << seen;
  std::string maps;
  {
    std::ifstream in("/proc/" + pid + "/maps");
    maps.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string name = "/dev/shm/mongoc-" + pid;
  const bool driver_mapped_counters = maps.find(name) != std::string::npos;
  std::string rest;
  EXPECT_EQ(server.signal_and_wait(SIGKILL, std::chrono::seconds(10), &rest), 128 + SIGKILL);
  const bool left_behind = fs::exists(name);
  std::error_code ec;
  fs::remove(name, ec);
  fs::remove_all(dir, ec);
  if (!driver_mapped_counters) GTEST_SKIP() << "this libmongoc does not map " << name << ", so nothing can be left";
  EXPECT_FALSE(left_behind) << name << " is still there after the process was killed";
}

INSTANTIATE_TEST_SUITE_P(Cases, MongoBinary, ::testing::ValuesIn(case_names(kDir / "binary_cases")),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace inferconf::testing
