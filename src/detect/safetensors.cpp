// The safetensors header reader: a strict, allocation-bounded parser written
// for this one JSON shape (an object of tensor entries and one string map),
// so every violation can name the tensor and the rule, and so a header of
// thousands of tensors parses in microseconds (see bench/detect).
//
// Speed: the header is read with pread into a per-thread buffer that is reused
// once no header points into it any more; tensor names are views into that
// buffer (escapes are decoded in place), shapes views into one vector of
// dimensions, so parsing allocates nothing per tensor. Strings are scanned 8
// bytes at a time; the name index and the offset check use open-addressing
// hash tables instead of sorting. Every error path is the original one.
#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <tuple>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "inferconf/detect.hpp"

namespace inferconf::detect {

namespace {

struct DtypeName {
  Dtype dtype;
  std::string_view name;
  unsigned bits;
};
constexpr std::array<DtypeName, 22> kDtypes{{
    {Dtype::BOOL, "BOOL", 8},       {Dtype::F4, "F4", 4},
    {Dtype::F6_E2M3, "F6_E2M3", 6}, {Dtype::F6_E3M2, "F6_E3M2", 6},
    {Dtype::U8, "U8", 8},           {Dtype::I8, "I8", 8},
    {Dtype::F8_E5M2, "F8_E5M2", 8}, {Dtype::F8_E4M3, "F8_E4M3", 8},
    {Dtype::F8_E8M0, "F8_E8M0", 8}, {Dtype::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {Dtype::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8}, {Dtype::I16, "I16", 16},
    {Dtype::U16, "U16", 16},        {Dtype::F16, "F16", 16},
    {Dtype::BF16, "BF16", 16},      {Dtype::I32, "I32", 32},
    {Dtype::U32, "U32", 32},        {Dtype::F32, "F32", 32},
    {Dtype::C64, "C64", 64},        {Dtype::F64, "F64", 64},
    {Dtype::I64, "I64", 64},        {Dtype::U64, "U64", 64},
}};

constexpr bool dtypes_in_enum_order() {
  for (std::size_t i = 0; i < kDtypes.size(); ++i) {
    if (static_cast<std::size_t>(kDtypes[i].dtype) != i) return false;
  }
  return true;
}
static_assert(dtypes_in_enum_order(), "kDtypes must follow the order of enum Dtype");

std::string printable(std::string_view s, std::size_t max = 60) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string shape_string(const Shape& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

// Returns the offset of the first invalid UTF-8 byte, or npos.
std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, 64 (SSE2), 32 then 8 bytes at a time.
#if defined(__SSE2__)
    while (i + 64 <= n) {
      const auto* q = reinterpret_cast<const __m128i*>(p + i);
      const __m128i any = _mm_or_si128(_mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)),
                                       _mm_or_si128(_mm_loadu_si128(q + 2), _mm_loadu_si128(q + 3)));
      if (_mm_movemask_epi8(any) != 0) break;
      i += 64;
    }
#endif
    while (i + 32 <= n) {
      std::uint64_t w[4];
      std::memcpy(w, p + i, 32);
      if ((w[0] | w[1] | w[2] | w[3]) & kHigh) break;
      i += 32;
    }
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & kHigh) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// Writes the UTF-8 encoding of `cp` at `w` and returns the end. An escape is
// at least as long as its encoding (\uXXXX: 6 bytes for at most 3, a
// surrogate pair 12 for 4), so strings are decoded in place.
char* put_utf8(char* w, std::uint32_t cp) {
  if (cp < 0x80) {
    *w++ = static_cast<char>(cp);
  } else if (cp < 0x800) {
    *w++ = static_cast<char>(0xC0 | (cp >> 6));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = static_cast<char>(0xE0 | (cp >> 12));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *w++ = static_cast<char>(0xF0 | (cp >> 18));
    *w++ = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *w++ = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *w++ = static_cast<char>(0x80 | (cp & 0x3F));
  }
  return w;
}

// A 64-bit hash of a byte string (for the name index): 16 bytes per step in
// two lanes, the last bytes read as two words that may overlap earlier ones.
inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  constexpr std::uint64_t kMul1 = 0x9E3779B97F4A7C15ULL, kMul2 = 0xC2B2AE3D27D4EB4FULL;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t a = 0x243F6A8885A308D3ULL ^ n, b = 0x13198A2E03707344ULL;
  auto load = [](const char* q) {
    std::uint64_t w;
    std::memcpy(&w, q, 8);
    return w;
  };
  const char* const end = p + n;
  if (n > 16) {
    while (end - p > 16) {
      a = (a ^ load(p)) * kMul1;
      b = (b ^ load(p + 8)) * kMul2;
      a ^= a >> 29;
      b ^= b >> 31;
      p += 16;
    }
    a = (a ^ load(end - 16)) * kMul1;  // the last 1..16 bytes, as two words inside the string
    b = (b ^ load(end - 8)) * kMul2;
  } else if (n >= 8) {
    a = (a ^ load(p)) * kMul1;
    b = (b ^ load(end - 8)) * kMul2;
  } else if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    a = (a ^ w) * kMul1;
  }
  std::uint64_t h = (a ^ (b >> 32) ^ (b << 32)) * 0xBF58476D1CE4E5B9ULL;
  return h ^ (h >> 31);
}

std::size_t table_size(std::size_t n) {
  std::size_t cap = 16;
  while (cap < 2 * n) cap *= 2;
  return cap;
}

// Everything a parsed header points into: the header bytes (names are views
// into them), the shape dimensions, and the name index. One per thread is
// reused from header to header once no header holds it any more.
struct HeaderStorage {
  std::unique_ptr<char[]> bytes;  // 8-byte length + JSON header
  std::size_t capacity = 0;
  std::vector<std::uint64_t> dims;          // every tensor's shape, in order
  std::vector<std::uint32_t> shape_start;   // per tensor: its first dimension in dims (while parsing)
  std::vector<std::uint64_t> name_slots;    // open addressing: (hash >> 32) << 32 | (index + 1); 0 = empty
  std::size_t indexed = 0;                  // number of tensors in name_slots
  std::vector<std::uint64_t> name_hash;     // per tensor (while validating)
  std::vector<std::uint64_t> offset_slots;  // scratch for the offsets check: begin + 1 of non-empty tensors; 0 = empty

