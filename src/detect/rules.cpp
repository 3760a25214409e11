// Loading and validating the detection rules and the label/name aliases.
// Every problem is reported as ReadError(rule "rules_file") naming the file,
// the JSON path and what is allowed.
#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "detect/rules.hpp"
#include "inferconf/error.hpp"
#include "inferconf/json_text.hpp"

#ifndef INFERCONF_SOURCE_DIR
#define INFERCONF_SOURCE_DIR "."
#endif

namespace inferconf::detect {

using nlohmann::json;

namespace {

class Loader {
 public:
  explicit Loader(std::filesystem::path file) : file_(std::move(file)) {}

  json read() {
    std::ifstream in(file_, std::ios::binary);
    if (!in) fail("", "cannot be opened");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      return parse_json_text(ss.str(), "its text");
    } catch (const inferconf::Error& e) {
      fail("", fmt::format("cannot be read: {}", e.what()));
    }
  }

  [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
    throw ReadError(file_.string(), "", "rules_file",
                    path.empty() ? fmt::format("rules file {}", msg) : fmt::format("{}: {}", path, msg));
  }

  void only(const json& obj, const std::string& path, std::initializer_list<std::string_view> allowed) const {
    if (!obj.is_object()) fail(path, fmt::format("must be an object, got {}", obj.type_name()));
    for (const auto& [k, v] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
        fail(path, fmt::format("unknown field \"{}\" (allowed: {})", k, fmt::join(allowed, ", ")));
      }
    }
  }

  std::string str(const json& obj, const std::string& path, const char* key, bool required) const {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) fail(path, fmt::format("missing required field \"{}\"", key));
      return {};
    }
    if (!it->is_string()) fail(path + "." + key, fmt::format("must be a string, got {}", it->type_name()));
    return it->get<std::string>();
  }

  std::optional<std::string> opt_str_or_null(const json& obj, const std::string& path, const char* key, bool required) const {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) fail(path, fmt::format("missing required field \"{}\"", key));
      return std::nullopt;
    }
    if (it->is_null()) return std::nullopt;
    if (!it->is_string()) fail(path + "." + key, fmt::format("must be a string or null, got {}", it->type_name()));
    return it->get<std::string>();
  }

  std::vector<std::string> strings(const json& v, const std::string& path) const {
    if (v.is_string()) return {v.get<std::string>()};
    if (!v.is_array()) fail(path, fmt::format("must be a string or an array of strings, got {}", v.type_name()));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) fail(fmt::format("{}[{}]", path, i), fmt::format("must be a string, got {}", v[i].type_name()));
      if (v[i].get<std::string>().empty()) fail(fmt::format("{}[{}]", path, i), "must not be empty");
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }

  Confidence confidence(const json& obj, const std::string& path, Confidence dflt) const {
    auto s = str(obj, path, "confidence", false);
    if (s.empty()) return dflt;
    if (s == "low") return Confidence::kLow;
    if (s == "medium") return Confidence::kMedium;
    if (s == "high") return Confidence::kHigh;
    fail(path + ".confidence", fmt::format("\"{}\" is not one of low, medium, high", s));
  }

  PatternSet patterns(const json& obj, const std::string& path) const {
    PatternSet p;
    auto conv = [&](const char* key, auto& dst) {
      auto it = obj.find(key);
      if (it == obj.end()) return;
      for (const auto& s : strings(*it, path + "." + key)) {
        auto toks = tokenize_name(s);
        if (toks.empty()) fail(path + "." + key, fmt::format("pattern \"{}\" has no tokens", s));
        dst.push_back(std::move(toks));
      }
    };
    conv("any", p.any);
    conv("all", p.all);
    if (p.any.empty() && p.all.empty()) fail(path, "needs \"any\" or \"all\" patterns");
    return p;
  }

 private:
  std::filesystem::path file_;
};

std::optional<FileKind> parse_kind(std::string_view s) {
  if (s == "diffusion_model") return FileKind::kDiffusionModel;
  if (s == "lora") return FileKind::kLora;
  if (s == "vae") return FileKind::kVae;
  if (s == "text_encoder") return FileKind::kTextEncoder;
  return std::nullopt;
}

