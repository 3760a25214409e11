// Classification of a parsed header with the data rules.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory>

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

// Up to the first (head8) or last (tail8) 8 bytes of s as a word: the last
// bytes are placed at the end of the word, so a text of n <= 8 bytes compares
// under the mask of its bytes.
inline std::uint64_t head8(std::string_view s) noexcept {
  std::uint64_t w = 0;
  if (!s.empty()) std::memcpy(&w, s.data(), std::min<std::size_t>(8, s.size()));
  return w;
}
inline std::uint64_t tail8(std::string_view s) noexcept {
  std::uint64_t w = 0;
  const std::size_t n = std::min<std::size_t>(8, s.size());
  if (n > 0) std::memcpy(reinterpret_cast<char*>(&w) + (8 - n), s.data() + s.size() - n, n);
  return w;
}
// A word whose bytes [from, to) are 0xFF.
std::uint64_t byte_mask(std::size_t from, std::size_t to) noexcept {
  unsigned char b[8] = {};
  for (std::size_t i = from; i < to; ++i) b[i] = 0xFF;
  std::uint64_t m;
  std::memcpy(&m, b, 8);
  return m;
}

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// a[0, n) == b[0, n), inline: whole words, the last one overlapping.
inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  for (std::size_t i = 0; i + 8 < n; i += 8) {
    if (load8(a + i) != load8(b + i)) return false;
  }
  return load8(a + n - 8) == load8(b + n - 8);
}

// A prefix or suffix text with its first/last 8 bytes as a masked word, and
// the rest of it (when longer than 8 bytes) as whole words at offsets
// rest_offset(k) (the last one overlapping), so a comparison is a few loads.
struct Affix {
  std::string text;
  std::uint64_t word = 0, mask = 0;
  std::vector<std::uint64_t> rest;
  std::uint8_t kind = 0;
  std::uint32_t index = 0;
};
// Head: the rest covers bytes [8, n); tail: bytes [0, n - 8).
inline std::size_t head_rest_offset(std::size_t k, std::size_t n) noexcept { return std::min(8 + 8 * k, n - 8); }
inline std::size_t tail_rest_offset(std::size_t k, std::size_t n) noexcept { return std::min(8 * k, n - 8); }
Affix make_head(std::string text, std::uint8_t kind, std::uint32_t index) {
  Affix a{std::move(text), 0, 0, {}, kind, index};
  const std::size_t n = a.text.size();
  a.mask = byte_mask(0, std::min<std::size_t>(8, n));
  a.word = head8(a.text) & a.mask;
  for (std::size_t k = 0; n > 8 && 8 + 8 * k < n; ++k) a.rest.push_back(load8(a.text.data() + head_rest_offset(k, n)));
  return a;
}
Affix make_tail(std::string text, std::uint8_t kind, std::uint32_t index) {
  Affix a{std::move(text), 0, 0, {}, kind, index};
  const std::size_t n = a.text.size();
  a.mask = byte_mask(8 - std::min<std::size_t>(8, n), 8);
  a.word = tail8(a.text) & a.mask;
  for (std::size_t k = 0; n > 8 && 8 * k < n - 8; ++k) a.rest.push_back(load8(a.text.data() + tail_rest_offset(k, n)));
  return a;
}
// `h8` = head8(s), `t8` = tail8(s).
inline bool has_head(std::string_view s, std::uint64_t h8, const Affix& a) noexcept {
  const std::size_t n = a.text.size();
  if (s.size() < n || (h8 & a.mask) != a.word) return false;
  for (std::size_t k = 0; k < a.rest.size(); ++k) {
    if (load8(s.data() + head_rest_offset(k, n)) != a.rest[k]) return false;
  }
  return true;
}
inline bool has_tail(std::string_view s, std::uint64_t t8, const Affix& a) noexcept {
  const std::size_t n = a.text.size();
  if (s.size() < n || (t8 & a.mask) != a.word) return false;
  const char* start = s.data() + s.size() - n;
  for (std::size_t k = 0; k < a.rest.size(); ++k) {
    if (load8(start + tail_rest_offset(k, n)) != a.rest[k]) return false;
  }
  return true;
}

}  // namespace

