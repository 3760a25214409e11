// Reading JSON text strictly: malformed JSON, invalid UTF-8, duplicate keys and
// absurd nesting are errors that say where they are.
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"

namespace inferconf {

namespace {

constexpr int kMaxDepth = 64;

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

}  // namespace

nlohmann::json parse_json_text(std::string_view text, std::string_view what) {
  // Track the keys of every open object to reject duplicates (nlohmann keeps the
  // last one silently, which would hide a mistake in a hand-written document).
  std::vector<std::set<std::string>> open_objects;
  std::string problem;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (!problem.empty()) return false;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth >= kMaxDepth) {
          problem = fmt::format("{} nests objects and arrays more than {} levels deep.", what, kMaxDepth);
          return false;
        }
        if (event == E::object_start) open_objects.emplace_back();
        return true;
      case E::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        return true;
      case E::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second) {
          problem = fmt::format("{} has the key \"{}\" twice in one object; each key may appear once.", what,
                                parsed.get<std::string>());
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
  }
  if (!problem.empty()) throw invalid(problem);
  if (result.is_discarded()) throw invalid(fmt::format("{} is not valid JSON.", what));
  return result;
}

}  // namespace inferconf
