#include "http/api/authorization.hpp"

#include <cctype>

#include <fmt/format.h>

#include "http/api/problem.hpp"

namespace inferconf::http {

namespace {

Response challenge(std::string detail, std::string_view error) {
  Response resp = problem("unauthorized", std::move(detail));
  resp.header("WWW-Authenticate", error.empty() ? std::string("Bearer realm=\"inferconf\"")
                                                : fmt::format("Bearer realm=\"inferconf\", error=\"{}\"", error));
  return resp;
}

}  // namespace

std::optional<Response> authorize(const TokenTable* tokens, bool auth_reads, const boost::beast::http::fields& headers,
                                  bool write, std::string& principal) {
  if (!write && !auth_reads) return std::nullopt;
  const auto it = headers.find(boost::beast::http::field::authorization);
  const char* what = write ? "Writes" : "Reads on this server";
  if (it == headers.end())
    return challenge(fmt::format("{} need an \"Authorization: Bearer <token>\" header; `inferconf token new NAME` "
                                 "makes a token, and the server's --tokens-file lists the accepted ones.",
                                 what),
                     "");
  std::string_view value = it->value();
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = value.size() > kScheme.size();
  for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(value[i])) == kScheme[i];
  if (!scheme_ok)
    return challenge("The Authorization header must be \"Bearer <token>\"; other schemes are not accepted.",
                     "invalid_request");
  std::string_view token = value.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (!tokens || tokens->empty())
    return challenge("This server was started without --tokens-file, so it accepts no token and refuses writes; "
                     "restart it with --tokens-file FILE (see `inferconf token new`).",
                     "invalid_token");
  const TokenEntry* entry = token.empty() || token.size() > 512 ? nullptr : tokens->find(token);
  if (!entry)
    return challenge("The bearer token is not one this server accepts; check it against the tokens file given to "
                     "--tokens-file.",
                     "invalid_token");
  principal = entry->name;
  if (write && entry->read_only)
    return problem("forbidden", fmt::format("The token \"{}\" is read-only (\":ro\" in the tokens file); use a "
                                            "read-write token to change configurations.",
                                            entry->name));
  return std::nullopt;
}

}  // namespace inferconf::http