// The per-tensor pass tests every name against the key prefixes, companions
// and LoRA markers: only the texts that start (end) with the name's first
// (last) byte are compared, by one masked 8-byte word first.
struct ClassifyTables {
  enum Kind : std::uint8_t { kPrefix, kCompanion, kLoraPrefix, kLoraSuffix };
  std::vector<Affix> heads, tails;
  std::array<std::vector<std::uint32_t>, 256> head_by_byte, tail_by_byte;
  std::vector<std::uint32_t> head_always, tail_always;  // empty texts match every name
  // Prefilter of the tail texts: a name can end with one only if its last 8
  // bytes are in tail_full (texts of 8 bytes or more: open addressing, 0 =
  // empty) or match one of the shorter texts listed under its last byte.
  std::vector<std::uint64_t> tail_full;
  struct Words {
    std::vector<std::uint64_t> word, mask;
  };
  std::array<Words, 256> tail_short;
  std::size_t slot(std::uint64_t w) const noexcept {
    return static_cast<std::size_t>((w * 0x9E3779B97F4A7C15ULL) >> 40) & (tail_full.size() - 1);
  }
  bool maybe_tail(std::uint64_t t8, unsigned char last) const noexcept {
    for (std::size_t s = slot(t8); tail_full[s] != 0; s = (s + 1) & (tail_full.size() - 1)) {
      if (tail_full[s] == t8) return true;
    }
    const auto& w = tail_short[last];
    bool maybe = false;
    for (std::size_t k = 0; k < w.word.size(); ++k) maybe |= (t8 & w.mask[k]) == w.word[k];
    return maybe;
  }
  std::array<unsigned, 32> dtype_bits{};  // by Dtype
};

std::shared_ptr<const ClassifyTables> make_classify_tables(const Rules& rules) {
  auto t = std::make_shared<ClassifyTables>();
  for (std::size_t i = 0; i < rules.prefixes.size(); ++i) t->heads.push_back(make_head(rules.prefixes[i], ClassifyTables::kPrefix, static_cast<std::uint32_t>(i)));
  for (std::size_t i = 0; i < rules.companions.size(); ++i) t->heads.push_back(make_head(rules.companions[i].first, ClassifyTables::kCompanion, static_cast<std::uint32_t>(i)));
  for (std::size_t i = 0; i < rules.lora_prefixes.size(); ++i) t->heads.push_back(make_head(rules.lora_prefixes[i], ClassifyTables::kLoraPrefix, static_cast<std::uint32_t>(i)));
  for (std::size_t i = 0; i < rules.lora_suffixes.size(); ++i) t->tails.push_back(make_tail(rules.lora_suffixes[i], ClassifyTables::kLoraSuffix, static_cast<std::uint32_t>(i)));
  for (std::uint32_t i = 0; i < t->heads.size(); ++i) {
    const auto& text = t->heads[i].text;
    (text.empty() ? t->head_always : t->head_by_byte[static_cast<unsigned char>(text.front())]).push_back(i);
  }
  for (std::uint32_t i = 0; i < t->tails.size(); ++i) {
    const auto& text = t->tails[i].text;
    (text.empty() ? t->tail_always : t->tail_by_byte[static_cast<unsigned char>(text.back())]).push_back(i);
  }
  t->tail_full.assign(64, 0);
  while (t->tail_full.size() < 4 * t->tails.size()) t->tail_full.assign(t->tail_full.size() * 2, 0);
  for (const auto& a : t->tails) {
    if (a.text.empty()) continue;
    if (a.text.size() >= 8 && a.word != 0) {
      std::size_t s = t->slot(a.word);
      while (t->tail_full[s] != 0 && t->tail_full[s] != a.word) s = (s + 1) & (t->tail_full.size() - 1);
      t->tail_full[s] = a.word;
    } else {
      auto& w = t->tail_short[static_cast<unsigned char>(a.text.back())];
      w.word.push_back(a.word);
      w.mask.push_back(a.mask);
    }
  }
  for (std::size_t d = 0; d < t->dtype_bits.size(); ++d) t->dtype_bits[d] = dtype_bits(static_cast<Dtype>(d));
  return t;
}

