// Classification of a parsed header with the data rules.
#include <algorithm>
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "detect/rules.hpp"

namespace inferconf::detect {

namespace {

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ",")); }

// Inline comparisons with a one-byte guard: these run for every tensor of
// every header, mostly on mismatches.
inline bool starts_with(std::string_view s, std::string_view p) {
  if (p.empty()) return true;
  if (s.size() < p.size() || s[0] != p[0]) return false;
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (s[i] != p[i]) return false;
  }
  return true;
}
inline bool ends_with(std::string_view s, std::string_view p) {
  if (p.empty()) return true;
  if (s.size() < p.size()) return false;
  const std::size_t off = s.size() - p.size();
  for (std::size_t i = p.size(); i-- > 0;) {
    if (s[off + i] != p[i]) return false;
  }
  return true;
}

bool shape_ok(const Matcher& m, const TensorInfo& t) {
  if (m.rank && t.shape.size() != *m.rank) return false;
  if (!m.has_shape) return true;
  if (m.shape.size() != t.shape.size()) return false;
  for (std::size_t i = 0; i < m.shape.size(); ++i) {
    if (m.shape[i] && *m.shape[i] != t.shape[i]) return false;
  }
  return true;
}

struct Context {
  const Rules& rules;
  const SafetensorsHeader& h;
  std::string prefix;
};

// Returns the evidence string when the matcher matches, else nullopt.
std::optional<std::string> match(const Context& cx, const Matcher& m) {
  const std::string base = m.absolute ? std::string() : cx.prefix;
  if (m.key) {
    const TensorInfo* t = cx.h.find(base + *m.key);
    if (!t || !shape_ok(m, *t)) return std::nullopt;
    return fmt::format("{} {} {}", t->name, to_string(t->dtype), shape_str(t->shape));
  }
  if (m.blocks) {
    const std::string p = base + *m.blocks;
    std::uint64_t max_index = 0;
    bool any = false;
    for (const auto& t : cx.h.tensors) {
      if (!starts_with(t.name, p)) continue;
      std::string_view rest = std::string_view(t.name).substr(p.size());
      std::uint64_t idx = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), idx);
      if (ec != std::errc() || ptr == rest.data() || ptr == rest.data() + rest.size() || *ptr != '.') continue;
      any = true;
      max_index = std::max(max_index, idx);
    }
    if (!any) return std::nullopt;
    if (m.count && max_index + 1 != *m.count) return std::nullopt;
    return fmt::format("{} {}N blocks", max_index + 1, p);
  }
  const std::string p = m.prefix ? base + *m.prefix : std::string();
  for (const auto& t : cx.h.tensors) {
    if (!p.empty() && !starts_with(t.name, p)) continue;
    if (m.contains && t.name.find(*m.contains) == std::string::npos) continue;
    if (!m.suffixes.empty() &&
        std::none_of(m.suffixes.begin(), m.suffixes.end(), [&](const std::string& s) { return ends_with(t.name, s); })) {
      continue;
    }
    if (!shape_ok(m, t)) continue;
    return fmt::format("{} {} {}", t.name, to_string(t.dtype), shape_str(t.shape));
  }
  return std::nullopt;
}

std::string describe_absent(const Context& cx, const Matcher& m) {
  const std::string base = m.absolute ? std::string() : cx.prefix;
  if (m.key) return fmt::format("no {}", base + *m.key);
  if (m.prefix) return fmt::format("no {}*", base + *m.prefix);
  return fmt::format("no key like {}", m.describe());
}

std::string verdict_string(const NameVerdict& v) {
  if (v.known_other) return "unknown (" + v.reason + ")";
  std::string s = v.base_model;
  if (v.variant) s += "/" + *v.variant;
  if (v.expert) s += " (" + *v.expert + ")";
  return s;
}

}  // namespace

std::string Matcher::describe() const {
  std::string s;
  if (key) s = *key;
  if (prefix) s = *prefix + "*";
  if (contains) s += "*" + *contains + "*";
  if (!suffixes.empty()) s += fmt::format("*{{{}}}", fmt::join(suffixes, ","));
  if (blocks) s = *blocks + "N";
  return s;
}

