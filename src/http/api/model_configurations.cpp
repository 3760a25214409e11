// A model's configurations: GET /v1/models/{model_id}/configurations and
// GET /v1/models/{model_id}/configurations/{configuration_type}.
#include <fmt/format.h>

#include "http/api/api.hpp"
#include "http/api/handler_support.hpp"
#include "http/api/problem.hpp"

namespace inferconf::http {

Outcome Api::model_configurations(Call& c) {
  const std::string& model_id = c.params[0];
  return answer_now(guarded([&] {
    try {
      check_key("model_id", model_id);
      std::optional<std::string> type;
      for (auto& [name, value] : c.query_params()) check_type(catalog_, value, name), type = value;
      std::vector<DocRef> items = sync_.index().by_model(model_id);
      if (type) std::erase_if(items, [&](const DocRef& d) { return d->type() != *type; });
      Response resp;
      append_items(resp.body, items);
      resp.body += '}';
      return resp;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kInvalid) return problem_for(e, true);
      throw;
    }
  }));
}

Outcome Api::model_configuration(Call& c) {
  const std::string& model_id = c.params[0];
  const std::string& type = c.params[1];
  return answer_now(guarded([&] {
    // The hot route: one hash lookup, then the pre-serialised document.
    if (DocRef doc = sync_.index().by_model_and_type(model_id, type)) return answer_doc(&c.request, std::move(doc));
    try {
      check_key("model_id", model_id);
      check_type(catalog_, type, "configuration_type");
    } catch (const Error& e) {
      return problem_for(e, true);
    }
    return problem("not-found", fmt::format("Model \"{}\" has no {} configuration; POST /v1/resolve gives the "
                                            "parameters of its base model's preset instead.",
                                            model_id.substr(0, 200), type));
  }));
}

}  // namespace inferconf::http