namespace {

// Per-thread scratch of classify(), reused from call to call.
struct Scratch {
  std::vector<std::uint64_t> prefix_bits;  // per tensor: bit i set when the name starts with rules.prefixes[i] (i < 64)
  std::vector<std::uint64_t> abs8, rel8;   // per tensor: head8 of the name / of the name after the key prefix (0: no prefix)
  bool abs8_ready = false, rel8_ready = false;
  std::string key;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

struct Context {
  const Rules& rules;
  const SafetensorsHeader& h;
  std::string prefix;
  std::size_t prefix_index = 0;  // in rules.prefixes, when prefix is not empty
  Scratch& s;

  const std::vector<std::uint64_t>& abs8() {
    if (!s.abs8_ready) {
      s.abs8.resize(h.tensors.size());
      for (std::size_t i = 0; i < h.tensors.size(); ++i) s.abs8[i] = head8(h.tensors[i].name);
      s.abs8_ready = true;
    }
    return s.abs8;
  }
  const std::vector<std::uint64_t>& rel8() {
    if (prefix.empty()) return abs8();
    if (!s.rel8_ready) {
      s.rel8.resize(h.tensors.size());
      for (std::size_t i = 0; i < h.tensors.size(); ++i) {
        const std::string_view name = h.tensors[i].name;
        const bool has = prefix_index < 64 ? ((s.prefix_bits[i] >> prefix_index) & 1) != 0 : starts_with(name, prefix);
        s.rel8[i] = has ? head8(name.substr(prefix.size())) : 0;
      }
      s.rel8_ready = true;
    }
    return s.rel8;
  }

  // Calls f(t) for each tensor whose name starts with `full` (= the key
  // prefix, unless absolute, + `rel`), in header order, until f returns true.
  template <class F>
  bool scan(bool absolute, std::string_view rel, std::string_view full, F&& f) {
    if (rel.empty()) {
      for (const auto& t : h.tensors) {
        if (starts_with(t.name, full) && f(t)) return true;
      }
      return false;
    }
    const auto& keys = absolute ? abs8() : rel8();
    const std::size_t head = std::min<std::size_t>(8, rel.size());
    const std::uint64_t mask = byte_mask(0, head);
    const std::uint64_t word = head8(rel) & mask;
    // A key holds the first 8 bytes after the prefix of a name that has the
    // prefix, zero-padded, else 0: when rel's first bytes hold no NUL, an
    // equal key proves the prefix and those bytes; the rest is compared here.
    const bool keys_prove = rel.substr(0, head).find('\0') == std::string_view::npos;
    const std::size_t skip = full.size() - rel.size() + head;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if ((keys[i] & mask) != word) continue;
      const auto& t = h.tensors[i];
      const bool has = keys_prove ? t.name.size() >= full.size() &&
                                        same_bytes(t.name.data() + skip, full.data() + skip, full.size() - skip)
                                  : starts_with(t.name, full);
      if (has && f(t)) return true;
    }
    return false;
  }
};

// Returns the evidence string when the matcher matches, else nullopt.
std::optional<std::string> match(Context& cx, const Matcher& m) {
  static const std::string kNone;
  const std::string& base = m.absolute ? kNone : cx.prefix;
  std::string& full = cx.s.key;
  if (m.key) {
    full.assign(base).append(*m.key);
    const TensorInfo* t = cx.h.find(full);
    if (!t || !shape_ok(m, *t)) return std::nullopt;
    return fmt::format("{} {} {}", t->name, to_string(t->dtype), shape_str(t->shape));
  }
  if (m.blocks) {
    full.assign(base).append(*m.blocks);
    std::uint64_t max_index = 0;
    bool any = false;
    cx.scan(m.absolute, *m.blocks, full, [&](const TensorInfo& t) {
      std::string_view rest = t.name.substr(full.size());
      std::uint64_t idx = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), idx);
      if (ec != std::errc() || ptr == rest.data() || ptr == rest.data() + rest.size() || *ptr != '.') return false;
      any = true;
      max_index = std::max(max_index, idx);
      return false;
    });
    if (!any) return std::nullopt;
    if (m.count && max_index + 1 != *m.count) return std::nullopt;
    return fmt::format("{} {}N blocks", max_index + 1, full);
  }
  auto fits = [&](const TensorInfo& t) {
    if (m.contains && t.name.find(*m.contains) == std::string_view::npos) return false;
    if (!m.suffixes.empty() &&
        std::none_of(m.suffixes.begin(), m.suffixes.end(), [&](const std::string& s) { return ends_with(t.name, s); })) {
      return false;
    }
    return shape_ok(m, t);
  };
  const TensorInfo* found = nullptr;
  if (m.prefix) {
    full.assign(base).append(*m.prefix);
    cx.scan(m.absolute, *m.prefix, full, [&](const TensorInfo& t) {
      if (!fits(t)) return false;
      found = &t;
      return true;
    });
  } else {
    for (const auto& t : cx.h.tensors) {
      if (fits(t)) {
        found = &t;
        break;
      }
    }
  }
  if (!found) return std::nullopt;
  return fmt::format("{} {} {}", found->name, to_string(found->dtype), shape_str(found->shape));
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

