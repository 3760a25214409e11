// Reading a resolve request from JSON.
#include "inferconf/resolve_request.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace inferconf {

namespace {

// A member's JSON for a message: bounded, and readable even when it holds
// bytes that are not UTF-8.
std::string shown(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 100);
}

void check_member_names(const nlohmann::json& j, const RequestMemberReader* read_export,
                        std::vector<FieldError>& errors) {
  static const std::vector<std::string> known = {"model_id", "configuration_type", "base_model", "variant", "overrides",
                                                 "strict", "as_of", "hardware"};
  for (const auto& [key, value] : j.items()) {
    if (key == "export") {
      if (read_export)
        (*read_export)(value, errors);
      else
        errors.push_back({key, "is only read by an export (POST /v1/resolve?format=comfyui|a1111|diffusers|infotext)."});
      continue;
    }
    if (std::find(known.begin(), known.end(), key) == known.end())
      errors.push_back({key, fmt::format("is not a field of a resolve request; allowed: model_id, configuration_type, "
                                         "base_model, variant, overrides, strict, as_of{}.",
                                         read_export ? ", hardware, export" : ", hardware")});
  }
}

std::optional<std::string> key_member(const nlohmann::json& j, const char* key, bool required,
                                      std::vector<FieldError>& errors) {
  auto it = j.find(key);
  if (it == j.end() || (it->is_null() && !required)) {
    if (required) errors.push_back({key, "is required but missing."});
    return std::nullopt;
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      it->get_ref<const std::string&>().size() > kMaxRequestKeyBytes) {
    errors.push_back({key, fmt::format("must be a non-empty string of at most {} bytes, but it is {}.",
                                       kMaxRequestKeyBytes, shown(*it))});
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

std::optional<HardwareRequest> read_hardware_request(const nlohmann::json& value, std::vector<FieldError>& errors) {
  if (value.is_string()) {
    const auto& name = value.get_ref<const std::string&>();
    if (!name.empty() && name.size() <= kMaxRequestKeyBytes) return HardwareRequest{name, std::nullopt};
  } else if (value.is_object()) {
    auto profile = read_hardware_profile(value, "hardware", false, errors);
    if (!profile) return std::nullopt;
    return HardwareRequest{profile->id, std::move(profile)};
  }
  errors.push_back({"hardware", fmt::format("must be a shipped profile's name (e.g. \"consumer_12gb\") or a profile "
                                            "object with vram_gb, system_ram_gb and compute_capability, but it is {}.",
                                            shown(value))});
  return std::nullopt;
}

ResolveRequest parse_resolve_request(const nlohmann::json& j, const RequestMemberReader* read_export) {
  std::vector<FieldError> errors;
  ResolveRequest req;
  if (!j.is_object()) throw invalid("The resolve request must be a JSON object.", {{"$", "must be an object."}});
  check_member_names(j, read_export, errors);
  if (auto v = key_member(j, "model_id", true, errors)) req.model_id = *v;
  if (auto v = key_member(j, "configuration_type", true, errors)) req.configuration_type = *v;
  req.base_model = key_member(j, "base_model", false, errors);
  req.variant = key_member(j, "variant", false, errors);
  if (auto it = j.find("overrides"); it != j.end() && !it->is_null()) {
    if (!it->is_object())
      errors.push_back({"overrides", fmt::format("must be an object of parameter names to values, but it is {}.",
                                                 it->dump().substr(0, 100))});
    else
      req.overrides = *it;
  }
  if (auto it = j.find("strict"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"strict", fmt::format("must be true or false, but it is {}.", it->dump().substr(0, 100))});
    else
      req.strict = it->get<bool>();
  }
  if (auto it = j.find("as_of"); it != j.end() && !it->is_null()) {
    std::optional<Timestamp> at;
    if (it->is_string()) at = parse_moment(it->get_ref<const std::string&>());
    if (at)
      req.as_of = *at;
    else
      errors.push_back(
          {"as_of", fmt::format("is {}, which is not a moment; allowed: {}.", shown(*it), kMomentFormats)});
  }
  if (auto it = j.find("hardware"); it != j.end() && !it->is_null())
    req.hardware = read_hardware_request(*it, errors);
  if (!errors.empty()) throw invalid("The resolve request is invalid.", std::move(errors));
  return req;
}

}  // namespace inferconf
