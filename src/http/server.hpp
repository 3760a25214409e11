// `inferconf serve`: the HTTP server.
//
// N worker threads, each running its own io_context (one thread each, so
// sessions need no locks); one acceptor hands connections out round-robin.
// Writes and readiness probes run on a small blocking pool so a slow store
// never stalls the network threads. A refresher thread applies the store's
// change log to the index every refresh_interval.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/access_log.hpp"
#include "http/api.hpp"
#include "http/index_sync.hpp"
#include "http/session.hpp"

namespace inferconf::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; [v6]:PORT; port 0 picks a free one
  unsigned threads = 0;                   // network threads; 0: one per core
  unsigned blocking_threads = 4;          // store writes and probes
  ApiOptions api;
  std::chrono::milliseconds refresh_interval{1000};
  LogFormat log_format = LogFormat::kText;
  int log_fd = 1;  // request log (standard output by default)
  SessionLimits limits;
  std::chrono::milliseconds shutdown_timeout{10000};  // in-flight requests get this long to finish
  std::size_t max_connections = 10000;
  bool handle_signals = false;  // SIGTERM / SIGINT start a graceful shutdown
};

// The numbers `serve` prints at start.
struct ServerStartup {
  std::size_t configurations = 0;
  std::chrono::milliseconds load_time{0};
};

class Server {
 public:
  // Binds the listening socket, then loads the index. Throws
  // Error(kUnavailable) naming the address when it cannot be bound (port
  // taken, address not local), Error(kInvalid) for a malformed address, and
  // the store's errors.
  Server(Store& store, const Catalog& catalog, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:PORT
  const ServerStartup& startup() const { return startup_; }
  bool loopback_only() const { return loopback_; }

  // Serves until stop() or a signal, then shuts down gracefully: stops
  // accepting, closes idle connections, lets in-flight requests finish (at
  // most shutdown_timeout), waits for store writes, flushes the log.
  void run();
  // Starts the shutdown; any thread, idempotent.
  void stop();

  IndexSync& sync() { return sync_; }

 private:
  void accept_next();
  void start_housekeeping(Worker& w);
  void refresh_loop();
  MetricsGauges gauges() const;

  ServerOptions options_;
  IndexSync sync_;
  Metrics metrics_;
  AccessLog log_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<boost::asio::thread_pool> blocking_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  SessionContext session_context_;
  std::atomic<std::size_t> open_connections_{0};
  std::size_t next_worker_ = 0;
  unsigned short port_ = 0;
  bool loopback_ = true;
  std::string host_;
  ServerStartup startup_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_requested_ = false;
  std::atomic<bool> accepting_{false};
  std::thread refresher_;
  std::atomic<std::uint64_t> refreshes_{0}, refreshed_changes_{0};
  std::atomic<std::int64_t> last_refresh_ms_{0};
};

// Parses HOST:PORT / [V6]:PORT. Throws Error(kInvalid) naming the value.
std::pair<std::string, unsigned short> parse_listen_address(const std::string& text);

}  // namespace inferconf::http
