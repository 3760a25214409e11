// Data transfer objects, as in the seed: the full configuration, the create
// document and the update document. The wire format of each type is defined
// here, next to it (to_json / parse_*), in the manner of nlohmann/json.
//
// Parsing is strict: unknown fields, wrong types and missing required fields are
// reported all at once as an inferconf::Error (kInvalid) whose field_errors name
// the field path, the value received and what is allowed. Checks that need the
// catalogue (known base model, sampler, ranges) are done by catalog::Validator.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/configuration.hpp"
#include "inferconf/json_text.hpp"  // parse_json_text: the one way to read JSON text

namespace inferconf {

// InferenceConfigurationDTO: the full representation.
void to_json(nlohmann::json& j, const InferenceConfiguration& c);
// Parses a full document (as stored or exported). Throws Error(kInvalid).
InferenceConfiguration parse_configuration(const nlohmann::json& j);

// InferenceConfigurationCreateDTO.
struct CreateDTO {
  std::string model_id;
  std::string base_model;
  std::string configuration_type;
  int steps = 0;
  double cfg_scale = 0.0;
  std::string sampler;
  std::string scheduler;
  nlohmann::json model_specific_params = nlohmann::json::object();

  friend bool operator==(const CreateDTO&, const CreateDTO&) = default;
};
void to_json(nlohmann::json& j, const CreateDTO& c);
// Required: model_id, base_model, configuration_type, steps, cfg_scale, sampler,
// scheduler; optional: model_specific_params (an object). Throws Error(kInvalid).
CreateDTO parse_create_dto(const nlohmann::json& j);

// InferenceConfigurationUpdateDTO: every field optional, at least one present.
// model_specific_params is an RFC 7396 JSON Merge Patch (null deletes a key).
// id, model_id, created_at, updated_at and revision cannot be changed.
struct UpdateDTO {
  std::optional<std::string> base_model;
  std::optional<std::string> configuration_type;
  std::optional<int> steps;
  std::optional<double> cfg_scale;
  std::optional<std::string> sampler;
  std::optional<std::string> scheduler;
  std::optional<nlohmann::json> model_specific_params;  // merge patch (an object)

  bool empty() const;
  friend bool operator==(const UpdateDTO&, const UpdateDTO&) = default;
};
void to_json(nlohmann::json& j, const UpdateDTO& u);
UpdateDTO parse_update_dto(const nlohmann::json& j);


// The configuration a create would store (id, timestamps and revision not set).
InferenceConfiguration make_configuration(const CreateDTO& dto);
// Applies an update to a configuration (merge patch on model_specific_params);
// does not touch id, timestamps or revision.
void apply_update(InferenceConfiguration& c, const UpdateDTO& u);
// The create document of an existing configuration.
CreateDTO to_create_dto(const InferenceConfiguration& c);

}  // namespace inferconf
