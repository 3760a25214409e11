// The store: where configurations and the model registry live.
//
// One abstract interface, two implementations: SQLite (the embedded default,
// "sqlite:PATH") and MongoDB ("mongodb://HOST/DB"). Both must pass the
// conformance suite in tests/store/. Collections / tables are named after the
// seed's: `inference_configurations` and `database_models`.
//
// Errors: every method throws inferconf::Error — kInvalid for arguments that
// break the method's contract, kConflict for a duplicate
// (model_id, configuration_type) or a revision mismatch, kUnavailable when the
// store cannot be read or written. "Not found" is a return value (nullopt or
// false) on lookups, and Error(kNotFound) on update/remove.
//
// Thread safety: a Store may be shared by threads; every method is safe to
// call concurrently (implementations use a connection per thread or a pool).
//
// History: every write takes a WriteContext (who, why) and records a
// revision of each configuration it changes (history.hpp) in the same
// transaction as the change, in `inference_configuration_revisions`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inferconf/configuration.hpp"
#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"
#include "inferconf/history.hpp"
#include "inferconf/registry.hpp"

namespace inferconf {

// Filters of list() and count(); an empty member matches everything.
struct ConfigurationFilter {
  std::optional<std::string> model_id;
  std::optional<std::string> base_model;
  std::optional<std::string> configuration_type;
};

// One preset to create for many models, as population does: the
// configurations *preset with its model_id replaced by each of model_ids.
// Both point into the caller's memory, which must stay as it is for the call;
// a group without models is skipped (its preset is not read, and may be null).
struct PresetForModels {
  const CreateDTO* preset;  // its model_id is not used
  std::vector<std::reference_wrapper<const std::string>> model_ids;
};

// Throws kInvalid, naming the group, when a group has models but no preset.
inline void check_presets(const std::vector<PresetForModels>& groups) {
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (groups[i].preset == nullptr && !groups[i].model_ids.empty()) {
      const std::string first = groups[i].model_ids.front();
      throw invalid("Group " + std::to_string(i) + " of the batch names " + std::to_string(groups[i].model_ids.size()) +
                        " model(s) (the first \"" + first + "\") but no preset; give the preset to create for them.",
                    {{"preset", "received none for group " + std::to_string(i) + "; allowed: a configuration"}});
    }
  }
}

struct ConfigurationPage {
  std::vector<InferenceConfiguration> items;
  std::optional<std::string> next_cursor;  // absent on the last page
};

// What changed since a change cursor (for caches such as the HTTP server's).
struct ChangeSet {
  std::vector<InferenceConfiguration> upserted;  // created or updated, current state
  std::vector<std::string> deleted_ids;
  std::string cursor;          // pass to the next changes_since()
  bool reload_required = false;  // the store cannot tell: re-read everything
};

class Store {
 public:
  virtual ~Store() = default;

  // A description for messages and logs, e.g. "sqlite:data/inferconf.db"
  // (credentials removed).
  virtual std::string describe() const = 0;

  // --- Schema ---

  // The seed's create_index(): creates tables/collections, the indexes on
  // model_id and base_model, the unique index on (model_id, configuration_type)
  // and the unique index on id, and migrates an older schema forward.
  // Idempotent. Throws kUnavailable when the store cannot be written, and
  // kInvalid when an existing index conflicts with the required one.
  virtual void ensure_schema() = 0;

  // Checks that the schema and indexes are exactly as ensure_schema() makes
  // them. Returns one sentence per problem; empty when all is well.
  virtual std::vector<std::string> check_schema() = 0;

  // --- Configurations (the seed's `inference_configurations`): writes and reads ---

  // Stores a new configuration made from dto (which the caller has validated):
  // assigns a new UUID v7 id, created_at = updated_at = now, revision 1, and
  // returns it. Throws kConflict (with existing_id()) when the model already
  // has a configuration of that type.
  virtual InferenceConfiguration create(const CreateDTO& dto, const WriteContext& context = {}) = 0;

