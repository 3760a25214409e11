#include "http/api/request_parts.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "inferconf/error.hpp"

namespace inferconf::http {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char b : in) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::find(kB64, kB64 + 64, c);
    if (p == kB64 + 64) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      extra = 1, cp = c & 0x1F;
    } else if ((c >> 4) == 0xE) {
      extra = 2, cp = c & 0x0F;
    } else if ((c >> 3) == 0x1E) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  if (!valid_utf8(out)) return std::nullopt;
  return out;
}

std::string percent_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query,
                                                             const std::vector<std::string_view>& allowed) {
  std::vector<std::pair<std::string, std::string>> out;
  auto allowed_list = [&] {
    std::string s;
    for (auto a : allowed) s += (s.empty() ? "" : ", ") + std::string(a);
    return s.empty() ? std::string("none") : s;
  };
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!name || !value)
      throw invalid(fmt::format("The query parameter \"{}\" has a bad percent-escape or is not UTF-8.",
                                std::string(part.substr(0, 100))),
                    {{"query", "must be name=value pairs, percent-encoded UTF-8."}});
    if (name->empty()) throw invalid("The query has a parameter without a name.", {{"query", "has \"=" + *value + "\"."}});
    if (std::find(allowed.begin(), allowed.end(), *name) == allowed.end())
      throw invalid(fmt::format("The query parameter \"{}\" is not known here; allowed: {}.", *name, allowed_list()),
                    {{*name, fmt::format("is not a parameter of this route; allowed: {}.", allowed_list())}});
    for (const auto& [n, v] : out)
      if (n == *name)
        throw invalid(fmt::format("The query parameter \"{}\" is given twice; give it once.", *name),
                      {{*name, "is repeated."}});
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

std::string media_type(std::string_view content_type, std::string* charset) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const auto semi = content_type.find(';');
  std::string type = lower(trim(content_type.substr(0, semi)));
  if (charset && semi != std::string_view::npos) {
    std::string_view params = content_type.substr(semi + 1);
    while (!params.empty()) {
      const auto next = params.find(';');
      std::string_view p = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const auto eq = p.find('=');
      if (eq != std::string_view::npos && lower(trim(p.substr(0, eq))) == "charset") {
        std::string_view v = trim(p.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        *charset = lower(v);
      }
    }
  }
  return type;
}

std::optional<std::vector<EntityTag>> parse_entity_tags(std::string_view value) {
  std::vector<EntityTag> tags;
  auto skip_ws = [&] {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  };
  skip_ws();
  if (value == "*") return tags;
  while (true) {
    skip_ws();
    EntityTag tag;
    if (value.starts_with("W/")) {
      tag.weak = true;
      value.remove_prefix(2);
    }
    if (value.empty() || value.front() != '"') return std::nullopt;
    const auto close = value.find('"', 1);
    if (close == std::string_view::npos) return std::nullopt;
    tag.opaque = std::string(value.substr(1, close - 1));
    for (unsigned char c : tag.opaque)
      if (c < 0x21 || c == 0x7F) return std::nullopt;
    tags.push_back(std::move(tag));
    value.remove_prefix(close + 1);
    skip_ws();
    if (value.empty()) break;
    if (value.front() != ',') return std::nullopt;
    value.remove_prefix(1);
  }
  if (tags.empty()) return std::nullopt;
  return tags;
}

std::string encode_cursor(char path, const PageKey& key) {
  return base64url(nlohmann::json::array({std::string(1, path), key.a, key.b}).dump());
}

PageKey decode_cursor(std::string_view text, char path) {
  auto fail = [&](std::string why) -> Error {
    return invalid(fmt::format("The cursor \"{}\" {}; pass the next_cursor of the previous page unchanged, with the "
                               "same filters, or leave it out to start from the first page.",
                               std::string(text.substr(0, 80)), why),
                   {{"cursor", "is not a cursor of this listing."}});
  };
  if (text.empty() || text.size() > 2048) throw fail("is empty or too long");
  auto raw = unbase64url(text);
  if (!raw) throw fail("is not a cursor this server issued");
  nlohmann::json j = nlohmann::json::parse(*raw, nullptr, false);
  if (!j.is_array() || j.size() != 3 || !j[0].is_string() || !j[1].is_string() || !j[2].is_string())
    throw fail("is not a cursor this server issued");
  if (j[0].get<std::string>() != std::string(1, path)) throw fail("belongs to a listing with other filters");
  return PageKey{j[1].get<std::string>(), j[2].get<std::string>()};
}

}  // namespace inferconf::http