namespace {

// What one pass over the tensor names finds, besides the parameter count and
// the dominant dtype.
struct TensorScan {
  std::vector<std::size_t> prefix_count;  // per rules.prefixes: names that start with it
  std::vector<bool> companion_seen;       // per rules.companions
  bool lora = false;
  bool scaled_fp8 = false;
  std::string lora_example;
};

// Phase 1, one pass over the tensors: parameters and dominant dtype (into
// out), key prefixes and companions (with each name's prefix bits in the
// scratch), LoRA and ComfyUI scaled-fp8 markers.
TensorScan scan_tensors(const Rules& rules, const ClassifyTables& tb, const SafetensorsHeader& h, Scratch& sc,
                        Classification& out) {
  TensorScan scan;
  sc.abs8_ready = sc.rel8_ready = false;
  sc.prefix_bits.resize(h.tensors.size());
  std::array<std::uint64_t, 32> dtype_bytes{};
  scan.prefix_count.assign(rules.prefixes.size(), 0);
  scan.companion_seen.assign(rules.companions.size(), false);
  for (std::size_t ti = 0; ti < h.tensors.size(); ++ti) {
    const auto& t = h.tensors[ti];
    std::uint64_t n = 1;
    for (auto d : t.shape) n *= d;  // (t.elements(), inline)
    out.parameters += n;
    dtype_bytes[static_cast<std::size_t>(t.dtype)] += (n * tb.dtype_bits[static_cast<std::size_t>(t.dtype) & 31]) / 8;
    const std::string_view name = t.name;
    std::uint64_t bits = 0;
    auto head = [&](std::uint64_t h8, std::uint32_t i) {
      const Affix& a = tb.heads[i];
      if (!has_head(name, h8, a)) return;
      switch (a.kind) {
        case ClassifyTables::kPrefix:
          ++scan.prefix_count[a.index];
          if (a.index < 64) bits |= std::uint64_t{1} << a.index;
          break;
        case ClassifyTables::kCompanion: scan.companion_seen[a.index] = true; break;
        default:
          if (!scan.lora) {
            scan.lora = true;
            scan.lora_example = name;
          }
      }
    };
    const std::uint64_t h8 = head8(name);
    if (!name.empty()) {
      for (auto i : tb.head_by_byte[static_cast<unsigned char>(name.front())]) head(h8, i);
    }
    for (auto i : tb.head_always) head(h8, i);
    sc.prefix_bits[ti] = bits;
    if (!scan.lora) {
      const std::uint64_t t8 = tail8(name);
      auto tail = [&](std::uint32_t i) {
        if (!scan.lora && has_tail(name, t8, tb.tails[i])) {
          scan.lora = true;
          scan.lora_example = name;
        }
      };
      if (!name.empty()) {
        if (tb.maybe_tail(t8, static_cast<unsigned char>(name.back()))) {
          for (auto i : tb.tail_by_byte[static_cast<unsigned char>(name.back())]) tail(i);
        }
      }
      for (auto i : tb.tail_always) tail(i);
    }
    if (!name.empty() && name.back() == '8' && (name == "scaled_fp8" || ends_with(name, ".scaled_fp8")))
      scan.scaled_fp8 = true;
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < dtype_bytes.size(); ++i) {
    if (dtype_bytes[i] > dtype_bytes[best]) best = i;
  }
  if (!h.tensors.empty()) {
    // Only empty tensors: the first tensor's dtype.
    out.dtype = std::string(to_string(dtype_bytes[best] > 0 ? static_cast<Dtype>(best) : h.tensors.front().dtype));
  }
  if (scan.scaled_fp8) out.evidence.push_back("scaled_fp8 marker tensor (ComfyUI scaled fp8 weights)");
  return scan;
}

// Phase 2: the key prefix is the first of the rules' prefixes that more than
// min_prefix_keys names carry ("" for none).
void choose_prefix(const Rules& rules, const TensorScan& scan, Context& cx) {
  for (std::size_t i = 0; i < rules.prefixes.size(); ++i) {
    if (scan.prefix_count[i] > rules.min_prefix_keys) {
      cx.prefix = rules.prefixes[i];
      cx.prefix_index = i;
      return;
    }
  }
}

struct Hint {
  std::string what;
  NameVerdict v;
};

// Phase 3, the hints: the header's metadata, then the names (each only when
// it recognises something).
struct Hints {
  MetadataVerdict metadata;
  std::vector<Hint> list;
};

Hints collect_hints(const Rules& rules, const SafetensorsHeader& h, const std::vector<std::string>& names) {
  Hints hints{infer_from_metadata(rules, h.metadata), {}};
  const MetadataVerdict& mv = hints.metadata;
  if (mv.verdict.matched() || mv.verdict.known_other) {
    hints.list.push_back({fmt::format("metadata {}=\"{}\"", mv.field, h.metadata.at(mv.field)), mv.verdict});
  }
  for (const auto& n : names) {
    if (n.empty()) continue;
    auto v = infer_from_name(rules, n);
    if (v.matched() || v.known_other) hints.list.push_back({fmt::format("name \"{}\"", n), v});
  }
  return hints;
}

// Phase 4: the first rule (of the file's LoRA-ness) whose required, any-of
// and forbidden matchers hold, with the evidence of each; nullptr for none.
const DetectionRule* first_matching_rule(const Rules& rules, Context& cx, bool lora, std::vector<std::string>& evidence) {
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
    return &r;
  }
  return nullptr;
}

