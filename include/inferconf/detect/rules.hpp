// The detection rules (catalog/detection_rules.json) and the label / name
// aliases (catalog/base_model_labels.json): data, validated when loaded. A
// program loads them once, with the rest of its catalogue folder
// (inferconf/catalog_bundle.hpp), and passes them to every function that
// decides a base model.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

namespace inferconf::detect {

enum class FileKind { kCheckpoint, kDiffusionModel, kLora, kVae, kTextEncoder, kUnknown };
std::string_view to_string(FileKind k) noexcept;  // checkpoint, diffusion_model, lora, vae, text_encoder, unknown

enum class Confidence { kNone, kLow, kMedium, kHigh };
std::string_view to_string(Confidence c) noexcept;  // none, low, medium, high

// The loaded, validated rule set. Immutable and cheap to share.
class Rules;

// Loads catalog/detection_rules.json and catalog/base_model_labels.json from
// `catalog_dir`. Throws ReadError (rule "rules_file") naming the file, the
// JSON path and what is wrong.
std::shared_ptr<const Rules> load_rules(const std::filesystem::path& catalog_dir);

}  // namespace inferconf::detect