  // Stores all configurations in one transaction: either every one is created
  // and returned (in order), or none is and kConflict / kUnavailable is thrown.
  virtual std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos,
                                                          const WriteContext& context = {}) = 0;

  // Creates those of dtos whose (model_id, configuration_type) does not exist
  // yet, in one transaction, and returns for each dto whether it was created
  // (true) or already existed (false). Concurrent callers never create
  // duplicates: the unique index decides. With replace = true, existing ones
  // are overwritten instead (revision + 1) and reported as false.
  virtual std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                           const WriteContext& context = {}) = 0;

  // create_missing() of the configurations of every group (see PresetForModels),
  // in one transaction; returns whether each was created, group after group,
  // model after model. Same errors and concurrency as create_missing(), and
  // kInvalid, with nothing written, for a group with models but no preset. A store
  // may bind each preset once for all its models; this default expands the
  // groups into DTOs and calls create_missing().
  virtual std::vector<bool> create_missing_for_models(const std::vector<PresetForModels>& groups, bool replace,
                                                      const WriteContext& context = {}) {
    check_presets(groups);
    std::vector<CreateDTO> dtos;
    for (const auto& g : groups) {
      for (const std::string& id : g.model_ids) {
        dtos.push_back(*g.preset);
        dtos.back().model_id = id;
      }
    }
    return create_missing(dtos, replace, context);
  }

  // Returns the configuration with this id, or nullopt.
  virtual std::optional<InferenceConfiguration> get(std::string_view id) = 0;

  // Applies update (merge patch on model_specific_params) atomically, sets
  // updated_at = now and revision + 1, and returns the new state. With
  // expected_revision, fails with kConflict (is_revision_mismatch()) unless the
  // stored revision equals it. Throws kNotFound for an unknown id and
  // kConflict when the new (model_id, configuration_type) is taken.
  virtual InferenceConfiguration update(std::string_view id, const UpdateDTO& update,
                                        std::optional<std::int64_t> expected_revision,
                                        const WriteContext& context = {}) = 0;

  // Replaces every mutable field with those of `replacement` (which the caller
  // validated), with the same revision check and errors as update().
  virtual InferenceConfiguration replace(std::string_view id, const CreateDTO& replacement,
                                         std::optional<std::int64_t> expected_revision,
                                         const WriteContext& context = {}) = 0;

  // Deletes the configuration, leaving a tombstone revision (revision + 1)
  // that keeps the deleted document for restore(). Throws kNotFound for an
  // unknown id and kConflict (is_revision_mismatch()) when expected_revision
  // is given and differs.
  virtual void remove(std::string_view id, std::optional<std::int64_t> expected_revision,
                      const WriteContext& context = {}) = 0;

  // The seed's repository queries. Results are ordered by (configuration_type, id)
  // for the model queries and (model_id, configuration_type) for the base-model
  // queries; the *_and_type forms return the first match or nullopt.
  virtual std::vector<InferenceConfiguration> find_by_model_id(
      std::string_view model_id, std::optional<std::string_view> configuration_type = std::nullopt) = 0;
  virtual std::vector<InferenceConfiguration> find_by_base_model(
      std::string_view base_model, std::optional<std::string_view> configuration_type = std::nullopt) = 0;
  virtual std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                                       std::string_view configuration_type) = 0;
  virtual std::optional<InferenceConfiguration> find_by_base_model_and_type(
      std::string_view base_model, std::string_view configuration_type) = 0;

  // Keyset pagination ordered by id: at most `limit` (1…1000) items after the
  // opaque `cursor` of a previous page. Stable under concurrent inserts and
  // deletes (no item is skipped or repeated that existed throughout). A cursor
  // that is not one of ours is kInvalid.
  virtual ConfigurationPage list(const ConfigurationFilter& filter, std::size_t limit,
                                 std::optional<std::string_view> cursor) = 0;
  virtual std::int64_t count(const ConfigurationFilter& filter) = 0;

  // Calls fn for every configuration, in id order, without holding them all in
  // memory; stops early when fn returns false.
  virtual void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) = 0;

  // --- The change feed ---

  // The cursor of "now", and what changed after a cursor (writes by any
  // process). Used to keep caches coherent without full reloads.
  virtual std::string change_cursor() = 0;
  virtual ChangeSet changes_since(std::string_view cursor) = 0;

  // --- Change history (`inference_configuration_revisions`, history.hpp) ---
  // A store that keeps no history (a test double) answers every one of these
  // with kUnavailable; SQLite and MongoDB keep it.

  // The revisions of the configuration `id` (deleted or not), newest first,
  // at most `limit` (1…kMaxRevisionPage) after the opaque `cursor` of a
  // previous page. An id with no revisions gives an empty page. A cursor that
  // is not one of ours is kInvalid.
  virtual RevisionPage revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) {
    (void)id, (void)limit, (void)cursor;
    throw no_history();
  }

  // The revisions of every configuration that held (model_id,
  // configuration_type), newest first, paginated as revisions().
  virtual RevisionPage revisions_of_model(std::string_view model_id, std::string_view configuration_type,
                                          std::size_t limit, std::optional<std::string_view> cursor) {
    (void)model_id, (void)configuration_type, (void)limit, (void)cursor;
    throw no_history();
  }

  // One revision, or nullopt when the configuration never had it or it was pruned.
  virtual std::optional<Revision> get_revision(std::string_view id, std::int64_t revision) {
    (void)id, (void)revision;
    throw no_history();
  }

  // The revision of the configuration holding (model_id, configuration_type)
  // that was current at `at`: the newest one made at or before it. A
  // tombstone means the pair had no configuration then; nullopt that none
  // had been made yet (or its revisions were pruned).
  virtual std::optional<Revision> revision_as_of(std::string_view model_id, std::string_view configuration_type,
                                                 Timestamp at) {
    (void)model_id, (void)configuration_type, (void)at;
    throw no_history();
  }

  // The audit view: revisions of every configuration (and prune records)
  // matching the query, newest first (store-wide commit order), paginated as
  // revisions().
  virtual RevisionPage audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) {
    (void)query, (void)limit, (void)cursor;
    throw no_history();
  }

  // Writes the document of revision `to_revision` back as a new revision
  // (operation rollback, revision + 1) and returns the new state; the
  // caller validated that document against the catalogue. With
  // expected_revision, kConflict (is_revision_mismatch()) unless the current
  // revision equals it. kNotFound when the configuration does not exist
  // (restore a deleted one first) or the revision does not (never made, or
  // pruned), kInvalid when it is a tombstone, kConflict when the document's
  // (model_id, configuration_type) is now another configuration's.
  virtual InferenceConfiguration rollback(std::string_view id, std::int64_t to_revision,
                                          std::optional<std::int64_t> expected_revision,
                                          const WriteContext& context) {
    (void)id, (void)to_revision, (void)expected_revision, (void)context;
    throw no_history();
  }

  // Brings back a deleted configuration, under its id, with the document its
  // tombstone kept (operation restore, revision = the tombstone's + 1), and
  // returns it. expected_revision, when given, must be the tombstone's
  // revision (kConflict, is_revision_mismatch(), otherwise). kNotFound when
  // the id has no history, kConflict when the configuration exists (it is
  // not deleted) or its (model_id, configuration_type) was taken since.
  virtual InferenceConfiguration restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                         const WriteContext& context) {
    (void)id, (void)expected_revision, (void)context;
    throw no_history();
  }

  // Removes the revisions the rule selects (see PruneRule: never the newest
  // of a configuration nor its last delete) and records the prune itself
  // (operation prune, with the rule and the count in its details) in the
  // same transaction. kInvalid for a rule without keep >= 1 or older_than.
  virtual PruneResult prune_history(const PruneRule& rule, const WriteContext& context) {
    (void)rule, (void)context;
    throw no_history();
  }

  // --- The model registry (`database_models`) ---

  // Inserts or updates (by id) every record, in one transaction.
  virtual void upsert_models(const std::vector<ModelRecord>& models) = 0;
  // Returns the record with this id, or nullopt.
  virtual std::optional<ModelRecord> get_model(std::string_view id) = 0;
  // Calls fn for each record (only active ones when active_only), in id order,
  // streamed; stops early when fn returns false.
  virtual void for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) = 0;
  virtual std::int64_t count_models(bool active_only) = 0;

 protected:
  Error no_history() const {
    return unavailable(describe() + " does not keep change history; use an SQLite or MongoDB store.").as_unsupported();
  }
};

