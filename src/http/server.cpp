#include "http/server.hpp"

#include <charconv>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace inferconf::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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

  const auto t0 = std::chrono::steady_clock::now();
  sync_.load();
  startup_.configurations = sync_.index().size();
  startup_.load_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  last_refresh_ms_ = steady_ms();

  blocking_ = std::make_unique<asio::thread_pool>(std::max(1u, options_.blocking_threads));
  ServerStatus status;
  status.gauges = [this] { return gauges(); };
  status.accepting = [this] { return accepting_.load(); };
  api_ = std::make_unique<Api>(sync_, catalog, metrics_, options_.api, std::move(status));
  session_context_.api = api_.get();
  session_context_.log = &log_;
  session_context_.blocking = blocking_.get();
  session_context_.limits = options_.limits;
  session_context_.open_connections = &open_connections_;
}

Server::~Server() {
  if (blocking_) blocking_->join();
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
    if (!ec) {
      if (open_connections_.load(std::memory_order_relaxed) >= options_.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto session = std::make_shared<Session>(std::move(socket), target, session_context_);
        asio::post(target.io, [session] { session->start(); });
      }
    } else if (ec == asio::error::no_descriptors) {
      spdlog::warn("Out of file descriptors while accepting connections; raise the limit (ulimit -n).");
    }
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
  std::optional<asio::signal_set> signals;
  if (options_.handle_signals) {
    signals.emplace(workers_[0]->io, SIGINT, SIGTERM);
    signals->async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      spdlog::info("Received {}; shutting down gracefully.", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      stop();
    });
  }
  for (auto& w : workers_) start_housekeeping(*w);
  accept_next();
  accepting_ = true;
  std::vector<std::thread> threads;
  for (auto& w : workers_) threads.emplace_back([&io = w->io] { io.run(); });
  refresher_ = std::thread([this] { refresh_loop(); });

  {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return stop_requested_; });
  }
  accepting_ = false;
  refresher_.join();

  // 1. Stop accepting; close connections that are between requests.
  asio::post(workers_[0]->io, [this, &signals] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    if (signals) signals->cancel(ignored);
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
  blocking_->join();
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
