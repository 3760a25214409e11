#include "http/raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

namespace inferconf::testing {

RawSocket::RawSocket(unsigned short port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect() failed");
  }
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_.count())) <= 0) return false;
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void RawSocket::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

std::string RawSocket::read_some(std::chrono::milliseconds wait) {
  std::string out;
  char buf[65536];
  const auto end = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;  // closed, or reset
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string RawSocket::read_all() { return read_some(timeout_); }

unsigned first_status(const std::string& bytes) {
  if (bytes.size() < 12 || bytes.compare(0, 5, "HTTP/") != 0) return 0;
  const auto space = bytes.find(' ');
  if (space == std::string::npos || space + 4 > bytes.size()) return 0;
  return static_cast<unsigned>(std::stoul(bytes.substr(space + 1, 3)));
}

std::size_t count_answers(const std::string& bytes) {
  std::size_t n = 0;
  for (std::size_t at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1))
    if (at == 0 || bytes.compare(at - 2, 2, "\r\n") == 0 || bytes[at - 1] == '}') ++n;
  return n;
}

std::size_t resident_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace inferconf::testing
