#include "http/transport/session.hpp"

#include <ctime>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/api/problem.hpp"

namespace inferconf::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// The Date header, formatted once per second per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[40];
  thread_local std::size_t size = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    size = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text, size};
}

bool body_allowed(unsigned status) { return status != 204 && status != 304 && status >= 200; }

std::size_t field_count(const bhttp::fields& f) { return static_cast<std::size_t>(std::distance(f.begin(), f.end())); }

// Runs a handler; whatever it throws becomes a generic 500 (the cause is
// logged with the request id), so no request can end the thread.
template <typename Fn>
Response contained(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return internal_error(fmt::format("{}: {}", what, e.what()));
  } catch (...) {
    return internal_error(fmt::format("{}: an exception that is not a std::exception", what));
  }
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, Worker& worker, SessionContext& context)
    : socket_(std::move(socket)), worker_(worker), ctx_(context) {
  beast::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  if (!ec) remote_ = ep.address().is_v6() ? fmt::format("[{}]:{}", ep.address().to_string(), ep.port())
                                          : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  ctx_.open_connections->fetch_add(1, std::memory_order_relaxed);
}

Session::~Session() {
  worker_.sessions.erase(this);
  ctx_.open_connections->fetch_sub(1, std::memory_order_relaxed);
}

void Session::start() {
  worker_.sessions.insert(this);
  worker_.metrics->connection_opened();
  if (worker_.draining) return close();
  read_request();
}

bool Session::idle() const {
  return phase_ == Phase::kReading && buffer_.size() == 0 && (!parser_ || !parser_->got_some());
}

void Session::next_request_id() {
  request_id_ = ++worker_.next_request * worker_.worker_count + worker_.index;
}

void Session::read_request() {
  if (worker_.draining && buffer_.size() == 0) return close();
  phase_ = Phase::kReading;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(kBodyLimit);
  request_start_ = std::chrono::steady_clock::now();
  deadline_ = request_start_ + std::min(ctx_.limits.header_timeout, ctx_.limits.request_timeout);
  bhttp::async_read_header(socket_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void Session::refuse(Response response) {
  auto& req = parser_->get();
  started_ = std::chrono::steady_clock::now();
  verb_ = req.method();
  head_request_ = verb_ == bhttp::verb::head;
  method_ = std::string(req.method_string());
  target_ = std::string(req.target());
  close_after_write_ = true;
  write_response(RouteId::kUnmatched, std::move(response));
}

void Session::on_header(beast::error_code ec) {
  if (ec) return on_read_error(ec);
  deadline_ = request_start_ + ctx_.limits.request_timeout;
  auto& req = parser_->get();
  next_request_id();
  set_current_request_id(request_id_);
  auto refused = check_request_head(req.base(), req.version(), ctx_.hosts);
  set_current_request_id(0);
  if (refused) return refuse(std::move(*refused));
  header_fields_ = field_count(req.base());
  if (parser_->is_done()) return dispatch();
  // curl and others wait for "100 Continue" before sending a larger body;
  // a request its head already decides (no token, unknown route) gets that
  // answer instead, and its body is never read.
  if (auto it = req.find(bhttp::field::expect);
      it != req.end() && beast::iequals(it->value(), "100-continue") && req.version() >= 11) {
    Request head;
    head.method = req.method();
    head.target = req.target();
    head.headers = &req.base();
    set_current_request_id(request_id_);
    std::optional<Response> early;
    try {
      early = ctx_.api->precheck(head);
    } catch (const std::exception& e) {
      early = internal_error(fmt::format("checking {} {}: {}", std::string(req.method_string()),
                                         std::string(req.target().substr(0, 200)), e.what()));
    }
    set_current_request_id(0);
    if (early) return refuse(std::move(*early));
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->read_body();
                      });
    return;
  }
  read_body();
}

