// A small synchronous HTTP/1.1 client over a real socket (Beast), for the
// end-to-end tests: one keep-alive connection, or raw bytes for requests a
// well-behaved client would never send.
#pragma once

#include <utility>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <nlohmann/json.hpp>

namespace inferconf::testing {

struct Reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed = false;  // the server said Connection: close, or closed the socket

  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const { return headers.count(name) > 0; }
  nlohmann::json json() const;  // throws when the body is not JSON
};

class HttpClient {
 public:
  explicit HttpClient(unsigned short port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();

  Reply request(const std::string& method, const std::string& target,
                const std::map<std::string, std::string>& headers = {}, const std::string& body = {});
  Reply get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return request("GET", target, headers);
  }
  // Sends bytes as they are, then reads one response.
  Reply raw(const std::string& bytes);
  // Reads one more response (pipelining).
  Reply read_reply();
  // Sends bytes without reading.
  void send(const std::string& bytes);
  // Whether the server has closed the connection (waits at most `wait`).
  bool closed_by_server(std::chrono::milliseconds wait);

 private:
  void connect();
  unsigned short port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context io_;
  std::optional<boost::asio::ip::tcp::socket> socket_;
  boost::beast::flat_buffer buffer_;
  bool skip_body_ = false;
};

}  // namespace inferconf::testing
