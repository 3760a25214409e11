// One client connection: reads requests (HTTP/1.1 keep-alive, pipelining),
// hands them to the Api, writes the answers, and logs and counts each.
//
// A session lives on one worker's io_context and is only ever touched by
// that worker's thread (no strand needed); blocking work runs on the shared
// blocking pool and its answer is posted back. Timeouts are deadlines the
// worker's housekeeping timer checks, rather than a timer per operation.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + g++ 12 in C++20)

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/transport/access_log.hpp"
#include "http/api/api.hpp"
#include "http/transport/framing.hpp"
#include "http/transport/metrics.hpp"

namespace inferconf::http {

inline constexpr std::uint32_t kHeaderLimit = 8 * 1024;
inline constexpr std::uint64_t kBodyLimit = 64 * 1024;
// The most a connection's read buffer holds of bytes not yet parsed. A body
// is parsed as it arrives, so only a request head (kHeaderLimit), a chunk
// header line with its extensions, or a trailer section must fit at once:
// this bounds what a client can make the server keep.
inline constexpr std::size_t kReadBufferLimit = 16 * 1024;
// How long the answer to a client that timed out may take to leave.
inline constexpr std::chrono::milliseconds kTimeoutAnswerDeadline{2000};

class Session;

struct SessionLimits {
  // The request line and headers (and the idle time between keep-alive
  // requests), against clients that trickle a head byte by byte; the
  // shorter of this and request_timeout applies.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds request_timeout{15000};  // a whole request, head and body
  std::chrono::milliseconds write_timeout{15000};    // one answer
  std::size_t max_requests_per_connection = 1000;    // then the answer says Connection: close
};

// What every session of a worker shares. Owned by the Server.
struct Worker {
  std::size_t index = 0;
  std::size_t worker_count = 1;
  std::unordered_set<Session*> sessions;  // before io: destroyed after handlers that hold sessions
  std::string log_buffer;
  std::uint64_t next_request = 0;
  WorkerMetrics* metrics = nullptr;
  boost::asio::io_context io{1};
  std::optional<boost::asio::steady_timer> housekeeping;
  bool draining = false;
  bool stopped = false;
};

struct SessionContext {
  Api* api = nullptr;
  AccessLog* log = nullptr;
  boost::asio::thread_pool* reads = nullptr;   // jobs that read the store
  boost::asio::thread_pool* writes = nullptr;  // jobs that write it
  SessionLimits limits;
  HostPolicy hosts;
  std::atomic<std::size_t>* open_connections = nullptr;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, Worker& worker, SessionContext& context);
  ~Session();

  void start();
  // Housekeeping: close if a deadline passed. now is the worker's clock.
  void check_deadline(std::chrono::steady_clock::time_point now);
  // Shutdown: close now if between requests; otherwise after this response.
  void drain();
  void force_close();

 private:
  enum class Phase { kReading, kHandling, kWriting, kClosed };
  void read_request();
  void on_header(boost::beast::error_code ec);
  // Refuses the request without reading its body: answer, then close.
  void refuse(Response response);
  void next_request_id();
  void read_body();
  void on_body(boost::beast::error_code ec);
  void on_read_error(boost::beast::error_code ec);
  void dispatch();
  void write_response(RouteId route, Response response);
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void close();
  bool idle() const;

  boost::asio::ip::tcp::socket socket_;
  Worker& worker_;
  SessionContext& ctx_;
  boost::beast::flat_buffer buffer_{kReadBufferLimit};
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Phase phase_ = Phase::kReading;
  std::chrono::steady_clock::time_point deadline_{};
  std::chrono::steady_clock::time_point started_{};
  bool timed_out_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool close_after_write_ = false;
  std::string remote_;
  std::string method_, target_;
  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  RouteId route_ = RouteId::kUnmatched;
  std::string head_;
  Response response_;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t request_id_ = 0;
  std::size_t requests_ = 0;      // answered on this connection
  std::size_t header_fields_ = 0;  // fields of the head, to tell trailers apart
  std::chrono::steady_clock::time_point request_start_{};
};

}  // namespace inferconf::http