void load_labels(Rules& r, const std::filesystem::path& file) {
  Loader L(file);
  const json doc = L.read();
  L.only(doc, "$", {"schema", "description", "sources", "base_models", "variants", "experts", "refinements",
                    "metadata_fields", "labels", "name_rules", "expert_rules"});
  if (L.str(doc, "$", "schema", true) != "inferconf.base_model_labels/1") {
    L.fail("$.schema", "must be \"inferconf.base_model_labels/1\"");
  }
  if (!doc.contains("base_models")) L.fail("$", "missing required field \"base_models\"");
  r.base_models = L.strings(doc["base_models"], "$.base_models");
  std::set<std::string> experts;
  if (doc.contains("experts")) {
    for (auto& e : L.strings(doc["experts"], "$.experts")) experts.insert(e);
  }
  if (doc.contains("variants")) {
    if (!doc["variants"].is_object()) L.fail("$.variants", "must be an object of base model -> variant ids");
    for (const auto& [base, list] : doc["variants"].items()) {
      if (!r.is_base(base)) L.fail("$.variants." + base, fmt::format("\"{}\" is not one of base_models", base));
      r.variants[base] = L.strings(list, "$.variants." + base);
    }
  }
  auto check_base_variant = [&](const std::optional<std::string>& base, const std::optional<std::string>& variant,
                                const std::string& path) {
    if (base && !r.is_base(*base)) {
      L.fail(path + ".base_model", fmt::format("\"{}\" is not one of {}", *base, fmt::join(r.base_models, ", ")));
    }
    if (variant) {
      if (!base) L.fail(path + ".variant", "a variant needs a base_model");
      const auto& vs = r.variants[*base];
      if (std::find(vs.begin(), vs.end(), *variant) == vs.end()) {
        L.fail(path + ".variant", fmt::format("\"{}\" is not a variant of {} (known: {})", *variant, *base, fmt::join(vs, ", ")));
      }
    }
  };
  if (doc.contains("refinements")) {
    if (!doc["refinements"].is_object()) L.fail("$.refinements", "must be an object child -> parent");
    for (const auto& [child, parent] : doc["refinements"].items()) {
      if (!r.is_base(child)) L.fail("$.refinements." + child, "is not one of base_models");
      if (!parent.is_string() || !r.is_base(parent.get<std::string>())) {
        L.fail("$.refinements." + child, "must name one of base_models");
      }
      r.refinements[child] = parent.get<std::string>();
    }
  }
  if (!doc.contains("metadata_fields")) L.fail("$", "missing required field \"metadata_fields\"");
  r.metadata_fields = L.strings(doc["metadata_fields"], "$.metadata_fields");

  if (!doc.contains("labels") || !doc["labels"].is_array()) L.fail("$.labels", "must be an array");
  for (std::size_t i = 0; i < doc["labels"].size(); ++i) {
    const auto& e = doc["labels"][i];
    const std::string path = fmt::format("$.labels[{}]", i);
    L.only(e, path, {"label", "base_model", "variant", "reason", "note", "source", "confidence"});
    LabelEntry le;
    le.label = L.str(e, path, "label", true);
    le.base = L.opt_str_or_null(e, path, "base_model", true);
    le.variant = L.opt_str_or_null(e, path, "variant", false);
    le.reason = L.str(e, path, "reason", false);
    le.note = L.str(e, path, "note", false);
    le.source = L.str(e, path, "source", false);
    le.confidence = L.confidence(e, path, Confidence::kHigh);
    check_base_variant(le.base, le.variant, path);
    if (!le.base && le.reason.empty()) L.fail(path, "a label with base_model null needs a \"reason\"");
    const auto key = join_tokens(tokenize_name(le.label));
    if (key.empty()) L.fail(path + ".label", "has no tokens");
    if (auto [it, ok] = r.labels.emplace(key, le); !ok && (it->second.base != le.base || it->second.variant != le.variant)) {
      L.fail(path + ".label", fmt::format("\"{}\" is the same label as \"{}\" (both read \"{}\") but maps to another base model", le.label, it->second.label, key));
    }
  }

  if (!doc.contains("name_rules") || !doc["name_rules"].is_array()) L.fail("$.name_rules", "must be an array");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < doc["name_rules"].size(); ++i) {
    const auto& e = doc["name_rules"][i];
    const std::string path = fmt::format("$.name_rules[{}]", i);
    L.only(e, path, {"id", "base_model", "variant", "reason", "note", "confidence", "any", "all", "variants"});
    NameRule nr;
    nr.id = L.str(e, path, "id", true);
    if (!ids.insert(nr.id).second) L.fail(path + ".id", fmt::format("duplicate id \"{}\"", nr.id));
    nr.base = L.opt_str_or_null(e, path, "base_model", true);
    nr.variant = L.opt_str_or_null(e, path, "variant", false);
    nr.reason = L.str(e, path, "reason", false);
    nr.note = L.str(e, path, "note", false);
    nr.confidence = L.confidence(e, path, nr.base ? Confidence::kMedium : Confidence::kHigh);
    check_base_variant(nr.base, nr.variant, path);
    if (!nr.base && nr.reason.empty()) L.fail(path, "a rule with base_model null needs a \"reason\"");
    nr.patterns = L.patterns(e, path);
    if (e.contains("variants")) {
      if (!e["variants"].is_array()) L.fail(path + ".variants", "must be an array");
      for (std::size_t k = 0; k < e["variants"].size(); ++k) {
        const auto& v = e["variants"][k];
        const std::string vp = fmt::format("{}.variants[{}]", path, k);
        L.only(v, vp, {"variant", "any", "all"});
        auto id = L.str(v, vp, "variant", true);
        check_base_variant(nr.base, id, vp);
        nr.variants.emplace_back(L.patterns(v, vp), id);
      }
    }
    r.name_rules.push_back(std::move(nr));
  }
  if (doc.contains("expert_rules")) {
    if (!doc["expert_rules"].is_array()) L.fail("$.expert_rules", "must be an array");
    for (std::size_t i = 0; i < doc["expert_rules"].size(); ++i) {
      const auto& e = doc["expert_rules"][i];
      const std::string path = fmt::format("$.expert_rules[{}]", i);
      L.only(e, path, {"expert", "any", "all"});
      auto ex = L.str(e, path, "expert", true);
      if (!experts.count(ex)) L.fail(path + ".expert", fmt::format("\"{}\" is not one of experts", ex));
      r.expert_rules.emplace_back(L.patterns(e, path), ex);
    }
  }
}

