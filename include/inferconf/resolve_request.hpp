// A resolve request as JSON (the body of POST /v1/resolve, and the resolve
// part of an export request): read into a ResolveRequest, every problem
// reported at once.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/error.hpp"
#include "inferconf/service.hpp"

namespace inferconf {

// The longest key (model id, configuration type, base model, variant, file
// name) a request may carry: a look-up never hashes megabytes.
inline constexpr std::size_t kMaxRequestKeyBytes = 512;

// Reads one member of a request body that belongs to another layer (the
// "export" options of an export request), appending a FieldError for each
// problem rather than throwing.
using RequestMemberReader = std::function<void(const nlohmann::json& value, std::vector<FieldError>& errors)>;

// Reads a resolve request: model_id and configuration_type (required,
// non-empty strings of at most kMaxRequestKeyBytes), base_model and variant
// (the same, optional), overrides (an object), strict (a boolean) and as_of
// (a moment, parse_moment(): resolve as at that time) and hardware
// (read_hardware_request); null
// counts as absent for the optional members. With `read_export`, an "export"
// member is handed to it; without, "export" is an error saying only exports
// read it. Throws Error(kInvalid) with a FieldError per problem (unknown
// members, wrong types, missing members, and whatever read_export reports).
// Pure: safe from any thread.
ResolveRequest parse_resolve_request(const nlohmann::json& j, const RequestMemberReader* read_export = nullptr);

// Reads a request's "hardware": a shipped profile's name (a non-empty string
// of at most kMaxRequestKeyBytes; whether it exists is the Resolver's
// question) or an inline profile (read_hardware_profile, its fields under
// "hardware."). Appends a FieldError per problem and returns nullopt then.
// Pure.
std::optional<HardwareRequest> read_hardware_request(const nlohmann::json& value, std::vector<FieldError>& errors);

}  // namespace inferconf
