// The safetensors header reader: a strict, allocation-bounded parser written
// for this one JSON shape (an object of tensor entries and one string map),
// so every violation can name the tensor and the rule, and so a header of
// thousands of tensors parses in microseconds (see bench/detect).
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <numeric>

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

std::string shape_string(const std::vector<std::uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

// Returns the offset of the first invalid UTF-8 byte, or npos.
std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
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

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Parses the JSON header. Positions in messages are byte offsets within the
// header (0 = the byte after the 8-byte length).
class HeaderParser {
 public:
  HeaderParser(std::string_view json, std::string_view file, SafetensorsHeader& out)
      : begin_(json.data()), p_(json.data()), end_(json.data() + json.size()), file_(file), out_(out) {}

  void parse() {
    out_.tensors.reserve(static_cast<std::size_t>(end_ - begin_) / 96);
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
      std::string key;
      for (;;) {
        ws();
        if (peek() != '"') syntax("expected a string key");
        parse_string(key, "");
        ws();
        expect(':', key);
        ws();
        if (p_ == end_) syntax("expected a value", key);
        if (key == "__metadata__") {
          if (out_.has_metadata) fail("__metadata__", "duplicate_key", "key \"__metadata__\" appears twice in the header");
          parse_metadata();
        } else {
          parse_tensor(std::move(key));
          key = std::string();
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
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
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

  // p_ at the opening quote. The header was already checked to be UTF-8.
  void parse_string(std::string& out, std::string_view tensor) {
    ++p_;
    out.clear();
    const char* run = p_;
    for (;;) {
      if (p_ >= end_) syntax("unterminated string", tensor);
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(run, p_);
        ++p_;
        return;
      }
      if (c < 0x20) syntax("control character in a string (must be escaped)", tensor);
      if (c != '\\') {
        ++p_;
        continue;
      }
      out.append(run, p_);
      ++p_;
      if (p_ >= end_) syntax("unterminated escape", tensor);
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
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
          append_utf8(out, cp);
          break;
        }
        default:
          --p_;
          syntax("invalid escape sequence", tensor);
      }
      run = p_;
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
    const char* start = p_;
    auto what = [&] {
      return std::string_view(field) == "shape" ? fmt::format("tensor \"{}\": shape dimension {}", printable(tensor), index)
                                                : fmt::format("tensor \"{}\": {}[{}]", printable(tensor), field, index);
    };
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
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
        std::uint64_t d = static_cast<std::uint64_t>(*p_ - '0');
        if (v > (UINT64_MAX - d) / 10) overflow = true;
        v = v * 10 + d;
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
      std::string tmp;
      parse_string(tmp, tensor);
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
          std::string tmp;
          parse_string(tmp, tensor);
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
    std::string key, value;
    for (;;) {
      ws();
      if (peek() != '"') syntax("expected a string key in __metadata__", "__metadata__");
      parse_string(key, "__metadata__");
      ws();
      expect(':', "__metadata__");
      ws();
      if (peek() != '"') {
        fail("__metadata__", "metadata_type",
             fmt::format("__metadata__[\"{}\"] must be a string, got {}", printable(key), type_at()));
      }
      parse_string(value, "__metadata__");
      auto [it, inserted] = out_.metadata.emplace(std::move(key), std::move(value));
      if (!inserted) {
        fail("__metadata__", "duplicate_key",
             fmt::format("__metadata__ key \"{}\" appears twice", printable(it->first)));
      }
      key = std::string();
      value = std::string();
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

  void parse_tensor(std::string&& key) {
    TensorInfo& t = out_.tensors.emplace_back();
    t.name = std::move(key);
    const std::string& name = t.name;
    if (peek() != '{') {
      fail(name, "tensor_entry", fmt::format("tensor \"{}\": entry must be an object, got {}", printable(name), type_at()));
    }
    ++p_;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::string field;
    ws();
    if (peek() != '}') {
      for (;;) {
        ws();
        if (peek() != '"') syntax("expected a string key", name);
        parse_string(field, name);
        ws();
        expect(':', name);
        ws();
        if (field == "dtype") {
          if (has_dtype) fail(name, "duplicate_key", fmt::format("tensor \"{}\": field \"dtype\" appears twice", printable(name)));
          has_dtype = true;
          if (peek() != '"') fail(name, "dtype", fmt::format("tensor \"{}\": dtype must be a string, got {}", printable(name), type_at()));
          std::string& d = scratch_;
          parse_string(d, name);
          auto dt = parse_dtype(d);
          if (!dt) {
            fail(name, "dtype", fmt::format("tensor \"{}\": unknown dtype \"{}\"", printable(name), printable(d)));
          }
          t.dtype = *dt;
        } else if (field == "shape") {
          if (has_shape) fail(name, "duplicate_key", fmt::format("tensor \"{}\": field \"shape\" appears twice", printable(name)));
          has_shape = true;
          if (peek() != '[') fail(name, "shape", fmt::format("tensor \"{}\": shape must be an array, got {}", printable(name), type_at()));
          ++p_;
          ws();
          t.shape.reserve(4);
          if (peek() == ']') {
            ++p_;
          } else {
            for (;;) {
              ws();
              t.shape.push_back(parse_uint(name, "shape", "shape", t.shape.size()));
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
        } else if (field == "data_offsets") {
          if (has_offsets) fail(name, "duplicate_key", fmt::format("tensor \"{}\": field \"data_offsets\" appears twice", printable(name)));
          has_offsets = true;
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

  std::string scratch_;
  const char* begin_;
  const char* p_;
  const char* end_;
  std::string_view file_;
  SafetensorsHeader& out_;
};

std::uint64_t hash_name(std::string_view s) { return std::hash<std::string_view>{}(s); }

struct TensorIndex {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> entries;  // sorted by hash
};

std::shared_ptr<TensorIndex> validate_offsets(SafetensorsHeader& h, std::string_view file) {
  auto fail = [&](const std::string& tensor, std::string_view rule, std::string msg) {
    throw ReadError(std::string(file), tensor, std::string(rule), std::move(msg));
  };
  const std::size_t n = h.tensors.size();
  for (const auto& t : h.tensors) {
    auto name = [&] { return printable(t.name); };
    if (t.begin > t.end) {
      fail(t.name, "data_offsets", fmt::format("tensor \"{}\": data_offsets [{}, {}] end before they begin", name(), t.begin, t.end));
    }
    std::uint64_t bits = dtype_bits(t.dtype);
    for (auto d : t.shape) {
      if (__builtin_mul_overflow(bits, d, &bits)) {
        fail(t.name, "shape", fmt::format("tensor \"{}\": shape {} has too many elements", name(), shape_string(t.shape)));
      }
    }
    if (bits % 8 != 0) {
      fail(t.name, "misaligned", fmt::format("tensor \"{}\": {} {} is not a whole number of bytes", name(), to_string(t.dtype), shape_string(t.shape)));
    }
    const std::uint64_t bytes = bits / 8;
    if (t.end - t.begin != bytes) {
      fail(t.name, "size_mismatch",
           fmt::format("tensor \"{}\": data_offsets [{}, {}] span {} bytes but {} {} needs {}", name(), t.begin, t.end,
                       t.end - t.begin, to_string(t.dtype), shape_string(t.shape), bytes));
    }
  }
  // Duplicate names (the parser does not keep a set while parsing).
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  TensorIndex index;
  index.entries.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) index.entries.emplace_back(hash_name(h.tensors[i].name), i);
  std::sort(index.entries.begin(), index.entries.end());
  for (std::size_t i = 1; i < index.entries.size(); ++i) {
    if (index.entries[i].first != index.entries[i - 1].first) continue;
    for (std::size_t j = i; j-- > 0 && index.entries[j].first == index.entries[i].first;) {
      const auto& a = h.tensors[index.entries[i].second];
      if (a.name == h.tensors[index.entries[j].second].name) {
        fail(a.name, "duplicate_key", fmt::format("tensor \"{}\" appears twice in the header", printable(a.name)));
      }
    }
  }
  // Contiguity: sorted by (begin, end), from 0, no holes, no overlaps.
  struct Span {
    std::uint64_t begin, end;
    std::uint32_t index;
    bool operator<(const Span& o) const { return begin != o.begin ? begin < o.begin : end < o.end; }
  };
  std::vector<Span> spans;
  spans.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) spans.push_back({h.tensors[i].begin, h.tensors[i].end, i});
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 0; i < n; ++i) order[i] = spans[i].index;
  std::uint64_t expected = 0;
  const TensorInfo* prev = nullptr;
  for (auto i : order) {
    const auto& t = h.tensors[i];
    if (t.begin < expected) {
      fail(t.name, "offsets_overlap",
           fmt::format("tensor \"{}\": data_offsets [{}, {}] overlap tensor \"{}\" which ends at {}", printable(t.name),
                       t.begin, t.end, prev ? printable(prev->name) : std::string(), expected));
    }
    if (t.begin > expected) {
      fail(t.name, "offsets_gap",
           prev ? fmt::format("tensor \"{}\": data_offsets [{}, {}] leave a hole of {} bytes after tensor \"{}\" which ends at {}",
                              printable(t.name), t.begin, t.end, t.begin - expected, printable(prev->name), expected)
                : fmt::format("tensor \"{}\": data_offsets [{}, {}] leave a hole of {} bytes at the start of the data", printable(t.name),
                              t.begin, t.end, t.begin));
    }
    expected = t.end;
    prev = &t;
  }
  const std::uint64_t data_start = 8 + h.header_length;
  const std::uint64_t available = h.file_size - data_start;  // checked by the caller: file_size >= data_start
  if (expected > available) {
    fail(prev ? prev->name : std::string(), "data_past_eof",
         fmt::format("tensor \"{}\" ends at data offset {} but the file holds only {} bytes of data ({} bytes in all)",
                     prev ? printable(prev->name) : std::string(), expected, available, h.file_size));
  }
  if (expected < available) {
    fail("", "file_size",
         fmt::format("the tensors account for {} bytes of data but the file holds {} after the header ({} unexplained bytes)",
                     expected, available, available - expected));
  }
  return std::make_shared<TensorIndex>(std::move(index));
}

}  // namespace

std::string_view to_string(Dtype d) noexcept {
  for (const auto& e : kDtypes) {
    if (e.dtype == d) return e.name;
  }
  return "?";
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
  if (index_) {
    const auto& idx = *static_cast<const TensorIndex*>(index_.get());
    if (idx.entries.size() == tensors.size()) {
      const auto h = hash_name(name);
      auto it = std::lower_bound(idx.entries.begin(), idx.entries.end(), std::make_pair(h, std::uint32_t{0}));
      for (; it != idx.entries.end() && it->first == h; ++it) {
        if (tensors[it->second].name == name) return &tensors[it->second];
      }
      return nullptr;
    }
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
  const std::string_view json = bytes.substr(8, n);
  if (auto bad = find_invalid_utf8(json); bad != std::string_view::npos) {
    throw fail("utf8", fmt::format("header is not valid UTF-8 (byte {} of the header, 0x{:02x})", bad,
                                   static_cast<unsigned char>(json[bad])));
  }
  SafetensorsHeader h;
  h.file = file;
  h.header_length = n;
  h.file_size = file_size;
  HeaderParser(json, file, h).parse();
  h.index_ = validate_offsets(h, file);
  return h;
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

  // One buffer per thread, reused: the bench reads thousands of headers.
  thread_local std::string buffer;
  buffer.resize(8);
  const std::size_t got = read_at(buffer.data(), std::min<std::uint64_t>(8, size), 0);
  buffer.resize(got);
  if (got == 8) {
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(buffer[static_cast<std::size_t>(i)]);
    // Read the header only when its length is sane; parse_header reports the rest.
    if (n > 0 && n <= kMaxHeaderBytes && 8 + n <= size && std::string_view(buffer.data(), 4) != "GGUF") {
      buffer.resize(8 + n);
      const std::size_t h = read_at(buffer.data() + 8, n, 8);
      buffer.resize(8 + h);
    }
  }
  auto header = parse_header(buffer, size, file);
  if (buffer.capacity() > (std::size_t{16} << 20)) std::string().swap(buffer);  // do not pin huge buffers
  return header;
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
