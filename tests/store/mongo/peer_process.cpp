#include "store/mongo/peer_process.hpp"

#include <algorithm>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char** environ;

namespace inferconf::testing {

PeerProcess::PeerProcess(const std::vector<std::string>& argv) {
  int in_pipe[2], out_pipe[2];
  if (pipe(in_pipe) != 0) throw std::runtime_error("pipe failed");
  if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) posix_spawn_file_actions_addclose(&actions, fd);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  to_child_ = in_pipe[1];
  from_child_ = out_pipe[0];
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  signal(SIGPIPE, SIG_IGN);  // a peer that died must fail the test, not kill it
}

PeerProcess::~PeerProcess() {
  if (to_child_ >= 0) close(to_child_);
  if (from_child_ >= 0) close(from_child_);
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool PeerProcess::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{from_child_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char chunk[4096];
  const ssize_t n = read(from_child_, chunk, sizeof chunk);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::string PeerProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (!fill(deadline)) return {};
  }
}

std::string PeerProcess::read_rest(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fill(deadline)) {
  }
  std::string out = std::move(buffer_);
  buffer_.clear();
  if (eof_ && pid_ > 0) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  return out;
}

int PeerProcess::signal_and_wait(int sig, std::chrono::milliseconds timeout, std::string* rest) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fill(deadline)) {
  }
  if (!eof_) kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (rest != nullptr) *rest = std::move(buffer_);
  buffer_.clear();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void PeerProcess::write_line(const std::string& line) {
  std::string data = line + "\n";
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = write(to_child_, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) text.replace(p, from.size(), to);
}

MockPeer start_mock_peer(const std::filesystem::path& script, const std::filesystem::path& case_file,
                         const nlohmann::json& spec, int selection_timeout_ms, int socket_timeout_ms) {
  MockPeer peer;
  peer.process = std::make_unique<PeerProcess>(std::vector<std::string>{"/usr/bin/python3", script.string(),
                                                                        case_file.string()});
  const std::string first = peer.process->read_line(std::chrono::seconds(20));
  if (first.rfind("PORT ", 0) != 0) {
    peer.error = first + peer.process->read_rest(std::chrono::seconds(2));
    return peer;
  }
  std::string uri = spec.value("uri", "mongodb://127.0.0.1:{port}/testdb?serverSelectionTimeoutMS=" +
                                          std::to_string(selection_timeout_ms) + "&connectTimeoutMS=2000&socketTimeoutMS=" +
                                          std::to_string(socket_timeout_ms) + "&heartbeatFrequencyMS=500{options}");
  std::string options = spec.value("uri_options", std::string());
  if (spec.value("topology", std::string("standalone")) == "replset") options += "&replicaSet=rs0";
  replace_all(uri, "{port}", first.substr(5));
  replace_all(uri, "{options}", options);
  peer.uri = std::move(uri);
  return peer;
}

std::vector<std::string> case_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace inferconf::testing