void Session::read_body() {
  bhttp::async_read(socket_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
  if (ec) return on_read_error(ec);
  // A chunked body may end with trailer fields, which the parser adds to the
  // head. Honouring them would let a field bypass whatever inspected the
  // head (a proxy, a filter); this API defines none, so they are refused.
  if (field_count(parser_->get().base()) != header_fields_)
    return refuse(problem("bad-request",
                          "The chunked body ends with trailer fields; this server accepts none. Send every field "
                          "in the request head, and end the body with \"0\\r\\n\\r\\n\".",
                          {{"trailer", "must be empty."}}));
  dispatch();
}

void Session::on_read_error(beast::error_code ec) {
  if (phase_ == Phase::kClosed) return;
  const bool partial = buffer_.size() > 0 || (parser_ && parser_->got_some());
  started_ = std::chrono::steady_clock::now();
  if (request_id_ == 0 || (parser_ && !parser_->is_header_done())) next_request_id();
  if (parser_ && parser_->got_some()) {
    verb_ = parser_->get().method();
    method_ = std::string(parser_->get().method_string());
    target_ = std::string(parser_->get().target());
  } else {
    method_ = "-";
    target_ = "-";
  }
  close_after_write_ = true;
  route_ = RouteId::kUnmatched;
  if (timed_out_) {
    if (!partial) return close();
    return write_response(RouteId::kUnmatched,
                          problem("request-timeout",
                                  fmt::format("The request did not arrive within {} ms; send it faster, or open a "
                                              "new connection.",
                                              ctx_.limits.request_timeout.count())));
  }
  if (ec == bhttp::error::header_limit)
    return write_response(RouteId::kUnmatched,
                          problem("headers-too-large", fmt::format("The request line and headers are over {} bytes "
                                                                   "(the limit); send fewer or shorter headers.",
                                                                   kHeaderLimit)));
  if (ec == bhttp::error::buffer_overflow)
    return write_response(RouteId::kUnmatched,
                          problem("bad-request",
                                  fmt::format("A chunk header line (with its extensions) or the trailer section is "
                                              "over {} bytes (the limit); this API uses neither chunk extensions "
                                              "nor trailers: send the body without them.",
                                              kReadBufferLimit),
                                  {{"chunk", "extensions and trailers must be small."}}));
  if (ec == bhttp::error::body_limit)
    return write_response(RouteId::kUnmatched,
                          problem("payload-too-large",
                                  fmt::format("The body is over {} bytes (64 KiB, the limit); a configuration is "
                                              "far smaller: check what is being sent.",
                                              kBodyLimit)));
  const bool http_syntax = ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
  if (http_syntax && partial)
    return write_response(RouteId::kUnmatched,
                          problem("bad-request", fmt::format("The request is not valid HTTP/1.1: {}.", ec.message())));
  close();  // the client went away, or we closed the socket
}

void Session::dispatch() {
  phase_ = Phase::kHandling;
  started_ = std::chrono::steady_clock::now();
  auto& req = parser_->get();
  verb_ = req.method();
  head_request_ = verb_ == bhttp::verb::head;
  method_ = std::string(req.method_string());
  target_ = std::string(req.target());
  keep_alive_ = req.keep_alive();
  close_after_write_ = ++requests_ >= ctx_.limits.max_requests_per_connection;
  Request request;
  request.method = verb_;
  request.target = target_;
  request.headers = &req.base();
  request.body = std::move(req.body());
  Outcome outcome;
  set_current_request_id(request_id_);
  try {
    outcome = ctx_.api->handle(std::move(request));
  } catch (const std::exception& e) {
    outcome = Outcome{};
    outcome.now = internal_error(fmt::format("{} {}: {}", method_, target_.substr(0, 200), e.what()));
  } catch (...) {
    outcome = Outcome{};
    outcome.now = internal_error(fmt::format("{} {}: an exception that is not a std::exception", method_,
                                             target_.substr(0, 200)));
  }
  set_current_request_id(0);
  if (outcome.now || !outcome.later) {
    if (!outcome.now) outcome.now = internal_error("a handler gave neither an answer nor a job");
    return write_response(outcome.route, std::move(*outcome.now));
  }
  // Store work blocks: run it off the network thread, answer back here.
  // The last reference must never be dropped on the pool thread (the session
  // belongs to its worker's thread), so it moves along with the answer.
  auto& pool = outcome.write ? *ctx_.writes : *ctx_.reads;
  asio::post(pool, [self = shared_from_this(), job = std::move(outcome.later), route = outcome.route,
                    id = request_id_, what = fmt::format("{} {}", method_, target_.substr(0, 200))]() mutable {
    set_current_request_id(id);
    Response response = contained(what, job);
    set_current_request_id(0);
    auto& io = self->worker_.io;
    asio::post(io, [self = std::move(self), route, response = std::move(response)]() mutable {
      self->write_response(route, std::move(response));
    });
  });
}

void Session::write_response(RouteId route, Response response) {
  if (phase_ == Phase::kClosed) return;
  route_ = route;
  response_ = std::move(response);
  if (response_.close || worker_.draining || !keep_alive_) close_after_write_ = true;
  const unsigned status = response_.status;
  const bool has_body = body_allowed(status);
  const std::string_view body = has_body ? response_.body_view() : std::string_view{};
  head_.clear();
  head_ += "HTTP/1.1 ";
  head_ += fmt::format_int(status).c_str();
  head_ += ' ';
  head_ += bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  head_ += "\r\nServer: inferconf\r\nDate: ";
  head_ += http_date();
  head_ += "\r\n";
  if (has_body) {
    head_ += "Content-Type: ";
    head_ += response_.content_type;
    head_ += "\r\nContent-Length: ";
    head_ += fmt::format_int(body.size()).c_str();
    head_ += "\r\n";
  }
  head_ += response_.headers;
  if (close_after_write_)
    head_ += "Connection: close\r\n";
  else if (parser_ && parser_->get().version() == 10)
    head_ += "Connection: keep-alive\r\n";
  head_ += "\r\n";
  const bool send_body = has_body && !head_request_;
  body_bytes_ = send_body ? body.size() : 0;
  phase_ = Phase::kWriting;
  deadline_ = std::chrono::steady_clock::now() +
              (timed_out_ ? std::min(ctx_.limits.write_timeout, kTimeoutAnswerDeadline) : ctx_.limits.write_timeout);
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), asio::buffer(body.data(), body_bytes_)};
  asio::async_write(socket_, buffers, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_write(ec, n);
  });
}

