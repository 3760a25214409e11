// Wire format of InferenceConfigurationCreateDTO.
#include "inferconf/dto.hpp"
#include "common/field_reader.hpp"

namespace inferconf {

void to_json(nlohmann::json& j, const CreateDTO& c) {
  j = nlohmann::json{{"model_id", c.model_id},   {"base_model", c.base_model}, {"configuration_type", c.configuration_type},
                     {"steps", c.steps},         {"cfg_scale", c.cfg_scale},   {"sampler", c.sampler},
                     {"scheduler", c.scheduler}, {"model_specific_params", c.model_specific_params}};
}

CreateDTO parse_create_dto(const nlohmann::json& j) {
  std::vector<FieldError> errors;
  detail::FieldReader r(j, "", errors);
  r.reject_present({"id", "created_at", "updated_at", "revision"},
                   "is assigned by the store and cannot be given when creating a configuration.");
  r.reject_unknown({"model_id", "base_model", "configuration_type", "steps", "cfg_scale", "sampler", "scheduler",
                    "model_specific_params", "id", "created_at", "updated_at", "revision"});
  CreateDTO c;
  if (auto v = r.string("model_id", true)) c.model_id = *v;
  if (auto v = r.string("base_model", true)) c.base_model = *v;
  if (auto v = r.string("configuration_type", true)) c.configuration_type = *v;
  if (auto v = r.integer("steps", true)) c.steps = *v;
  if (auto v = r.number("cfg_scale", true)) c.cfg_scale = *v;
  if (auto v = r.string("sampler", true)) c.sampler = *v;
  if (auto v = r.string("scheduler", true)) c.scheduler = *v;
  if (auto v = r.object("model_specific_params", false)) c.model_specific_params = std::move(*v);
  if (!errors.empty()) throw invalid("The configuration to create is invalid.", std::move(errors));
  return c;
}

InferenceConfiguration make_configuration(const CreateDTO& dto) {
  InferenceConfiguration c;
  c.model_id = dto.model_id;
  c.base_model = dto.base_model;
  c.configuration_type = dto.configuration_type;
  c.steps = dto.steps;
  c.cfg_scale = dto.cfg_scale;
  c.sampler = dto.sampler;
  c.scheduler = dto.scheduler;
  c.model_specific_params = dto.model_specific_params.is_object() ? dto.model_specific_params : nlohmann::json::object();
  return c;
}

CreateDTO to_create_dto(const InferenceConfiguration& c) {
  return CreateDTO{c.model_id, c.base_model, c.configuration_type, c.steps, c.cfg_scale,
                   c.sampler,  c.scheduler,  c.model_specific_params};
}

}  // namespace inferconf
