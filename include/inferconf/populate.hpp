// Population: the seed's populate_inference_configurations.py done
// properly. For every active model of the registry, decide its base model (and
// variant) with decide_base_model (as `resolve` does) and store a copy of the catalogue's
// preset of each configuration type, skipping what exists.
//
// Streaming and crash safety: models are read with Store::for_each_model and
// written in batches with Store::create_missing_for_models, one transaction
// per batch, so memory does not grow with the registry, a killed run leaves
// only whole batches behind, and a re-run (or a concurrent run) reaches the
// same end state: the unique (model_id, configuration_type) index decides
// what exists.
//
// The registry can also be filled here: import_registry() streams a platform's
// JSON Lines export into the store, and scan_models() registers a folder of
// .safetensors checkpoints.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/registry.hpp"
#include "inferconf/store.hpp"

namespace inferconf::detect {
class Rules;
}

namespace inferconf::populate {

// ---------------------------------------------------------------------------
// Population
// ---------------------------------------------------------------------------

struct PopulateOptions {
  std::vector<std::string> types;         // configuration types; empty = the types the catalogue marks "populate"
  bool dry_run = false;                   // report what would happen, write nothing
  std::optional<std::string> only_model;  // just this model (active or not)
  bool overwrite = false;                 // replace existing configurations with the presets
  std::size_t batch_size = 2000;          // models per transaction (1…100 000)
  bool keep_models = false;               // also collect every ModelOutcome in the report
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGINT) to stop after the current batch
};

enum class Action { kCreated, kSkipped, kReplaced, kFailed };
std::string_view to_string(Action a) noexcept;  // created, skipped, replaced, failed

struct TypeOutcome {
  std::string type;
  Action action = Action::kSkipped;
  std::string reason;  // why skipped ("already exists", "no preset…") or failed
};

// What happened to one model.
struct ModelOutcome {
  std::string model_id;
  std::string name;
  bool active = true;
  std::string base_model = "unknown";
  std::optional<std::string> variant;  // the catalogue variant whose presets were used
  std::string source = "none";         // explicit, metadata, file, name, none
  std::string confidence = "none";
  std::string detail;                  // how the deciding source said it
  std::string conflict;                // other sources that disagreed
  std::string reason;                  // why the base model is unknown
  std::string note;                    // e.g. a detected variant the catalogue does not have
  std::optional<std::string> file_error;  // the model file could not be read
  std::vector<TypeOutcome> types;

  bool failed() const;
};
void to_json(nlohmann::json& j, const ModelOutcome& m);

struct PopulationReport {
  bool dry_run = false;
  std::vector<std::string> types;
  std::int64_t models_found = 0;      // active models (or 1 with only_model)
  std::int64_t models_processed = 0;  // committed (or evaluated, in a dry run)
  std::int64_t created = 0;           // configurations
  std::int64_t skipped = 0;
  std::int64_t replaced = 0;
  std::int64_t failed = 0;
  std::int64_t unknown_models = 0;      // no base model found
  std::int64_t conflicting_models = 0;  // sources disagreed
  std::int64_t file_errors = 0;         // model files that could not be read
  std::map<std::string, std::int64_t> by_source;      // deciding source -> models
  std::map<std::string, std::int64_t> by_base_model;  // base model -> models
  bool interrupted = false;
  std::optional<std::string> last_model_id;  // the last model whose batch was committed
  double seconds = 0;
  std::vector<ModelOutcome> models;  // only with PopulateOptions::keep_models

  // True when every configuration was created, skipped or replaced.
  bool ok() const { return failed == 0; }
};
// The counts (and `models` when kept).
void to_json(nlohmann::json& j, const PopulationReport& r);

// Receives the outcome of each model once its batch is committed, in registry
// (id) order, and progress after each batch. Called on the populating thread.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_start(std::int64_t models_found) { (void)models_found; }
  virtual void on_batch(const std::vector<ModelOutcome>& batch, std::int64_t done, std::int64_t total) {
    (void)batch, (void)done, (void)total;
  }
};

