// The engine vocabulary (catalog/engine_vocabulary.json): how each canonical
// sampler, scheduler and architecture is named by ComfyUI, AUTOMATIC1111/Forge
// and diffusers, the A1111-only names and their documented substitutes. Read
// once and validated against the catalogue; see docs/INTEROP.md.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"

namespace inferconf {

struct DiffusersScheduler {
  std::string class_name;
  nlohmann::json config = nlohmann::json::object();
  std::vector<std::string> schedules;  // canonical schedulers the class can express
  std::string shift_key;               // flow classes: the config key of the shift
};

struct EngineSampler {
  std::string name;  // canonical
  std::optional<std::string> a1111;
  std::optional<DiffusersScheduler> diffusers, diffusers_flow;
  std::string engine_only;  // "comfyui" when no other engine has it
  std::string substitute;   // the documented nearest canonical name; empty when none is needed
  std::string note;
};

struct EngineScheduler {
  std::string name;  // canonical
  std::optional<std::string> a1111;
  std::optional<nlohmann::json> diffusers, diffusers_flow;  // config keys
  std::string engine_only;
  std::string substitute;
  std::string note;
};

// An A1111-only sampler or schedule label and the canonical name nearest to it.
struct ForeignName {
  std::string substitute;
  std::string note;
};

// What one architecture (base model, or base/variant) needs in each engine.
struct EngineArchitecture {
  std::string key;             // "sdxl", "wan_2_2/ti2v_5b"
  std::string comfyui_graph;   // checkpoint | flux | wan | wan_two_experts | wan_5b | hidream | unsupported
  std::string comfyui_reason;  // why unsupported
  std::map<std::string, std::string> comfyui_files;
  bool a1111_supported = false;
  bool a1111_distilled_cfg = false;
  std::string a1111_reason;
  // pipeline, repo, prediction, components (from transformers), files (the
  // components loaded from checkpoint files: class, expert), needs_image.
  nlohmann::json diffusers = nlohmann::json::object();
  // False when inferconf writes no diffusers call for this architecture yet;
  // diffusers_reason then says why and what to do instead.
  bool diffusers_supported = true;
  std::string diffusers_reason;
};

// A class of the diffusers library (or of transformers, for the components a
// diffusers pipeline takes from it) as the diffusers export relies on it.
struct DiffusersClass {
  std::string name;
  std::string kind;                // pipeline | model | scheduler | transformers
  std::vector<std::string> bases;  // base classes and mixins, each listed in DiffusersLibrary::mixins
  std::set<std::string> components;  // pipelines: the modules __init__ registers
  std::set<std::string> init;        // pipelines: __init__ parameters that are not components
  std::set<std::string> call;        // pipelines: __call__ parameters
  std::set<std::string> config;      // schedulers: config keys
  std::map<std::string, std::set<std::string>> methods;  // transformers classes: method -> keyword arguments
  bool single_file_loadable = false;  // models: in diffusers' single-file mapping
  std::string default_subfolder;      // models: their folder in a diffusers repository
  std::string source;                 // path in huggingface/diffusers
};

// The facts of the diffusers source the diffusers export relies on
// (catalog/engine_vocabulary.json, diffusers_library), with what they were
// checked against.
struct DiffusersLibrary {
  nlohmann::json checked_against = nlohmann::json::object();
  // Base class or mixin -> the loading methods it provides -> keyword arguments the export may pass.
  std::map<std::string, std::map<std::string, std::set<std::string>>, std::less<>> mixins;
  std::map<std::string, DiffusersClass, std::less<>> classes;

  const DiffusersClass* find(std::string_view name) const;
  // The keyword arguments `method` of class `name` accepts (through its bases;
  // a pipeline's from_pretrained and from_single_file also take its components
  // and __init__ parameters), or nullopt when the class has no such method. A
  // model's from_single_file needs its class in diffusers' single-file mapping.
  std::optional<std::set<std::string>> method(std::string_view name, std::string_view method) const;
};

class EngineVocabulary {
 public:
  // Reads and validates the file against the catalogue's vocabulary: every
  // canonical sampler and scheduler has an entry, every name resolves, every
  // A1111 name reads back (through the catalogue's aliases) as the canonical
  // name it stands for, every substitute exists and is exportable, and every
  // catalogue base model has an architecture. Throws Error(kInvalid) listing
  // every problem with its JSON path, or Error(kUnavailable) when unreadable.
  static EngineVocabulary load(const std::filesystem::path& file, const Catalog& catalog);
  static EngineVocabulary from_json(const nlohmann::json& j, const Catalog& catalog,
                                    std::string_view origin = "engine_vocabulary.json");
  // <catalog dir>/engine_vocabulary.json.
  static std::filesystem::path file_in(const std::filesystem::path& catalog_dir);

  const EngineSampler* sampler(std::string_view canonical) const;
  const EngineScheduler* scheduler(std::string_view canonical) const;
  // The architecture of base/variant, falling back to the base's.
  const EngineArchitecture* architecture(std::string_view base_model, std::string_view variant = {}) const;
  // A1111-only labels (exact, case-insensitive).
  const ForeignName* a1111_only_sampler(std::string_view label) const;
  const ForeignName* a1111_only_scheduler(std::string_view label) const;
  const std::string& flow_substitute() const { return flow_substitute_; }
  const DiffusersLibrary& diffusers_library() const { return diffusers_library_; }

 private:
  std::map<std::string, EngineSampler, std::less<>> samplers_;
  std::map<std::string, EngineScheduler, std::less<>> schedulers_;
  std::map<std::string, ForeignName, std::less<>> a1111_samplers_, a1111_schedulers_;  // lower-case keys
  std::map<std::string, EngineArchitecture, std::less<>> architectures_;
  std::string flow_substitute_;
  DiffusersLibrary diffusers_library_;
};

}  // namespace inferconf
