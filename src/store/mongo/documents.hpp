// The BSON shape of inferconf's data in MongoDB: the seed's
// `inference_configurations` documents (plus `revision`) and the platform's
// `database_models` documents read through a RegistryFieldMap.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "inferconf/configuration.hpp"
#include "inferconf/history.hpp"
#include "inferconf/registry.hpp"
#include "store/mongo/handles.hpp"

namespace inferconf::mongo {

inline constexpr const char* kConfigurations = "inference_configurations";
inline constexpr const char* kModels = "database_models";
// One {id, deleted_at} per configuration inferconf deleted: deletes leave no
// document to poll for, and the change feed must report them.
inline constexpr const char* kDeletions = "inference_configuration_deletions";
// Change history (history.hpp): one document per revision.
inline constexpr const char* kRevisions = "inference_configuration_revisions";
// The counter of the store-wide revision `sequence`: one document
// {_id: "revisions", value: <the last sequence handed out>}.
inline constexpr const char* kSequences = "inference_configuration_sequences";
inline constexpr const char* kRevisionCounterId = "revisions";

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
// The update document that turns the stored document `stored` (read as
// `before`) into `after`: `$set` of only the fields and the
// model_specific_params paths that differ, `$unset` of the parameters that
// are gone, plus updated_at and revision. What is not changed is not
// written, so its BSON type (Decimal128, Date, ObjectId, Binary…) stays as
// stored and a field another program changed meanwhile is not reverted.
Bson configuration_update(const bson_t* stored, const InferenceConfiguration& before,
                          const InferenceConfiguration& after);
// Reads a stored document, including those written by the seed's Python
// repository (no `revision` means 1; timestamps may be ISO strings; numbers may
// be any numeric BSON type). Throws Error(kInternal) naming the document and
// the field when it is not a configuration.
InferenceConfiguration configuration_from_bson(const bson_t* doc);
// The same, for scans that must go on past a document another program wrote
// badly: nullopt, with *problem set to a sentence naming the document's id
// and the field, when the document is not a configuration.
std::optional<InferenceConfiguration> read_configuration(const bson_t* doc, std::string* problem);

// A revision document of inference_configuration_revisions:
// {configuration_id, revision, operation, actor, reason (absent when none), at,
//  sequence, model_id, base_model, configuration_type, document}, where
// `document` is the configuration as configuration_document() writes it (for
// a delete, as deleted, with the tombstone's revision). A prune record has
// `details` instead of `document`, and empty model_id, base_model and type.
Bson revision_document(const Revision& r);
// Reads one; throws Error(kUnavailable) naming the revision and the field
// when the document is not a revision inferconf can read.
Revision revision_from_bson(const bson_t* doc);

ModelRecord model_from_bson(const bson_t* doc, const RegistryFieldMap& map);
// The `$set` body of an import upsert, in the platform's field names.
Bson model_set_fields(const ModelRecord& m, const RegistryFieldMap& map);

}  // namespace inferconf::mongo