void Session::on_write(beast::error_code ec, std::size_t) {
  const auto now = std::chrono::steady_clock::now();
  const auto micros =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now - started_).count());
  worker_.metrics->record(route_, verb_, response_.status, micros);
  if (ctx_.log->format() != LogFormat::kNone) {
    AccessRecord rec;
    rec.time = std::chrono::system_clock::now();
    rec.remote = remote_;
    rec.method = method_;
    rec.target = target_;
    rec.status = response_.status;
    rec.bytes = ec ? 0 : body_bytes_;
    rec.micros = micros;
    rec.principal = response_.principal;
    rec.request_id = request_id_;
    ctx_.log->format(worker_.log_buffer, rec);
    if (worker_.log_buffer.size() >= AccessLog::kFlushBytes) ctx_.log->write(worker_.log_buffer);
  }
  response_ = Response{};  // release the document now, not at the next request
  if (ec || close_after_write_) {
    if (!ec) {
      // Half-close so the client reads the whole answer before the reset.
      beast::error_code ignored;
      socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
    return close();
  }
  read_request();
}

void Session::check_deadline(std::chrono::steady_clock::time_point now) {
  if (now <= deadline_) return;
  if (phase_ == Phase::kWriting) {
    // Includes the 408 sent after a read timeout: it has its own, short
    // deadline, and a client that does not read it is closed too.
    if (!timed_out_) worker_.metrics->connection_timed_out();
    timed_out_ = true;
    return close();
  }
  if (phase_ == Phase::kReading && !timed_out_) {
    timed_out_ = true;
    worker_.metrics->connection_timed_out();
    beast::error_code ignored;
    socket_.cancel(ignored);  // the pending read completes with operation_aborted
  }
}

void Session::drain() {
  if (idle()) close();
}

void Session::force_close() { close(); }

void Session::close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  beast::error_code ignored;
  socket_.close(ignored);
}

}  // namespace inferconf::http
