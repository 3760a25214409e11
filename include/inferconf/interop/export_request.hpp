// An export request as JSON (the body of POST /v1/resolve?format=...): a
// resolve request plus an "export" member with what the engine request needs
// beyond the resolved parameters.
#pragma once

#include <nlohmann/json.hpp>

#include "inferconf/interop/export.hpp"
#include "inferconf/resolve_request.hpp"

namespace inferconf {

// Reads the resolve request and its "export" member ({prompt,
// negative_prompt, seed, checkpoint, checkpoint_2, allow_substitute}, each
// optional; null counts as absent) into *options. Throws Error(kInvalid)
// with a FieldError per problem of either part. Pure: safe from any thread.
ResolveRequest parse_export_request(const nlohmann::json& j, ExportOptions& options);

}  // namespace inferconf
