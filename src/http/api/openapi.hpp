// The OpenAPI 3.1 document of the API (GET /openapi.json): every route of the
// route table, every DTO and every problem type.
#pragma once

#include <nlohmann/json.hpp>

namespace inferconf::http {

nlohmann::json openapi_document();

}  // namespace inferconf::http
