// Timestamps (RFC 3339, UTC, milliseconds) and UUID v7 identifiers.
#include <array>
#include <cctype>
#include <random>

#include <fmt/format.h>

#include "inferconf/configuration.hpp"

namespace inferconf {

using namespace std::chrono;

Timestamp now_utc() { return floor<milliseconds>(system_clock::now()); }

std::string format_timestamp(Timestamp t) {
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

namespace {

// Reads exactly n digits at pos; advances pos.
bool read_digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Timestamp> parse_timestamp(std::string_view s) {
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-') || !read_digits(s, pos, 2, mo) || !expect(s, pos, '-') ||
      !read_digits(s, pos, 2, d))
    return std::nullopt;
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')) return std::nullopt;
  ++pos;
  if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mi) || !expect(s, pos, ':') ||
      !read_digits(s, pos, 2, sec))
    return std::nullopt;
  int millis = 0;
  if (expect(s, pos, '.')) {
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int offset_minutes = 0;
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':') || !read_digits(s, pos, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return Timestamp{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{millis} -
         minutes{offset_minutes};
}

// Time-ordered ids keep the unique `id` index append-only: a batch of inserts
// touches the index's right edge instead of a random page per row, which is
// what lets the population job write at catalogue scale (docs/POPULATION.md).
// Layout (RFC 9562 section 5.7): 48-bit Unix milliseconds, version 7, a 12-bit
// counter (method 1 of section 6.2) so ids made by one thread in the same
// millisecond still sort in creation order, the variant, 62 random bits that
// keep ids from different threads and processes unique.
std::string new_uuid_v7() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64{seq};
  }()};
  thread_local std::uint64_t last_ms = 0;
  thread_local std::uint32_t counter = 0;

  auto ms = static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
  if (ms > last_ms) {
    last_ms = ms;
    counter = static_cast<std::uint32_t>(rng() & 0x3FF);  // random start, room for >= 3 072 more this millisecond
  } else if (++counter > 0xFFF) {
    // The counter ran out (or the clock stepped back): borrow the next
    // millisecond rather than break the order.
    ++last_ms;
    counter = 0;
  }
  ms = last_ms;

  std::array<unsigned char, 16> b{};
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | (counter >> 8));  // version 7 + counter high nibble
  b[7] = static_cast<unsigned char>(counter & 0xFF);
  const std::uint64_t r = rng();
  for (std::size_t k = 0; k < 8; ++k) b[8 + k] = static_cast<unsigned char>(r >> (8 * k));
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

bool is_uuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    const char c = t[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace inferconf