// Populates the store (whose schema the caller has ensured). Throws
// Error(kInvalid) for an unknown type or a batch size out of range,
// Error(kNotFound) when only_model is not in the registry, and the store's
// kUnavailable when a batch cannot be written (earlier batches stay
// committed; a re-run continues). A model that cannot be handled (unknown
// base model) is reported as failed and the run goes on.
PopulationReport populate(Store& store, const Catalog& catalog, const detect::Rules& rules,
                          const PopulateOptions& options, Observer& observer);

// ---------------------------------------------------------------------------
// Registry import (JSON Lines / JSON array exports of a platform)
// ---------------------------------------------------------------------------

struct RegistryImportOptions {
  RegistryFieldMap fields;
  std::size_t batch_size = 5000;  // records per transaction
  bool dry_run = false;           // check the file, write nothing
  const std::atomic<bool>* cancel = nullptr;
};

struct ImportProblem {
  std::size_t where = 0;  // 1-based line (JSON Lines) or 0-based array index
  std::string location;   // "line 7", "item 3", or "file" when the file is not one JSON array (items before it were read)
  std::string message;    // names the field, the value and what is allowed
  std::vector<FieldError> field_errors;  // the record's problems one by one (empty for a repeated id or the file)
};

struct ImportReport {
  std::int64_t imported = 0;  // records upserted (new or updated)
  std::int64_t rejected = 0;  // bad records and repeated ids
  bool array = false;         // the file was a JSON array (where = index)
  bool interrupted = false;
  std::size_t last_where = 0;  // the last line/index committed
};
void to_json(nlohmann::json& j, const ImportReport& r);

// Streams the records of `in` into the registry in batches (upsert by id: a
// re-import updates). A bad record or an id given twice (the first one wins)
// is passed to on_problem and the rest goes on. Memory: a batch, whatever the
// number of ids: the repeated-id check keeps the ids seen in a temporary
// SQLite file with a 4 MiB cache; a JSON array is read item by item like
// JSON Lines, so neither is ever held whole.
ImportReport import_registry(Store& store, std::istream& in, const RegistryImportOptions& options,
                             const std::function<void(const ImportProblem&)>& on_problem);

// ---------------------------------------------------------------------------
// Folder scan (a ComfyUI / A1111 models/ tree)
// ---------------------------------------------------------------------------

struct ScanOptions {
  std::filesystem::path dir;
  bool recursive = false;
  bool inactive = false;  // register every model inactive
  bool dry_run = false;
  std::size_t batch_size = 500;
  unsigned jobs = 0;  // threads reading headers (detect::detect_files); 0 = one per core
};

struct ScanEntry {
  std::string file;       // relative to dir, '/'-separated; also the model id
  bool registered = false;
  bool updated = false;   // the id was already in the registry
  ModelRecord record;     // when registered
  std::string kind;       // checkpoint, diffusion_model, lora, vae, text_encoder, unknown
  std::uint64_t size = 0;
  std::string error;      // why the file was not registered
};
void to_json(nlohmann::json& j, const ScanEntry& e);

struct ScanReport {
  std::int64_t files = 0;       // candidate files seen
  std::int64_t registered = 0;  // new ids
  std::int64_t updated = 0;     // ids already in the registry
  std::int64_t errors = 0;      // files not registered
};
void to_json(nlohmann::json& j, const ScanReport& r);

// Registers every .safetensors file of options.dir (and its sub-folders when
// recursive) as a model: id = path relative to dir, name = file stem,
// base_model / variant / kind / size / dtype from the header. Components
// (VAE, text encoder) are registered inactive: presets are for models one
// generates with. Other model-weight files (.ckpt, .pt, .pth, .bin, .gguf) and
// unreadable files are reported through on_entry with an error, and the scan
// goes on. Throws Error(kInvalid) when dir is not a readable folder.
ScanReport scan_models(Store& store, const detect::Rules& rules, const ScanOptions& options,
                       const std::function<void(const ScanEntry&)>& on_entry);

}  // namespace inferconf::populate
