// The BSON shape of inferconf's data in MongoDB: the seed's
// `inference_configurations` documents (plus `revision`) and the platform's
// `database_models` documents read through a RegistryFieldMap.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "inferconf/configuration.hpp"
#include "inferconf/registry.hpp"
#include "store/mongo/handles.hpp"

namespace inferconf::mongo {

inline constexpr const char* kConfigurations = "inference_configurations";
inline constexpr const char* kModels = "database_models";
// One {id, deleted_at} per configuration inferconf deleted: deletes leave no
// document to poll for, and the change feed must report them.
inline constexpr const char* kDeletions = "inference_configuration_deletions";

// JSON values become the BSON types pymongo would have written for the same
// Python value: integers that fit in 32 bits are int32, larger ones int64.
void append_json(bson_t* doc, std::string_view key, const nlohmann::json& value);
Bson json_to_bson(const nlohmann::json& object);
// BSON dates become RFC 3339 strings and ObjectIds their hex string, so a
// registry keyed by `_id` can be read with --id-field _id.
nlohmann::json bson_to_json(const bson_t* doc);

void append_timestamp(bson_t* doc, const char* key, Timestamp t);

// The full document stored by create(), fields in the seed's order.
Bson configuration_document(const InferenceConfiguration& c);
// The `$set` body of update()/replace(): every field but id and created_at.
Bson configuration_set_fields(const InferenceConfiguration& c);
// Reads a stored document, including those written by the seed's Python
// repository (no `revision` means 1; timestamps may be ISO strings; numbers may
// be any numeric BSON type). Throws Error(kInternal) naming the document and
// the field when it is not a configuration.
InferenceConfiguration configuration_from_bson(const bson_t* doc);

ModelRecord model_from_bson(const bson_t* doc, const RegistryFieldMap& map);
// The `$set` body of an import upsert, in the platform's field names.
Bson model_set_fields(const ModelRecord& m, const RegistryFieldMap& map);

}  // namespace inferconf::mongo
