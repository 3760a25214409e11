// Verdicts from words alone: an explicit label (Civitai baseModel, ModelSpec
// architecture...), a file or display name, or metadata fields. A verdict
// always says why, and "unknown" is never a guess.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/detect/rules.hpp"

namespace inferconf::detect {

// A verdict from the name/label/metadata rules alone.
struct NameVerdict {
  std::string base_model = "unknown";
  std::optional<std::string> variant;
  std::optional<std::string> expert;   // "high_noise" / "low_noise" (Wan 2.2 A14B)
  Confidence confidence = Confidence::kNone;
  bool known_other = false;   // recognised as a model that is none of ours (SD 3.5, Pony V7...)
  std::string rule;           // id of the label/name rule that decided
  std::string reason;         // why (always set)
  bool matched() const noexcept { return base_model != "unknown"; }
};

// Splits a name into lowercase tokens at separators, case changes and
// letter/digit boundaries: "ponyDiffusionV6XL_v6" -> pony diffusion v 6 xl v 6.
std::vector<std::string> tokenize_name(std::string_view name);
// An explicit label (Civitai baseModel, ModelSpec architecture, kohya/SwarmUI
// ids, our own ids): exact alias match first, then the name rules.
NameVerdict infer_from_label(const Rules& rules, std::string_view label);
// A file or display name: the ordered name rules (hard negatives, pony before xl...).
NameVerdict infer_from_name(const Rules& rules, std::string_view name);
// Metadata fields (header __metadata__ or a registry record's metadata): the
// fields listed in the labels file, in order; a later field may refine an
// earlier one (sdxl -> pony, flux_dev -> flux_krea), other disagreements are
// reported in `conflict`.
struct MetadataVerdict {
  NameVerdict verdict;
  std::string field;      // which field decided
  std::string conflict;   // empty when the fields agree
};
MetadataVerdict infer_from_metadata(const Rules& rules, const std::map<std::string, std::string>& metadata);
MetadataVerdict infer_from_metadata(const Rules& rules, const nlohmann::json& metadata);

}  // namespace inferconf::detect
