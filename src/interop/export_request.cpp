// Reading an export request from JSON.
#include "inferconf/interop/export_request.hpp"

#include <fmt/format.h>

namespace inferconf {

namespace {

void read_export_options(const nlohmann::json& j, ExportOptions& options, std::vector<FieldError>& errors) {
  if (!j.is_object()) {
    errors.push_back({"export", fmt::format("must be an object with prompt, negative_prompt, seed, checkpoint or "
                                            "allow_substitute, but it is {}.",
                                            j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 100))});
    return;
  }
  auto text = [&](const std::string& key, std::string& out, std::size_t max) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_string() || it->get_ref<const std::string&>().size() > max)
      errors.push_back({"export." + key, fmt::format("must be a string of at most {} bytes.", max)});
    else
      out = it->get<std::string>();
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "prompt" || key == "negative_prompt" || key == "checkpoint" || key == "checkpoint_2" || key == "seed" ||
        key == "allow_substitute")
      continue;
    errors.push_back({"export." + key, "is not an export option; allowed: prompt, negative_prompt, seed, checkpoint, "
                                       "checkpoint_2, allow_substitute."});
  }
  text("prompt", options.prompt, 16 * 1024);
  text("negative_prompt", options.negative_prompt, 16 * 1024);
  text("checkpoint", options.checkpoint, kMaxRequestKeyBytes);
  text("checkpoint_2", options.checkpoint_2, kMaxRequestKeyBytes);
  if (auto it = j.find("seed"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
      errors.push_back({"export.seed", fmt::format("must be an integer from 0 to 18446744073709551615, but it is {}.",
                                                   it->dump().substr(0, 100))});
    else
      options.seed = it->get<std::uint64_t>();
  }
  if (auto it = j.find("allow_substitute"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"export.allow_substitute", fmt::format("must be true or false, but it is {}.",
                                                               it->dump().substr(0, 100))});
    else
      options.allow_substitute = it->get<bool>();
  }
}

}  // namespace

ResolveRequest parse_export_request(const nlohmann::json& j, ExportOptions& options) {
  const RequestMemberReader read_export = [&options](const nlohmann::json& value, std::vector<FieldError>& errors) {
    read_export_options(value, options, errors);
  };
  return parse_resolve_request(j, &read_export);
}

}  // namespace inferconf