  // Makes room for `n` bytes, keeping the first `keep`.
  char* reserve(std::size_t n, std::size_t keep = 0) {
    if (n > capacity) {
      std::unique_ptr<char[]> fresh(new char[n]);
      if (keep > 0) std::memcpy(fresh.get(), bytes.get(), keep);
      bytes = std::move(fresh);
      capacity = n;
    }
    return bytes.get();
  }
  std::size_t footprint() const {
    return capacity + dims.capacity() * 8 + shape_start.capacity() * 4 + name_slots.capacity() * 8 + name_hash.capacity() * 8 +
           offset_slots.capacity() * 8;
  }
};

constexpr std::size_t kKeepStorageBytes = std::size_t{16} << 20;  // do not pin more than this per thread

std::shared_ptr<HeaderStorage>& cached_storage() {
  thread_local std::shared_ptr<HeaderStorage> cached;
  return cached;
}

// The thread's storage when no header uses it any more, else a new one.
std::shared_ptr<HeaderStorage> acquire_storage() {
  auto& cached = cached_storage();
  if (!cached || cached.use_count() != 1) cached = std::make_shared<HeaderStorage>();
  cached->dims.clear();
  cached->shape_start.clear();
  cached->indexed = 0;
  return cached;
}

// Drops the thread's reference to a storage grown past kKeepStorageBytes
// (a header still using it keeps it alive).
struct StorageTrim {
  ~StorageTrim() {
    auto& cached = cached_storage();
    if (cached && cached->footprint() > kKeepStorageBytes) cached.reset();
  }
};

}  // namespace

struct HeaderAccess {
  static void set_storage(SafetensorsHeader& h, std::shared_ptr<const void> s) { h.storage_ = std::move(s); }
  static const HeaderStorage* storage(const SafetensorsHeader& h) {
    return static_cast<const HeaderStorage*>(h.storage_.get());
  }
};

