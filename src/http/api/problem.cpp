#include "http/api/problem.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace inferconf::http {

namespace {
thread_local std::uint64_t request_id = 0;
}  // namespace

void set_current_request_id(std::uint64_t id) { request_id = id; }
std::uint64_t current_request_id() { return request_id; }

Response internal_error(std::string_view cause) {
  spdlog::error("request {}: internal error: {}", request_id, cause);
  return problem("internal-error", fmt::format("The server failed while handling this request (request id {}); "
                                               "retry, and if it persists, give the operator this id: the server's "
                                               "log has the cause.",
                                               request_id));
}

const std::vector<ProblemType>& problem_types() {
  static const std::vector<ProblemType> types = {
      {"bad-request", 400, "The request is malformed"},
      {"not-acceptable", 406, "No representation matches the Accept header"},
      {"malformed-json", 400, "The body is not valid JSON"},
      {"invalid-parameter", 400, "A parameter of the request is invalid"},
      {"unauthorized", 401, "A valid bearer token is required"},
      {"forbidden", 403, "The token may not do this"},
      {"not-found", 404, "Not found"},
      {"method-not-allowed", 405, "The method is not allowed on this resource"},
      {"request-timeout", 408, "The request took too long to arrive"},
      {"conflict", 409, "The configuration conflicts with an existing one"},
      {"precondition-failed", 412, "The configuration changed since the given ETag"},
      {"payload-too-large", 413, "The body is too large"},
      {"unsupported-media-type", 415, "The body's media type is not supported"},
      {"validation-error", 422, "The document is invalid"},
      {"not-exportable", 422, "The configuration cannot be rendered for this engine"},
      {"precondition-required", 428, "An If-Match header is required"},
      {"headers-too-large", 431, "The request headers are too large"},
      {"internal-error", 500, "Internal server error"},
      {"unavailable", 503, "The store is unavailable"},
  };
  return types;
}

Response problem(std::string_view slug, std::string detail, std::vector<FieldError> errors, nlohmann::json extra) {
  const ProblemType* type = nullptr;
  for (const auto& t : problem_types())
    if (t.slug == slug) type = &t;
  if (!type) type = &problem_types()[problem_types().size() - 2];  // internal-error: an unknown slug is a bug
  Response r;
  r.status = type->status;
  r.content_type = kProblemJson;
  nlohmann::json j = std::move(extra);
  if (!j.is_object()) j = nlohmann::json::object();
  j["type"] = fmt::format("urn:inferconf:problem:{}", type->slug);
  j["title"] = type->title;
  j["status"] = type->status;
  j["detail"] = std::move(detail);
  if (type->status >= 500 && request_id != 0) j["request_id"] = request_id;
  if (!errors.empty()) {
    auto& list = j["errors"] = nlohmann::json::array();
    for (auto& e : errors) list.push_back({{"field", std::move(e.field)}, {"message", std::move(e.message)}});
  }
  // Details may quote what a client sent; replace bytes that are not UTF-8
  // rather than fail to answer.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response problem_for(const Error& e, bool bad_request) {
  switch (e.code()) {
    case ErrorCode::kInvalid:
      return problem(bad_request ? "invalid-parameter" : "validation-error", e.what(), e.field_errors());
    case ErrorCode::kNotFound:
      return problem("not-found", e.what(), e.field_errors());
    case ErrorCode::kConflict: {
      if (e.is_revision_mismatch()) return problem("precondition-failed", e.what());
      nlohmann::json extra = nlohmann::json::object();
      if (!e.existing_id().empty()) extra["existing_id"] = e.existing_id();
      Response r = problem("conflict", e.what(), e.field_errors(), std::move(extra));
      if (!e.existing_id().empty()) r.header("Location", "/v1/configurations/" + e.existing_id());
      return r;
    }
    case ErrorCode::kUnavailable: {
      spdlog::warn("request {}: store unavailable: {}", request_id, e.what());
      Response r = problem("unavailable",
                           fmt::format("The store cannot be reached right now; retry in a moment. If it persists, "
                                       "give the operator the request id {}: the server's log has the cause.",
                                       request_id));
      r.header("Retry-After", "1");
      return r;
    }
    case ErrorCode::kInternal:
      break;
  }
  return internal_error(e.what());
}

}  // namespace inferconf::http
