// The catalogue: GET /v1/base-models, /v1/base-models/{base_model} and
// /v1/base-models/{base_model}/configurations.
#include <fmt/format.h>

#include "common/messages.hpp"
#include "common/text.hpp"
#include "http/api/api.hpp"
#include "http/api/problem.hpp"

namespace inferconf::http {

namespace {

std::string known_base_models(const Catalog& catalog) { return detail::join(detail::ids_of(catalog.base_models())); }

Response unknown_base_model(const Catalog& catalog, const std::string& id) {
  return problem("not-found", fmt::format("The catalogue has no base model \"{}\"; known base models: {}.",
                                          id.substr(0, 100), known_base_models(catalog)));
}

}  // namespace

Outcome Api::base_models(Call&) {
  Response resp;
  resp.shared = base_models_json_;
  return answer_now(std::move(resp));
}

Outcome Api::base_model(Call& c) {
  const std::string& id = c.params[0];
  auto it = base_model_json_.find(id);
  if (it == base_model_json_.end()) return answer_now(unknown_base_model(catalog_, id));
  Response resp;
  resp.shared = it->second;
  return answer_now(std::move(resp));
}

Outcome Api::base_model_configurations(Call& c) {
  const std::string& id = c.params[0];
  return answer_now(guarded([&] {
    if (!catalog_.find(id)) return unknown_base_model(catalog_, id);
    // The same listing as GET /v1/configurations?base_model=ID.
    try {
      auto query = c.query_params();
      query.insert(query.begin(), {"base_model", id});
      return configuration_page(query);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kInvalid) return problem_for(e, true);
      throw;
    }
  }));
}

}  // namespace inferconf::http