namespace {

constexpr std::uint64_t kPow10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// Little-endian word of 8 header bytes: how many of them, from the first, are
// ASCII digits. Per byte, x is 0 exactly for '0'..'9' (the +6 can carry only
// out of a non-digit byte, which affects bytes after it).
inline unsigned leading_digits8(std::uint64_t w) noexcept {
  constexpr std::uint64_t kHi = 0xF0F0F0F0F0F0F0F0ULL;
  const std::uint64_t x = ((w & kHi) | (((w + 0x0606060606060606ULL) & kHi) >> 4)) ^ 0x3333333333333333ULL;
  return x == 0 ? 8u : static_cast<unsigned>(std::countr_zero(x)) >> 3;
}
// The value of the first n (1..8) digits of w.
inline std::uint64_t digits8_value(std::uint64_t w, unsigned n) noexcept {
  // Digit values, the n digits moved to the top bytes (leading zeros below).
  std::uint64_t d = (w - 0x3030303030303030ULL) << (8 * (8 - n));
  d = d * 10 + (d >> 8);
  d = (((d & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
       (((d >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
  return d & 0xFFFFFFFFULL;
}

// Parses the JSON header. Positions in messages are byte offsets within the
// header (0 = the byte after the 8-byte length). Strings are decoded in place
// in the (owned, mutable) header bytes; names are views into them.
class HeaderParser {
 public:
  HeaderParser(char* json, std::size_t n, std::string_view file, SafetensorsHeader& out, HeaderStorage& st)
      : begin_(json), p_(json), end_(json + n), file_(file), out_(out), st_(st) {}

  void parse() {
    out_.tensors.reserve(static_cast<std::size_t>(end_ - begin_) / 96);
    st_.shape_start.reserve(static_cast<std::size_t>(end_ - begin_) / 96);
    ws();
    if (p_ == end_) fail("", "not_object", "header is empty or only whitespace; expected a JSON object");
    if (*p_ != '{') {
      fail("", "not_object", fmt::format("header must be a JSON object, got {} at byte {}", type_at(), pos()));
    }
    ++p_;
    ws();
    if (peek() == '}') {
      ++p_;
    } else {
      for (;;) {
        ws();
        if (peek() != '"') syntax("expected a string key");
        std::string_view key = parse_string("");
        ws();
        expect(':', key);
        ws();
        if (p_ == end_) syntax("expected a value", key);
        if (is(key, "__metadata__")) {
          if (out_.has_metadata) fail("__metadata__", "duplicate_key", "key \"__metadata__\" appears twice in the header");
          parse_metadata();
        } else {
          parse_tensor(key);
        }
        ws();
        char c = peek();
        if (c == ',') {
          ++p_;
          continue;
        }
        if (c == '}') {
          ++p_;
          break;
        }
        syntax(fmt::format("expected ',' or '}}' after the entry of \"{}\"", printable(key)));
      }
    }
    ws();
    if (p_ != end_) {
      fail("", "trailing_data",
           fmt::format("unexpected data after the JSON object at byte {} (a header may only be padded with spaces)",
                       pos()));
    }
  }

 private:
  [[noreturn]] void fail(std::string_view tensor, std::string_view rule, std::string message) {
    throw ReadError(std::string(file_), std::string(tensor), std::string(rule), std::move(message));
  }
  [[noreturn]] void syntax(std::string_view what, std::string_view tensor = "") {
    if (p_ >= end_) {
      fail(tensor, "json_syntax", fmt::format("invalid JSON: {} but the header ends at byte {}", what, pos()));
    }
    fail(tensor, "json_syntax",
         fmt::format("invalid JSON at byte {}: {}, found '{}'", pos(), what, printable(std::string_view(p_, 1))));
  }
  std::size_t pos() const { return static_cast<std::size_t>(p_ - begin_); }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  static bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
  // The bytes at p_ are the literal `lit`.
  template <std::size_t N>
  bool at(const char (&lit)[N]) const {
    return static_cast<std::size_t>(end_ - p_) >= N - 1 && std::memcmp(p_, lit, N - 1) == 0;
  }
  template <std::size_t N>
  static bool is(std::string_view s, const char (&lit)[N]) {
    return s.size() == N - 1 && std::memcmp(s.data(), lit, N - 1) == 0;
  }
  static bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }
  void ws() {
    while (p_ < end_ && is_ws(*p_)) ++p_;
  }
  void expect(char c, std::string_view tensor) {
    if (peek() != c) syntax(fmt::format("expected '{}'", c), tensor);
    ++p_;
  }
  std::string_view type_at() const {
    switch (peek()) {
      case '"': return "a string";
      case '{': return "an object";
      case '[': return "an array";
      case 't':
      case 'f': return "a boolean";
      case 'n': return "null";
      case '\0': return "end of header";
      default: return (peek() == '-' || (peek() >= '0' && peek() <= '9')) ? "a number" : "an invalid token";
    }
  }

  // The first '"', '\\' or control character at or after p, or end_.
  char* scan_string(char* p) const {
#if defined(__SSE2__)
    {
      const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), below = _mm_set1_epi8(0x1F);
      while (end_ - p >= 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // Quote, backslash, or <= 0x1F (unsigned: max(v, 0x1F) == 0x1F).
        const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                         _mm_cmpeq_epi8(_mm_max_epu8(v, below), below));
        const int m = _mm_movemask_epi8(hit);
        if (m != 0) return p + std::countr_zero(static_cast<unsigned>(m));
        p += 16;
      }
    }
#endif
    if constexpr (std::endian::native == std::endian::little) {
      constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
      while (end_ - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        const std::uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
        // Per byte: zero after the xor (quote, backslash) or below 0x20. Only
        // bytes above a flagged one can be flagged wrongly, so the lowest is exact.
        const std::uint64_t m = (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | ((w - kOnes * 0x20) & ~w)) & kHigh;
        if (m) return p + (std::countr_zero(m) >> 3);
        p += 8;
      }
    }
    while (p < end_) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"' || c == '\\' || c < 0x20) return p;
      ++p;
    }
    return p;
  }

  // p_ at the opening quote. The header was already checked to be UTF-8.
  // Returns the decoded string, a view into the header bytes.
  std::string_view parse_string(std::string_view tensor) {
    ++p_;
    char* const start = p_;
    p_ = scan_string(p_);
    if (p_ >= end_) syntax("unterminated string", tensor);
    if (*p_ == '"') {
      ++p_;
      return {start, static_cast<std::size_t>(p_ - 1 - start)};
    }
    // A control character, or the first escape: decode in place from here.
    char* w = p_;
    for (;;) {
      if (p_ >= end_) syntax("unterminated string", tensor);
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return {start, static_cast<std::size_t>(w - start)};
      }
      if (c < 0x20) syntax("control character in a string (must be escaped)", tensor);
      if (c != '\\') {
        *w++ = *p_++;
        continue;
      }
      ++p_;
      if (p_ >= end_) syntax("unterminated escape", tensor);
      char e = *p_++;
      switch (e) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4(tensor);
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') syntax("lone leading surrogate in \\u escape", tensor);
            p_ += 2;
            std::uint32_t lo = hex4(tensor);
            if (lo < 0xDC00 || lo > 0xDFFF) syntax("invalid trailing surrogate in \\u escape", tensor);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            syntax("lone trailing surrogate in \\u escape", tensor);
          }
          w = put_utf8(w, cp);
          break;
        }
        default:
          --p_;
          syntax("invalid escape sequence", tensor);
      }
    }
  }
  std::uint32_t hex4(std::string_view tensor) {
    if (end_ - p_ < 4) syntax("truncated \\u escape", tensor);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else syntax("invalid hex digit in \\u escape", tensor);
      ++p_;
    }
    return v;
  }

  // A JSON number that must be a non-negative integer fitting in 64 bits.
  // `field` and `index` name the value in messages ("shape dimension 1", "data_offsets[0]"),
  // formatted only when there is an error.
  std::uint64_t parse_uint(std::string_view tensor, std::string_view rule, const char* field, std::size_t index) {
    char* const start = p_;
    auto what = [&] {
      return std::string_view(field) == "shape" ? fmt::format("tensor \"{}\": shape dimension {}", printable(tensor), index)
                                                : fmt::format("tensor \"{}\": {}[{}]", printable(tensor), field, index);
    };
    if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      // The common case: digits (8 at a time), then ',' or ']'.
      std::uint64_t v = 0;
      bool overflow = false;
      if constexpr (std::endian::native == std::endian::little) {
        while (end_ - p_ >= 8) {
          std::uint64_t w;
          std::memcpy(&w, p_, 8);
          const unsigned n = leading_digits8(w);
          if (n > 0) {
            if (__builtin_mul_overflow(v, kPow10[n], &v) || __builtin_add_overflow(v, digits8_value(w, n), &v)) overflow = true;
            p_ += n;
          }
          if (n < 8) break;
        }
      }
      while (p_ < end_ && is_digit(*p_)) {
        const auto d = static_cast<std::uint64_t>(*p_ - '0');
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v)) overflow = true;
        ++p_;
      }
      if (p_ < end_ && (*p_ == ',' || *p_ == ']') && !overflow) return v;
      p_ = start;  // anything else: the full checks below
    }
    if (peek() == '-') {
      // Consume the number for the message.
      ++p_;
      while (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-')) ++p_;
      fail(tensor, rule, fmt::format("{} must be a non-negative integer, got {}", what(), std::string_view(start, p_)));
    }
    if (!(peek() >= '0' && peek() <= '9')) {
      fail(tensor, rule, fmt::format("{} must be a non-negative integer, got {}", what(), type_at()));
    }
    std::uint64_t v = 0;
    bool overflow = false;
    if (*p_ == '0') {
      ++p_;
      if (peek() >= '0' && peek() <= '9') syntax("leading zero in a number", tensor);
    } else {
      while (p_ < end_ && is_digit(*p_)) {
        const auto d = static_cast<std::uint64_t>(*p_ - '0');
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d, &v)) overflow = true;
        ++p_;
      }
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') {
      while (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-')) ++p_;
      fail(tensor, rule, fmt::format("{} must be an integer, got {}", what(), std::string_view(start, p_)));
    }
    if (overflow) {
      fail(tensor, rule, fmt::format("{} {} does not fit in 64 bits", what(), std::string_view(start, p_)));
    }
    return v;
  }

  // Skips any JSON value (for fields the format ignores), bounding the depth.
  void skip_value(int depth, std::string_view tensor) {
    char c = peek();
    if (c == '"') {
      (void)parse_string(tensor);
      return;
    }
    if (c == '{' || c == '[') {
      if (depth + 1 > kMaxNestingDepth) {
        fail(tensor, "nesting_depth",
             fmt::format("JSON nesting deeper than {} levels at byte {}", kMaxNestingDepth, pos()));
      }
      const char close = c == '{' ? '}' : ']';
      ++p_;
      ws();
      if (peek() == close) {
        ++p_;
        return;
      }
      for (;;) {
        ws();
        if (c == '{') {
          if (peek() != '"') syntax("expected a string key", tensor);
          (void)parse_string(tensor);
          ws();
          expect(':', tensor);
          ws();
        }
        skip_value(depth + 1, tensor);
        ws();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        if (peek() == close) {
          ++p_;
          return;
        }
        syntax(fmt::format("expected ',' or '{}'", close), tensor);
      }
    }
    if (c == 't' || c == 'f' || c == 'n') {
      std::string_view lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
      if (static_cast<std::size_t>(end_ - p_) < lit.size() || std::string_view(p_, lit.size()) != lit) {
        syntax("invalid literal", tensor);
      }
      p_ += lit.size();
      return;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      if (c == '-') ++p_;
      if (!(peek() >= '0' && peek() <= '9')) syntax("invalid number", tensor);
      if (*p_ == '0') {
        ++p_;
      } else {
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      }
      if (peek() == '.') {
        ++p_;
        if (!(peek() >= '0' && peek() <= '9')) syntax("invalid number", tensor);
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      }
      if (peek() == 'e' || peek() == 'E') {
        ++p_;
        if (peek() == '+' || peek() == '-') ++p_;
        if (!(peek() >= '0' && peek() <= '9')) syntax("invalid number", tensor);
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      }
      return;
    }
    syntax("expected a JSON value", tensor);
  }

  void parse_metadata() {
    if (peek() != '{') {
      fail("__metadata__", "metadata_type",
           fmt::format("__metadata__ must be an object of strings, got {}", type_at()));
    }
    ++p_;
    ws();
    out_.has_metadata = true;
    if (peek() == '}') {
      ++p_;
      return;
    }
    for (;;) {
      ws();
      if (peek() != '"') syntax("expected a string key in __metadata__", "__metadata__");
      const std::string_view key = parse_string("__metadata__");
      ws();
      expect(':', "__metadata__");
      ws();
      if (peek() != '"') {
        fail("__metadata__", "metadata_type",
             fmt::format("__metadata__[\"{}\"] must be a string, got {}", printable(key), type_at()));
      }
      const std::string_view value = parse_string("__metadata__");
      auto [it, inserted] = out_.metadata.emplace(std::string(key), std::string(value));
      if (!inserted) {
        fail("__metadata__", "duplicate_key",
             fmt::format("__metadata__ key \"{}\" appears twice", printable(it->first)));
      }
      ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == '}') {
        ++p_;
        return;
      }
      syntax("expected ',' or '}' in __metadata__", "__metadata__");
    }
  }

  // An integer in the fast path at p: digits (no leading zero, fitting in 64
  // bits) followed by ',' or ']'. Null for anything else, which the general
  // path then parses or reports; else the position of the ',' or ']'.
  [[gnu::always_inline]] inline const char* fast_uint(const char* p, std::uint64_t& v) const {
    const char* const end = end_;
    if (p >= end) return nullptr;
    v = 0;
    if (*p == '0') {
      ++p;
    } else {
      if (*p < '1' || *p > '9') return nullptr;
      if constexpr (std::endian::native == std::endian::little) {
        for (;;) {
          if (end - p < 8) break;
          std::uint64_t w;
          std::memcpy(&w, p, 8);
          const unsigned n = leading_digits8(w);
          if (n > 0) {
            if (__builtin_mul_overflow(v, kPow10[n], &v) || __builtin_add_overflow(v, digits8_value(w, n), &v)) return nullptr;
            p += n;
          }
          if (n < 8) return p < end && (*p == ',' || *p == ']') ? p : nullptr;
        }
      }
      while (p < end && is_digit(*p)) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, static_cast<std::uint64_t>(*p - '0'), &v)) return nullptr;
        ++p;
      }
    }
    return p < end && (*p == ',' || *p == ']') ? p : nullptr;
  }
  template <std::size_t N>
  static bool at(const char* p, const char* end, const char (&lit)[N]) {
    return static_cast<std::size_t>(end - p) >= N - 1 && std::memcmp(p, lit, N - 1) == 0;
  }

  // A tensor entry as writers emit it: {"dtype":"..","shape":[..],"data_offsets":[b,e]}
  // with the three fields in any order, no whitespace, no escapes, no other
  // field. Never throws: on anything else it returns false and the general
  // path parses the entry again from its '{' (and names any error).
  bool fast_entry(TensorInfo& t) {
    const char* p = p_;
    const char* const end = end_;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    if (p >= end || *p != '{') return false;
    ++p;
    for (;;) {
      if (at(p, end, "\"dtype\":\"")) {
        if (has_dtype) return false;
        has_dtype = true;
        p += 9;
        const char* d = p;
        while (p < end && p - d < 16 && *p != '"' && *p != '\\') ++p;
        if (p >= end || *p != '"') return false;
        const auto dt = parse_dtype(std::string_view(d, static_cast<std::size_t>(p - d)));
        if (!dt) return false;
        t.dtype = *dt;
        ++p;
      } else if (at(p, end, "\"shape\":[")) {
        if (has_shape) return false;
        has_shape = true;
        p += 9;
        auto& dims = st_.dims;
        const std::size_t first = dims.size();
        if (p < end && *p == ']') {
          ++p;
        } else {
          for (;;) {
            std::uint64_t v;
            p = fast_uint(p, v);
            if (!p) return false;
            dims.push_back(v);
            if (*p++ == ']') break;
          }
        }
        t.shape = Shape(nullptr, dims.size() - first);
      } else if (at(p, end, "\"data_offsets\":[")) {
        if (has_offsets) return false;
        has_offsets = true;
        p = fast_uint(p + 16, t.begin);
        if (!p || *p++ != ',') return false;
        p = fast_uint(p, t.end);
        if (!p || *p++ != ']') return false;
      } else {
        return false;
      }
      if (p >= end) return false;
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p != '}') return false;
      p_ = const_cast<char*>(p);
      ++p_;
      return has_dtype && has_shape && has_offsets;
    }
  }

  // The value of "dtype": a string naming a known dtype.
  void parse_dtype_field(std::string_view name, TensorInfo& t) {
    if (peek() != '"') fail(name, "dtype", fmt::format("tensor \"{}\": dtype must be a string, got {}", printable(name), type_at()));
    const std::string_view d = parse_string(name);
    auto dt = parse_dtype(d);
    if (!dt) {
      fail(name, "dtype", fmt::format("tensor \"{}\": unknown dtype \"{}\"", printable(name), printable(d)));
    }
    t.dtype = *dt;
  }

  // The value of "shape": an array of unsigned integers, kept in the header's
  // dimension storage.
  void parse_shape_field(std::string_view name, TensorInfo& t) {
    if (peek() != '[') fail(name, "shape", fmt::format("tensor \"{}\": shape must be an array, got {}", printable(name), type_at()));
    ++p_;
    ws();
    auto& dims = st_.dims;
    const std::size_t first = dims.size();
    st_.shape_start.back() = static_cast<std::uint32_t>(first);
    if (peek() == ']') {
      ++p_;
    } else {
      for (;;) {
        ws();
        dims.push_back(parse_uint(name, "shape", "shape", dims.size() - first));
        ws();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        if (peek() == ']') {
          ++p_;
          break;
        }
        syntax("expected ',' or ']' in shape", name);
      }
    }
    t.shape = Shape(nullptr, dims.size() - first);  // pointed at dims once parsing is done
  }

  // The value of "data_offsets": exactly two unsigned integers [begin, end].
  void parse_offsets_field(std::string_view name, TensorInfo& t) {
    if (peek() != '[') {
      fail(name, "data_offsets", fmt::format("tensor \"{}\": data_offsets must be an array [begin, end], got {}", printable(name), type_at()));
    }
    ++p_;
    std::uint64_t v[2];
    int n = 0;
    ws();
    if (peek() != ']') {
      for (;;) {
        ws();
        if (n == 2) fail(name, "data_offsets", fmt::format("tensor \"{}\": data_offsets must hold exactly 2 integers", printable(name)));
        v[n] = parse_uint(name, "data_offsets", "data_offsets", static_cast<std::size_t>(n));
        ++n;
        ws();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        if (peek() == ']') break;
        syntax("expected ',' or ']' in data_offsets", name);
      }
    }
    ++p_;
    if (n != 2) fail(name, "data_offsets", fmt::format("tensor \"{}\": data_offsets must hold exactly 2 integers, got {}", printable(name), n));
    t.begin = v[0];
    t.end = v[1];
  }

  // One tensor entry: the writers' usual spelling on the fast path, else the
  // general path, field by field, in any order, each at most once.
  void parse_tensor(std::string_view name) {
    TensorInfo& t = out_.tensors.emplace_back();
    t.name = name;
    st_.shape_start.push_back(static_cast<std::uint32_t>(st_.dims.size()));
    {
      char* const entry = p_;
      const std::size_t dims = st_.dims.size();
      if (fast_entry(t)) return;
      p_ = entry;  // the general path, from the start of the entry
      st_.dims.resize(dims);
      t = TensorInfo{};
      t.name = name;
    }
    if (peek() != '{') {
      fail(name, "tensor_entry", fmt::format("tensor \"{}\": entry must be an object, got {}", printable(name), type_at()));
    }
    ++p_;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    ws();
    if (peek() != '}') {
      for (;;) {
        ws();
        if (peek() != '"') syntax("expected a string key", name);
        // The three fields as writers spell them (no escapes, no space before
        // ':'), else the general path.
        enum { kDtype, kShape, kOffsets, kOther } f;
        if (at("\"dtype\":")) {
          p_ += 8;
          f = kDtype;
        } else if (at("\"shape\":")) {
          p_ += 8;
          f = kShape;
        } else if (at("\"data_offsets\":")) {
          p_ += 15;
          f = kOffsets;
        } else {
          const std::string_view field = parse_string(name);
          ws();
          expect(':', name);
          f = is(field, "dtype") ? kDtype : is(field, "shape") ? kShape : is(field, "data_offsets") ? kOffsets : kOther;
        }
        ws();
        if (f == kDtype) {
          if (has_dtype) fail(name, "duplicate_key", fmt::format("tensor \"{}\": field \"dtype\" appears twice", printable(name)));
          has_dtype = true;
          parse_dtype_field(name, t);
        } else if (f == kShape) {
          if (has_shape) fail(name, "duplicate_key", fmt::format("tensor \"{}\": field \"shape\" appears twice", printable(name)));
          has_shape = true;
          parse_shape_field(name, t);
        } else if (f == kOffsets) {
          if (has_offsets) fail(name, "duplicate_key", fmt::format("tensor \"{}\": field \"data_offsets\" appears twice", printable(name)));
          has_offsets = true;
          parse_offsets_field(name, t);
        } else {
          skip_value(2, name);  // ignored, as the reference reader does
        }
        ws();
        if (peek() == ',') {
          ++p_;
          continue;
        }
        if (peek() == '}') break;
        syntax(fmt::format("expected ',' or '}}' in the entry of tensor \"{}\"", printable(name)), name);
      }
    }
    ++p_;
    if (!has_dtype || !has_shape || !has_offsets) {
      fail(name, "missing_field",
           fmt::format("tensor \"{}\": missing field \"{}\"", printable(name),
                       !has_dtype ? "dtype" : !has_shape ? "shape" : "data_offsets"));
    }
  }

  char* begin_;
  char* p_;
  char* end_;
  std::string_view file_;
  SafetensorsHeader& out_;
  HeaderStorage& st_;
};

