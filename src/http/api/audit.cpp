// GET /v1/audit: every recorded change across configurations, newest first,
// filtered by actor, time range, model, base model and operation.
#include <fmt/format.h>

#include "http/api/api.hpp"
#include "http/api/handler_support.hpp"
#include "http/api/history_support.hpp"
#include "http/api/problem.hpp"

namespace inferconf::http {

namespace {

Timestamp parse_moment_parameter(const std::string& text, std::string_view field) {
  if (auto t = parse_moment(text)) return *t;
  throw invalid(fmt::format("{} \"{}\" is not a moment; give {}.", field, text.substr(0, 100), kMomentFormats),
                {{std::string(field),
                  fmt::format("is \"{}\"; allowed: 2026-12-01T09:30:00Z or 2026-12-01.", text.substr(0, 100))}});
}

RevisionOperation parse_operation_parameter(const std::string& text) {
  if (auto op = parse_revision_operation(text)) return *op;
  throw invalid(fmt::format("operation \"{}\" is not an operation; allowed: {}.", text.substr(0, 100),
                            revision_operation_names()),
                {{"operation",
                  fmt::format("is \"{}\"; allowed: {}.", text.substr(0, 100), revision_operation_names())}});
}

// The filters of an audit query. Throws Error(kInvalid) naming the parameter.
AuditQuery read_audit_filters(const std::vector<std::pair<std::string, std::string>>& filters) {
  AuditQuery q;
  for (const auto& [name, value] : filters) {
    if (name == "actor") check_key(name, value), q.actor = value;
    if (name == "model_id") check_key(name, value), q.model_id = value;
    if (name == "base_model") check_key(name, value), q.base_model = value;
    if (name == "since") q.since = parse_moment_parameter(value, name);
    if (name == "until") q.until = parse_moment_parameter(value, name);
    if (name == "operation") q.operation = parse_operation_parameter(value);
  }
  if (q.since && q.until && *q.since > *q.until)
    throw invalid(fmt::format("until ({}) is before since ({}), so no change could match; swap them.",
                              format_timestamp(*q.until), format_timestamp(*q.since)),
                  {{"until", "is before since; allowed: a moment at or after since."}});
  return q;
}

}  // namespace

Outcome Api::audit(Call& c) {
  RevisionPageQuery page;
  AuditQuery query;
  try {
    page = read_revision_page_query(c.query_params());
    query = read_audit_filters(page.filters);
  } catch (const Error& e) {
    return answer_now(problem_for(e, true));
  }
  Outcome out;
  out.later = [this, page = std::move(page), query = std::move(query)] {
    return history_guarded([&] {
      return revision_page_answer(sync_.store().audit(query, page.limit, page.cursor_view()), "/v1/audit", page);
    });
  };
  return out;
}

}  // namespace inferconf::http
