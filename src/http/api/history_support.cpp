#include "http/api/history_support.hpp"

#include <fmt/format.h>

#include "http/api/handler_support.hpp"
#include "http/api/request_parts.hpp"
#include "inferconf/error.hpp"

namespace inferconf::http {

RevisionPageQuery read_revision_page_query(std::vector<std::pair<std::string, std::string>> query) {
  RevisionPageQuery out;
  for (auto& [name, value] : query) {
    if (name == "limit") {
      out.limit = parse_limit(value, kMaxRevisionPage, kDefaultRevisionLimit);
    } else if (name == "cursor") {
      // Our cursors are short; a long one is quoted in no message.
      if (value.size() > 64)
        throw invalid(fmt::format("The cursor is {} bytes long, which no revision page gives; pass the next_cursor "
                                  "of the previous page unchanged, or leave it out to start from the newest.",
                                  value.size()),
                      {{"cursor", "is not the next_cursor of a revision page."}});
      (void)decode_revision_cursor(value);  // kInvalid naming "cursor"
      out.cursor = std::move(value);
    } else {
      out.filters.emplace_back(std::move(name), std::move(value));
    }
  }
  return out;
}

std::string dump_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response revision_page_answer(const RevisionPage& page, const std::string& path, const RevisionPageQuery& query) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : page.items) items.push_back(r);
  Response resp;
  resp.body = dump_text({{"items", std::move(items)},
                         {"next_cursor", page.next_cursor ? nlohmann::json(*page.next_cursor) : nlohmann::json()}});
  if (page.next_cursor) {
    std::string target = path + "?";
    for (const auto& [name, value] : query.filters) target += name + "=" + percent_encode(value) + "&";
    target += fmt::format("limit={}&cursor={}", query.limit, percent_encode(*page.next_cursor));
    resp.header("Link", fmt::format("<{}>; rel=\"next\"", target));
  }
  return resp;
}

}  // namespace inferconf::http