[[noreturn]] void fail_at(std::string_view file, std::string_view tensor, std::string_view rule, std::string msg) {
  throw ReadError(std::string(file), std::string(tensor), std::string(rule), std::move(msg));
}

// The sorted check of the data offsets: sorted by (begin, end), the tensors
// must cover the data from 0 with no hole and no overlap. Throws the first
// violation; otherwise returns the end of the data and the last tensor.
std::pair<std::uint64_t, const TensorInfo*> check_offsets_sorted(const SafetensorsHeader& h, std::string_view file) {
  const std::size_t n = h.tensors.size();
  struct Span {
    std::uint64_t begin, end;
    std::uint32_t index;
    bool operator<(const Span& o) const { return begin != o.begin ? begin < o.begin : end < o.end; }
  };
  std::vector<Span> spans;
  spans.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) spans.push_back({h.tensors[i].begin, h.tensors[i].end, i});
  std::sort(spans.begin(), spans.end());
  std::uint64_t expected = 0;
  const TensorInfo* prev = nullptr;
  for (const auto& s : spans) {
    const auto& t = h.tensors[s.index];
    if (t.begin < expected) {
      fail_at(file, t.name, "offsets_overlap",
              fmt::format("tensor \"{}\": data_offsets [{}, {}] overlap tensor \"{}\" which ends at {}", printable(t.name),
                          t.begin, t.end, prev ? printable(prev->name) : std::string(), expected));
    }
    if (t.begin > expected) {
      fail_at(file, t.name, "offsets_gap",
              prev ? fmt::format("tensor \"{}\": data_offsets [{}, {}] leave a hole of {} bytes after tensor \"{}\" which ends at {}",
                                 printable(t.name), t.begin, t.end, t.begin - expected, printable(prev->name), expected)
                   : fmt::format("tensor \"{}\": data_offsets [{}, {}] leave a hole of {} bytes at the start of the data",
                                 printable(t.name), t.begin, t.end, t.begin));
    }
    expected = t.end;
    prev = &t;
  }
  return {expected, prev};
}

