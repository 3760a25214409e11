// A1111 infotext, after modules/infotext_utils.py (parse_generation_parameters)
// and modules/processing.py (create_infotext). The parameter regex
//   \s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)
// is matched by hand: its alternatives never need deep backtracking, and a
// hand matcher is linear on hostile input where std::regex recurses.
#include <cctype>

#include <nlohmann/json.hpp>

#include "inferconf/error.hpp"
#include "inferconf/interop/infotext.hpp"
#include "inferconf/json_text.hpp"

namespace inferconf {

namespace {

// Python's \w on str is Unicode-aware; bytes of multi-byte UTF-8 sequences are
// taken as word characters so non-ASCII keys match as they do in A1111.
bool is_word(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }
bool is_key_char(unsigned char c) { return is_word(c) || c == ' ' || c == '-' || c == '/'; }
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Match {
  std::string key, value;
  std::size_t end = 0;
};

// One attempt of the pattern at `pos`.
std::optional<Match> match_at(std::string_view s, std::size_t pos) {
  std::size_t i = pos;
  while (i < s.size() && is_space(s[i])) ++i;
  if (i >= s.size() || !is_word(s[i])) return std::nullopt;
  const std::size_t key_begin = i++;
  while (i < s.size() && is_key_char(s[i])) ++i;
  // The key is maximal; no shorter key can be followed by ':' because every
  // character it gave back is a key character, not ':'.
  if (i - key_begin < 2 || i >= s.size() || s[i] != ':') return std::nullopt;
  Match m;
  m.key.assign(s.substr(key_begin, i - key_begin));
  ++i;
  while (i < s.size() && is_space(s[i])) ++i;
  // Quoted alternative: '"', then one or more of (\\. | [^\\"]), then '"', then ',' or end.
  if (i < s.size() && s[i] == '"') {
    std::size_t j = i + 1, inner = 0;
    bool closed = false;
    while (j < s.size()) {
      if (s[j] == '\\') {
        if (j + 1 >= s.size() || s[j + 1] == '\n') break;  // '.' does not match a newline
        j += 2;
        ++inner;
      } else if (s[j] == '"') {
        closed = true;
        break;
      } else {
        ++j;
        ++inner;
      }
    }
    if (closed && inner > 0 && (j + 1 == s.size() || s[j + 1] == ',' || (j + 2 == s.size() && s[j + 1] == '\n'))) {
      m.value.assign(s.substr(i, j + 1 - i));
      m.end = j + 1 < s.size() && s[j + 1] == ',' ? j + 2 : j + 1;
      return m;
    }
  }
  // Unquoted alternative: everything up to the next comma.
  std::size_t j = i;
  while (j < s.size() && s[j] != ',') ++j;
  m.value.assign(s.substr(i, j - i));
  m.end = j < s.size() ? j + 1 : j;
  return m;
}

// re.findall over the whole line.
std::vector<Match> find_all(std::string_view line) {
  std::vector<Match> out;
  std::size_t pos = 0;
  while (pos <= line.size()) {
    auto m = match_at(line, pos);
    if (!m) {
      ++pos;
      continue;
    }
    const auto next = m->end > pos ? m->end : pos + 1;
    out.push_back(std::move(*m));
    pos = next;
    if (pos == line.size()) break;
  }
  return out;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A1111's unquote: JSON-decode a quoted value, keep it raw when that fails.
std::string unquote(const std::string& v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return v;
  try {
    const auto decoded = parse_json_text(v, "the value");
    if (!decoded.is_string()) return v;
    return decoded.get<std::string>();
  } catch (const Error&) {
    return v;  // not JSON, or JSON the reading policy refuses (a lone surrogate, U+0000): kept raw
  }
}

bool is_image_size(std::string_view v, std::string_view& w, std::string_view& h) {
  const auto x = v.find('x');
  if (x == std::string_view::npos || x == 0 || x + 1 >= v.size()) return false;
  w = v.substr(0, x);
  h = v.substr(x + 1);
  auto digits = [](std::string_view d) {
    for (char c : d)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  return digits(w) && digits(h);
}

}  // namespace

const std::string* ParsedInfotext::find(std::string_view key) const {
  for (const auto& [k, v] : params) {
    std::string_view kk = k;
    while (!kk.empty() && kk.back() == ' ') kk.remove_suffix(1);
    if (kk == key) return &v;
  }
  return nullptr;
}

ParsedInfotext parse_infotext(std::string_view input) {
  // Windows line ends would otherwise end up inside the last value.
  std::string text;
  text.reserve(input.size());
  for (std::size_t i = 0; i < input.size(); ++i)
    if (!(input[i] == '\r' && i + 1 < input.size() && input[i + 1] == '\n')) text += input[i];
  const auto stripped = strip(text);

  std::vector<std::string_view> lines;
  for (std::size_t start = 0;;) {
    const auto nl = stripped.find('\n', start);
    lines.push_back(stripped.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  ParsedInfotext out;
  std::string_view last = lines.back();
  lines.pop_back();
  auto matches = find_all(last);
  if (matches.size() < 3) {
    lines.push_back(last);
    matches.clear();
  } else {
    out.has_parameters = true;
  }
  bool negative = false;
  for (auto line : lines) {
    line = strip(line);
    if (line.substr(0, 16) == "Negative prompt:") {
      negative = true;
      line = strip(line.substr(16));
    }
    auto& target = negative ? out.negative_prompt : out.prompt;
    if (!target.empty()) target += '\n';
    target += line;
  }
  for (auto& m : matches) {
    auto value = m.value.size() >= 1 && m.value.front() == '"' && m.value.back() == '"' ? unquote(m.value) : m.value;
    std::string_view w, h;
    if (is_image_size(value, w, h)) {
      out.params.emplace_back(m.key + "-1", std::string(w));
      out.params.emplace_back(m.key + "-2", std::string(h));
    } else {
      out.params.emplace_back(std::move(m.key), std::move(value));
    }
  }
  return out;
}

std::string write_infotext(std::string_view prompt, std::string_view negative_prompt,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  std::string line;
  for (const auto& [k, v] : params) {
    if (!line.empty()) line += ", ";
    // A1111 quotes values holding ',', ':' or a newline. A value that starts
    // with '"' is quoted too: written raw, the parser would take it for the
    // start of a quoted value and swallow the pairs after it.
    const bool quote = v.find_first_of(",:\n") != std::string::npos || (!v.empty() && v.front() == '"');
    line += k + ": " + (quote ? nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : v);
  }
  std::string out(prompt);
  if (!negative_prompt.empty()) out += "\nNegative prompt: " + std::string(negative_prompt);
  out += "\n" + line;
  return std::string(strip(out));
}

}  // namespace inferconf
