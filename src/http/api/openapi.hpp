// The OpenAPI 3.1 document of the API (GET /openapi.json): every route of the
// route table, every DTO and every problem type.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace inferconf::http {

// The text of openapi.json as written in the source tree (generated into the
// build at build time).
extern const std::string_view kOpenApiJson;

// The document served: kOpenApiJson with the problem types and every path's
// OPTIONS operation added from the code.
nlohmann::json openapi_document();

}  // namespace inferconf::http