Matcher parse_matcher(const Loader& L, const json& m, const std::string& path) {
  L.only(m, path, {"key", "prefix", "contains", "suffix", "blocks", "count", "shape", "rank", "absolute"});
  Matcher out;
  auto opt = [&](const char* k) -> std::optional<std::string> {
    auto s = L.str(m, path, k, false);
    if (m.contains(k) && s.empty()) L.fail(path + "." + k, "must not be empty");
    return m.contains(k) ? std::optional<std::string>(s) : std::nullopt;
  };
  out.key = opt("key");
  out.prefix = opt("prefix");
  out.contains = opt("contains");
  out.blocks = opt("blocks");
  if (m.contains("suffix")) out.suffixes = L.strings(m["suffix"], path + ".suffix");
  if (m.contains("count")) {
    if (!m["count"].is_number_unsigned()) L.fail(path + ".count", "must be a non-negative integer");
    if (!out.blocks) L.fail(path + ".count", "needs \"blocks\"");
    out.count = m["count"].get<std::uint64_t>();
  }
  if (m.contains("rank")) {
    if (!m["rank"].is_number_unsigned()) L.fail(path + ".rank", "must be a non-negative integer");
    out.rank = m["rank"].get<std::size_t>();
  }
  if (m.contains("shape")) {
    const auto& s = m["shape"];
    if (!s.is_array()) L.fail(path + ".shape", "must be an array of non-negative integers or null");
    out.has_shape = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i].is_null()) {
        out.shape.emplace_back(std::nullopt);
      } else if (s[i].is_number_unsigned()) {
        out.shape.emplace_back(s[i].get<std::uint64_t>());
      } else {
        L.fail(fmt::format("{}.shape[{}]", path, i), fmt::format("must be a non-negative integer or null, got {}", s[i].dump()));
      }
    }
  }
  if (m.contains("absolute")) {
    if (!m["absolute"].is_boolean()) L.fail(path + ".absolute", "must be a boolean");
    out.absolute = m["absolute"].get<bool>();
  }
  if (!out.key && !out.prefix && !out.contains && out.suffixes.empty() && !out.blocks) {
    L.fail(path, "needs one of key, prefix, contains, suffix, blocks");
  }
  if (out.key && (out.prefix || out.contains || !out.suffixes.empty() || out.blocks)) {
    L.fail(path, "\"key\" cannot be combined with prefix/contains/suffix/blocks");
  }
  return out;
}