// The same check without sorting, for the usual case: returns false when it
// cannot decide (shared begins, a hole, an overlap, a zero-size tensor that is
// not at the start of a non-empty one, lengths that overflow), and the sorted
// check then finds and names the violation. Zero-size tensors (ComfyUI's
// `scaled_fp8` marker) are accepted here when they sit where a non-empty
// tensor begins: sorted by (begin, end) they come just before it, where the
// sorted check accepts them.
bool check_offsets_fast(const SafetensorsHeader& h, HeaderStorage& st, std::uint64_t& expected, const TensorInfo*& last) {
  const std::size_t n = h.tensors.size();
  expected = 0;
  last = nullptr;
  if (n == 0) return true;
  // Header order already is offset order.
  bool in_order = true;
  for (const auto& t : h.tensors) {
    if (t.begin != expected) {
      in_order = false;
      break;
    }
    expected = t.end;
  }
  if (in_order) {
    last = &h.tensors.back();
    return true;
  }
  // The non-empty spans tile [0, E) (E: the largest end) exactly when their
  // begins are distinct, one of them is 0, every end other than E is a begin,
  // and their lengths add up to E: following the ends from the span at 0 then
  // gives a chain of spans that tiles [0, E), whose lengths already add up to
  // E, so no other non-empty span is left. Unlike a walk from 0, the look-ups
  // below do not wait for one another. The table holds begin + 1 (a
  // non-empty tensor's begin is below its end, so this cannot overflow).
  const std::size_t cap = table_size(n);
  const std::size_t mask = cap - 1;
  const int shift = 64 - std::countr_zero(cap);
  auto slot_of = [&](std::uint64_t begin) { return static_cast<std::size_t>((begin * 0x9E3779B97F4A7C15ULL) >> shift) & mask; };
  auto& slots = st.offset_slots;
  slots.assign(cap, 0);
  std::uint64_t end_max = 0, total = 0;
  bool from_zero = false, any = false;
  for (const auto& t : h.tensors) {
    if (t.end == t.begin) continue;  // checked below
    any = true;
    from_zero |= t.begin == 0;
    end_max = std::max(end_max, t.end);
    if (__builtin_add_overflow(total, t.end - t.begin, &total)) return false;
    for (std::size_t s = slot_of(t.begin);; s = (s + 1) & mask) {
      if (slots[s] == 0) {
        slots[s] = t.begin + 1;
        break;
      }
      if (slots[s] == t.begin + 1) return false;
    }
  }
  if (!any || !from_zero || total != end_max) return false;
  auto is_begin = [&](std::uint64_t x) {
    std::size_t s = slot_of(x);
    while (slots[s] != 0 && slots[s] != x + 1) s = (s + 1) & mask;
    return slots[s] != 0;
  };
  for (const auto& t : h.tensors) {
    if (t.end == t.begin) {
      // A zero-size tensor at the end of the data would sort last and be the
      // tensor the size messages name: left to the sorted check.
      if (t.begin == end_max || !is_begin(t.begin)) return false;
    } else if (t.end != end_max && !is_begin(t.end)) {
      return false;
    }
  }
  expected = end_max;
  for (const auto& t : h.tensors) {
    if (t.end == end_max && t.end != t.begin) {
      last = &t;  // (one non-empty span ends at E: the last of the chain)
      break;
    }
  }
  return true;
}

