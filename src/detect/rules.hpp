// Internal: the loaded form of catalog/detection_rules.json and
// catalog/base_model_labels.json.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "inferconf/detect.hpp"

namespace inferconf::detect {

// One tensor matcher of a detection rule.
struct Matcher {
  std::optional<std::string> key;       // exact key (relative to the prefix unless absolute)
  std::optional<std::string> prefix;    // key starts with (relative unless absolute)
  std::optional<std::string> contains;  // full key contains
  std::vector<std::string> suffixes;    // full key ends with one of these
  std::optional<std::string> blocks;    // count distinct N in <prefix><blocks>N.
  std::optional<std::uint64_t> count;   // with blocks: max index + 1 must equal this
  std::vector<std::optional<std::uint64_t>> shape;  // null = any dimension
  bool has_shape = false;
  std::optional<std::size_t> rank;
  bool absolute = false;
  std::string describe() const;  // for evidence and messages
};

struct Candidate {
  std::string base_model;
  std::optional<std::string> variant;
};

struct DetectionRule {
  std::string id;
  FileKind kind = FileKind::kDiffusionModel;
  std::string layout;
  std::vector<Candidate> candidates;  // empty: a known model that is none of ours
  std::optional<std::size_t> default_candidate;
  std::string reason;     // for negatives
  std::string ambiguity;  // when several candidates
  std::string note;
  std::vector<std::string> veto_names;  // name-rule ids that turn the verdict into unknown
  std::vector<Matcher> require;
  std::vector<Matcher> require_any;
  std::vector<Matcher> forbid;
};

struct PatternSet {
  std::vector<std::vector<std::string>> any;   // at least one present (when non-empty)
  std::vector<std::vector<std::string>> all;   // every one present
  bool matches(const std::vector<std::string>& tokens) const;
};

struct LabelEntry {
  std::string label;                 // as written in the file
  std::optional<std::string> base;   // nullopt: known other
  std::optional<std::string> variant;
  std::string reason, note, source;
  Confidence confidence = Confidence::kHigh;
};

struct NameRule {
  std::string id;
  std::optional<std::string> base;
  std::optional<std::string> variant;
  std::string reason, note;
  Confidence confidence = Confidence::kMedium;
  PatternSet patterns;
  std::vector<std::pair<PatternSet, std::string>> variants;
};

}  // namespace inferconf::detect

namespace inferconf::detect {

struct ClassifyTables;  // classify.cpp: lookups precomputed from the rules

class Rules {
 public:
  std::filesystem::path rules_file, labels_file;
  std::vector<std::string> prefixes;
  std::size_t min_prefix_keys = 5;
  std::vector<std::pair<std::string, std::string>> companions;  // prefix -> what
  std::vector<std::string> lora_prefixes, lora_suffixes;
  std::vector<DetectionRule> rules;

  std::vector<std::string> base_models;
  std::unordered_map<std::string, std::vector<std::string>> variants;
  std::unordered_map<std::string, std::string> refinements;  // child -> parent
  std::vector<std::string> metadata_fields;
  std::unordered_map<std::string, LabelEntry> labels;  // by joined tokens
  std::vector<NameRule> name_rules;
  std::vector<std::pair<PatternSet, std::string>> expert_rules;

  // Built by load_rules() (classify() builds them on the fly for a Rules
  // assembled by hand).
  std::shared_ptr<const ClassifyTables> classify_tables;

  bool is_base(std::string_view b) const;
  // True when `child` refines `parent` (pony -> sdxl) or they are equal.
  bool refines(const std::string& child, const std::string& parent) const;
};

std::string join_tokens(const std::vector<std::string>& tokens);

// The first/last-byte dispatch tables classify() uses for its per-tensor pass.
std::shared_ptr<const ClassifyTables> make_classify_tables(const Rules& rules);

}  // namespace inferconf::detect
