// `inferconf serve`: the HTTP server.
//
// N worker threads, each running its own io_context (one thread each, so
// sessions need no locks); one acceptor hands connections out round-robin.
// Work that touches the store runs on two small pools, one for reads
// (exports, resolutions that consult the registry, readiness probes) and one
// for writes, so a slow store never stalls the network threads and a flood
// of reads cannot queue ahead of the writes. A refresher thread applies the store's
// change log to the index every refresh_interval.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include "http/transport/access_log.hpp"
#include "http/api/api.hpp"
#include "http/index/index_sync.hpp"
#include "http/transport/session.hpp"

namespace inferconf::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; [v6]:PORT; port 0 picks a free one
  unsigned threads = 0;                   // network threads; 0: one per core
  unsigned read_threads = 2;              // store reads (exports, registry look-ups, probes)
  unsigned write_threads = 2;             // store writes
  ApiOptions api;
  std::chrono::milliseconds refresh_interval{1000};
  LogFormat log_format = LogFormat::kText;
  int log_fd = 1;  // request log (standard output by default)
  SessionLimits limits;
  std::chrono::milliseconds shutdown_timeout{10000};  // in-flight requests get this long to finish
  // Open connections beyond this are answered 503 with Retry-After and
  // closed. 0: sized below the process's descriptor limit
  // (default_max_connections()).
  std::size_t max_connections = 0;
  // Host names answered (see HostPolicy); empty: any name on a non-loopback
  // address, loopback names only on a loopback address.
  std::vector<std::string> allowed_hosts;
  bool handle_signals = false;  // SIGTERM / SIGINT start a graceful shutdown
  // Called on the acceptor's thread for each accepted connection before it is
  // admitted (an embedding program's connection count or trace). An exception
  // it throws closes that connection and is logged; accepting goes on.
  std::function<void()> connection_admitted;
};

// The numbers `serve` prints at start.
struct ServerStartup {
  std::size_t configurations = 0;
  std::size_t max_connections = 0;  // the limit in force
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
  // Starts a session for an accepted connection, or answers 503 and closes it
  // beyond max_connections.
  void admit(boost::asio::ip::tcp::socket&& socket, Worker& target);
  // After an accept error (no descriptors left): waits, then accepts again,
  // so the loop does not spin; warns at most once per interval.
  void accept_later(const boost::system::error_code& ec);
  // Runs an io_context until it is stopped; an exception escaping a handler
  // is logged and the loop goes on.
  static void run_guarded(boost::asio::io_context& io, const char* name);
  void start_housekeeping(Worker& w);
  void refresh_loop();
  MetricsGauges gauges() const;

  ServerOptions options_;
  IndexSync sync_;
  Metrics metrics_;
  AccessLog log_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<boost::asio::thread_pool> reads_, writes_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::steady_timer> accept_retry_;
  // SIGINT/SIGTERM, caught from construction on (when options.handle_signals), so that a signal arriving
  // after `serve` printed its address but before run() shuts down gracefully instead of ending the process.
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::chrono::steady_clock::time_point last_accept_warning_{};
  std::size_t accept_errors_since_warning_ = 0;
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

// The default --max-connections: the soft limit on open descriptors minus a
// reserve for the store, the log and the event loops (a quarter of it, from
// 16 to 256), at least 1.
std::size_t default_max_connections();

// Parses HOST:PORT / [V6]:PORT. Throws Error(kInvalid) naming the value.
std::pair<std::string, unsigned short> parse_listen_address(const std::string& text);

}  // namespace inferconf::http
