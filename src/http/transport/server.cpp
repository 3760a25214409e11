#include "http/transport/server.hpp"

#include <sys/resource.h>

#include <charconv>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/api/problem.hpp"
#include "inferconf/error.hpp"

namespace inferconf::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The whole answer to a connection over the limit: written straight to the
// socket (it is new, so its send buffer is empty) without a session.
const std::string& too_many_connections() {
  static const std::string text = [] {
    const Response r = problem("unavailable", "The server has as many connections open as it allows "
                                              "(--max-connections); retry in a second.");
    return fmt::format("HTTP/1.1 503 Service Unavailable\r\nServer: inferconf\r\nContent-Type: {}\r\n"
                       "Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
                       r.content_type, r.body.size(), r.body);
  }();
  return text;
}

}  // namespace

std::size_t default_max_connections() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 10000;
  const auto soft = static_cast<std::size_t>(rl.rlim_cur);
  const std::size_t reserve = std::clamp<std::size_t>(soft / 4, 16, 256);
  return soft > reserve ? soft - reserve : 1;
}

void Server::run_guarded(asio::io_context& io, const char* name) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("The {} thread caught an unexpected error and goes on: {}", name, e.what());
    } catch (...) {
      spdlog::error("The {} thread caught an unexpected non-standard exception and goes on.", name);
    }
  }
}

std::pair<std::string, unsigned short> parse_listen_address(const std::string& text) {
  auto fail = [&] {
    return invalid(fmt::format("--listen \"{}\" is not HOST:PORT; use e.g. 127.0.0.1:8080, [::1]:8080, or port 0 "
                               "for any free port.",
                               text),
                   {{"listen", "must be HOST:PORT with PORT from 0 to 65535."}});
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw fail();
  std::string host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']') throw fail();
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    throw fail();
  if (host == "localhost") host = "127.0.0.1";
  return {host, static_cast<unsigned short>(port)};
}

Server::Server(Store& store, const Catalog& catalog, ServerOptions options)
    : options_(std::move(options)),
      sync_(store, catalog),
      metrics_(options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency())),
      log_(options_.log_format, options_.log_fd) {
  const unsigned threads = options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->worker_count = threads;
    w->metrics = &metrics_.worker(i);
    workers_.push_back(std::move(w));
  }

  // Bind first: a taken port fails in milliseconds, before any loading.
  const auto [host, port] = parse_listen_address(options_.listen);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec)
    throw invalid(fmt::format("--listen \"{}\": \"{}\" is not an IP address; use 127.0.0.1, ::1, 0.0.0.0 or another "
                              "address of this machine.",
                              options_.listen, host),
                  {{"listen", "must name an IP address."}});
  loopback_ = address.is_loopback();
  host_ = address.is_v6() ? "[" + host + "]" : host;
  acceptor_ = std::make_unique<tcp::acceptor>(workers_[0]->io);
  const tcp::endpoint endpoint(address, port);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw unavailable(fmt::format("Cannot listen on {}: {}. {}", options_.listen, ec.message(),
                                  ec == asio::error::address_in_use
                                      ? "Another process uses this port: stop it, or choose another port with --listen."
                                      : "Check the address is one of this machine's and the port is allowed."));
  port_ = acceptor_->local_endpoint().port();

  // From here on a SIGINT/SIGTERM waits in the signal set: the caller prints the address next, and a signal
  // sent as soon as it appears starts the graceful shutdown when run() begins rather than killing the process.
  if (options_.handle_signals) {
    signals_ = std::make_unique<asio::signal_set>(workers_[0]->io, SIGINT, SIGTERM);
    signals_->async_wait([this](boost::system::error_code signal_ec, int signal) {
      if (signal_ec) return;
      spdlog::info("Received {}; shutting down gracefully.", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      stop();
    });
  }

  const auto t0 = std::chrono::steady_clock::now();
  sync_.load();
  startup_.configurations = sync_.index().size();
  startup_.load_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  last_refresh_ms_ = steady_ms();

  reads_ = std::make_unique<asio::thread_pool>(std::max(1u, options_.read_threads));
  writes_ = std::make_unique<asio::thread_pool>(std::max(1u, options_.write_threads));
  if (options_.max_connections == 0) options_.max_connections = default_max_connections();
  startup_.max_connections = options_.max_connections;
  accept_retry_ = std::make_unique<asio::steady_timer>(workers_[0]->io);
  ServerStatus status;
  status.metrics_text = [this] { return metrics_.render(gauges()); };
  status.store_error = [this] { metrics_.store_error(); };
  status.accepting = [this] { return accepting_.load(); };
  api_ = std::make_unique<Api>(sync_, catalog, options_.api, std::move(status));
  session_context_.api = api_.get();
  session_context_.log = &log_;
  session_context_.reads = reads_.get();
  session_context_.writes = writes_.get();
  session_context_.limits = options_.limits;
  session_context_.hosts.allowed = options_.allowed_hosts;
  session_context_.hosts.loopback_only = loopback_;
  session_context_.open_connections = &open_connections_;
}

