// A blunt client for hostile tests: a plain TCP socket that sends bytes as
// given (stopping quietly when the server hangs up), can half-close, and
// reads whatever comes back until the server closes or a timeout passes.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace inferconf::testing {

class RawSocket {
 public:
  explicit RawSocket(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Sends all of bytes; false when the server closed before all were sent.
  bool send(const std::string& bytes);
  void shutdown_send();
  // Everything received until the server closes the connection or nothing
  // arrives for the timeout.
  std::string read_all();
  // Everything received within `wait` (less if the server closes first).
  std::string read_some(std::chrono::milliseconds wait);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
};

// The status of the first answer in `bytes` (0: none).
unsigned first_status(const std::string& bytes);
// How many answers' status lines `bytes` holds.
std::size_t count_answers(const std::string& bytes);
// This process's resident memory, in bytes.
std::size_t resident_bytes();

}  // namespace inferconf::testing
