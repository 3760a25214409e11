// Who makes a write over HTTP, and why: the WriteContext every write passes
// to the store, which records it in the configuration's history.
//
// The actor is the name of the token that authorised the request (writes
// always need a read-write token, so every write over HTTP has one). The
// reason is the body's "reason" member when the body has one, else the
// X-Change-Reason header: the body is the more specific of the two (a proxy
// or a client library may add the header to every request).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/beast/http/fields.hpp>
#include <nlohmann/json.hpp>

#include "http/api/response.hpp"
#include "inferconf/history.hpp"

namespace inferconf::http {

inline constexpr std::string_view kChangeReasonHeader = "X-Change-Reason";
// The longest reason recorded, in bytes: a sentence or two, not a document.
inline constexpr std::size_t kMaxReasonBytes = 1000;

// The WriteContext of a write by `principal`: the reason from `body` (its
// "reason" member, which is removed so that the rest of the body reads as the
// resource's DTO; `body` may be null or not an object) or the header. Else
// the 400 problem naming "reason" or "X-Change-Reason" when the reason is
// not a string, longer than kMaxReasonBytes, not UTF-8 or holds control
// characters. An empty reason counts as none. Pure: safe from any thread.
std::variant<WriteContext, Response> change_context(const std::string& principal,
                                                    const boost::beast::http::fields& headers, nlohmann::json* body);

}  // namespace inferconf::http