// The file-wide fields: key prefixes, the companions that make a diffusion
// model a checkpoint, the LoRA markers.
void read_detection_settings(Loader& L, const json& doc, Rules& r) {
  L.only(doc, "$", {"schema", "description", "sources", "prefixes", "min_prefix_keys", "companions", "lora_markers", "rules"});
  if (L.str(doc, "$", "schema", true) != "inferconf.detection_rules/1") {
    L.fail("$.schema", "must be \"inferconf.detection_rules/1\"");
  }
  if (!doc.contains("prefixes")) L.fail("$", "missing required field \"prefixes\"");
  r.prefixes = L.strings(doc["prefixes"], "$.prefixes");
  if (doc.contains("min_prefix_keys")) {
    if (!doc["min_prefix_keys"].is_number_unsigned()) L.fail("$.min_prefix_keys", "must be a non-negative integer");
    r.min_prefix_keys = doc["min_prefix_keys"].get<std::size_t>();
  }
  if (doc.contains("companions")) {
    if (!doc["companions"].is_object()) L.fail("$.companions", "must be an object prefix -> description");
    for (const auto& [k, v] : doc["companions"].items()) {
      if (!v.is_string()) L.fail("$.companions." + k, "must be a string");
      r.companions.emplace_back(k, v.get<std::string>());
    }
  }
  if (doc.contains("lora_markers")) {
    const auto& lm = doc["lora_markers"];
    L.only(lm, "$.lora_markers", {"prefixes", "suffixes"});
    if (lm.contains("prefixes")) r.lora_prefixes = L.strings(lm["prefixes"], "$.lora_markers.prefixes");
    if (lm.contains("suffixes")) r.lora_suffixes = L.strings(lm["suffixes"], "$.lora_markers.suffixes");
  }
  if (!doc.contains("rules") || !doc["rules"].is_array()) L.fail("$.rules", "must be an array");
}

