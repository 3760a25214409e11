// Start-up checks of the real binary, and the binary under a descriptor limit of 48 (`ulimit -n 48`): idle
// connections exhaust the descriptors; the acceptor must then back off
// (bounded CPU, a few warnings rather than one per attempt) and accept
// again once connections close.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/sanitizers.hpp"
#include "http/http_client.hpp"
#include "http/raw_socket.hpp"
#include "http/test_server.hpp"
#include "support/run_process.hpp"

extern char** environ;

namespace inferconf::testing {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// CPU seconds (user + system) the process has used.
double cpu_seconds(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void check_out_of_descriptors(const std::vector<std::string>& extra) {
  if (inferconf::testing::kUnderAddressSanitizer)
    GTEST_SKIP() << "the sanitizer runtime needs descriptors of its own; checked in the Release pass";
  const auto dir = fresh_dir("inferconf-fd-limit");
  const auto err_path = dir / "stderr.txt";
  std::vector<std::string> args = {"/bin/sh", "-c", "ulimit -n 48 && exec \"$0\" \"$@\"", inferconf_binary(),
                                   "--db", "sqlite:" + (dir / "inferconf.db").string(), "--catalog",
                                   std::string(INFERCONF_SOURCE_DIR) + "/catalog", "serve", "--listen", "127.0.0.1:0",
                                   "--threads", "2", "--log-format", "none"};
  args.insert(args.end(), extra.begin(), extra.end());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reaper{pid};

  unsigned short port = 0;
  const std::regex listening("listening on http://[^:]+:([0-9]+)");
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::smatch m;
    const std::string err = read_file(err_path);
    if (std::regex_search(err, m, listening)) port = static_cast<unsigned short>(std::stoi(m[1]));
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(port, 0) << read_file(err_path);

  std::vector<std::unique_ptr<RawSocket>> idle;
  for (int i = 0; i < 45; ++i) idle.push_back(std::make_unique<RawSocket>(port, std::chrono::milliseconds(200)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double cpu_before = cpu_seconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double cpu_used = cpu_seconds(pid) - cpu_before;
  EXPECT_LT(cpu_used, 0.5) << "CPU seconds in 2 s with the descriptors exhausted";
  const auto log_size = std::filesystem::file_size(err_path);
  EXPECT_LT(log_size, 16u * 1024) << read_file(err_path).substr(0, 2000);

  idle.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  HttpClient client(port, std::chrono::seconds(5));
  EXPECT_EQ(client.get("/healthz").status, 200u) << read_file(err_path).substr(0, 2000);
  std::filesystem::remove_all(dir);
}

TEST(DescriptorLimit, AnExhaustedAcceptorBacksOffAndAcceptsAgain) { check_out_of_descriptors({"--max-connections", "1000"}); }

TEST(DescriptorLimit, TheDefaultConnectionLimitStaysBelowTheDescriptorLimit) { check_out_of_descriptors({}); }

TEST(TokensFileAtStartUp, AuthReadsWithAFileOfOnlyCommentsRefusesToStart) {
  const auto dir = fresh_dir("inferconf-empty-tokens");
  std::ofstream(dir / "tokens") << "# no token yet\n\n";
  const auto r = run_process(inferconf_binary(),
                             {"--db", "sqlite:" + (dir / "inferconf.db").string(), "--catalog",
                              std::string(INFERCONF_SOURCE_DIR) + "/catalog", "serve", "--listen", "127.0.0.1:0",
                              "--auth-reads", "--tokens-file", (dir / "tokens").string()},
                             {}, {}, 30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("lists no token"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace inferconf::testing
