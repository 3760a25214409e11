// Reading JSON text strictly (see inferconf/json_text.hpp for the policy).
//
// Two passes: a scanner walks the raw text first, tracking the field path, and
// refuses what nlohmann would accept silently or only report as a bare
// exception (numbers that do not fit, negative zero, NaN/Infinity, a BOM, lone
// surrogates, U+0000, depth). It stops quietly at anything it does not
// understand: then nlohmann's parser reports the syntax error with its line
// and column. A key given twice in one object is also refused by the scanner,
// which knows where it is (nlohmann would keep the last value silently, hiding
// a mistake in a hand-written document). Every nlohmann exception becomes
// Error(kInvalid).
#include "inferconf/json_text.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "inferconf/error.hpp"

namespace inferconf {

namespace {

std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// The bytes as received, short and printable: control bytes and bytes that
// are not ASCII become \xNN so a message never carries broken UTF-8.
std::string excerpt(std::string_view s, std::size_t max = 40) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F)
      out += fmt::format("\\x{:02X}", c);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > max) out += "...";
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_number_char(char c) { return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// RFC 8259's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view t) {
  std::size_t i = 0;
  if (i < t.size() && t[i] == '-') ++i;
  if (i >= t.size() || !is_digit(t[i])) return false;
  if (t[i] == '0') {
    ++i;
  } else {
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (i >= t.size() || !is_digit(t[i])) return false;
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= t.size() || !is_digit(t[i])) return false;
    while (i < t.size() && is_digit(t[i])) ++i;
  }
  return i == t.size();
}

// Whether the digits of an integer literal (no sign) exceed `limit` (same form).
bool digits_exceed(std::string_view digits, std::string_view limit) {
  if (digits.size() != limit.size()) return digits.size() > limit.size();
  return digits > limit;
}

class Scanner {
 public:
  Scanner(std::string_view text, std::string_view what, const JsonLimits& limits)
      : text_(text), what_(what), limits_(limits) {}

