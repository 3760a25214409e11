// The base-model catalogue (catalog/base_models.json) and the sampler /
// scheduler vocabulary (catalog/vocabulary.json): data that changes more often
// than code, validated at load.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"

namespace inferconf {

struct Range {
  double min = 0;
  double max = 0;
  bool contains(double v) const { return v >= min && v <= max; }
};

// The rule for one key of model_specific_params.
struct ParamRule {
  std::string type;                  // "integer" | "number" | "string" | "boolean"
  std::optional<Range> range;        // numbers
  std::optional<int> multiple_of;    // integers (e.g. width multiple of 16)
  std::optional<int> modulo;         // integers: value % modulo == remainder (frames 4n+1)
  int remainder = 0;
  std::vector<nlohmann::json> allowed;  // when not empty: one of these values
  std::string description;
};

struct Preset {
  int steps = 0;
  double cfg_scale = 0;
  std::string sampler;
  std::string scheduler;
  nlohmann::json model_specific_params = nlohmann::json::object();
  std::string source;  // why these values (reference, model card…)
};

struct Constraints {
  Range steps;
  Range cfg_scale;
  bool negative_prompt = true;  // whether a negative prompt / real CFG applies
  std::map<std::string, ParamRule> params;  // known model_specific_params keys
  // How the model is steered towards the prompt, which decides what cfg_scale
  // means: "cfg" (classifier-free guidance, a negative prompt applies),
  // "true_cfg" (real CFG on a flow model, e.g. Qwen-Image's true_cfg_scale),
  // "distilled" (guidance distilled into the model as an input, cfg_scale 1,
  // the strength in model_specific_params.guidance), "embedded" (the same,
  // named embedded guidance by HunyuanVideo), "none" (step-distilled, cfg_scale
  // 1 and no guidance). Empty when the catalogue does not declare it.
  std::string guidance_kind;
  // What the network predicts: "epsilon", "v_prediction" or "flow"; sampling
  // one as another gives broken images. Empty when not declared.
  std::string prediction_type;
  // The sampling shift the model was trained for (flow models), when declared.
  std::optional<double> shift;
};

struct Variant {
  std::string id;
  std::string display_name;
  std::string description;
  std::optional<Constraints> constraints;      // when the variant's rules differ
  std::map<std::string, Preset> presets;       // overrides of the base's, by type
  // When present, replaces the base's experts ([] for a single model).
  std::optional<std::vector<std::string>> experts;
};

struct BaseModelSpec {
  std::string id;            // "sdxl"
  std::string display_name;  // "Stable Diffusion XL"
  std::string family;        // "stable-diffusion", "flux", "wan", "hidream"
  std::string modality;      // "image" | "video"
  std::vector<std::pair<int, int>> native_resolutions;
  Constraints constraints;
  std::map<std::string, Preset> presets;  // by configuration type
  std::vector<Variant> variants;
  std::string notes;  // e.g. why the official recommendation beats the seed's guideline
  // The denoising experts in the order they run, when the model is several
  // (Wan 2.2 A14B: high_noise, then low_noise); empty for a single model.
  std::vector<std::string> experts;

  const Variant* find_variant(std::string_view id) const;
  // The experts of the variant (its override) or of the base.
  const std::vector<std::string>& experts_for(std::string_view variant = {}) const;
  // The preset for a type, with the variant's override when it has one.
  const Preset* preset(std::string_view type, std::string_view variant = {}) const;
  const Constraints& constraints_for(std::string_view variant = {}) const;
};

struct ConfigurationTypeSpec {
  std::string id;  // "quality"
  std::string description;
  // Whether `populate` creates this type when no --types is given. Absent in
  // the file means true, so a catalogue written before the flag populates as before.
  bool populate = true;
};

// A name as the user gave it and the canonical form it was stored as.
struct Normalisation {
  std::string field;
  std::string given;
  std::string canonical;
};

class Vocabulary {
 public:
  // Canonical name for a sampler / scheduler (itself, or the target of an
  // alias, compared case-insensitively); nullopt when unknown.
  std::optional<std::string> canonical_sampler(std::string_view name) const;
  std::optional<std::string> canonical_scheduler(std::string_view name) const;
  // Legacy combined names ("DPM++ 2M Karras") split into sampler + scheduler.
  std::optional<std::pair<std::string, std::string>> split_combined(std::string_view name) const;
  const std::vector<std::string>& samplers() const { return samplers_; }
  const std::vector<std::string>& schedulers() const { return schedulers_; }

  static Vocabulary from_json(const nlohmann::json& j, std::string_view origin);

 private:
  std::vector<std::string> samplers_, schedulers_;
  std::map<std::string, std::string, std::less<>> sampler_aliases_, scheduler_aliases_;  // lower-case key
  std::map<std::string, std::pair<std::string, std::string>, std::less<>> combined_;
};

class Catalog {
 public:
  // Loads base_models.json and vocabulary.json from dir. Throws Error(kInvalid)
  // listing every problem of the files (file, JSON path, value, what is allowed),
  // or Error(kUnavailable) when a file cannot be read.
  static Catalog load(const std::filesystem::path& dir);
  // The catalogue shipped with inferconf: $INFERCONF_CATALOG, else the source
  // tree's catalog/, else the installed share/inferconf/catalog.
  static std::filesystem::path default_dir();

  const std::vector<BaseModelSpec>& base_models() const { return base_models_; }
  const BaseModelSpec* find(std::string_view base_model) const;
  const std::vector<ConfigurationTypeSpec>& configuration_types() const { return types_; }
  bool has_type(std::string_view type) const;
  const Vocabulary& vocabulary() const { return vocabulary_; }

  nlohmann::json to_json() const;  // the whole catalogue (for `catalog --json`, GET /v1/base-models)
  nlohmann::json to_json(const BaseModelSpec& b) const;

  static Catalog from_json(const nlohmann::json& base_models, const nlohmann::json& vocabulary,
                           std::string_view origin = "catalog");

 private:
  std::vector<BaseModelSpec> base_models_;
  std::vector<ConfigurationTypeSpec> types_;
  Vocabulary vocabulary_;
};

// The outcome of checking one document against the catalogue.
struct ValidationReport {
  std::vector<FieldError> errors;             // rules broken
  std::vector<std::string> unknown_params;    // model_specific_params keys the catalogue does not know for this base
  std::vector<Normalisation> normalised;      // aliases replaced by canonical names
  bool ok() const { return errors.empty(); }
};

// Checks configurations against the catalogue: known base model, type,
// sampler and scheduler (aliases normalised in place), steps / cfg_scale in the
// base model's ranges, known model_specific_params type- and range-checked.
class Validator {
 public:
  explicit Validator(const Catalog& catalog) : catalog_(catalog) {}

  ValidationReport validate(CreateDTO& dto, std::string_view variant = {}) const;
  // Validates a stored document (no normalisation; aliases are errors).
  ValidationReport validate(const InferenceConfiguration& c) const;
  // Normalises an update's names in place and checks the fields it sets that do
  // not depend on the document (known names); the merged result is checked by
  // validate(CreateDTO&).
  ValidationReport validate(UpdateDTO& update) const;

  // Throws Error(kInvalid) with every field error when the report is not ok.
  static void throw_if_invalid(const ValidationReport& report, std::string_view what);

 private:
  const Catalog& catalog_;
};

}  // namespace inferconf
