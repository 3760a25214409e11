// RFC 9457 problem documents (application/problem+json): every error the API
// answers. `type` is "urn:inferconf:problem:<slug>", documented in
// docs/HTTP_API.md; `errors` lists every field problem of a validation error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api/response.hpp"
#include "inferconf/error.hpp"

namespace inferconf::http {

// The slug and title of each problem type the API uses, for the OpenAPI
// document and the tests.
struct ProblemType {
  std::string_view slug;
  unsigned status;
  std::string_view title;
};
const std::vector<ProblemType>& problem_types();

// Builds the response of a problem of this slug (one of problem_types()).
Response problem(std::string_view slug, std::string detail, std::vector<FieldError> errors = {},
                 nlohmann::json extra = nlohmann::json::object());

// The id of the request the calling thread is working on (0: none). The
// session sets it before calling a handler and the pools before running a
// job, so every 5xx answer built on that thread carries it ("request_id")
// and the server log line with the cause can be matched to the answer.
void set_current_request_id(std::uint64_t id);
std::uint64_t current_request_id();

// A 500 that tells the client nothing about the cause: it carries the
// request id, and `cause` goes only to the server log.
Response internal_error(std::string_view cause);

// The response an inferconf::Error becomes: kInvalid 422 (400 when
// bad_request), kNotFound 404, kConflict 409 (412 for a stale revision),
// kUnavailable 503, kInternal 500. 5xx answers carry a generic detail and
// the request id; the error's text (store paths, driver messages) is logged.
Response problem_for(const Error& e, bool bad_request = false);

}  // namespace inferconf::http
