#include "http/http_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>

namespace inferconf::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::string Reply::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

nlohmann::json Reply::json() const { return nlohmann::json::parse(body); }

HttpClient::HttpClient(unsigned short port, std::chrono::milliseconds timeout) : port_(port), timeout_(timeout) {
  connect();
}

HttpClient::~HttpClient() {
  boost::system::error_code ignored;
  if (socket_) socket_->close(ignored);
}

void HttpClient::connect() {
  socket_.emplace(io_);
  socket_->connect({asio::ip::make_address("127.0.0.1"), port_});
  // Blocking reads that never return would hang the test suite: bound them.
  timeval tv{static_cast<time_t>(timeout_.count() / 1000), static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  setsockopt(socket_->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket_->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  buffer_.clear();
}

void HttpClient::send(const std::string& bytes) {
  if (!socket_ || !socket_->is_open()) connect();
  asio::write(*socket_, asio::buffer(bytes));
}

Reply HttpClient::read_reply() {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.skip(skip_body_);  // a response to HEAD has Content-Length but no body
  skip_body_ = false;
  bhttp::read(*socket_, buffer_, parser);
  Reply reply;
  auto& res = parser.get();
  reply.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = res.body();
  reply.closed = !res.keep_alive();
  if (reply.closed) {
    boost::system::error_code ignored;
    socket_->close(ignored);
  }
  return reply;
}

Reply HttpClient::request(const std::string& method, const std::string& target,
                          const std::map<std::string, std::string>& headers, const std::string& body) {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    text += name + ": " + value + "\r\n";
    std::string lower = name;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-length" || lower == "transfer-encoding") has_length = true;
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PATCH"))
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  text += "\r\n" + body;
  skip_body_ = method == "HEAD";
  return raw(text);
}

Reply HttpClient::raw(const std::string& bytes) {
  if (!socket_ || !socket_->is_open()) connect();
  boost::system::error_code ec;
  asio::write(*socket_, asio::buffer(bytes), ec);
  // The server may answer (413, 431) and close before reading everything.
  if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) throw boost::system::system_error(ec);
  return read_reply();
}

bool HttpClient::closed_by_server(std::chrono::milliseconds wait) {
  if (!socket_ || !socket_->is_open()) return true;
  // Whatever the server still sends (a last answer) is read and dropped
  // until it closes, or `wait` passes.
  const auto until = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{socket_->native_handle(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(socket_->native_handle(), buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
}

}  // namespace inferconf::testing
