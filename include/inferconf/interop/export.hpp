// Export: resolved parameters translated into a request ComfyUI,
// AUTOMATIC1111/Forge or diffusers accepts, or A1111 infotext. A name the
// target engine has no equivalent for is an error unless the caller allows the
// documented substitute, which is then reported; nothing is substituted silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/interop/engine_vocabulary.hpp"
#include "inferconf/registry.hpp"
#include "inferconf/service.hpp"

namespace inferconf {

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

}  // namespace inferconf