void validate(SafetensorsHeader& h, HeaderStorage& st, std::string_view file) {
  const std::size_t n = h.tensors.size();
  // Per tensor: offsets, element count, size; and the name index (a duplicate
  // name is reported after every tensor passed these checks).
  const std::size_t cap = table_size(n);
  const std::size_t mask = cap - 1;
  auto& slots = st.name_slots;
  slots.assign(cap, 0);
  st.name_hash.resize(n);
  const TensorInfo* duplicate = nullptr;
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& t = h.tensors[i];
    auto name = [&] { return printable(t.name); };
    if (t.begin > t.end) {
      fail_at(file, t.name, "data_offsets", fmt::format("tensor \"{}\": data_offsets [{}, {}] end before they begin", name(), t.begin, t.end));
    }
    std::uint64_t bits = dtype_bits(t.dtype);
    for (auto d : t.shape) {
      if (__builtin_mul_overflow(bits, d, &bits)) {
        fail_at(file, t.name, "shape", fmt::format("tensor \"{}\": shape {} has too many elements", name(), shape_string(t.shape)));
      }
    }
    if (bits % 8 != 0) {
      fail_at(file, t.name, "misaligned", fmt::format("tensor \"{}\": {} {} is not a whole number of bytes", name(), to_string(t.dtype), shape_string(t.shape)));
    }
    const std::uint64_t bytes = bits / 8;
    if (t.end - t.begin != bytes) {
      fail_at(file, t.name, "size_mismatch",
              fmt::format("tensor \"{}\": data_offsets [{}, {}] span {} bytes but {} {} needs {}", name(), t.begin, t.end,
                          t.end - t.begin, to_string(t.dtype), shape_string(t.shape), bytes));
    }
    st.name_hash[i] = hash_bytes(t.name);
  }
  // The index, its slots fetched a few tensors ahead.
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& t = h.tensors[i];
    if (i + 8 < n) __builtin_prefetch(&slots[static_cast<std::size_t>(st.name_hash[i + 8]) & mask]);
    const std::uint64_t hash = st.name_hash[i];
    const std::uint64_t tag = hash & 0xFFFFFFFF00000000ULL;
    for (std::size_t s = static_cast<std::size_t>(hash) & mask;; s = (s + 1) & mask) {
      if (slots[s] == 0) {
        slots[s] = tag | (i + 1);
        break;
      }
      if ((slots[s] & 0xFFFFFFFF00000000ULL) == tag && h.tensors[(slots[s] & 0xFFFFFFFFu) - 1].name == t.name) {
        // With several duplicated names, the one reported has always been the
        // one with the smallest std::hash (the index used to be sorted by it).
        if (!duplicate || std::hash<std::string_view>{}(t.name) < std::hash<std::string_view>{}(duplicate->name)) {
          duplicate = &t;
        }
        break;
      }
    }
  }
  if (duplicate) {
    fail_at(file, duplicate->name, "duplicate_key", fmt::format("tensor \"{}\" appears twice in the header", printable(duplicate->name)));
  }
  st.indexed = n;
  std::uint64_t expected = 0;
  const TensorInfo* prev = nullptr;
  if (!check_offsets_fast(h, st, expected, prev)) std::tie(expected, prev) = check_offsets_sorted(h, file);
  const std::uint64_t data_start = 8 + h.header_length;
  const std::uint64_t available = h.file_size - data_start;  // checked by the caller: file_size >= data_start
  if (expected > available) {
    fail_at(file, prev ? prev->name : std::string_view(), "data_past_eof",
            fmt::format("tensor \"{}\" ends at data offset {} but the file holds only {} bytes of data ({} bytes in all)",
                        prev ? printable(prev->name) : std::string(), expected, available, h.file_size));
  }
  if (expected < available) {
    fail_at(file, "", "file_size",
            fmt::format("the tensors account for {} bytes of data but the file holds {} after the header ({} unexplained bytes)",
                        expected, available, available - expected));
  }
}

