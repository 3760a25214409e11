#include "store/sqlite/cursors.hpp"

#include <charconv>

#include <fmt/format.h>

#include "inferconf/configuration.hpp"
#include "inferconf/error.hpp"

namespace inferconf::sqlite {
namespace {

constexpr std::string_view kPagePrefix = "p1.";
constexpr std::string_view kChangePrefix = "c1.";
constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The cursor as echoed in messages: bounded, so a huge bad cursor does not flood a log.
std::string shown(std::string_view cursor) {
  return cursor.size() <= 48 ? std::string(cursor) : fmt::format("{}…", cursor.substr(0, 48));
}

// hint: what to pass instead.
Error bad_cursor(std::string_view cursor, std::string_view hint) {
  return invalid(fmt::format("The cursor \"{}\" is not one returned by this API; {}.", shown(cursor), hint),
                 {{"cursor", fmt::format("received \"{}\"; allowed: a cursor from a previous response",
                                         shown(cursor))}});
}

constexpr std::string_view kPageHint =
    "pass the next_cursor of a previous page unchanged, or omit the cursor to start from the first page";
constexpr std::string_view kChangeHint = "pass the cursor of a previous change set unchanged, or take a fresh one";

}  // namespace

std::string encode_page_cursor(std::string_view last_id) {
  std::string out(kPagePrefix);
  out.reserve(kPagePrefix.size() + 2 * last_id.size());
  for (const char ch : last_id) {
    const auto b = static_cast<unsigned char>(ch);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0F]);
  }
  return out;
}

std::string decode_page_cursor(std::string_view cursor) {
  if (!cursor.starts_with(kPagePrefix)) throw bad_cursor(cursor, kPageHint);
  const std::string_view hex = cursor.substr(kPagePrefix.size());
  if (hex.empty() || hex.size() % 2 != 0) throw bad_cursor(cursor, kPageHint);
  std::string id;
  id.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) throw bad_cursor(cursor, kPageHint);
    id.push_back(static_cast<char>(hi * 16 + lo));
  }
  return id;
}

std::string encode_change_cursor(const ChangeCursor& c) {
  return fmt::format("{}{}.{}", kChangePrefix, c.epoch, c.seq);
}

ChangeCursor decode_change_cursor(std::string_view cursor) {
  if (!cursor.starts_with(kChangePrefix)) throw bad_cursor(cursor, kChangeHint);
  const std::string_view rest = cursor.substr(kChangePrefix.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos || !is_uuid(rest.substr(0, dot))) throw bad_cursor(cursor, kChangeHint);
  ChangeCursor c{std::string(rest.substr(0, dot)), 0};
  const std::string_view digits = rest.substr(dot + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), c.seq);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || c.seq < 0)
    throw bad_cursor(cursor, kChangeHint);
  return c;
}

}  // namespace inferconf::sqlite
