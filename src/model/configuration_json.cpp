// Wire format of InferenceConfigurationDTO (the full document).
#include <fmt/format.h>

#include "inferconf/dto.hpp"
#include "common/field_reader.hpp"

namespace inferconf {

void to_json(nlohmann::json& j, const InferenceConfiguration& c) {
  j = nlohmann::json{{"id", c.id},
                     {"model_id", c.model_id},
                     {"base_model", c.base_model},
                     {"configuration_type", c.configuration_type},
                     {"steps", c.steps},
                     {"cfg_scale", c.cfg_scale},
                     {"sampler", c.sampler},
                     {"scheduler", c.scheduler},
                     {"model_specific_params", c.model_specific_params},
                     {"created_at", format_timestamp(c.created_at)},
                     {"updated_at", format_timestamp(c.updated_at)},
                     {"revision", c.revision}};
}

InferenceConfiguration parse_configuration(const nlohmann::json& j) {
  std::vector<FieldError> errors;
  detail::FieldReader r(j, "", errors);
  r.reject_unknown({"id", "model_id", "base_model", "configuration_type", "steps", "cfg_scale", "sampler",
                    "scheduler", "model_specific_params", "created_at", "updated_at", "revision"});
  InferenceConfiguration c;
  auto read_time = [&](std::string_view key, Timestamp& out) {
    if (auto s = r.string(key, true)) {
      if (auto t = parse_timestamp(*s))
        out = *t;
      else
        r.error(key, fmt::format("is \"{}\", which is not an RFC 3339 date-time such as 2024-01-01T00:00:00.000Z.", *s));
    }
  };
  if (auto v = r.string("id", true)) {
    if (is_uuid(*v))
      c.id = *v;
    else
      r.error("id", fmt::format("is \"{}\", which is not a UUID.", *v));
  }
  if (auto v = r.string("model_id", true)) c.model_id = *v;
  if (auto v = r.string("base_model", true)) c.base_model = *v;
  if (auto v = r.string("configuration_type", true)) c.configuration_type = *v;
  if (auto v = r.integer("steps", true)) c.steps = *v;
  if (auto v = r.number("cfg_scale", true)) c.cfg_scale = *v;
  if (auto v = r.string("sampler", true)) c.sampler = *v;
  if (auto v = r.string("scheduler", true)) c.scheduler = *v;
  if (auto v = r.object("model_specific_params", false)) c.model_specific_params = std::move(*v);
  read_time("created_at", c.created_at);
  read_time("updated_at", c.updated_at);
  if (auto v = r.integer64("revision", false)) {
    if (*v < 1)
      r.error("revision", fmt::format("is {}, but revisions start at 1.", *v));
    else
      c.revision = *v;
  }
  if (!errors.empty()) throw invalid("The configuration document is invalid.", std::move(errors));
  return c;
}

}  // namespace inferconf
