// A child process we talk to line by line while it runs: the scripted
// MongoDB peer (mock_peer.py) of the contract tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

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

}  // namespace inferconf::testing
