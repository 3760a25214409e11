// Services: what the command line and the HTTP API do with the store and the
// catalogue. They validate every write against the catalogue before it reaches
// the store, and resolve the effective parameters of a request.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/hardware_plan.hpp"
#include "inferconf/store.hpp"

namespace inferconf::detect {
class Rules;  // inferconf/detect/rules.hpp
}

namespace inferconf {

struct WriteResult {
  InferenceConfiguration configuration;
  std::vector<Normalisation> normalised;    // aliases stored under their canonical names
  std::vector<std::string> unknown_params;  // kept as given, not known for this base model
};

// Validated writes. Thread-safe when the store is.
class ConfigurationService {
 public:
  ConfigurationService(Store& store, const Catalog& catalog) : store_(store), catalog_(catalog) {}

  // Validates (normalising aliases) and stores. Throws Error(kInvalid) with
  // every problem, or the store's kConflict / kUnavailable.
  WriteResult create(CreateDTO dto, const WriteContext& context = {});
  // Applies the update to the current document, validates the result, and
  // stores it only if the document did not change meanwhile (the revision the
  // caller expects, or the one just read — retried then). Throws kNotFound,
  // kInvalid, kConflict (is_revision_mismatch() for a stale expected revision).
  WriteResult update(std::string_view id, UpdateDTO update, std::optional<std::int64_t> expected_revision,
                     const WriteContext& context = {});
  void remove(std::string_view id, std::optional<std::int64_t> expected_revision, const WriteContext& context = {});

  // Writes the document of revision `to_revision` back as a new revision,
  // after validating it against today's catalogue: when the catalogue now
  // rejects it, Error(kInvalid) names every problem and nothing is written.
  // kNotFound for an unknown configuration or revision; kConflict
  // (is_revision_mismatch()) unless the current revision equals
  // expected_revision (when given; otherwise the one read, retried).
  WriteResult rollback(std::string_view id, std::int64_t to_revision, std::optional<std::int64_t> expected_revision,
                       const WriteContext& context);
  // Brings back a deleted configuration (Store::restore), after validating
  // its last document against today's catalogue as rollback() does.
  WriteResult restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                      const WriteContext& context);

  Store& store() { return store_; }
  const Catalog& catalog() const { return catalog_; }

 private:
  Store& store_;
  const Catalog& catalog_;
};

struct ResolveRequest {
  std::string model_id;
  std::string configuration_type;
  std::optional<std::string> base_model;  // used when the registry does not say
  std::optional<std::string> variant;
  nlohmann::json overrides = nlohmann::json::object();  // flat parameter names, like the result
  // An override that is not a parameter of the architecture is a problem
  // rather than a note.
  bool strict = false;
  // Resolve as at this past moment: the configuration's revision current
  // then (Store::revision_as_of), under today's catalogue and registry.
  std::optional<Timestamp> as_of = std::nullopt;
  // Plan the run for this hardware (a shipped profile or an inline one):
  // the answer carries the plan, and values lowered to fit name the source
  // "hardware:<profile>".
  std::optional<HardwareRequest> hardware = std::nullopt;
};

// Where a resolved value came from.
inline constexpr const char* kSourceModel = "model";           // the model's stored configuration
inline constexpr const char* kSourceBaseModel = "base_model";  // the catalogue preset of its base model
inline constexpr const char* kSourceOverride = "override";     // the request's overrides
inline constexpr const char* kSourceHardwarePrefix = "hardware:";  // + profile: lowered to fit the hardware

struct ResolvedParameters {
  std::string model_id;
  std::string configuration_type;
  std::string base_model;
  std::string variant;  // empty when none
  std::optional<std::string> configuration_id;  // the stored configuration used, if any
  std::optional<std::int64_t> revision;
  // The seed's usage example, flat: steps, cfg_scale, sampler, scheduler and
  // every model_specific_params key.
  nlohmann::json parameters = nlohmann::json::object();
  std::map<std::string, std::string> sources;  // parameter -> kSource*
  std::vector<FieldError> problems;            // overrides that break the architecture's rules
  std::vector<Normalisation> normalised;
  // Overrides the catalogue does not know for this base model (and variant):
  // passed through as given, unchecked; each also has a note. Empty when the
  // request is strict (they are problems then).
  std::vector<std::string> unknown_params;
  std::vector<FieldError> notes;  // "overrides.guidance": what was passed through unchecked, and why
  // The plan for the request's hardware; absent without one (and when the
  // overrides have problems: there is nothing valid to plan).
  std::optional<HardwarePlan> hardware;
};
void to_json(nlohmann::json& j, const ResolvedParameters& r);