std::string_view to_string(FileKind k) noexcept {
  switch (k) {
    case FileKind::kCheckpoint: return "checkpoint";
    case FileKind::kDiffusionModel: return "diffusion_model";
    case FileKind::kLora: return "lora";
    case FileKind::kVae: return "vae";
    case FileKind::kTextEncoder: return "text_encoder";
    case FileKind::kUnknown: return "unknown";
  }
  return "unknown";
}

nlohmann::json Classification::to_json() const {
  nlohmann::json j{{"base_model", base_model},
                   {"variant", variant ? nlohmann::json(*variant) : nlohmann::json()},
                   {"kind", std::string(to_string(kind))},
                   {"prefix", prefix},
                   {"layout", layout},
                   {"dtype", dtype},
                   {"parameters", parameters},
                   {"rule", rule},
                   {"decided_by", decided_by},
                   {"confidence", std::string(to_string(confidence))},
                   {"evidence", evidence}};
  if (expert) j["expert"] = *expert;
  if (!candidates.empty()) j["candidates"] = candidates;
  if (!reason.empty()) j["reason"] = reason;
  if (!conflict.empty()) j["conflict"] = conflict;
  return j;
}

Classification classify(const Rules& rules, const SafetensorsHeader& h, const std::vector<std::string>& names) {
  Classification out;
  out.decided_by = "none";

  // One pass: parameters, dtype bytes, LoRA markers, prefixes, companions.
  std::array<std::uint64_t, 32> dtype_bytes{};
  std::vector<std::size_t> prefix_count(rules.prefixes.size(), 0);
  std::vector<bool> companion_seen(rules.companions.size(), false);
  bool lora = false;
  bool scaled_fp8 = false;
  std::string lora_example;
  for (const auto& t : h.tensors) {
    const std::uint64_t n = t.elements();
    out.parameters += n;
    dtype_bytes[static_cast<std::size_t>(t.dtype)] += (n * dtype_bits(t.dtype)) / 8;
    for (std::size_t i = 0; i < rules.prefixes.size(); ++i) {
      if (starts_with(t.name, rules.prefixes[i])) ++prefix_count[i];
    }
    for (std::size_t i = 0; i < rules.companions.size(); ++i) {
      if (!companion_seen[i] && starts_with(t.name, rules.companions[i].first)) companion_seen[i] = true;
    }
    if (!lora) {
      for (const auto& p : rules.lora_prefixes) {
        if (starts_with(t.name, p)) lora = true;
      }
      for (const auto& s : rules.lora_suffixes) {
        if (ends_with(t.name, s)) lora = true;
      }
      if (lora) lora_example = t.name;
    }
    if (t.name == "scaled_fp8" || ends_with(t.name, ".scaled_fp8")) scaled_fp8 = true;
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < dtype_bytes.size(); ++i) {
    if (dtype_bytes[i] > dtype_bytes[best]) best = i;
  }
  if (!h.tensors.empty()) {
    // Only empty tensors: the first tensor's dtype.
    out.dtype = std::string(to_string(dtype_bytes[best] > 0 ? static_cast<Dtype>(best) : h.tensors.front().dtype));
  }
  if (scaled_fp8) out.evidence.push_back("scaled_fp8 marker tensor (ComfyUI scaled fp8 weights)");

  Context cx{rules, h, ""};
  for (std::size_t i = 0; i < rules.prefixes.size(); ++i) {
    if (prefix_count[i] > rules.min_prefix_keys) {
      cx.prefix = rules.prefixes[i];
      break;
    }
  }
  out.prefix = cx.prefix;

  // Hints: the header's metadata, then the names.
  struct Hint {
    std::string what;
    NameVerdict v;
  };
  std::vector<Hint> hints;
  const MetadataVerdict mv = infer_from_metadata(rules, h.metadata);
  if (mv.verdict.matched() || mv.verdict.known_other) {
    hints.push_back({fmt::format("metadata {}=\"{}\"", mv.field, h.metadata.at(mv.field)), mv.verdict});
  }
  for (const auto& n : names) {
    if (n.empty()) continue;
    auto v = infer_from_name(rules, n);
    if (v.matched() || v.known_other) hints.push_back({fmt::format("name \"{}\"", n), v});
  }

  // The first rule whose matchers hold.
  const DetectionRule* rule = nullptr;
  std::vector<std::string> evidence;
  for (const auto& r : rules.rules) {
    if ((r.kind == FileKind::kLora) != lora) continue;
    evidence.clear();
    bool ok = true;
    for (const auto& m : r.require) {
      auto e = match(cx, m);
      if (!e) {
        ok = false;
        break;
      }
      evidence.push_back(std::move(*e));
    }
    if (!ok) continue;
    if (!r.require_any.empty()) {
      std::optional<std::string> any;
      for (const auto& m : r.require_any) {
        if ((any = match(cx, m))) break;
      }
      if (!any) continue;
      evidence.push_back(std::move(*any));
    }
    for (const auto& m : r.forbid) {
      if (match(cx, m)) {
        ok = false;
        break;
      }
      evidence.push_back(describe_absent(cx, m));
    }
    if (!ok) continue;
    rule = &r;
    break;
  }

  if (!rule) {
    out.kind = lora ? FileKind::kLora : FileKind::kUnknown;
    if (lora) out.evidence.push_back(fmt::format("LoRA key {}", lora_example));
    if (mv.verdict.matched()) {
      out.base_model = mv.verdict.base_model;
      out.variant = mv.verdict.variant;
      out.expert = mv.verdict.expert;
      out.decided_by = "metadata";
      out.confidence = std::min(mv.verdict.confidence, Confidence::kMedium);
      out.evidence.push_back(hints.front().what);
      out.reason = fmt::format("no detection rule matched the keys; {}", mv.verdict.reason);
      out.conflict = mv.conflict;
    } else if (mv.verdict.known_other) {
      out.decided_by = "metadata";
      out.confidence = Confidence::kMedium;
      out.evidence.push_back(hints.front().what);
      out.reason = fmt::format("no detection rule matched the keys; {}", mv.verdict.reason);
    } else {
      out.reason = lora ? "a LoRA whose target base neither its keys nor its metadata tell"
                        : fmt::format("no detection rule matched the {} tensors (key prefix \"{}\")", h.tensors.size(), cx.prefix);
    }
    return out;
  }

  out.rule = rule->id;
  out.layout = rule->layout;
  out.kind = rule->kind;
  out.evidence.insert(out.evidence.end(), evidence.begin(), evidence.end());
  if (rule->kind == FileKind::kLora) out.evidence.push_back(fmt::format("LoRA key {}", lora_example));
  if (rule->kind == FileKind::kDiffusionModel && !cx.prefix.empty()) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < rules.companions.size(); ++i) {
      if (companion_seen[i]) parts.push_back(fmt::format("{} ({}*)", rules.companions[i].second, rules.companions[i].first));
    }
    if (!parts.empty()) {
      out.kind = FileKind::kCheckpoint;
      out.evidence.push_back(fmt::format("also holds {}", fmt::join(parts, ", ")));
    }
  }
  out.decided_by = "keys";
  out.confidence = Confidence::kHigh;
  if (!rule->note.empty()) out.reason = rule->note;

  if (rule->candidates.empty()) {
    out.reason = rule->reason;
    for (const auto& hint : hints) {
      if (hint.v.matched()) out.conflict = fmt::format("{} says {}", hint.what, verdict_string(hint.v));
    }
    return out;
  }

  // A name that says "this is a different model" the keys cannot tell apart (Kontext).
  for (const auto& hint : hints) {
    if (hint.v.known_other &&
        std::find(rule->veto_names.begin(), rule->veto_names.end(), hint.v.rule.substr(hint.v.rule.find(':') + 1)) !=
            rule->veto_names.end()) {
      out.decided_by = hint.what.rfind("metadata", 0) == 0 ? "keys+metadata" : "keys+name";
      out.confidence = Confidence::kMedium;
      out.evidence.push_back(fmt::format("{} says {}", hint.what, verdict_string(hint.v)));
      out.reason = fmt::format("the keys fit {} but {}: {}", rule->candidates.front().base_model, hint.what, hint.v.reason);
      return out;
    }
  }

  // Choose among the candidates with the hints; a later hint may refine (sdxl -> pony).
  const Candidate* chosen = nullptr;
  const Hint* chosen_hint = nullptr;
  for (const auto& hint : hints) {
    if (!hint.v.matched()) continue;
    const Candidate* found = nullptr;
    for (const auto& c : rule->candidates) {
      if (c.base_model != hint.v.base_model) continue;
      if (c.variant && hint.v.variant && *c.variant == *hint.v.variant) {
        found = &c;
        break;
      }
      if (!found) found = &c;
    }
    if (!found) continue;
    if (!chosen || (found->base_model != chosen->base_model && rules.refines(found->base_model, chosen->base_model))) {
      chosen = found;
      chosen_hint = &hint;
    }
  }
  if (chosen) {
    out.base_model = chosen->base_model;
    out.variant = chosen->variant ? chosen->variant : chosen_hint->v.variant;
    if (out.base_model == "wan_2_2") out.expert = chosen_hint->v.expert;
    const bool from_meta = chosen_hint->what.rfind("metadata", 0) == 0;
    const bool is_default = rule->default_candidate && &rule->candidates[*rule->default_candidate] == chosen;
    if (is_default && !(!chosen->variant && chosen_hint->v.variant)) {
      // The hint agrees with what the keys alone would say.
      out.evidence.push_back(fmt::format("{} agrees: {}", chosen_hint->what, verdict_string(chosen_hint->v)));
      if (rule->candidates.size() > 1) {
        out.reason = fmt::format("{}; {} says {}", rule->ambiguity, chosen_hint->what, out.base_model);
      } else if (!rule->ambiguity.empty() && !out.variant) {
        out.reason = rule->ambiguity;
      }
    } else if (rule->candidates.size() > 1 || (!chosen->variant && chosen_hint->v.variant)) {
      out.decided_by = from_meta ? "keys+metadata" : "keys+name";
      out.confidence = Confidence::kMedium;
      out.evidence.push_back(fmt::format("{} says {}", chosen_hint->what, verdict_string(chosen_hint->v)));
      out.reason = fmt::format("{}; {} decided {}", rule->ambiguity.empty() ? "the keys fix the architecture" : rule->ambiguity,
                               chosen_hint->what, out.variant ? out.base_model + "/" + *out.variant : out.base_model);
    }
  } else if (rule->default_candidate) {
    const auto& c = rule->candidates[*rule->default_candidate];
    out.base_model = c.base_model;
    out.variant = c.variant;
    if (rule->candidates.size() > 1) {
      out.confidence = Confidence::kMedium;
      out.reason = fmt::format("{}; neither metadata nor name says otherwise, so {}", rule->ambiguity, c.base_model);
      for (const auto& cand : rule->candidates) out.candidates.push_back(cand.variant ? cand.base_model + "/" + *cand.variant : cand.base_model);
    } else if (!rule->ambiguity.empty() && !c.variant) {
      out.reason = rule->ambiguity;
    }
  } else {
    out.confidence = Confidence::kNone;
    for (const auto& cand : rule->candidates) out.candidates.push_back(cand.variant ? cand.base_model + "/" + *cand.variant : cand.base_model);
    out.reason = fmt::format("{} (candidates: {})", rule->ambiguity, fmt::join(out.candidates, ", "));
  }
  if (out.base_model == "wan_2_2" && !out.expert) {
    for (const auto& hint : hints) {
      if (hint.v.matched() && hint.v.base_model == "wan_2_2" && hint.v.expert) {
        out.expert = hint.v.expert;
        out.evidence.push_back(fmt::format("{} says the {} expert", hint.what, *out.expert));
        break;
      }
    }
  }
  // Hints that disagree with the verdict.
  std::vector<std::string> conflicts;
  for (const auto& hint : hints) {
    if (&hint == chosen_hint) continue;
    if (hint.v.known_other) {
      if (out.base_model != "unknown") conflicts.push_back(fmt::format("{} says {}", hint.what, verdict_string(hint.v)));
      continue;
    }
    if (out.base_model == "unknown") continue;
    if (rules.refines(out.base_model, hint.v.base_model) || rules.refines(hint.v.base_model, out.base_model)) {
      if (hint.v.base_model == out.base_model && out.variant && hint.v.variant && *out.variant != *hint.v.variant) {
        conflicts.push_back(fmt::format("{} says variant {}", hint.what, *hint.v.variant));
      }
      continue;
    }
    conflicts.push_back(fmt::format("{} says {}", hint.what, verdict_string(hint.v)));
  }
  out.conflict = fmt::format("{}", fmt::join(conflicts, "; "));
  if (!rule->note.empty() && out.reason.find(rule->note) == std::string::npos) {
    out.reason = out.reason.empty() ? rule->note : rule->note + "; " + out.reason;
  }
  return out;
}

}  // namespace inferconf::detect
