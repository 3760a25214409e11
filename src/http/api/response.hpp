// What a route answers, before it is written to the socket.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/index/doc.hpp"

namespace inferconf::http {

inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kProblemJson = "application/problem+json";
inline constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

struct Response {
  unsigned status = 200;
  std::string_view content_type = kJson;  // always a string literal
  // The body is the first of these that is set: a pre-serialised document, a
  // shared pre-serialised text, or body.
  DocRef doc;
  std::shared_ptr<const std::string> shared;
  std::string body;
  std::string headers;  // extra header lines, each "Name: value\r\n"
  bool close = false;   // close the connection after this response
  std::string principal;  // the token name, for the request log

  std::string_view body_view() const {
    if (doc) return doc->body();
    if (shared) return *shared;
    return body;
  }
  // Header values come from the server, never verbatim from a request, but a
  // CR or LF would still split the response: they are dropped.
  void header(std::string_view name, std::string_view value) {
    headers.append(name).append(": ");
    for (char c : value)
      if (c != '\r' && c != '\n') headers.push_back(c);
    headers.append("\r\n");
  }
};

}  // namespace inferconf::http