// A rule's verdict: one base_model (an id, or null for a known model that is
// none of ours, with its reason) or candidates with a default index.
void read_rule_verdict(Loader& L, Rules& r, const json& e, const std::string& path, bool extends, DetectionRule& d) {
  auto check_candidate = [&](const Candidate& c, const std::string& p) {
    if (!r.is_base(c.base_model)) {
      L.fail(p + ".base_model", fmt::format("\"{}\" is not one of {}", c.base_model, fmt::join(r.base_models, ", ")));
    }
    if (c.variant) {
      const auto& vs = r.variants[c.base_model];
      if (std::find(vs.begin(), vs.end(), *c.variant) == vs.end()) {
        L.fail(p + ".variant", fmt::format("\"{}\" is not a variant of {}", *c.variant, c.base_model));
      }
    }
  };
  if (e.contains("candidates")) {
    if (e.contains("base_model")) L.fail(path, "use either base_model or candidates, not both");
    if (!e["candidates"].is_array() || e["candidates"].empty()) L.fail(path + ".candidates", "must be a non-empty array");
    for (std::size_t c = 0; c < e["candidates"].size(); ++c) {
      const std::string cp = fmt::format("{}.candidates[{}]", path, c);
      L.only(e["candidates"][c], cp, {"base_model", "variant"});
      Candidate cand{L.str(e["candidates"][c], cp, "base_model", true), L.opt_str_or_null(e["candidates"][c], cp, "variant", false)};
      check_candidate(cand, cp);
      d.candidates.push_back(std::move(cand));
    }
    if (!e.contains("default")) L.fail(path, "a rule with candidates needs \"default\" (an index, or null when the keys cannot choose)");
    if (!e["default"].is_null()) {
      if (!e["default"].is_number_unsigned() || e["default"].get<std::size_t>() >= d.candidates.size()) {
        L.fail(path + ".default", fmt::format("must be null or an index below {}", d.candidates.size()));
      }
      d.default_candidate = e["default"].get<std::size_t>();
    }
    if (d.candidates.size() > 1 && d.ambiguity.empty()) L.fail(path, "a rule with several candidates needs \"ambiguity\" (shown in the verdict)");
  } else if (e.contains("base_model")) {
    auto base = L.opt_str_or_null(e, path, "base_model", true);
    if (base) {
      Candidate cand{*base, L.opt_str_or_null(e, path, "variant", false)};
      check_candidate(cand, path);
      d.candidates.push_back(std::move(cand));
      d.default_candidate = 0;
    } else if (d.reason.empty()) {
      L.fail(path, "a rule with base_model null needs a \"reason\"");
    }
  } else if (!extends) {
    L.fail(path, "needs base_model (a base id or null) or candidates");
  }
}

// The index-th entry of "rules" (its id recorded in by_id); `extends`
// receives the id of the rule it extends ("" for none).
DetectionRule read_rule(Loader& L, Rules& r, const json& e, std::size_t index, const std::set<std::string>& name_rule_ids,
                        std::unordered_map<std::string, std::size_t>& by_id, std::string& extends) {
  const std::string path = fmt::format("$.rules[{}]", index);
  L.only(e, path, {"id", "kind", "layout", "base_model", "variant", "candidates", "default", "reason", "ambiguity", "note",
                   "veto_names", "require", "require_any", "forbid", "extends"});
  DetectionRule d;
  d.id = L.str(e, path, "id", true);
  if (!by_id.emplace(d.id, index).second) L.fail(path + ".id", fmt::format("duplicate id \"{}\"", d.id));
  const auto kind = L.str(e, path, "kind", true);
  auto k = parse_kind(kind);
  if (!k) L.fail(path + ".kind", fmt::format("\"{}\" is not one of diffusion_model, lora, vae, text_encoder", kind));
  d.kind = *k;
  d.layout = L.str(e, path, "layout", false);
  d.reason = L.str(e, path, "reason", false);
  d.ambiguity = L.str(e, path, "ambiguity", false);
  d.note = L.str(e, path, "note", false);
  extends = L.str(e, path, "extends", false);
  if (e.contains("veto_names")) {
    d.veto_names = L.strings(e["veto_names"], path + ".veto_names");
    for (const auto& v : d.veto_names) {
      if (!name_rule_ids.count(v)) L.fail(path + ".veto_names", fmt::format("\"{}\" is not the id of a name rule", v));
    }
  }
  read_rule_verdict(L, r, e, path, !extends.empty(), d);
  auto matchers = [&](const char* key, std::vector<Matcher>& dst) {
    if (!e.contains(key)) return;
    if (!e[key].is_array()) L.fail(path + "." + key, "must be an array of matchers");
    for (std::size_t m = 0; m < e[key].size(); ++m) {
      dst.push_back(parse_matcher(L, e[key][m], fmt::format("{}.{}[{}]", path, key, m)));
    }
  };
  matchers("require", d.require);
  matchers("require_any", d.require_any);
  matchers("forbid", d.forbid);
  if (d.require.empty() && d.require_any.empty() && extends.empty()) L.fail(path, "needs \"require\" or \"require_any\"");
  return d;
}