Server::~Server() {
  if (reads_) reads_->join();
  if (writes_) writes_->join();
  if (refresher_.joinable()) {
    stop();
    refresher_.join();
  }
}

std::string Server::url() const { return fmt::format("http://{}:{}", host_, port_); }

MetricsGauges Server::gauges() const {
  MetricsGauges g;
  g.configurations = sync_.index().size();
  g.open_connections = open_connections_.load(std::memory_order_relaxed);
  g.index_refreshes = refreshes_.load();
  g.index_changes_applied = refreshed_changes_.load();
  g.index_age_seconds = static_cast<double>(steady_ms() - last_refresh_ms_.load()) / 1000.0;
  return g;
}

void Server::accept_next() {
  Worker& target = *workers_[next_worker_];
  next_worker_ = (next_worker_ + 1) % workers_.size();
  acceptor_->async_accept(target.io, [this, &target](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (ec) return accept_later(ec);
    // Whatever happens to this connection, the acceptor accepts the next one:
    // an exception leaving this handler would be caught by the thread's loop,
    // but nothing would accept again.
    try {
      admit(std::move(socket), target);
    } catch (...) {
      spdlog::error("The acceptor could not start a session for a new connection ({}); that connection is closed, "
                    "the server goes on accepting.",
                    describe_current_exception());
      boost::system::error_code ignored;
      socket.close(ignored);
    }
    accept_next();
  });
}

void Server::admit(tcp::socket&& socket, Worker& target) {
  if (options_.connection_admitted) options_.connection_admitted();
  if (open_connections_.load(std::memory_order_relaxed) >= options_.max_connections) {
    // Answered rather than dropped, so the client knows to come back.
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(too_many_connections()), ignored);
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
    metrics_.worker(0).connection_refused();  // the acceptor runs on worker 0's thread
    return;
  }
  auto session = std::make_shared<Session>(std::move(socket), target, session_context_);
  asio::post(target.io, [session] { session->start(); });
}

void Server::accept_later(const boost::system::error_code& ec) {
  // Without a pause the acceptor would fail again at once, forever, at full
  // CPU and with one warning per attempt.
  ++accept_errors_since_warning_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_accept_warning_ >= std::chrono::seconds(10)) {
    spdlog::warn("Cannot accept connections ({}; {} time(s) since the last warning); retrying every 100 ms. {}",
                 ec.message(), accept_errors_since_warning_,
                 ec == asio::error::no_descriptors
                     ? fmt::format("Raise the descriptor limit (ulimit -n) or lower --max-connections (now {}).",
                                   options_.max_connections)
                     : std::string("Check the system's resources."));
    last_accept_warning_ = now;
    accept_errors_since_warning_ = 0;
  }
  accept_retry_->expires_after(std::chrono::milliseconds(100));
  accept_retry_->async_wait([this](boost::system::error_code wait_ec) {
    if (wait_ec || !acceptor_->is_open()) return;
    accept_next();
  });
}

