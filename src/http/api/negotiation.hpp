// Content negotiation: whether a request's body is of a media type a route
// reads (Content-Type), and whether the client takes a type the route answers
// (Accept). Beside request_parts.hpp, which reads the headers' syntax.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include "http/api/response.hpp"

namespace inferconf::http {

// nullopt when the Content-Type is one of `accepted` (with no charset, or
// UTF-8); else the 415 answer naming what to send, with Accept (Accept-Patch
// for a PATCH) listing it.
std::optional<Response> check_content_type(const boost::beast::http::fields& headers,
                                           boost::beast::http::verb method,
                                           std::initializer_list<std::string_view> accepted);

// Whether an Accept header admits `type` ("text/plain"): absent, */*, the
// type's family wildcard or the type itself, with a non-zero q.
bool accepts(const boost::beast::http::fields& headers, std::string_view type);

}  // namespace inferconf::http