// "extends", one level (the parent must not extend another rule): the parent's
// matchers come first, and what the child does not say it inherits.
void resolve_extends(Loader& L, const json& doc, const std::unordered_map<std::string, std::size_t>& by_id,
                     const std::vector<std::string>& extends, Rules& r) {
  const std::vector<DetectionRule> originals = r.rules;
  for (std::size_t i = 0; i < r.rules.size(); ++i) {
    if (extends[i].empty()) continue;
    const std::string path = fmt::format("$.rules[{}].extends", i);
    auto it = by_id.find(extends[i]);
    if (it == by_id.end()) L.fail(path, fmt::format("\"{}\" is not the id of a rule", extends[i]));
    if (!extends[it->second].empty()) L.fail(path, fmt::format("\"{}\" itself extends a rule (one level only)", extends[i]));
    if (it->second == i) L.fail(path, "a rule cannot extend itself");
    const auto& parent = originals[it->second];
    const auto& e = doc["rules"][i];
    auto& d = r.rules[i];
    std::vector<Matcher> req = parent.require;
    req.insert(req.end(), d.require.begin(), d.require.end());
    d.require = std::move(req);
    std::vector<Matcher> any = parent.require_any;
    any.insert(any.end(), d.require_any.begin(), d.require_any.end());
    d.require_any = std::move(any);
    if (!e.contains("forbid")) d.forbid = parent.forbid;
    if (!e.contains("candidates") && !e.contains("base_model")) {
      d.candidates = parent.candidates;
      d.default_candidate = parent.default_candidate;
      if (d.ambiguity.empty()) d.ambiguity = parent.ambiguity;
      if (d.reason.empty()) d.reason = parent.reason;
    }
    if (!e.contains("veto_names")) d.veto_names = parent.veto_names;
    if (d.layout.empty()) d.layout = parent.layout;
    if (d.kind != parent.kind) L.fail(path, "must extend a rule of the same kind");
  }
}

void load_detection(Rules& r, const std::filesystem::path& file) {
  Loader L(file);
  const json doc = L.read();
  read_detection_settings(L, doc, r);
  std::set<std::string> name_rule_ids;
  for (const auto& nr : r.name_rules) name_rule_ids.insert(nr.id);
  std::unordered_map<std::string, std::size_t> by_id;
  std::vector<std::string> extends(doc["rules"].size());
  for (std::size_t i = 0; i < doc["rules"].size(); ++i) {
    r.rules.push_back(read_rule(L, r, doc["rules"][i], i, name_rule_ids, by_id, extends[i]));
  }
  resolve_extends(L, doc, by_id, extends, r);
  // Exact-key matchers first: they are O(1) and reject most rules at once.
  for (auto& d : r.rules) {
    std::stable_partition(d.require.begin(), d.require.end(), [](const Matcher& m) { return m.key.has_value(); });
  }
}

}  // namespace

bool PatternSet::matches(const std::vector<std::string>& tokens) const {
  auto has = [&](const std::vector<std::string>& pat) {
    if (pat.size() > tokens.size()) return false;
    for (std::size_t i = 0; i + pat.size() <= tokens.size(); ++i) {
      bool ok = true;
      for (std::size_t k = 0; k < pat.size(); ++k) {
        if (tokens[i + k] != pat[k]) {
          ok = false;
          break;
        }
      }
      if (ok) return true;
    }
    return false;
  };
  for (const auto& p : all) {
    if (!has(p)) return false;
  }
  if (any.empty()) return true;
  return std::any_of(any.begin(), any.end(), has);
}

bool Rules::is_base(std::string_view b) const {
  return std::find(base_models.begin(), base_models.end(), b) != base_models.end();
}

bool Rules::refines(const std::string& child, const std::string& parent) const {
  if (child == parent) return true;
  auto it = refinements.find(child);
  return it != refinements.end() && it->second == parent;
}

std::string join_tokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

std::shared_ptr<const Rules> load_rules(const std::filesystem::path& catalog_dir) {
  auto r = std::make_shared<Rules>();
  r->labels_file = catalog_dir / "base_model_labels.json";
  r->rules_file = catalog_dir / "detection_rules.json";
  load_labels(*r, r->labels_file);
  load_detection(*r, r->rules_file);
  r->classify_tables = make_classify_tables(*r);
  return r;
}

}  // namespace inferconf::detect
