// `make run` on a fresh clone: the recipe lines of the Makefile's `run` target,
// read from the Makefile itself (so the test follows the recipe), run in an
// empty folder with the default store and an ephemeral port. The newcomer's
// first run shows no error line, the job (demo, populate) exits 0, and
// populate decides every demo model's base model from its checkpoint header.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"

extern char** environ;

namespace inferconf::testing {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
}

// The Makefile's `run` recipe, as shell lines: the built binary for
// ./$(BUILD)/inferconf, the Makefile's default DB, and port 0 for LISTEN.
std::vector<std::string> run_recipe() {
  const auto makefile = read_file(fs::path(INFERCONF_SOURCE_DIR) / "Makefile");
  std::smatch db;
  if (!std::regex_search(makefile, db, std::regex(R"(\nDB\s*\?=\s*(\S+))"))) return {};
  std::vector<std::string> lines;
  std::istringstream in(makefile);
  bool in_run = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("run:", 0) == 0) {
      in_run = true;
      continue;
    }
    if (!in_run) continue;
    if (line.empty() || line[0] != '\t') break;
    line.erase(0, 1);
    replace_all(line, "./$(BUILD)/inferconf", "'" + inferconf_binary() + "'");
    replace_all(line, "$(DB)", db[1].str());
    replace_all(line, "$(LISTEN)", "127.0.0.1:0");
    replace_all(line, "$$", "$");
    lines.push_back(line);
  }
  return lines;
}

// Lines of `text` that say error (or warn), whatever the case.
std::vector<std::string> error_lines(const std::string& text) {
  std::vector<std::string> out;
  const std::regex bad("error|warn", std::regex::icase);
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, bad)) out.push_back(line);
  return out;
}

// A shell line started in `dir`, standard error collected until it says it listens.
class Background {
 public:
  Background(const fs::path& dir, const std::string& line) {
    int err_pipe[2];
    if (pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
    posix_spawn_file_actions_addclose(&actions, err_pipe[1]);
    std::string sh = "/bin/sh", c = "-c", cmd = "cd '" + dir.string() + "' && exec " + line;
    char* argv[] = {sh.data(), c.data(), cmd.data(), nullptr};
    const int rc = posix_spawn(&pid_, "/bin/sh", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(err_pipe[1]);
    err_fd_ = err_pipe[0];
    if (rc != 0) throw std::runtime_error("cannot start /bin/sh");
  }
  ~Background() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(err_fd_);
  }
  bool wait_for_listening(std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (err_.find("listening on http://") != std::string::npos) return true;
      pollfd pfd{err_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(err_fd_, buf, sizeof buf);
      if (n <= 0) return false;
      err_.append(buf, static_cast<std::size_t>(n));
    }
    return false;
  }
  int stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
};

class MakeRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferconf-make-run-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessResult shell(const std::string& line) {
    return run_process("/bin/sh", {"-c", "cd '" + dir_.string() + "' && " + line}, {}, {}, 300);
  }

  fs::path dir_;
};

