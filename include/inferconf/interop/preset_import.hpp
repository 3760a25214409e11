// Preset import: the settings an image was made with (its infotext or ComfyUI
// graph, from PNG metadata or as text) turned into a configuration document for
// a base model of the catalogue, every value that was not taken as given noted.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/dto.hpp"
#include "inferconf/interop/engine_vocabulary.hpp"
#include "inferconf/interop/infotext.hpp"
#include "inferconf/registry.hpp"

namespace inferconf::detect {
class Rules;
}

namespace inferconf {

struct PresetImportOptions {
  std::string model_id;            // empty: the registry model the infotext names, else its "Model"
  std::string base_model;          // empty: decided from the registry or the "Model" name (infotext)
  std::string variant;             // a catalogue variant whose presets complete the import
  std::string configuration_type = "quality";
  bool allow_substitute = false;
  // The registry, for an infotext import without base_model or model_id:
  // calls its argument on every model until it returns false. Empty: no registry.
  std::function<void(const std::function<bool(const ModelRecord&)>&)> registry;
  std::optional<ModelRecord> model_record;  // the registry record of model_id, when the caller has it
  // The detection rules of the catalogue folder (CatalogBundle::rules()): an
  // infotext import without base_model decides it with them. Required then.
  const detect::Rules* rules = nullptr;
};

// How an import decided the base model it was not given.
struct BaseModelDecision {
  std::string base_model;
  std::optional<std::string> variant;
  std::string source;       // "registry" (the model the infotext names) or "name" (the name rules on "Model")
  std::string confidence;   // high, medium, low
  std::string evidence;     // what decided, in words
  std::optional<std::string> model_id;  // the registry model matched, if any
};
void to_json(nlohmann::json& j, const BaseModelDecision& d);

// The registry model an infotext names: by "Model hash" (A1111's short hash, or
// a full one) among the hashes of a record's metadata ("hashes" object,
// "sha256", "model_hash", "hash"), else by "Model" (a record's id, file name
// without extension, or name; case ignored). `how` says which matched.
struct RegistryMatch {
  ModelRecord record;
  std::string how;  // e.g. Model hash "4496b36d48"
};
std::optional<RegistryMatch> match_registry_model(
    const std::function<void(const std::function<bool(const ModelRecord&)>&)>& registry, std::string_view model,
    std::string_view model_hash);

// A value of the source that did not become part of the preset as given.
struct ImportNote {
  std::string key;    // the infotext key or ComfyUI node input
  std::string value;
  std::string kind;   // unknown | ignored | defaulted | substituted | normalised
  std::string message;
};
void to_json(nlohmann::json& j, const ImportNote& n);

struct ImportResult {
  CreateDTO dto;
  std::string source;  // "infotext" | "comfyui"
  std::string prompt, negative_prompt;
  std::vector<ImportNote> notes;
  std::optional<BaseModelDecision> decided;  // when options.base_model was empty
};
void to_json(nlohmann::json& j, const ImportResult& r);

// The preset infotext describes. Absent settings take the catalogue preset's
// value (noted). Throws Error(kInvalid) when the text holds no parameters, the
// base model or type is unknown, no model id is given or written, a number is
// malformed, or a sampler/schedule is unknown or A1111-only without
// allow_substitute (the message names the substitute).
ImportResult preset_from_infotext(const ParsedInfotext& infotext, const PresetImportOptions& options, const Catalog& catalog,
                                  const EngineVocabulary& vocabulary);
// The preset of a ComfyUI API graph (a PNG "prompt" chunk): the KSampler's
// settings and those of the nodes it is wired to. Throws Error(kInvalid) when
// the graph has no KSampler or a setting is wired to another node.
ImportResult preset_from_comfyui(const nlohmann::json& graph, const PresetImportOptions& options, const Catalog& catalog,
                                 const EngineVocabulary& vocabulary);
// Dispatches on content: PNG bytes (parameters chunk, else prompt chunk) or
// infotext text. `what` names the input in errors.
ImportResult import_preset(std::string_view bytes, std::string_view what, const PresetImportOptions& options,
                           const Catalog& catalog, const EngineVocabulary& vocabulary);

}  // namespace inferconf
