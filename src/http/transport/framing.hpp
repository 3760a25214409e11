// Transport checks on a request's head, made before any handler sees it:
// how its body is framed (Transfer-Encoding) and which host it names (Host).
// Kept apart from the routes: these decide whether the bytes on the
// connection can be trusted to delimit requests at all.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/beast/http/fields.hpp>

#include "http/api/response.hpp"

namespace inferconf::http {

// Which Host header values the server answers.
struct HostPolicy {
  // Host names accepted (compared without the port, case-insensitively);
  // "*" accepts any. Empty: see loopback_only.
  std::vector<std::string> allowed;
  // With no `allowed` list, a server listening on a loopback address answers
  // only loopback names (localhost, 127.0.0.0/8, [::1]), so a web page whose
  // DNS name is rebound to 127.0.0.1 cannot read from it.
  bool loopback_only = false;
};

// nullopt when the head is acceptable; else the 400 answer (marked to close
// the connection, since where the next request starts is unknown). Refuses:
// a Transfer-Encoding on HTTP/1.0, any Transfer-Encoding other than exactly
// one "chunked", Transfer-Encoding with Content-Length, an HTTP/1.1 request
// without exactly one Host, a Host that is not host[:port], and a host name
// the policy does not accept.
std::optional<Response> check_request_head(const boost::beast::http::fields& headers, unsigned version,
                                           const HostPolicy& hosts);

// Whether `name` (without port, lower-case) is a loopback name.
bool is_loopback_host(std::string_view name);

}  // namespace inferconf::http