// Phase 5 when no rule matched: the metadata may still name the base model
// (at most medium confidence), else the verdict is unknown with the reason.
void decide_without_rule(const SafetensorsHeader& h, const TensorScan& scan, const Hints& hints, const Context& cx,
                         Classification& out) {
  const MetadataVerdict& mv = hints.metadata;
  out.kind = scan.lora ? FileKind::kLora : FileKind::kUnknown;
  if (scan.lora) out.evidence.push_back(fmt::format("LoRA key {}", scan.lora_example));
  if (mv.verdict.matched()) {
    out.base_model = mv.verdict.base_model;
    out.variant = mv.verdict.variant;
    out.expert = mv.verdict.expert;
    out.decided_by = "metadata";
    out.confidence = std::min(mv.verdict.confidence, Confidence::kMedium);
    out.evidence.push_back(hints.list.front().what);
    out.reason = fmt::format("no detection rule matched the keys; {}", mv.verdict.reason);
    out.conflict = mv.conflict;
  } else if (mv.verdict.known_other) {
    out.decided_by = "metadata";
    out.confidence = Confidence::kMedium;
    out.evidence.push_back(hints.list.front().what);
    out.reason = fmt::format("no detection rule matched the keys; {}", mv.verdict.reason);
  } else {
    out.reason = scan.lora ? "a LoRA whose target base neither its keys nor its metadata tell"
                           : fmt::format("no detection rule matched the {} tensors (key prefix \"{}\")", h.tensors.size(),
                                         cx.prefix);
  }
}