  // Throws Error(kInvalid) at the first problem of the policy; returns at the
  // end of the text or at a syntax error (left to the parser).
  void run() {
    if (text_.size() > limits_.max_bytes)
      fail(0, "$", fmt::format("is {} bytes long; at most {} bytes are allowed", text_.size(), limits_.max_bytes));
    if (text_.starts_with("\xEF\xBB\xBF"))
      fail(0, "$", "starts with a UTF-8 byte-order mark (bytes EF BB BF); allowed: JSON text without one (save the "
                   "file as UTF-8 without BOM)");
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      switch (c) {
        case ' ': case '\t': case '\r': case '\n': ++i; break;
        case '{':
        case '[':
          if (static_cast<int>(stack_.size()) >= limits_.max_depth)
            fail(i, path(), fmt::format("nests objects and arrays more than {} levels deep; allowed: at most {} levels",
                                        limits_.max_depth, limits_.max_depth));
          stack_.push_back({c == '{', c == '{', {}, 0, {}});
          ++i;
          break;
        case '}':
        case ']':
          if (stack_.empty() || stack_.back().object != (c == '}')) return;
          stack_.pop_back();
          ++i;
          break;
        case ':':
          if (stack_.empty() || !stack_.back().object) return;
          stack_.back().expect_key = false;
          ++i;
          break;
        case ',':
          if (stack_.empty()) return;
          if (stack_.back().object) {
            stack_.back().expect_key = true;
            stack_.back().key.clear();
          } else {
            ++stack_.back().index;
          }
          ++i;
          break;
        case '"':
          if (!string(i)) return;
          break;
        default:
          if (c == '-' || is_digit(c)) {
            if (!number(i)) return;
          } else if (std::isalpha(static_cast<unsigned char>(c))) {
            if (!word(i, i)) return;
          } else {
            return;
          }
      }
    }
  }

 private:
  struct Frame {
    bool object;
    bool expect_key;
    std::string key;    // the member being read (objects)
    std::size_t index;  // the item being read (arrays)
    std::set<std::string> keys;  // the members read so far (objects), decoded
  };

  // "$" for the document itself, else "a.b[2].c" in the manner of field errors.
  std::string path() const {
    std::string p;
    for (const auto& f : stack_) {
      if (f.object) {
        if (f.expect_key) break;  // between members: the object itself
        if (!p.empty()) p += '.';
        p += f.key;
      } else {
        p += fmt::format("{}[{}]", p.empty() ? "$" : "", f.index);
      }
    }
    return p.empty() ? "$" : p;
  }

  [[noreturn]] void fail(std::size_t at, const std::string& where, const std::string& problem) const {
    const auto [line, column] = line_and_column(text_, at);
    throw invalid(fmt::format("{} is not acceptable JSON at {} (line {}, column {}): it {}.", what_, where, line, column,
                              problem),
                  {{where, fmt::format("{} (line {}, column {}).", problem, line, column)}});
  }

  // i at the opening quote; on return, after the closing one.
  bool string(std::size_t& i) {
    const std::size_t start = i;
    std::size_t j = i + 1;
    auto received = [&](std::size_t end) { return excerpt(text_.substr(start, end - start + 1)); };
    while (true) {
      if (j >= text_.size()) return false;
      const auto b = static_cast<unsigned char>(text_[j]);
      if (b == '"') break;
      if (b < 0x20)
        fail(j, path(), fmt::format("has an unescaped control character U+{:04X} in the string {}; allowed: control "
                                    "characters written as escapes (\\n, \\t, \\u001B), never U+0000",
                                    b, received(j)));
      if (b != '\\') {
        ++j;
        continue;
      }
      if (j + 1 >= text_.size()) return false;
      if (text_[j + 1] != 'u') {
        j += 2;
        continue;
      }
      const auto unit = hex4(j + 2);
      if (!unit) return false;
      if (*unit == 0)
        fail(j, path(), fmt::format("has the character U+0000 (\\u0000) in the string {}; strings may not contain it",
                                    received(j + 5)));
      if (*unit >= 0xDC00 && *unit <= 0xDFFF)
        fail(j, path(), fmt::format("has a lone UTF-16 low surrogate \\u{:04X} in the string {}; allowed: a high "
                                    "surrogate \\uD800-\\uDBFF followed by a low one \\uDC00-\\uDFFF, or the character "
                                    "itself in UTF-8",
                                    *unit, received(j + 5)));
      if (*unit >= 0xD800 && *unit <= 0xDBFF) {
        std::optional<unsigned> low;
        if (j + 7 < text_.size() && text_[j + 6] == '\\' && text_[j + 7] == 'u') low = hex4(j + 8);
        if (!low || *low < 0xDC00 || *low > 0xDFFF)
          fail(j, path(), fmt::format("has a lone UTF-16 high surrogate \\u{:04X} in the string {}; allowed: a high "
                                      "surrogate \\uD800-\\uDBFF followed by a low one \\uDC00-\\uDFFF, or the "
                                      "character itself in UTF-8",
                                      *unit, received(j + 5)));
        j += 12;
        continue;
      }
      j += 6;
    }
    if (!stack_.empty() && stack_.back().object && stack_.back().expect_key) member(start, j);
    i = j + 1;
    return true;
  }

  // The key of a member, its quotes at start and end: remembered for paths,
  // and refused when the object already has it.
  void member(std::size_t start, std::size_t end) {
    Frame& object = stack_.back();
    const std::string_view raw = text_.substr(start + 1, end - start - 1);
    object.key = excerpt(raw, 64);
    // Keys are compared decoded ("a" and "\u0061" are one key); the string is
    // already known to be well formed, so only escapes need the parser.
    std::string decoded(raw);
    if (raw.find('\\') != std::string_view::npos) {
      try {
        decoded = nlohmann::json::parse(text_.substr(start, end - start + 1)).get<std::string>();
      } catch (const nlohmann::json::exception&) {
        return;  // not decodable (invalid UTF-8): the parser reports it
      }
    }
    object.key = excerpt(decoded, 64);
    if (!object.keys.insert(std::move(decoded)).second) {
      const std::string parent = path();
      fail(start, parent == "$" ? object.key : parent + "." + object.key,
           fmt::format("has the key \"{}\" twice in one object; allowed: each key once", object.key));
    }
  }

  std::optional<unsigned> hex4(std::size_t at) const {
    if (at + 4 > text_.size()) return std::nullopt;
    unsigned value = 0;
    const auto* first = text_.data() + at;
    const auto [end, ec] = std::from_chars(first, first + 4, value, 16);
    if (ec != std::errc() || end != first + 4) return std::nullopt;
    return value;
  }

  bool number(std::size_t& i) {
    std::size_t j = i;
    while (j < text_.size() && is_number_char(text_[j])) ++j;
    if (text_[i] == '-' && j == i + 1 && j < text_.size() && std::isalpha(static_cast<unsigned char>(text_[j]))) {
      std::size_t letters = j;
      return word(letters, i);  // -Infinity, -NaN
    }
    const std::string_view token = text_.substr(i, j - i);
    if (!is_json_number(token)) return false;
    const bool negative = token.front() == '-';
    const std::string_view unsigned_token = negative ? token.substr(1) : token;
    const auto exponent_at = unsigned_token.find_first_of("eE");
    const std::string_view mantissa = unsigned_token.substr(0, exponent_at);
    const bool zero_mantissa = mantissa.find_first_not_of("0.") == std::string_view::npos;
    if (negative && zero_mantissa)
      fail(i, path(), fmt::format("is {}, a negative zero; allowed: 0 (a parameter has no negative zero)", excerpt(token)));
    const bool integer = token.find_first_of(".eE") == std::string_view::npos;
    if (integer) {
      if (negative ? digits_exceed(unsigned_token, "9223372036854775808")
                   : digits_exceed(unsigned_token, "18446744073709551615"))
        fail(i, path(), fmt::format("is {}, an integer beyond 64 bits; allowed: integers from -9223372036854775808 to "
                                    "18446744073709551615",
                                    excerpt(token)));
    } else {
      double value = 0;
      const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
      (void)end;
      const bool overflow = ec == std::errc::result_out_of_range ? decimal_magnitude(unsigned_token) > 0
                                                                  : !std::isfinite(value);
      const bool underflow = !overflow && !zero_mantissa && (ec == std::errc::result_out_of_range || value == 0);
      if (overflow)
        fail(i, path(), fmt::format("is {}, a number beyond the range of a double; allowed: numbers from "
                                    "-1.7976931348623157e308 to 1.7976931348623157e308",
                                    excerpt(token)));
      if (underflow)
        fail(i, path(), fmt::format("is {}, a number too close to zero for a double (it would read as 0); allowed: 0, "
                                    "or a magnitude of at least 4.9e-324",
                                    excerpt(token)));
    }
    i = j;
    return true;
  }

  // Roughly the decimal exponent of a valid unsigned JSON number: > 0 for
  // large numbers, <= 0 for small ones (enough to tell overflow from underflow).
  static long long decimal_magnitude(std::string_view t) {
    const auto e = t.find_first_of("eE");
    long long exponent = 0;
    if (e != std::string_view::npos) {
      std::string_view digits = t.substr(e + 1);
      const bool neg = !digits.empty() && digits.front() == '-';
      if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
      for (char c : digits) exponent = std::min<long long>(exponent * 10 + (c - '0'), 1'000'000'000);
      if (neg) exponent = -exponent;
    }
    const std::string_view mantissa = t.substr(0, e);
    const auto dot = mantissa.find('.');
    const std::string_view whole = mantissa.substr(0, dot);
    if (whole != "0") return exponent + static_cast<long long>(whole.size());
    const std::string_view fraction = dot == std::string_view::npos ? std::string_view{} : mantissa.substr(dot + 1);
    const auto first = fraction.find_first_not_of('0');
    return exponent - static_cast<long long>(first == std::string_view::npos ? 0 : first);
  }

  // A bare word: letters from i, the token from start (a '-' before them);
  // true, false and null pass (i moves past them), anything else stops the scan.
  bool word(std::size_t& i, std::size_t start) {
    std::size_t j = i;
    while (j < text_.size() && std::isalpha(static_cast<unsigned char>(text_[j]))) ++j;
    const std::string_view w = text_.substr(i, j - i);
    if (start == i && (w == "true" || w == "false" || w == "null")) {
      i = j;
      return true;
    }
    std::string lower;
    for (char c : w) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "nan" || lower == "inf" || lower == "infinity")
      fail(start, path(), fmt::format("is {}, which is not a JSON number; allowed: finite numbers",
                                      excerpt(text_.substr(start, j - start))));
    return false;
  }

  std::string_view text_;
  std::string_view what_;
  const JsonLimits& limits_;
  std::vector<Frame> stack_;
};

}  // namespace