// The configuration that held (model_id, configuration_type) at `at`, as it
// was then: nullopt when there was none (not created yet, or deleted then).
inline std::optional<InferenceConfiguration> configuration_as_of(Store& store, std::string_view model_id,
                                                                 std::string_view configuration_type, Timestamp at) {
  auto revision = store.revision_as_of(model_id, configuration_type, at);
  if (!revision || revision->is_tombstone()) return std::nullopt;
  return std::move(revision->document);
}

// How open_store() opens a store, beyond what its URI says.
struct StoreOptions {
  // The field names of the platform's `database_models` documents (populate's
  // --id-field…): a MongoDB store reads its registry through them. The SQLite
  // store keeps its own registry table and ignores them.
  RegistryFieldMap registry_fields;
};

// Opens the store a URI names: "sqlite:PATH" (or a bare path ending in .db,
// .sqlite or .sqlite3; an empty URI is kDefaultStoreUri), "mongodb://…/DB" or
// "mongodb+srv://…/DB". A SQLite file's missing parent folders are created.
// Throws kInvalid for an unknown scheme or an empty path, and kUnavailable
// when the store cannot be opened. Does not create the schema (call
// ensure_schema()). The one way every front end (CLI, HTTP, populate) opens a store.
std::unique_ptr<Store> open_store(std::string_view uri, const StoreOptions& options = {});

// The SQLite database file a store URI names (as open_store() reads it), or
// nullopt for a MongoDB URI. Throws kInvalid for a URI open_store() refuses.
std::optional<std::filesystem::path> sqlite_file_of(std::string_view uri);

// Bounds the memory SQLite keeps in its page caches, for the whole process
// (sqlite3_soft_heap_limit64): past it SQLite recycles pages instead of
// growing. For a server that answers reads from its own index, where the
// SQLite cache only serves writes and refreshes. Thread-safe.
void set_sqlite_soft_heap_limit(std::int64_t bytes);

// The default store when neither --db nor INFERCONF_DB is given.
inline constexpr std::string_view kDefaultStoreUri = "sqlite:data/inferconf.db";

}  // namespace inferconf
