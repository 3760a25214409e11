// Engine interop: resolved parameters exported as requests ComfyUI,
// AUTOMATIC1111/Forge and diffusers accept, and presets imported back from the
// A1111 "infotext" and ComfyUI graphs that images carry in their PNG metadata.
//
// The name translations are data (catalog/engine_vocabulary.json, read by
// EngineVocabulary). A translation the target engine has no equivalent for is
// an error unless the caller allows the documented substitute, which is then
// reported; nothing is substituted silently. See docs/INTEROP.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/dto.hpp"
#include "inferconf/registry.hpp"
#include "inferconf/service.hpp"

namespace inferconf::detect {
class Rules;
}

namespace inferconf {

// ---------------------------------------------------------------------------
// The engine vocabulary.

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

// ---------------------------------------------------------------------------
// Export.

enum class ExportFormat { kComfyUI, kA1111, kDiffusers, kInfotext };
const char* to_string(ExportFormat f) noexcept;  // "comfyui", "a1111", "diffusers", "infotext"
// Accepts the names above; nullopt otherwise.
std::optional<ExportFormat> parse_export_format(std::string_view name);

struct ExportOptions {
  std::string prompt;
  std::string negative_prompt;
  std::optional<std::uint64_t> seed;  // absent: random where the engine has it, else 0 (reported)
  std::string checkpoint;             // model file; absent: the architecture's usual file name
  // The second expert's file (Wan 2.2 A14B: low noise) of a multi-expert
  // model, whose first expert is `checkpoint`. Read by the diffusers export.
  std::string checkpoint_2;
  bool allow_substitute = false;      // use the documented nearest name when the engine lacks one
};

// A name the target engine does not have, and what was used instead.
struct Substitution {
  std::string field;  // "sampler" | "scheduler"
  std::string given;
  std::string used;
  std::string reason;
};
void to_json(nlohmann::json& j, const Substitution& s);

struct ExportResult {
  ExportFormat format = ExportFormat::kComfyUI;
  nlohmann::json body;  // comfyui, a1111, diffusers: the request / description
  std::string text;     // infotext: the parameters text
  std::vector<Substitution> substitutions;
  std::vector<std::string> notes;  // parameters the target cannot carry, defaults taken
};

// Translates resolved parameters into the target's request. Throws
// Error(kInvalid) when the target cannot render the architecture (a1111 and
// infotext for video models, comfyui for image-to-video variants), when a
// sampler or scheduler has no equivalent and allow_substitute is false (the
// message names the substitute --allow-substitute would use), or when a
// parameter the target needs is missing or of the wrong type.
ExportResult export_request(const ResolvedParameters& resolved, ExportFormat format, const ExportOptions& options,
                            const Catalog& catalog, const EngineVocabulary& vocabulary);

// Fills the files `options` lacks from the model's registry record: its
// file_path (file name only); for a multi-expert model (catalogue experts),
// file_path is the expert metadata.expert names (the first expert when absent)
// and metadata.expert_files (expert -> path) may give every expert's file.
// The first expert goes to checkpoint, the second to checkpoint_2.
void export_files_from_registry(const ModelRecord& record, const ResolvedParameters& resolved, const Catalog& catalog,
                                ExportOptions& options);

// The diffusers export rendered as a runnable Python snippet.
std::string render_diffusers_python(const nlohmann::json& diffusers_body);

// The Wan 2.2 two-expert split: the number of the first steps that run on the
// high-noise expert, i.e. those whose shifted flow sigma is at least boundary.
int wan_expert_switch_step(int steps, double shift, double boundary);

// ---------------------------------------------------------------------------
// A1111 infotext.

struct ParsedInfotext {
  std::string prompt;
  std::string negative_prompt;
  // The last line's pairs in order, keys as written; a WxH value is split into
  // "<key>-1" and "<key>-2" as A1111 does. Quoted values are JSON-decoded.
  std::vector<std::pair<std::string, std::string>> params;
  bool has_parameters = false;  // the last line held >= 3 pairs

  // The value of a key (trailing spaces of keys ignored), nullptr if absent.
  const std::string* find(std::string_view key) const;
};

// Parses infotext with A1111's grammar (modules/infotext_utils.py). Never
// throws; text that is not infotext becomes a prompt without parameters.
ParsedInfotext parse_infotext(std::string_view text);

// Writes A1111's layout: prompt, "Negative prompt: ..." when not empty, and the
// pairs joined with ", ", values JSON-quoted when they hold ',', ':' or a newline
// (or start with '"', so that parse_infotext reads every pair back).
std::string write_infotext(std::string_view prompt, std::string_view negative_prompt,
                           const std::vector<std::pair<std::string, std::string>>& params);

// ---------------------------------------------------------------------------
// PNG text chunks.

struct PngTextChunk {
  std::string type;     // tEXt | zTXt | iTXt
  std::string keyword;  // e.g. "parameters", "prompt"
  std::string text;     // UTF-8 (tEXt/zTXt Latin-1 converted)
};

struct PngLimits {
  std::size_t max_file_bytes = 256u << 20;
  std::size_t max_text_bytes = 8u << 20;  // one text chunk, after decompression
  std::size_t max_chunks = 100000;
};

// Reads every text chunk of a PNG. Lengths are checked against the bytes that
// remain before anything is read, every chunk's CRC is verified, compressed
// text is inflated up to the limit. Throws Error(kInvalid) naming `what`, the
// chunk and its offset for a bad signature, a truncated or oversized chunk, a
// CRC mismatch, a malformed text chunk or a missing IEND.
std::vector<PngTextChunk> read_png_text_chunks(std::string_view bytes, std::string_view what = "the PNG data",
                                               const PngLimits& limits = {});
std::vector<PngTextChunk> read_png_text_chunks(const std::filesystem::path& file, const PngLimits& limits = {});
bool looks_like_png(std::string_view bytes);

// ---------------------------------------------------------------------------
// Import.

struct ImportOptions {
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
ImportResult preset_from_infotext(const ParsedInfotext& infotext, const ImportOptions& options, const Catalog& catalog,
                                  const EngineVocabulary& vocabulary);
// The preset of a ComfyUI API graph (a PNG "prompt" chunk): the KSampler's
// settings and those of the nodes it is wired to. Throws Error(kInvalid) when
// the graph has no KSampler or a setting is wired to another node.
ImportResult preset_from_comfyui(const nlohmann::json& graph, const ImportOptions& options, const Catalog& catalog,
                                 const EngineVocabulary& vocabulary);
// Dispatches on content: PNG bytes (parameters chunk, else prompt chunk) or
// infotext text. `what` names the input in errors.
ImportResult import_preset(std::string_view bytes, std::string_view what, const ImportOptions& options,
                           const Catalog& catalog, const EngineVocabulary& vocabulary);

}  // namespace inferconf
