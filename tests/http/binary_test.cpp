// The real `inferconf serve` binary: start-up output, tokens from
// `inferconf token new`, a taken port, and SIGTERM during a stream of writes
// (every write answered 2xx is in the store after a restart).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/test_server.hpp"
#include "support/run_process.hpp"

extern char** environ;

namespace inferconf::testing {
namespace {

// A running `inferconf serve`, its standard error collected.
class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args) {
    int err_pipe[2];
    if (pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[1]);
    std::string program = inferconf_binary();
    args.insert(args.begin(), program);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(err_pipe[1]);
    if (rc != 0) throw std::runtime_error("cannot start " + program);
    err_fd_ = err_pipe[0];
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
  }
  // Reads standard error until it prints "listening on http://HOST:PORT";
  // 0 when the process exits or says nothing for `limit`.
  unsigned short wait_for_port(std::chrono::seconds limit = std::chrono::seconds(60)) {
    const std::regex listening("listening on http://[^:]+:([0-9]+)");
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      std::smatch m;
      if (std::regex_search(err_, m, listening)) return static_cast<unsigned short>(std::stoi(m[1]));
      if (!read_some(200)) return 0;
    }
    return 0;
  }
  // Sends sig and waits for the exit code (128 + signal if killed).
  int signal_and_wait(int sig) {
    kill(pid_, sig);
    return wait();
  }
  int wait() {
    while (read_some(100)) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& err() const { return err_; }

 private:
  // False at end of file.
  bool read_some(int timeout_ms) {
    pollfd pfd{err_fd_, POLLIN, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return true;
    char buf[4096];
    const ssize_t n = read(err_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    err_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
};

class Binary : public ::testing::Test {
 protected:
  void SetUp() override {
    // CLI11 prints the top-level help (exit 0) for an unknown subcommand's
    // --help, so the exit code cannot tell whether serve exists; its options can.
    const auto help = run_process(inferconf_binary(), {"serve", "--help"});
    ASSERT_NE(help.out.find("--listen"), std::string::npos)
        << "the inferconf binary has no `serve` command although the http layer is built:\n" << help.out;
    dir_ = fresh_dir("inferconf-http-binary");
    db_ = "sqlite:" + (dir_ / "inferconf.db").string();
    // A read-write token made the way a user makes one.
    const auto made = run_process(inferconf_binary(), {"--json", "token", "new", "ci-writer"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const auto j = nlohmann::json::parse(made.out);
    token_ = j["token"];
    std::ofstream(dir_ / "tokens") << j["tokens_file_line"].get<std::string>() << "\n";
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::vector<std::string> serve_args(const std::string& listen = "127.0.0.1:0") {
    return {"--db", db_, "--catalog", std::string(INFERCONF_SOURCE_DIR) + "/catalog", "serve", "--listen", listen,
            "--threads", "2", "--tokens-file", (dir_ / "tokens").string()};
  }
  std::map<std::string, std::string> writer() const {
    return {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
  }
  std::filesystem::path dir_;
  std::string db_, token_;
};

TEST_F(Binary, ServesWithATokenFromTokenNew) {
  ServeProcess serve(serve_args());
  const auto port = serve.wait_for_port();
  ASSERT_NE(port, 0) << serve.err();
  HttpClient client(port);
  EXPECT_EQ(client.request("POST", "/v1/configurations", writer(), create_body("bin-1").dump()).status, 201u);
  EXPECT_EQ(client.get("/v1/models/bin-1/configurations/quality").status, 200u);
  auto forged = writer();
  forged["Authorization"] = "Bearer " + token_ + "x";
  EXPECT_EQ(client.request("POST", "/v1/configurations", forged, create_body("bin-2").dump()).status, 401u);
  EXPECT_EQ(serve.signal_and_wait(SIGINT), 0) << serve.err();
}

TEST_F(Binary, ATakenPortFailsFastWithAMessage) {
  ServeProcess first(serve_args());
  const auto port = first.wait_for_port();
  ASSERT_NE(port, 0) << first.err();
  const auto second = run_process(inferconf_binary(), serve_args("127.0.0.1:" + std::to_string(port)), {}, {}, 30);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("Cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << second.err;
  EXPECT_EQ(first.signal_and_wait(SIGTERM), 0);
}

TEST_F(Binary, SigtermDuringAStreamOfWritesKeepsEveryAcknowledgedWrite) {
  std::vector<std::string> acknowledged;
  {
    ServeProcess serve(serve_args());
    const auto port = serve.wait_for_port();
    ASSERT_NE(port, 0) << serve.err();
    std::mutex mutex;
    std::atomic<bool> go_on{true};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; go_on; ++i) {
          try {
            HttpClient c(port, std::chrono::seconds(20));
            for (int k = 0; k < 5 && go_on; ++k) {  // keep-alive, and new connections
              Reply r = c.request("POST", "/v1/configurations", writer(),
                                  create_body(fmt::format("sig-{}-{}-{}", w, i, k)).dump());
              if (r.status / 100 == 2) {
                std::lock_guard lock(mutex);
                acknowledged.push_back(r.json()["id"]);
              }
              if (r.closed) break;
            }
          } catch (const std::exception&) {
            // refused or reset once the server stops accepting
          }
        }
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    const int code = serve.signal_and_wait(SIGTERM);
    go_on = false;
    for (auto& t : writers) t.join();
    EXPECT_EQ(code, 0) << serve.err();
    EXPECT_NE(serve.err().find("SIGTERM"), std::string::npos) << serve.err();
  }
  ASSERT_FALSE(acknowledged.empty());
  // Restart on the same file: every acknowledged write is there.
  ServeProcess again(serve_args());
  const auto port = again.wait_for_port();
  ASSERT_NE(port, 0) << again.err();
  HttpClient client(port);
  for (const auto& id : acknowledged) {
    EXPECT_EQ(client.get("/v1/configurations/" + id).status, 200u) << id;
  }
  EXPECT_GE(client.get("/readyz").json()["configurations"].get<std::size_t>(), acknowledged.size());
  EXPECT_EQ(again.signal_and_wait(SIGTERM), 0);
}

}  // namespace
}  // namespace inferconf::testing
