// What the history handlers (configuration_history.cpp, audit.cpp) share:
// the page query of a revision listing and the page they answer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api/response.hpp"
#include "inferconf/history.hpp"

namespace inferconf::http {

inline constexpr std::size_t kDefaultRevisionLimit = 50;

// `limit` and `cursor` of a revision listing, and the rest of its query (the
// filters the next page must repeat).
struct RevisionPageQuery {
  std::size_t limit = kDefaultRevisionLimit;
  std::optional<std::string> cursor;
  std::vector<std::pair<std::string, std::string>> filters;

  std::optional<std::string_view> cursor_view() const {
    return cursor ? std::optional<std::string_view>(*cursor) : std::nullopt;
  }
};

// Reads limit (1 to kMaxRevisionPage) and cursor (a revision page's
// next_cursor) from a query and keeps the other parameters as filters.
// Throws Error(kInvalid) naming "limit" or "cursor".
RevisionPageQuery read_revision_page_query(std::vector<std::pair<std::string, std::string>> query);

// {"items": [revisions…], "next_cursor": C | null}, and a Link header
// (rel="next") to the next page of `path` with the same filters and limit.
Response revision_page_answer(const RevisionPage& page, const std::string& path, const RevisionPageQuery& query);

// JSON text, replacing bytes that are not UTF-8 rather than failing (a
// reason or a parameter value recorded by another client may hold them).
std::string dump_text(const nlohmann::json& j);

}  // namespace inferconf::http
