// The OpenAPI 3.1 document: openapi.json beside this file (compiled in by
// cmake/EmbedText.cmake), plus what the code knows better than a hand-written
// file: the problem types and every path's OPTIONS. tests/http check it names
// every route of the route table, every field of every DTO and every problem
// type.
#include "http/api/openapi.hpp"

#include "http/api/problem.hpp"

namespace inferconf::http {

nlohmann::json openapi_document() {
  nlohmann::json doc = nlohmann::json::parse(kOpenApiJson);
  // The problem types come from the code that uses them.
  auto& types = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"];
  std::string described;
  for (const auto& t : problem_types()) {
    types.push_back("urn:inferconf:problem:" + std::string(t.slug));
    described += "\n- `urn:inferconf:problem:" + std::string(t.slug) + "` (" + std::to_string(t.status) + "): " +
                 std::string(t.title);
  }
  doc["components"]["schemas"]["Problem"]["properties"]["type"]["description"] = "One of:" + described;
  // Any operation can also answer 400 (unparsable request, Transfer-Encoding
  // other than chunked, trailers, a bad or foreign Host), 405, 408, 413, 431,
  // 500 or 503 before or beside its own responses.
  for (auto& [path, item] : doc["paths"].items()) {
    std::string allow;
    for (auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      allow += upper + ", ";
      op["responses"]["default"] = {
          {"description", "Any other problem (400 for framing or Host, 405 with Allow, 408, 413, 431, 500, 503...)."},
          {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
    }
    // Every route answers OPTIONS, without a token, with the methods it allows.
    item["options"] = {
        {"operationId", "options" + path},
        {"summary", "The methods this path allows (Allow header); no token needed."},
        {"security", nlohmann::json::array({nlohmann::json::object()})},
        {"responses",
         {{"204", {{"description", "No content; the Allow header lists the methods."},
                   {"headers", {{"Allow", {{"schema", {{"type", "string"}}, {"example", allow + "OPTIONS"}}}}}}}},
          {"default",
           {{"description", "400 (framing, Host) or 404 (no such path)."},
            {"content", {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}}}}}};
  }
  return doc;
}

}  // namespace inferconf::http