// Phase 5 when a rule matched: what the keys alone say (rule, layout, kind —
// a diffusion model under a prefix with companions is a checkpoint —,
// evidence), at high confidence.
void apply_rule(const Rules& rules, const DetectionRule& rule, const TensorScan& scan, const Context& cx,
                const std::vector<std::string>& evidence, Classification& out) {
  out.rule = rule.id;
  out.layout = rule.layout;
  out.kind = rule.kind;
  out.evidence.insert(out.evidence.end(), evidence.begin(), evidence.end());
  if (rule.kind == FileKind::kLora) out.evidence.push_back(fmt::format("LoRA key {}", scan.lora_example));
  if (rule.kind == FileKind::kDiffusionModel && !cx.prefix.empty()) {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < rules.companions.size(); ++i) {
      if (scan.companion_seen[i])
        parts.push_back(fmt::format("{} ({}*)", rules.companions[i].second, rules.companions[i].first));
    }
    if (!parts.empty()) {
      out.kind = FileKind::kCheckpoint;
      out.evidence.push_back(fmt::format("also holds {}", fmt::join(parts, ", ")));
    }
  }
  out.decided_by = "keys";
  out.confidence = Confidence::kHigh;
  if (!rule.note.empty()) out.reason = rule.note;
}

// Phase 6: a name or metadata that says "this is a different model" the keys
// cannot tell apart (Kontext) turns the verdict into unknown. True then.
bool vetoed_by_hint(const DetectionRule& rule, const Hints& hints, Classification& out) {
  for (const auto& hint : hints.list) {
    if (hint.v.known_other &&
        std::find(rule.veto_names.begin(), rule.veto_names.end(), hint.v.rule.substr(hint.v.rule.find(':') + 1)) !=
            rule.veto_names.end()) {
      out.decided_by = hint.what.rfind("metadata", 0) == 0 ? "keys+metadata" : "keys+name";
      out.confidence = Confidence::kMedium;
      out.evidence.push_back(fmt::format("{} says {}", hint.what, verdict_string(hint.v)));
      out.reason = fmt::format("the keys fit {} but {}: {}", rule.candidates.front().base_model, hint.what, hint.v.reason);
      return true;
    }
  }
  return false;
}

std::string candidate_string(const Candidate& c) { return c.variant ? c.base_model + "/" + *c.variant : c.base_model; }

