// A child process we talk to line by line while it runs: the scripted
// MongoDB peer (mock_peer.py) of the contract tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferconf::testing {

class PeerProcess {
 public:
  explicit PeerProcess(const std::vector<std::string>& argv);
  ~PeerProcess();  // kills the child if it is still running
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  // The next line of the child's stdout (without '\n'); empty on EOF or timeout.
  std::string read_line(std::chrono::milliseconds timeout);
  // Everything the child writes until it exits (or timeout), then reaps it.
  std::string read_rest(std::chrono::milliseconds timeout);
  void write_line(const std::string& line);
  // Sends sig, reads what is left (until exit or timeout; SIGKILL then) and
  // returns the exit code (128 + signal when killed by one). `rest` gets the output.
  int signal_and_wait(int sig, std::chrono::milliseconds timeout, std::string* rest);

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
  bool eof_ = false;

  bool fill(std::chrono::steady_clock::time_point deadline);
};

// Replaces every `from` in text (not std::regex: GCC 12 warns inside it under
// the sanitizer build).
void replace_all(std::string& text, const std::string& from, const std::string& to);

// The names (without .json) of the case files in dir, sorted: the parameters
// of a case-driven test.
std::vector<std::string> case_names(const std::filesystem::path& dir);

// mock_peer.py started on one case file, and the connection string that
// reaches it: the case's "uri" (default: loopback, database testdb, the given
// server-selection and socket timeouts) with {port} filled in, plus the case's
// "uri_options" and, for "topology": "replset", replicaSet=rs0.
struct MockPeer {
  std::unique_ptr<PeerProcess> process;
  std::string uri;    // empty when the peer did not start
  std::string error;  // then: what it printed
};
MockPeer start_mock_peer(const std::filesystem::path& script, const std::filesystem::path& case_file,
                         const nlohmann::json& spec, int selection_timeout_ms, int socket_timeout_ms);

}  // namespace inferconf::testing