// What the Resolver reads: a model's stored configuration of a type and the
// model's registry record, and nothing else. The store answers through
// StoreLookup; the HTTP server answers configurations from its in-memory
// index, so a resolution sees the same state as the read routes.
class ResolverLookup {
 public:
  virtual ~ResolverLookup() = default;

  // The configuration stored for (model_id, type): at most one exists, the
  // store's unique index sees to that. nullopt when there is none (not an
  // error). Throws the store's kUnavailable / kInternal when it cannot be
  // read. Safe to call from several threads at once.
  virtual std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                                       std::string_view type) const = 0;
  // The registry record of a model (active or not). nullopt when the
  // registry has no such model. Throws the store's kUnavailable / kInternal
  // when it cannot be read. Safe to call from several threads at once.
  virtual std::optional<ModelRecord> get_model(std::string_view model_id) const = 0;
  // The configuration that held (model_id, type) at `at`, from the store's
  // history: nullopt when there was none then (not created yet, or deleted).
  // Throws the store's kUnavailable when it keeps no history or cannot be
  // read. Safe to call from several threads at once.
  virtual std::optional<InferenceConfiguration> configuration_at(std::string_view model_id, std::string_view type,
                                                                  Timestamp at) const = 0;
};

// A ResolverLookup that reads the store, for a front end without an index of
// its own (the command line); a front end with one (the server) overrides
// find_by_model_and_type. Thread-safe when the store is.
class StoreLookup : public ResolverLookup {
 public:
  explicit StoreLookup(Store& store) : store_(store) {}
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) const override {
    return store_.find_by_model_and_type(model_id, type);
  }
  std::optional<ModelRecord> get_model(std::string_view model_id) const override { return store_.get_model(model_id); }
  std::optional<InferenceConfiguration> configuration_at(std::string_view model_id, std::string_view type,
                                                          Timestamp at) const override {
    return configuration_as_of(store_, model_id, type, at);
  }

 private:
  Store& store_;
};

// Resolves the effective parameters of a generation request:
//   catalogue preset of the base model (and variant), under
//   the model's stored configuration of that type, under
//   the request's overrides.
// The base model comes from the stored configuration, else the registry
// record (decided by decide_base_model(), as `populate` decides it), else
// request.base_model. Thread-safe when its lookup is; the catalogue and the
// rules (both from the program's catalogue folder) are immutable.
class Resolver {
 public:
  // Reads through `data`, which must outlive the Resolver, as must
  // `hardware` (the catalogue folder's hardware.json; null: a request with
  // "hardware" fails with kUnavailable).
  Resolver(const ResolverLookup& data, const Catalog& catalog, const detect::Rules& rules,
           const HardwareCatalog* hardware = nullptr)
      : data_(data), catalog_(catalog), rules_(rules), hardware_(hardware) {}
  // Reads the store directly (through a StoreLookup it owns).
  Resolver(Store& store, const Catalog& catalog, const detect::Rules& rules, const HardwareCatalog* hardware = nullptr)
      : owned_(std::make_shared<const StoreLookup>(store)),
        data_(*owned_),
        catalog_(catalog),
        rules_(rules),
        hardware_(hardware) {}

  // Throws Error(kNotFound) when neither the store nor the registry nor the
  // request gives the model a base model (or the model has no stored
  // configuration and no preset exists), Error(kInvalid) for an unknown type,
  // base model or variant. Problems of the overrides are reported in
  // `problems`, not thrown: the caller decides (HTTP answers 422). An override
  // that is not a parameter of the architecture is listed in unknown_params
  // and notes, or in problems when request.strict. With request.hardware:
  // Error(kInvalid) for an unknown profile name, a base model without a
  // memory model, or a request that fits the profile at no size the rules
  // allow (HardwarePlanner::plan); kUnavailable when the Resolver has no
  // hardware catalogue.
  ResolvedParameters resolve(const ResolveRequest& request) const;

 private:
  std::shared_ptr<const ResolverLookup> owned_;  // set by the Store constructor only
  const ResolverLookup& data_;
  const Catalog& catalog_;
  const detect::Rules& rules_;
  const HardwareCatalog* hardware_ = nullptr;
};

}  // namespace inferconf
