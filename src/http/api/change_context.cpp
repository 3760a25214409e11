#include "http/api/change_context.hpp"

#include <fmt/format.h>

#include "http/api/problem.hpp"
#include "http/api/request_parts.hpp"
#include "inferconf/error.hpp"

namespace inferconf::http {

namespace {

// A reason is a line of text a person wrote: refused (naming `field`) when it
// is too long, not UTF-8, or carries control characters that would garble
// `inferconf history` and the audit view.
std::optional<std::string> checked_reason(std::string text, std::string_view field) {
  if (text.empty()) return std::nullopt;
  if (text.size() > kMaxReasonBytes)
    throw invalid(fmt::format("{} is {} bytes long; at most {} are recorded. Give a short sentence and put the "
                              "details in a ticket it names.",
                              field, text.size(), kMaxReasonBytes),
                  {{std::string(field), fmt::format("is {} bytes; allowed: at most {} bytes of UTF-8 text.",
                                                    text.size(), kMaxReasonBytes)}});
  const bool utf8 = valid_utf8(text);
  bool control = false;
  for (unsigned char ch : text) control = control || ch < 0x20 || ch == 0x7F;
  if (!utf8 || control)
    throw invalid(fmt::format("{} is not a line of text: it {}; send UTF-8 text on one line.", field,
                              utf8 ? "holds control characters (a line break, a tab, ...)" : "is not valid UTF-8"),
                  {{std::string(field), fmt::format("{}; allowed: UTF-8 text without control characters, at most {} "
                                                    "bytes.",
                                                    utf8 ? "holds control characters" : "is not UTF-8",
                                                    kMaxReasonBytes)}});
  return text;
}

// change_context(), throwing Error(kInvalid) for a bad reason.
WriteContext read_change_context(const std::string& principal, const boost::beast::http::fields& headers,
                                 nlohmann::json* body) {
  WriteContext context;
  context.actor = principal;
  if (body && body->is_object()) {
    if (auto it = body->find("reason"); it != body->end()) {
      if (!it->is_string() && !it->is_null())
        throw invalid(fmt::format("reason must be a string (or null), but it is {}.",
                                  it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 100)),
                      {{"reason", fmt::format("is not a string; allowed: UTF-8 text of at most {} bytes.",
                                               kMaxReasonBytes)}});
      if (it->is_string()) context.reason = checked_reason(it->get<std::string>(), "reason");
      body->erase(it);
      if (context.reason) return context;
    }
  }
  if (auto it = headers.find(kChangeReasonHeader); it != headers.end())
    context.reason = checked_reason(std::string(it->value()), kChangeReasonHeader);
  return context;
}

}  // namespace

std::variant<WriteContext, Response> change_context(const std::string& principal,
                                                    const boost::beast::http::fields& headers, nlohmann::json* body) {
  try {
    return read_change_context(principal, headers, body);
  } catch (const Error& e) {
    return problem_for(e, true);
  }
}

}  // namespace inferconf::http
