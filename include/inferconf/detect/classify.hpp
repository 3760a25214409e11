// Classification of one parsed header: its tensor names, shapes and metadata
// against the detection rules, to a base model of the catalogue (or unknown,
// with the reason), with the evidence that decided.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/detect/rules.hpp"
#include "inferconf/detect/safetensors.hpp"

namespace inferconf::detect {

struct Classification {
  std::string base_model = "unknown";
  std::optional<std::string> variant;
  std::optional<std::string> expert;
  FileKind kind = FileKind::kUnknown;
  std::string prefix;               // e.g. "model.diffusion_model.", "" for none
  std::string layout;               // "original", "diffusers", "kohya", "peft"... ("" when unknown)
  std::string dtype;                // dominant dtype by bytes, e.g. "BF16", "F8_E4M3"
  std::uint64_t parameters = 0;     // sum of element counts
  std::string rule;                 // id of the detection rule that matched ("" none)
  std::string decided_by;           // "keys", "keys+metadata", "keys+name", "metadata", "name", "none"
  Confidence confidence = Confidence::kNone;
  std::vector<std::string> evidence;    // keys/shapes/metadata that decided
  std::vector<std::string> candidates;  // bases the keys cannot separate (e.g. sdxl, pony)
  std::string reason;               // why unknown / how an ambiguity was resolved
  std::string conflict;             // metadata or name disagreeing with the keys

  nlohmann::json to_json() const;
};

// Classifies a parsed header. `names` are hints (file name, display name)
// used only to separate architectures the keys cannot tell apart and to
// report conflicts.
Classification classify(const Rules& rules, const SafetensorsHeader& header,
                        const std::vector<std::string>& names = {});

}  // namespace inferconf::detect