TEST(MakeRunRecipe, IsDemoPopulateServeWithoutToleratedFailures) {
  const auto lines = run_recipe();
  ASSERT_EQ(lines.size(), 3u) << "the Makefile's run target changed; this test runs its lines";
  EXPECT_NE(lines[0].find(" demo"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find(" populate"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(" serve "), std::string::npos) << lines[2];
  // The job must succeed as it is: no `|| ...` hiding an exit code.
  for (const auto& l : lines) EXPECT_EQ(l.find("||"), std::string::npos) << l;
}

TEST_F(MakeRun, FreshStoreShowsNoErrorAndDecidesEveryBaseModelFromTheFileHeader) {
  const auto lines = run_recipe();
  ASSERT_EQ(lines.size(), 3u);

  const auto demo = shell(lines[0]);
  EXPECT_EQ(demo.exit_code, 0) << demo.out << demo.err;
  EXPECT_EQ(error_lines(demo.out + demo.err), std::vector<std::string>{}) << demo.out << demo.err;

  const auto populate = shell(lines[1]);
  EXPECT_EQ(populate.exit_code, 0) << populate.out << populate.err;
  EXPECT_EQ(error_lines(populate.out + populate.err), std::vector<std::string>{}) << populate.out << populate.err;

  // Each active model of the demo registry: its block of the report names the
  // base model the file's layout means, decided from the file, without conflict.
  const std::map<std::string, std::string> expected = {
      {"Juggernaut XL", "sdxl"},          {"RealVisXL V4.0", "sdxl"},         {"Pony Diffusion V6 XL", "pony"},
      {"Flux.1-dev", "flux_dev"},          {"Flux.1-schnell", "flux_schnell"}, {"FLUX.1 Krea [dev]", "flux_krea"},
      {"Wan 2.1 T2V 14B", "wan_2_1"},      {"Wan 2.1 T2V 1.3B", "wan_2_1"},    {"Wan 2.2 TI2V 5B", "wan_2_2"},
      {"Wan 2.2 T2V A14B", "wan_2_2"},     {"HiDream I1 Full", "hidream"},     {"HiDream I1 Dev", "hidream"},
      {"Realistic Vision V6.0 B1", "sd_1_5"}, {"DreamShaper 8", "sd_1_5"}};
  std::ifstream registry(fs::path(INFERCONF_SOURCE_DIR) / "examples/demo_models.jsonl");
  std::size_t active = 0;
  for (std::string line; std::getline(registry, line);) {
    const auto record = nlohmann::json::parse(line);
    if (!record.value("is_active", true)) continue;
    ++active;
    const auto name = record["name"].get<std::string>();
    SCOPED_TRACE(name);
    ASSERT_TRUE(expected.count(name)) << "a demo model this test does not know";
    const auto start = populate.out.find("\nProcessing: " + name + " (");
    ASSERT_NE(start, std::string::npos) << populate.out;
    const auto end = populate.out.find("\nProcessing: ", start + 1);
    const auto block = populate.out.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_NE(block.find("(base_model: " + expected.at(name) + ")"), std::string::npos) << block;
    EXPECT_NE(block.find("- base model from file ("), std::string::npos) << block;
    EXPECT_NE(block.find(record["file_path"].get<std::string>()), std::string::npos) << block;
    EXPECT_EQ(block.find("conflict"), std::string::npos) << block;
    EXPECT_NE(block.find("- quality: created"), std::string::npos) << block;
  }
  EXPECT_EQ(active, expected.size());
  EXPECT_NE(populate.out.find("Base model decided by: file " + std::to_string(active)), std::string::npos)
      << populate.out;

  // Fourteen checkpoints of several gigabytes each, a few hundred kilobytes on disk.
  std::uintmax_t apparent = 0, on_disk = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "data" / "models")) {
    if (!e.is_regular_file()) continue;
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    apparent += static_cast<std::uintmax_t>(st.st_size);
    on_disk += static_cast<std::uintmax_t>(st.st_blocks) * 512u;
  }
  EXPECT_GT(apparent, 50ull << 30);
  EXPECT_LT(on_disk, 16ull << 20);

  // Serving: up without an error line, and saying how to make writes work.
  Background serve(dir_, lines[2]);
  ASSERT_TRUE(serve.wait_for_listening(std::chrono::seconds(60))) << serve.err();
  EXPECT_EQ(error_lines(serve.err()), std::vector<std::string>{}) << serve.err();
  EXPECT_NE(serve.err().find("inferconf token new"), std::string::npos) << serve.err();
  EXPECT_NE(serve.err().find("--tokens-file"), std::string::npos) << serve.err();
  serve.stop();  // Ctrl-C in `make run`; how the server ends is the http tests' concern

  // A second run of the job changes nothing and still says nothing wrong.
  const auto again = shell(lines[0] + " >/dev/null && " + lines[1]);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(error_lines(again.out + again.err), std::vector<std::string>{}) << again.out << again.err;
}

}  // namespace
}  // namespace inferconf::testing