nlohmann::json parse_json_text(std::string_view text, std::string_view what, const JsonLimits& limits) {
  Scanner(text, what, limits).run();
  std::string problem;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    using E = nlohmann::json::parse_event_t;
    if (!problem.empty()) return false;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth >= limits.max_depth) {
          problem = fmt::format("{} nests objects and arrays more than {} levels deep.", what, limits.max_depth);
          return false;
        }
        return true;
      default:
        return true;
    }
  };
  nlohmann::json result;
  try {
    result = nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::parse_error& e) {
    if (!problem.empty()) throw invalid(problem);
    const auto [line, column] = line_and_column(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string detail = e.what();
    // nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ...";
    // keep only the part after the position.
    if (const auto p = detail.find(": "); p != std::string::npos) detail = detail.substr(p + 2);
    throw invalid(fmt::format("{} is not valid JSON (line {}, column {}): {}", what, line, column, detail));
  } catch (const nlohmann::json::exception& e) {
    // The scanner refuses every number nlohmann cannot hold, so this is a
    // limit of the library met some other way: still the sender's input.
    std::string detail = e.what();
    if (const auto p = detail.find("] "); p != std::string::npos) detail = detail.substr(p + 2);
    throw invalid(fmt::format("{} is not acceptable JSON: {}.", what, detail), {{"$", detail}});
  }
  if (!problem.empty()) throw invalid(problem);
  if (result.is_discarded()) throw invalid(fmt::format("{} is not valid JSON.", what));
  return result;
}

}  // namespace inferconf