void Server::start_housekeeping(Worker& w) {
  if (!w.housekeeping) w.housekeeping.emplace(w.io);
  w.housekeeping->expires_after(std::chrono::milliseconds(250));
  w.housekeeping->async_wait([this, &w](boost::system::error_code ec) {
    log_.write(w.log_buffer);
    if (ec) return;
    const auto now = std::chrono::steady_clock::now();
    // Copy: checking a deadline may close and so destroy a session.
    std::vector<std::shared_ptr<Session>> sessions;
    sessions.reserve(w.sessions.size());
    for (Session* s : w.sessions)
      if (auto alive = s->weak_from_this().lock()) sessions.push_back(std::move(alive));
    for (auto& s : sessions) s->check_deadline(now);
    if (!w.stopped) start_housekeeping(w);
  });
}

void Server::refresh_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_requested_) {
    stop_cv_.wait_for(lock, options_.refresh_interval, [this] { return stop_requested_; });
    if (stop_requested_) break;
    lock.unlock();
    try {
      const std::size_t changed = sync_.refresh();
      refreshes_.fetch_add(1);
      refreshed_changes_.fetch_add(changed);
      last_refresh_ms_ = steady_ms();
    } catch (const std::exception& e) {
      metrics_.store_error();
      spdlog::warn("Could not refresh the index from the store: {} (retrying every {} ms)", e.what(),
                   options_.refresh_interval.count());
    } catch (...) {
      metrics_.store_error();
      spdlog::warn("Could not refresh the index from the store: a non-standard exception (retrying every {} ms)",
                   options_.refresh_interval.count());
    }
    lock.lock();
  }
}

void Server::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_requested_ = true;
  }
  stop_cv_.notify_all();
}

void Server::run() {
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers_) guards.push_back(asio::make_work_guard(w->io));
  for (auto& w : workers_) start_housekeeping(*w);
  accept_next();
  accepting_ = true;
  std::vector<std::thread> threads;
  for (auto& w : workers_) threads.emplace_back([&io = w->io] { run_guarded(io, "network"); });
  refresher_ = std::thread([this] { refresh_loop(); });

  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return stop_requested_; });
  }
  accepting_ = false;
  refresher_.join();

  // 1. Stop accepting; close connections that are between requests.
  asio::post(workers_[0]->io, [this] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    accept_retry_->cancel();
    if (signals_) signals_->cancel(ignored);
  });
  for (auto& w : workers_)
    asio::post(w->io, [&w = *w] {
      w.draining = true;
      std::vector<std::shared_ptr<Session>> sessions;
      for (Session* s : w.sessions)
        if (auto alive = s->weak_from_this().lock()) sessions.push_back(std::move(alive));
      for (auto& s : sessions) s->drain();
    });
  // 2. Let in-flight requests finish, within the bound.
  const auto deadline = std::chrono::steady_clock::now() + options_.shutdown_timeout;
  while (open_connections_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (open_connections_.load() > 0)
    spdlog::warn("{} connection(s) still busy after {} ms; closing them.", open_connections_.load(),
                 options_.shutdown_timeout.count());
  // 3. Store writes already started complete (their answers may no longer be
  // deliverable, but what the store committed stays committed).
  writes_->join();
  reads_->join();
  // 4. Close what is left; each worker's loop then runs out of work.
  for (auto& w : workers_)
    asio::post(w->io, [&w = *w] {
      std::vector<std::shared_ptr<Session>> sessions;
      for (Session* s : w.sessions)
        if (auto alive = s->weak_from_this().lock()) sessions.push_back(std::move(alive));
      for (auto& s : sessions) s->force_close();
      w.stopped = true;
      if (w.housekeeping) w.housekeeping->cancel();
    });
  guards.clear();
  for (auto& t : threads) t.join();
  for (auto& w : workers_) log_.write(w->log_buffer);
}

}  // namespace inferconf::http
