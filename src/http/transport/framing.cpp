#include "http/transport/framing.hpp"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "common/text.hpp"
#include "http/api/problem.hpp"

namespace inferconf::http {

namespace bhttp = boost::beast::http;

namespace {

using detail::lower;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// What a client sent, quoted in a detail: bounded and printable.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return out;
}

Response refuse(std::string detail, std::string field, std::string message) {
  Response r = problem("bad-request", std::move(detail), {{std::move(field), std::move(message)}});
  r.close = true;
  return r;
}

// host [":" port], host a reg-name, an IPv4 address or "[" IPv6 "]"; the
// host part, lower-case, or nullopt.
std::optional<std::string> host_name(std::string_view value) {
  if (value.empty() || value.size() > 255) return std::nullopt;
  std::string_view host = value, port;
  if (value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = value.substr(0, close + 1);
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host.substr(1, host.size() - 2)), ec);
    if (ec) return std::nullopt;
  } else {
    const auto colon = value.find(':');
    if (colon != std::string_view::npos) {
      host = value.substr(0, colon);
      port = value.substr(colon + 1);
    }
    if (host.empty()) return std::nullopt;
    for (char c : host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return std::nullopt;
  }
  if (host.size() < value.size() && port.empty()) return std::nullopt;
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return lower(host);
}

}  // namespace

bool is_loopback_host(std::string_view name) {
  if (name == "localhost" || name == "[::1]") return true;
  boost::system::error_code ec;
  const auto v4 = boost::asio::ip::make_address_v4(std::string(name), ec);
  return !ec && v4.is_loopback();
}

std::optional<Response> check_request_head(const bhttp::fields& headers, unsigned version, const HostPolicy& hosts) {
  // Framing first: if it is ambiguous, nothing after this request can be read.
  const auto te = headers.equal_range(bhttp::field::transfer_encoding);
  const auto te_count = std::distance(te.first, te.second);
  if (te_count > 0) {
    if (version < 11)
      return refuse("Transfer-Encoding is not defined for HTTP/1.0; send the body with Content-Length, or use "
                    "HTTP/1.1.",
                    "Transfer-Encoding", "is not allowed on HTTP/1.0.");
    const std::string value = te_count == 1 ? lower(trim(te.first->value())) : std::string();
    if (te_count != 1 || value != "chunked")
      return refuse(fmt::format("Transfer-Encoding \"{}\" is not accepted; the only transfer coding this server "
                                "reads is exactly \"chunked\" (or send Content-Length instead).",
                                te_count == 1 ? printable(te.first->value()) : std::string("(given more than once)")),
                    "Transfer-Encoding", "allowed: chunked, given once.");
    if (headers.find(bhttp::field::content_length) != headers.end())
      return refuse("The request has both Transfer-Encoding and Content-Length; send only one of them.",
                    "Content-Length", "must not accompany Transfer-Encoding.");
  }
  const auto host = headers.equal_range(bhttp::field::host);
  const auto host_count = std::distance(host.first, host.second);
  if (host_count == 0) {
    if (version < 11) return std::nullopt;
    return refuse("An HTTP/1.1 request needs a Host header naming this server (e.g. Host: localhost:8080).", "Host",
                  "is missing.");
  }
  if (host_count > 1)
    return refuse("The request has more than one Host header; send exactly one.", "Host", "is repeated.");
  const auto name = host_name(host.first->value());
  if (!name)
    return refuse(fmt::format("Host \"{}\" is not HOST[:PORT]; send the name or address of this server.",
                              printable(host.first->value())),
                  "Host", "must be HOST[:PORT].");
  bool ok = true;
  if (!hosts.allowed.empty())
    ok = std::any_of(hosts.allowed.begin(), hosts.allowed.end(),
                     [&](const std::string& a) { return a == "*" || lower(a) == *name; });
  else if (hosts.loopback_only)
    ok = is_loopback_host(*name);
  if (!ok)
    return refuse(fmt::format("Host \"{}\" is not a name of this server; {}", printable(*name),
                              hosts.allowed.empty() ? std::string("it listens on a loopback address and answers only "
                                                                  "localhost, 127.0.0.1 or [::1] (start it with "
                                                                  "--allowed-host NAME to accept another name).")
                                                    : fmt::format("the names it answers are set by --allowed-host.")),
                  "Host", "is not accepted by this server.");
  return std::nullopt;
}

}  // namespace inferconf::http
