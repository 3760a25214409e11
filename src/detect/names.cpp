// Name, label and metadata inference, and infer_base_model() over a registry
// record: explicit label -> metadata -> file header -> name.
#include <algorithm>

#include <fmt/format.h>

#include "detect/rules.hpp"

namespace inferconf::detect {

namespace {

enum class CharClass { kSep, kLower, kUpper, kDigit };

CharClass char_class(unsigned char c) {
  if (c >= 'a' && c <= 'z') return CharClass::kLower;
  if (c >= 'A' && c <= 'Z') return CharClass::kUpper;
  if (c >= '0' && c <= '9') return CharClass::kDigit;
  if (c >= 0x80) return CharClass::kLower;  // non-ASCII letters stay inside a token
  return CharClass::kSep;
}

std::string verdict_string(const NameVerdict& v) {
  if (v.known_other) return "unknown (" + v.reason + ")";
  std::string s = v.base_model;
  if (v.variant) s += "/" + *v.variant;
  if (v.expert) s += " (" + *v.expert + ")";
  return s;
}

void apply_expert(const Rules& rules, NameVerdict& v, const std::vector<std::string>& tokens) {
  if (v.base_model != "wan_2_2" || (v.variant && *v.variant == "ti2v_5b")) return;
  for (const auto& [pat, expert] : rules.expert_rules) {
    if (pat.matches(tokens)) {
      v.expert = expert;
      return;
    }
  }
}

NameVerdict from_name_rules(const Rules& rules, const std::vector<std::string>& tokens, std::string_view text) {
  NameVerdict v;
  for (const auto& r : rules.name_rules) {
    if (!r.patterns.matches(tokens)) continue;
    v.rule = "name:" + r.id;
    v.confidence = r.confidence;
    if (!r.base) {
      v.known_other = true;
      v.reason = r.reason;
      return v;
    }
    v.base_model = *r.base;
    v.variant = r.variant;
    if (!v.variant) {
      for (const auto& [pat, id] : r.variants) {
        if (pat.matches(tokens)) {
          v.variant = id;
          break;
        }
      }
    }
    apply_expert(rules, v, tokens);
    v.reason = fmt::format("\"{}\" matches name rule {}{}", text, r.id, r.note.empty() ? "" : " (" + r.note + ")");
    return v;
  }
  v.reason = fmt::format("no name rule matches \"{}\"", text);
  return v;
}

// Looks a field up in a JSON object: the literal key first ("modelspec.architecture"), then a dotted path.
const nlohmann::json* json_field(const nlohmann::json& obj, const std::string& field) {
  if (!obj.is_object()) return nullptr;
  if (auto it = obj.find(field); it != obj.end()) return &*it;
  const nlohmann::json* cur = &obj;
  std::size_t start = 0;
  while (start <= field.size()) {
    auto dot = field.find('.', start);
    const std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
  return nullptr;
}

Confidence lower(Confidence c) {
  return c == Confidence::kHigh ? Confidence::kMedium : c;
}

std::string basename_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::vector<std::string> tokenize_name(std::string_view name) {
  std::vector<std::string> out;
  std::string cur;
  CharClass prev = CharClass::kSep;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const CharClass cls = char_class(c);
    if (cls == CharClass::kSep) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      prev = cls;
      continue;
    }
    bool split = false;
    if (!cur.empty()) {
      if ((cls == CharClass::kDigit) != (prev == CharClass::kDigit)) split = true;               // letter <-> digit
      else if (cls == CharClass::kUpper && prev == CharClass::kLower) split = true;              // camelCase
      else if (cls == CharClass::kUpper && prev == CharClass::kUpper && i + 1 < name.size() &&
               char_class(static_cast<unsigned char>(name[i + 1])) == CharClass::kLower) {
        split = true;  // "SDXLRefiner" -> SDXL Refiner
      }
    }
    if (split) {
      out.push_back(std::move(cur));
      cur.clear();
    }
    cur += (cls == CharClass::kUpper) ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    prev = cls;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

NameVerdict infer_from_name(const Rules& rules, std::string_view name) {
  return from_name_rules(rules, tokenize_name(name), name);
}

NameVerdict infer_from_label(const Rules& rules, std::string_view label) {
  auto try_exact = [&](std::string_view text) -> std::optional<NameVerdict> {
    const auto tokens = tokenize_name(text);
    auto it = rules.labels.find(join_tokens(tokens));
    if (it == rules.labels.end()) return std::nullopt;
    const LabelEntry& e = it->second;
    NameVerdict v;
    v.rule = "label:" + e.label;
    v.confidence = e.confidence;
    if (!e.base) {
      v.known_other = true;
      v.reason = e.reason;
      return v;
    }
    v.base_model = *e.base;
    v.variant = e.variant;
    apply_expert(rules, v, tokenize_name(label));
    v.reason = fmt::format("\"{}\" is the {}label \"{}\"{}", label, e.source.empty() ? "" : e.source + " ", e.label,
                           e.note.empty() ? "" : " (" + e.note + ")");
    return v;
  };
  if (auto v = try_exact(label)) return *v;
  // ModelSpec adapters: "stable-diffusion-xl-v1-base/lora".
  if (auto slash = label.rfind('/'); slash != std::string_view::npos && slash > 0) {
    if (auto v = try_exact(label.substr(0, slash))) {
      v->reason += fmt::format(" (adapter suffix \"{}\")", label.substr(slash + 1));
      return *v;
    }
  }
  return from_name_rules(rules, tokenize_name(label), label);
}

MetadataVerdict infer_from_metadata(const Rules& rules, const std::map<std::string, std::string>& metadata) {
  MetadataVerdict out;
  out.verdict.reason = metadata.empty() ? "no metadata"
                                        : fmt::format("none of the metadata fields ({}) names a base model",
                                                      fmt::join(rules.metadata_fields, ", "));
  bool decided = false;
  std::vector<std::string> conflicts;
  for (const auto& field : rules.metadata_fields) {
    auto it = metadata.find(field);
    if (it == metadata.end() || it->second.empty()) continue;
    NameVerdict v = infer_from_label(rules, it->second);
    if (!v.matched() && !v.known_other) continue;
    const std::string what = fmt::format("{}=\"{}\"", field, it->second);
    if (!decided) {
      out.verdict = v;
      out.verdict.reason = fmt::format("metadata {}: {}", what, v.reason);
      out.field = field;
      decided = true;
      continue;
    }
    NameVerdict& cur = out.verdict;
    if (v.matched() && cur.matched() && v.base_model != cur.base_model && rules.refines(v.base_model, cur.base_model)) {
      cur.reason += fmt::format("; {} refines {} to {}", what, cur.base_model, v.base_model);
      cur.base_model = v.base_model;
      // A variant belongs to its base model: the parent's (if any) means nothing for the child.
      cur.variant = v.variant;
      out.field = field;
      continue;
    }
    if (v.matched() && cur.matched() && rules.refines(cur.base_model, v.base_model)) {
      if (!cur.variant && v.variant && v.base_model == cur.base_model) cur.variant = v.variant;
      if (!cur.expert && v.expert) cur.expert = v.expert;
      continue;
    }
    if (v.known_other && cur.known_other) continue;
    conflicts.push_back(fmt::format("{} says {}", what, verdict_string(v)));
  }
  out.conflict = fmt::format("{}", fmt::join(conflicts, "; "));
  return out;
}

MetadataVerdict infer_from_metadata(const Rules& rules, const nlohmann::json& metadata) {
  std::map<std::string, std::string> flat;
  for (const auto& field : rules.metadata_fields) {
    const auto* v = json_field(metadata, field);
    if (v && v->is_string()) flat[field] = v->get<std::string>();
  }
  auto out = infer_from_metadata(rules, flat);
  if (flat.empty()) {
    out.verdict.reason = metadata.is_object() && !metadata.empty()
                             ? fmt::format("the metadata has none of the fields {}", fmt::join(rules.metadata_fields, ", "))
                             : "no metadata";
  }
  return out;
}

std::string_view to_string(Source s) noexcept {
  switch (s) {
    case Source::kExplicit: return "explicit";
    case Source::kMetadata: return "metadata";
    case Source::kFile: return "file";
    case Source::kName: return "name";
    case Source::kNone: return "none";
  }
  return "none";
}

std::string_view to_string(Confidence c) noexcept {
  switch (c) {
    case Confidence::kNone: return "none";
    case Confidence::kLow: return "low";
    case Confidence::kMedium: return "medium";
    case Confidence::kHigh: return "high";
  }
  return "none";
}

nlohmann::json Inference::to_json() const {
  nlohmann::json j{{"base_model", base_model},
                   {"variant", variant ? nlohmann::json(*variant) : nlohmann::json()},
                   {"source", std::string(to_string(source))},
                   {"confidence", std::string(to_string(confidence))},
                   {"detail", detail}};
  if (expert) j["expert"] = *expert;
  if (!conflict.empty()) j["conflict"] = conflict;
  if (!reason.empty()) j["reason"] = reason;
  if (file) j["file"] = file->to_json();
  if (file_error) j["file_error"] = *file_error;
  return j;
}

namespace {

// What one source of a record said, for the decision, the detail and the conflicts.
struct Step {
  Source source;
  NameVerdict v;
  std::string detail;  // what this source said, for detail/conflict
  bool decisive() const { return v.matched() || v.known_other; }
};

// The evidence of a record, source by source in the order of authority, and
// why each source that says nothing says nothing.
struct Evidence {
  std::vector<Step> steps;
  std::vector<std::string> why_not;
};

void explicit_label(const Rules& rules, const ModelEvidence& record, Evidence& e) {
  if (!record.base_model || record.base_model->empty()) {
    e.why_not.push_back("no base_model");
    return;
  }
  auto v = infer_from_label(rules, *record.base_model);
  e.steps.push_back({Source::kExplicit, v, fmt::format("base_model \"{}\"", *record.base_model)});
  if (!e.steps.back().decisive()) e.why_not.push_back(fmt::format("base_model \"{}\" is not a known label", *record.base_model));
}

void metadata_fields(const Rules& rules, const ModelEvidence& record, Evidence& e) {
  auto mv = infer_from_metadata(rules, record.metadata);
  if (mv.verdict.matched() || mv.verdict.known_other) {
    e.steps.push_back({Source::kMetadata, mv.verdict, fmt::format("metadata {}", mv.field)});
  } else {
    e.why_not.push_back(mv.verdict.reason);
  }
}

// The header of file_path, read and classified (the file name and the record's
// name are the hints); a read error is kept in out.file_error and the chain goes on.
void file_header(const Rules& rules, const ModelEvidence& record, Evidence& e, Inference& out) {
  if (!record.file_path || record.file_path->empty()) return;
  try {
    const auto header = read_header(*record.file_path);
    std::vector<std::string> names{basename_of(*record.file_path)};
    if (!record.name.empty()) names.push_back(record.name);
    Classification c = classify(rules, header, names);
    NameVerdict v;
    v.confidence = c.confidence;
    v.rule = c.rule;
    if (c.base_model != "unknown") {
      v.base_model = c.base_model;
      v.variant = c.variant;
      v.expert = c.expert;
    } else if (!c.rule.empty() && c.candidates.empty()) {
      v.known_other = true;  // a rule recognised the file as something that is none of ours
      v.confidence = Confidence::kHigh;
    }
    v.reason = c.reason;
    e.steps.push_back({Source::kFile, v, fmt::format("file {} ({} rule {}, decided by {})", *record.file_path,
                                                     to_string(c.kind), c.rule.empty() ? "-" : c.rule, c.decided_by)});
    if (!e.steps.back().decisive()) e.why_not.push_back("file: " + (c.reason.empty() ? "no detection rule matched" : c.reason));
    out.file = std::move(c);
  } catch (const ReadError& err) {
    out.file_error = err.what();
    e.why_not.push_back(fmt::format("file could not be read: {}", err.message()));
  }
}

// The record's name, else the file's name.
void model_name(const Rules& rules, const ModelEvidence& record, Evidence& e) {
  NameVerdict v = infer_from_name(rules, record.name);
  std::string what = fmt::format("name \"{}\"", record.name);
  if (!v.matched() && !v.known_other && record.file_path) {
    auto fv = infer_from_name(rules, basename_of(*record.file_path));
    if (fv.matched() || fv.known_other) {
      v = fv;
      what = fmt::format("file name \"{}\"", basename_of(*record.file_path));
    }
  }
  if (record.name.empty() && !v.matched() && !v.known_other) {
    e.why_not.push_back("no name");
    return;
  }
  e.steps.push_back({Source::kName, v, what});
  if (!e.steps.back().decisive()) e.why_not.push_back(v.reason);
}

// The first decisive source decides; a later one may refine it (sdxl -> pony)
// or complete it (a variant, an expert); any other disagreement is a conflict
// and lowers the confidence one step.
void weigh(const Rules& rules, const Evidence& e, const Step& decided, Inference& out) {
  NameVerdict v = decided.v;
  out.source = decided.source;
  out.confidence = v.confidence;
  out.detail = fmt::format("{}: {}", decided.detail, v.reason);
  std::vector<std::string> conflicts;
  for (const auto& s : e.steps) {
    if (&s == &decided || !s.decisive()) continue;
    const bool later = &s > &decided;
    if (v.known_other || s.v.known_other) {
      if (v.known_other && s.v.known_other) continue;
      conflicts.push_back(fmt::format("{} says {}", s.detail, verdict_string(s.v)));
      continue;
    }
    if (s.v.base_model != v.base_model && later && rules.refines(s.v.base_model, v.base_model)) {
      out.detail += fmt::format("; {} refines {} to {} (same architecture)", s.detail, v.base_model, s.v.base_model);
      v.base_model = s.v.base_model;
      v.variant = s.v.variant;  // the parent's variant means nothing for the child
      out.source = s.source;
      continue;
    }
    if (rules.refines(v.base_model, s.v.base_model)) {  // same base, or s names the parent
      if (s.v.base_model == v.base_model) {
        if (!v.variant && s.v.variant) {
          v.variant = s.v.variant;
          out.detail += fmt::format("; variant {} from {}", *v.variant, s.detail);
        } else if (v.variant && s.v.variant && *v.variant != *s.v.variant) {
          conflicts.push_back(fmt::format("{} says variant {}", s.detail, *s.v.variant));
        }
        if (!v.expert && s.v.expert) v.expert = s.v.expert;
      }
      continue;
    }
    conflicts.push_back(fmt::format("{} says {}", s.detail, verdict_string(s.v)));
  }
  out.conflict = fmt::format("{}", fmt::join(conflicts, "; "));
  if (!out.conflict.empty()) out.confidence = lower(out.confidence);
  if (v.known_other) {
    out.base_model = "unknown";
    out.reason = v.reason;
    out.detail = fmt::format("{}: {}", decided.detail, v.reason);
    return;
  }
  out.base_model = v.base_model;
  out.variant = v.variant;
  out.expert = v.expert;
}

}  // namespace

Inference infer_base_model(const Rules& rules, const ModelEvidence& record) {
  Inference out;
  Evidence e;
  explicit_label(rules, record, e);
  metadata_fields(rules, record, e);
  file_header(rules, record, e, out);
  model_name(rules, record, e);
  const auto decided = std::find_if(e.steps.begin(), e.steps.end(), [](const Step& s) { return s.decisive(); });
  if (decided == e.steps.end()) {
    out.reason = fmt::format("no source names a base model: {}", fmt::join(e.why_not, "; "));
    return out;
  }
  weigh(rules, e, *decided, out);
  return out;
}

}  // namespace inferconf::detect
