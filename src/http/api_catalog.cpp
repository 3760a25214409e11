// The catalogue routes: base models and their configurations.
#include <charconv>

#include <fmt/format.h>

#include "common/messages.hpp"
#include "common/text.hpp"
#include "http/api.hpp"
#include "http/problem.hpp"
#include "http/request_parts.hpp"

namespace inferconf::http {

namespace {

std::string known_base_models(const Catalog& catalog) { return detail::join(detail::ids_of(catalog.base_models())); }

Response unknown_base_model(const Catalog& catalog, const std::string& id) {
  return problem("not-found", fmt::format("The catalogue has no base model \"{}\"; known base models: {}.",
                                          id.substr(0, 100), known_base_models(catalog)));
}

}  // namespace

Response Api::base_models() {
  Response resp;
  resp.shared = base_models_json_;
  return resp;
}

Response Api::base_model(const std::string& id) {
  auto it = base_model_json_.find(id);
  if (it == base_model_json_.end()) return unknown_base_model(catalog_, id);
  Response resp;
  resp.shared = it->second;
  return resp;
}

Response Api::base_model_configurations(const std::string& id, std::string_view query) {
  if (!catalog_.find(id)) return unknown_base_model(catalog_, id);
  // The same listing as GET /v1/configurations?base_model=ID.
  std::string forwarded = "base_model=" + percent_encode(id);
  if (!query.empty()) {
    try {
      (void)parse_query(query, {"configuration_type", "limit", "cursor"});
    } catch (const Error& e) {
      return problem_for(e, true);
    }
    forwarded += '&';
    forwarded += query;
  }
  return list_configurations(forwarded);
}

}  // namespace inferconf::http
