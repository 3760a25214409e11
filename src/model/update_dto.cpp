// Wire format of InferenceConfigurationUpdateDTO, and how an update applies.
#include "inferconf/dto.hpp"
#include "common/field_reader.hpp"

namespace inferconf {

bool UpdateDTO::empty() const {
  return !base_model && !configuration_type && !steps && !cfg_scale && !sampler && !scheduler &&
         !model_specific_params;
}

void to_json(nlohmann::json& j, const UpdateDTO& u) {
  j = nlohmann::json::object();
  if (u.base_model) j["base_model"] = *u.base_model;
  if (u.configuration_type) j["configuration_type"] = *u.configuration_type;
  if (u.steps) j["steps"] = *u.steps;
  if (u.cfg_scale) j["cfg_scale"] = *u.cfg_scale;
  if (u.sampler) j["sampler"] = *u.sampler;
  if (u.scheduler) j["scheduler"] = *u.scheduler;
  if (u.model_specific_params) j["model_specific_params"] = *u.model_specific_params;
}

UpdateDTO parse_update_dto(const nlohmann::json& j) {
  std::vector<FieldError> errors;
  detail::FieldReader r(j, "", errors);
  r.reject_present({"id", "model_id", "created_at", "updated_at", "revision"},
                   "cannot be changed; create a new configuration for another model instead.");
  r.reject_unknown({"base_model", "configuration_type", "steps", "cfg_scale", "sampler", "scheduler",
                    "model_specific_params", "id", "model_id", "created_at", "updated_at", "revision"});
  if (r.is_object()) {
    // Merge Patch's null means "delete"; only model_specific_params keys can be deleted.
    for (const auto& [key, value] : j.items())
      if (value.is_null() && key != "model_specific_params" && key != "id" && key != "model_id" &&
          key != "created_at" && key != "updated_at" && key != "revision")
        r.error(key, "cannot be null; this field is required, give a value to change it or leave it out.");
  }
  UpdateDTO u;
  auto present_non_null = [&](std::string_view key) { return r.has(key) && !j.at(std::string(key)).is_null(); };
  if (present_non_null("base_model")) u.base_model = r.string("base_model", true);
  if (present_non_null("configuration_type")) u.configuration_type = r.string("configuration_type", true);
  if (present_non_null("steps")) u.steps = r.integer("steps", true);
  if (present_non_null("cfg_scale")) u.cfg_scale = r.number("cfg_scale", true);
  if (present_non_null("sampler")) u.sampler = r.string("sampler", true);
  if (present_non_null("scheduler")) u.scheduler = r.string("scheduler", true);
  if (r.has("model_specific_params")) {
    const auto& p = j.at("model_specific_params");
    if (p.is_null())
      r.error("model_specific_params",
              "cannot be null; send an object, where a key set to null deletes that key.");
    else
      u.model_specific_params = r.object("model_specific_params", true);
  }
  if (errors.empty() && u.empty())
    errors.push_back({"$", "An update must change at least one field: base_model, configuration_type, steps, "
                           "cfg_scale, sampler, scheduler or model_specific_params."});
  if (!errors.empty()) throw invalid("The update is invalid.", std::move(errors));
  return u;
}

void apply_update(InferenceConfiguration& c, const UpdateDTO& u) {
  if (u.base_model) c.base_model = *u.base_model;
  if (u.configuration_type) c.configuration_type = *u.configuration_type;
  if (u.steps) c.steps = *u.steps;
  if (u.cfg_scale) c.cfg_scale = *u.cfg_scale;
  if (u.sampler) c.sampler = *u.sampler;
  if (u.scheduler) c.scheduler = *u.scheduler;
  if (u.model_specific_params) {
    if (!c.model_specific_params.is_object()) c.model_specific_params = nlohmann::json::object();
    c.model_specific_params.merge_patch(*u.model_specific_params);  // RFC 7396
  }
}

}  // namespace inferconf
