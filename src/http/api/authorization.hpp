// Whether a request's bearer token lets it through: the check every read
// (under --auth-reads) and every write makes before its handler runs.
#pragma once

#include <optional>
#include <string>

#include <boost/beast/http/fields.hpp>

#include "http/api/response.hpp"
#include "http/api/tokens.hpp"

namespace inferconf::http {

// nullopt when the request may proceed: a read on a server without
// --auth-reads, or a token of `tokens` (read-write for a write). Else the
// 401 (with WWW-Authenticate) or 403 answer, naming what to do. Sets
// `principal` to the token's name once the token is known (also for the
// 403). `tokens` may be null. Pure: safe from any thread.
std::optional<Response> authorize(const TokenTable* tokens, bool auth_reads, const boost::beast::http::fields& headers,
                                  bool write, std::string& principal);

}  // namespace inferconf::http
