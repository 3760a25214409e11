// The evidence a registry record offers about its base model, weighed in a
// fixed order: explicit label, metadata, file header, name. This answers what
// the record says; which catalogue entry (and variant) the model then gets is
// decide_base_model() (inferconf/base_model_decision.hpp), built on it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "inferconf/detect/classify.hpp"
#include "inferconf/detect/names.hpp"
#include "inferconf/detect/rules.hpp"

namespace inferconf::detect {

struct ModelEvidence {
  std::string id;
  std::string name;
  std::optional<std::string> base_model;   // as the platform wrote it (maybe an alias)
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<std::string> file_path;
};

enum class Source { kExplicit, kMetadata, kFile, kName, kNone };
std::string_view to_string(Source s) noexcept;  // explicit, metadata, file, name, none

struct Inference {
  std::string base_model = "unknown";
  std::optional<std::string> variant;
  std::optional<std::string> expert;
  Source source = Source::kNone;
  Confidence confidence = Confidence::kNone;
  std::string detail;      // e.g. "base_model \"Flux.1 D\" (label flux_1_d)"
  std::string conflict;    // other sources that disagreed, with what they said
  std::string reason;      // set when unknown (and for known-other models)
  std::optional<Classification> file;       // when the file header was read
  std::optional<std::string> file_error;    // when file_path could not be read

  nlohmann::json to_json() const;
};

Inference infer_base_model(const Rules& rules, const ModelEvidence& record);

// Adapter for the registry's record type (registry.hpp); header-only.
template <class Record>
  requires requires(const Record& r) { r.id; r.name; r.base_model; r.metadata; r.file_path; }
Inference infer_base_model_for(const Rules& rules, const Record& r) {
  return infer_base_model(rules, ModelEvidence{r.id, r.name, r.base_model, r.metadata, r.file_path});
}

}  // namespace inferconf::detect
