// What `populate` does for one model, decided from the catalogue and the
// detection rules alone: which base model and variant it has and on what
// evidence, and which preset each requested configuration type gets. No store,
// no threads: the job (populate.cpp) runs these per model and writes the
// presets in batches around them.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "inferconf/catalog.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/dto.hpp"
#include "inferconf/populate.hpp"
#include "inferconf/registry.hpp"

namespace inferconf::populate {

// The configuration to store for (base, variant, type), built once: a
// registry of a million models has a handful of distinct presets.
class PresetTemplates {
 public:
  explicit PresetTemplates(const Catalog& catalog) : catalog_(catalog) {}

  struct Template {
    CreateDTO dto;
    std::size_t ordinal = 0;  // 0, 1, 2… in order of first use: where its rows go in a batch
  };

  // nullptr when the catalogue has no preset of this type for the base model.
  const Template* get(const std::string& base, const std::string& variant, const std::string& type);

 private:
  const Catalog& catalog_;
  std::map<std::tuple<std::string, std::string, std::string>, std::optional<Template>> cache_;
  std::size_t count_ = 0;
};

// A model's outcome before its writes, and the preset to write for each type.
struct ModelPlan {
  // Each type is kCreated (a preset is to be written: settle() decides once
  // the write is known), kSkipped (the base model has no preset of that type)
  // or kFailed (the base model is unknown).
  ModelOutcome outcome;
  std::vector<const PresetTemplates::Template*> presets;  // per type; null when nothing is written
};

// Decides the base model of m (decide_base_model: explicit field, metadata,
// checkpoint header, name) and the preset of each of `types` for it.
ModelPlan plan_model(const Catalog& catalog, const detect::Rules& rules, PresetTemplates& templates,
                     const std::vector<std::string>& types, const ModelRecord& m);

// The outcome of a type whose preset was written: created, or — when the
// configuration existed — replaced under --overwrite, skipped otherwise.
void settle(TypeOutcome& outcome, bool created, bool overwrite);

// Adds a reported model to the report's counts.
void tally(PopulationReport& report, const ModelOutcome& outcome);

}  // namespace inferconf::populate