// Phase 7: the base model (and variant) among the rule's candidates: the one a
// hint names (a later hint may refine: sdxl -> pony), else the rule's default,
// else unknown listing the candidates. Returns the hint that chose, if any.
const Hint* choose_candidate(const Rules& rules, const DetectionRule& rule, const Hints& hints, Classification& out) {
  const Candidate* chosen = nullptr;
  const Hint* chosen_hint = nullptr;
  for (const auto& hint : hints.list) {
    if (!hint.v.matched()) continue;
    const Candidate* found = nullptr;
    for (const auto& c : rule.candidates) {
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
    const bool is_default = rule.default_candidate && &rule.candidates[*rule.default_candidate] == chosen;
    if (is_default && !(!chosen->variant && chosen_hint->v.variant)) {
      // The hint agrees with what the keys alone would say.
      out.evidence.push_back(fmt::format("{} agrees: {}", chosen_hint->what, verdict_string(chosen_hint->v)));
      if (rule.candidates.size() > 1) {
        out.reason = fmt::format("{}; {} says {}", rule.ambiguity, chosen_hint->what, out.base_model);
      } else if (!rule.ambiguity.empty() && !out.variant) {
        out.reason = rule.ambiguity;
      }
    } else if (rule.candidates.size() > 1 || (!chosen->variant && chosen_hint->v.variant)) {
      out.decided_by = from_meta ? "keys+metadata" : "keys+name";
      out.confidence = Confidence::kMedium;
      out.evidence.push_back(fmt::format("{} says {}", chosen_hint->what, verdict_string(chosen_hint->v)));
      out.reason = fmt::format("{}; {} decided {}", rule.ambiguity.empty() ? "the keys fix the architecture" : rule.ambiguity,
                               chosen_hint->what, out.variant ? out.base_model + "/" + *out.variant : out.base_model);
    }
  } else if (rule.default_candidate) {
    const auto& c = rule.candidates[*rule.default_candidate];
    out.base_model = c.base_model;
    out.variant = c.variant;
    if (rule.candidates.size() > 1) {
      out.confidence = Confidence::kMedium;
      out.reason = fmt::format("{}; neither metadata nor name says otherwise, so {}", rule.ambiguity, c.base_model);
      for (const auto& cand : rule.candidates) out.candidates.push_back(candidate_string(cand));
    } else if (!rule.ambiguity.empty() && !c.variant) {
      out.reason = rule.ambiguity;
    }
  } else {
    out.confidence = Confidence::kNone;
    for (const auto& cand : rule.candidates) out.candidates.push_back(candidate_string(cand));
    out.reason = fmt::format("{} (candidates: {})", rule.ambiguity, fmt::join(out.candidates, ", "));
  }
  return chosen_hint;
}

// Phase 8: a Wan 2.2 expert the keys did not give, from the first hint that names one.
void expert_from_hints(const Hints& hints, Classification& out) {
  if (out.base_model != "wan_2_2" || out.expert) return;
  for (const auto& hint : hints.list) {
    if (hint.v.matched() && hint.v.base_model == "wan_2_2" && hint.v.expert) {
      out.expert = hint.v.expert;
      out.evidence.push_back(fmt::format("{} says the {} expert", hint.what, *out.expert));
      return;
    }
  }
}

// Phase 9: the hints that disagree with the verdict (a refinement or the same
// base is no disagreement; another variant is), and the rule's note.
void note_conflicts(const Rules& rules, const DetectionRule& rule, const Hints& hints, const Hint* chosen_hint,
                    Classification& out) {
  std::vector<std::string> conflicts;
  for (const auto& hint : hints.list) {
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
  if (!rule.note.empty() && out.reason.find(rule.note) == std::string::npos) {
    out.reason = out.reason.empty() ? rule.note : rule.note + "; " + out.reason;
  }
}

}  // namespace

Classification classify(const Rules& rules, const SafetensorsHeader& h, const std::vector<std::string>& names) {
  Classification out;
  out.decided_by = "none";
  std::shared_ptr<const ClassifyTables> own_tables;
  if (!rules.classify_tables) own_tables = make_classify_tables(rules);
  const ClassifyTables& tb = rules.classify_tables ? *rules.classify_tables : *own_tables;
  Scratch& sc = scratch();

  const TensorScan scan = scan_tensors(rules, tb, h, sc, out);
  Context cx{rules, h, "", 0, sc};
  choose_prefix(rules, scan, cx);
  out.prefix = cx.prefix;
  const Hints hints = collect_hints(rules, h, names);

  std::vector<std::string> evidence;
  const DetectionRule* rule = first_matching_rule(rules, cx, scan.lora, evidence);
  if (!rule) {
    decide_without_rule(h, scan, hints, cx, out);
    return out;
  }
  apply_rule(rules, *rule, scan, cx, evidence, out);
  if (rule->candidates.empty()) {
    // A known model that is none of ours: its reason, and any hint that names one of ours.
    out.reason = rule->reason;
    for (const auto& hint : hints.list) {
      if (hint.v.matched()) out.conflict = fmt::format("{} says {}", hint.what, verdict_string(hint.v));
    }
    return out;
  }
  if (vetoed_by_hint(*rule, hints, out)) return out;
  const Hint* chosen_hint = choose_candidate(rules, *rule, hints, out);
  expert_from_hints(hints, out);
  note_conflicts(rules, *rule, hints, chosen_hint, out);
  return out;
}

}  // namespace inferconf::detect
