#include "http/api/negotiation.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "http/api/problem.hpp"
#include "http/api/request_parts.hpp"

namespace inferconf::http {

namespace bhttp = boost::beast::http;

std::optional<Response> check_content_type(const bhttp::fields& headers, bhttp::verb method,
                                           std::initializer_list<std::string_view> accepted) {
  std::string allowed;
  for (auto a : accepted) allowed += (allowed.empty() ? "" : ", ") + std::string(a);
  const auto it = headers.find(bhttp::field::content_type);
  std::string charset;
  const std::string type = it == headers.end() ? std::string() : media_type(it->value(), &charset);
  bool ok = false;
  for (auto a : accepted) ok = ok || type == a;
  std::string detail;
  if (it == headers.end())
    detail = fmt::format("The request has a body but no Content-Type; send one of: {}.", allowed);
  else if (!ok)
    detail = fmt::format("Content-Type \"{}\" is not accepted here; send one of: {}.",
                         std::string(it->value().substr(0, 100)), allowed);
  else if (!charset.empty() && charset != "utf-8")
    detail = fmt::format("The charset \"{}\" is not accepted; JSON bodies must be UTF-8 (charset=utf-8 or none).",
                         charset.substr(0, 50));
  else
    return std::nullopt;
  Response resp = problem("unsupported-media-type", std::move(detail));
  resp.header(method == bhttp::verb::patch ? "Accept-Patch" : "Accept", allowed);
  return resp;
}

bool accepts(const bhttp::fields& headers, std::string_view type) {
  const auto it = headers.find(bhttp::field::accept);
  if (it == headers.end()) return true;
  std::string_view value = it->value();
  const std::string family = std::string(type.substr(0, type.find('/'))) + "/*";
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    const auto semi = item.find(';');
    const std::string range = media_type(item.substr(0, semi));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      std::string params(item.substr(semi + 1));
      params.erase(std::remove(params.begin(), params.end(), ' '), params.end());
      if (const auto at = params.find("q="); at != std::string::npos) q = std::strtod(params.c_str() + at + 2, nullptr);
    }
    const bool zero = !(q > 0);
    if (!zero && (range == "*/*" || range == family || range == type)) return true;
  }
  return false;
}

}  // namespace inferconf::http