// The checks before the JSON: size, magic, header length. Returns N.
std::uint64_t check_prefix(std::string_view bytes, std::uint64_t file_size, const std::string& file) {
  auto fail = [&](std::string_view rule, std::string msg) -> ReadError {
    return ReadError(file, "", std::string(rule), std::move(msg));
  };
  if (file_size == 0) throw fail("empty_file", "file is empty (0 bytes); a safetensors file starts with an 8-byte header length");
  if (bytes.size() >= 4 && bytes.substr(0, 4) == "GGUF") {
    throw fail("gguf", "this is a GGUF file (magic \"GGUF\"), not safetensors; GGUF quantised models are not read by this tool");
  }
  if (bytes.size() >= 4 && bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4)) {
    throw fail("not_safetensors", "this is a zip archive (a PyTorch .ckpt/.pt pickle checkpoint?), not safetensors");
  }
  if (file_size < 8 || bytes.size() < 8) {
    throw fail("truncated", fmt::format("file has {} bytes; a safetensors file starts with an 8-byte header length",
                                        std::min<std::uint64_t>(file_size, bytes.size())));
  }
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  if (n > kMaxHeaderBytes) {
    throw fail("header_too_large", fmt::format("header length {} exceeds the limit of {} bytes", n, kMaxHeaderBytes));
  }
  if (n == 0) throw fail("empty_header", "header length is 0; expected a JSON object");
  if (8 + n > file_size) {
    throw fail("header_past_eof",
               fmt::format("header length {} runs past the end of the file ({} bytes, so at most {} bytes of header)", n,
                           file_size, file_size - 8));
  }
  if (bytes.size() < 8 + n) {
    throw fail("truncated", fmt::format("only {} of the {} header bytes could be read", bytes.size() - 8, n));
  }
  return n;
}

// Validates the N header bytes at `json` (inside st's buffer, decoded in place).
SafetensorsHeader parse_json(std::shared_ptr<HeaderStorage> st, char* json, std::uint64_t n, std::uint64_t file_size,
                             const std::string& file) {
  if (auto bad = find_invalid_utf8(std::string_view(json, n)); bad != std::string_view::npos) {
    throw ReadError(file, "", "utf8",
                    fmt::format("header is not valid UTF-8 (byte {} of the header, 0x{:02x})", bad,
                                static_cast<unsigned char>(json[bad])));
  }
  SafetensorsHeader h;
  h.file = file;
  h.header_length = n;
  h.file_size = file_size;
  HeaderParser(json, n, file, h, *st).parse();
  const std::uint64_t* dims = st->dims.data();
  for (std::size_t i = 0; i < h.tensors.size(); ++i) {
    h.tensors[i].shape = Shape(dims + st->shape_start[i], h.tensors[i].shape.size());
  }
  validate(h, *st, file);
  HeaderAccess::set_storage(h, std::move(st));
  return h;
}

}  // namespace

std::string_view to_string(Dtype d) noexcept {
  const auto i = static_cast<std::size_t>(d);
  return i < kDtypes.size() ? kDtypes[i].name : "?";
}
std::optional<Dtype> parse_dtype(std::string_view s) noexcept {
  // The common ones first.
  if (s == "F16") return Dtype::F16;
  if (s == "BF16") return Dtype::BF16;
  if (s == "F32") return Dtype::F32;
  for (const auto& e : kDtypes) {
    if (e.name == s) return e.dtype;
  }
  return std::nullopt;
}
unsigned dtype_bits(Dtype d) noexcept {
  const auto i = static_cast<std::size_t>(d);
  return i < kDtypes.size() ? kDtypes[i].bits : 8;
}
bool is_fp8(Dtype d) noexcept {
  return d == Dtype::F8_E4M3 || d == Dtype::F8_E5M2 || d == Dtype::F8_E8M0 || d == Dtype::F8_E4M3FNUZ ||
         d == Dtype::F8_E5M2FNUZ;
}

std::uint64_t TensorInfo::elements() const noexcept {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

const TensorInfo* SafetensorsHeader::find(std::string_view name) const {
  const HeaderStorage* st = HeaderAccess::storage(*this);
  if (st && st->indexed == tensors.size() && !st->name_slots.empty()) {
    const std::uint64_t hash = hash_bytes(name);
    const std::uint64_t tag = hash & 0xFFFFFFFF00000000ULL;
    const std::size_t mask = st->name_slots.size() - 1;
    for (std::size_t s = static_cast<std::size_t>(hash) & mask; st->name_slots[s] != 0; s = (s + 1) & mask) {
      const std::uint64_t slot = st->name_slots[s];
      if ((slot & 0xFFFFFFFF00000000ULL) == tag) {
        const TensorInfo& t = tensors[(slot & 0xFFFFFFFFu) - 1];
        if (t.name == name) return &t;
      }
    }
    return nullptr;
  }
  for (const auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

ReadError::ReadError(std::string file, std::string tensor, std::string rule, std::string message)
    : std::runtime_error(fmt::format("{}: {} [{}]", file, message, rule)),
      file_(std::move(file)),
      tensor_(std::move(tensor)),
      rule_(std::move(rule)),
      message_(std::move(message)) {}

nlohmann::json ReadError::to_json() const {
  nlohmann::json j{{"file", file_}, {"rule", rule_}, {"message", message_}};
  if (!tensor_.empty()) j["tensor"] = tensor_;
  return j;
}

SafetensorsHeader parse_header(std::string_view bytes, std::uint64_t file_size, std::string_view file_label) {
  const std::string file(file_label);
  const std::uint64_t n = check_prefix(bytes, file_size, file);
  StorageTrim trim;
  auto st = acquire_storage();
  char* buf = st->reserve(8 + n);
  std::memcpy(buf, bytes.data(), 8 + n);
  return parse_json(std::move(st), buf + 8, n, file_size, file);
}

SafetensorsHeader read_header(const std::filesystem::path& path) {
  const std::string file = path.string();
  auto io_error = [&](std::string what) -> ReadError {
    return ReadError(file, "", "io", fmt::format("{}: {}", what, std::strerror(errno)));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error("cannot open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw io_error("cannot stat");
  if (S_ISDIR(st.st_mode)) throw ReadError(file, "", "io", "is a directory");
  if (!S_ISREG(st.st_mode)) throw ReadError(file, "", "io", "not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);

  auto read_at = [&](char* dst, std::size_t len, std::uint64_t offset) -> std::size_t {
    std::size_t done = 0;
    while (done < len) {
      ssize_t r = ::pread(fd, dst + done, len - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw io_error("read failed");
      }
      if (r == 0) break;
      done += static_cast<std::size_t>(r);
    }
    return done;
  };

  // One pread of the first 4 KiB (the whole header of a small file), then,
  // when the length is sane, the rest of the header; into the thread's
  // reused buffer. parse_header's checks report everything else.
  StorageTrim trim;
  auto storage = acquire_storage();
  constexpr std::size_t kFirstRead = 4096;
  const auto first = static_cast<std::size_t>(std::min<std::uint64_t>(size, kFirstRead));
  char* buf = storage->reserve(kFirstRead);
  std::size_t got = read_at(buf, first, 0);
  if (got >= 8) {
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(buf[static_cast<std::size_t>(i)]);
    if (n > 0 && n <= kMaxHeaderBytes && 8 + n <= size && std::string_view(buf, 4) != "GGUF" && got < 8 + n) {
      buf = storage->reserve(static_cast<std::size_t>(8 + n), got);
      got += read_at(buf + got, static_cast<std::size_t>(8 + n - got), got);
    }
  }
  const std::uint64_t n = check_prefix(std::string_view(buf, got), size, file);
  return parse_json(std::move(storage), buf + 8, n, size, file);
}

std::string encode_header(const std::vector<TensorSpec>& tensors, const std::map<std::string, std::string>& metadata,
                          std::uint64_t* data_size) {
  nlohmann::json j = nlohmann::json::object();
  if (!metadata.empty()) j["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    std::uint64_t bits = dtype_bits(t.dtype);
    for (auto d : t.shape) bits *= d;
    const std::uint64_t bytes = bits / 8;
    j[t.name] = {{"dtype", std::string(to_string(t.dtype))}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string body = j.dump();
  while (body.size() % 8 != 0) body += ' ';
  std::string out(8, '\0');
  std::uint64_t n = body.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  out += body;
  if (data_size) *data_size = offset;
  return out;
}

std::uint64_t write_sparse_safetensors(const std::filesystem::path& file, const std::vector<TensorSpec>& tensors,
                                       const std::map<std::string, std::string>& metadata) {
  std::uint64_t data = 0;
  const std::string header = encode_header(tensors, metadata, &data);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    if (!out) throw ReadError(file.string(), "", "io", "cannot write the file");
  }
  std::filesystem::resize_file(file, header.size() + data);
  return header.size() + data;
}

}  // namespace inferconf::detect
