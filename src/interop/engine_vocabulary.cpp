// Loading catalog/engine_vocabulary.json: every problem is collected with its
// JSON path so one run of `inferconf catalog` shows them all.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "catalog/checks.hpp"
#include "inferconf/interop.hpp"
#include "model/field_reader.hpp"

namespace inferconf {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

class Reader {
 public:
  Reader(std::string_view origin, std::vector<FieldError>& errors) : origin_(origin), errors_(errors) {}

  void error(const std::string& path, std::string message) {
    errors_.push_back({fmt::format("{}:{}", origin_, path), std::move(message)});
  }
  // An optional string field; records an error when present with another type.
  std::string string(const nlohmann::json& obj, const std::string& path, std::string_view key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_string()) {
      error(path + "." + std::string(key), fmt::format("is {}, but must be a string.", detail::describe_value(*it)));
      return {};
    }
    return it->get<std::string>();
  }
  std::optional<std::string> nullable_string(const nlohmann::json& obj, const std::string& path, std::string_view key) {
    auto it = obj.find(key);
    if (it == obj.end()) {
      error(path + "." + std::string(key), "is missing; give the engine's name, or null when it has none.");
      return std::nullopt;
    }
    if (it->is_null()) return std::nullopt;
    if (!it->is_string() || it->get<std::string>().empty()) {
      error(path + "." + std::string(key),
            fmt::format("is {}, but must be a non-empty string or null.", detail::describe_value(*it)));
      return std::nullopt;
    }
    return it->get<std::string>();
  }
  void reject_unknown(const nlohmann::json& obj, const std::string& path, const std::set<std::string>& allowed) {
    for (const auto& [k, v] : obj.items())
      if (!allowed.count(k))
        error(path + "." + k, fmt::format("is not a known field; allowed: {}.",
                                          detail::join({allowed.begin(), allowed.end()})));
  }

 private:
  std::string origin_;
  std::vector<FieldError>& errors_;
};

std::optional<DiffusersScheduler> read_diffusers(Reader& r, const nlohmann::json& obj, const std::string& path,
                                                 std::string_view key, const std::set<std::string>& schedulers,
                                                 bool flow) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  const std::string p = path + "." + std::string(key);
  if (!it->is_object()) {
    r.error(p, fmt::format("is {}, but must be an object with class, config and schedules, or null.",
                           detail::describe_value(*it)));
    return std::nullopt;
  }
  r.reject_unknown(*it, p, {"class", "config", "schedules", "shift_key"});
  DiffusersScheduler d;
  d.class_name = r.string(*it, p, "class");
  if (d.class_name.empty()) r.error(p + ".class", "is missing; give the diffusers scheduler class.");
  if (auto c = it->find("config"); c != it->end()) {
    if (c->is_object())
      d.config = *c;
    else
      r.error(p + ".config", fmt::format("is {}, but must be an object of config keys.", detail::describe_value(*c)));
  }
  auto s = it->find("schedules");
  if (s == it->end() || !s->is_array() || s->empty()) {
    r.error(p + ".schedules", "must be a non-empty array of the canonical schedulers this class can express.");
  } else {
    for (std::size_t i = 0; i < s->size(); ++i) {
      const auto& v = (*s)[i];
      if (!v.is_string() || !schedulers.count(v.get<std::string>()))
        r.error(fmt::format("{}.schedules[{}]", p, i),
                fmt::format("is {}, which is not a canonical scheduler; allowed: {}.", detail::describe_value(v),
                            detail::join({schedulers.begin(), schedulers.end()})));
      else
        d.schedules.push_back(v.get<std::string>());
    }
  }
  d.shift_key = r.string(*it, p, "shift_key");
  if (flow && d.shift_key.empty()) r.error(p + ".shift_key", "is missing; a flow scheduler names the config key of its shift.");
  return d;
}

std::optional<nlohmann::json> read_config(Reader& r, const nlohmann::json& obj, const std::string& path,
                                          std::string_view key) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    r.error(path + "." + std::string(key), "is missing; give the config keys (an object), or null when there is none.");
    return std::nullopt;
  }
  if (it->is_null()) return std::nullopt;
  if (!it->is_object()) {
    r.error(path + "." + std::string(key), fmt::format("is {}, but must be an object or null.", detail::describe_value(*it)));
    return std::nullopt;
  }
  return *it;
}

// Follows substitutes until `has` holds; empty when the chain ends or loops.
template <class Map, class Has>
std::string settle(const Map& map, std::string name, Has has) {
  for (int hops = 0; hops < 16; ++hops) {
    auto it = map.find(name);
    if (it == map.end()) return {};
    if (has(it->second)) return name;
    if (it->second.substitute.empty()) return {};
    name = it->second.substitute;
  }
  return {};
}

}  // namespace

std::filesystem::path EngineVocabulary::file_in(const std::filesystem::path& catalog_dir) {
  return catalog_dir / "engine_vocabulary.json";
}

EngineVocabulary EngineVocabulary::load(const std::filesystem::path& file, const Catalog& catalog) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw unavailable(fmt::format("Cannot read the engine vocabulary {}: the file does not exist or is not readable.",
                                  file.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return from_json(parse_json_text(buffer.str(), file.string()), catalog, file.string());
}

EngineVocabulary EngineVocabulary::from_json(const nlohmann::json& j, const Catalog& catalog, std::string_view origin) {
  std::vector<FieldError> errors;
  Reader r(origin, errors);
  EngineVocabulary v;
  if (!j.is_object())
    throw invalid(fmt::format("The engine vocabulary {} must be a JSON object.", origin),
                  {{std::string(origin), "must be a JSON object with samplers, schedulers and architectures."}});
  r.reject_unknown(j, "$", {"schema_version", "description", "samplers", "flow_substitute", "schedulers", "a1111_only",
                            "architectures"});
  if (j.value("schema_version", nlohmann::json()) != 1)
    r.error("schema_version", "must be 1, the version this inferconf reads.");

  const auto& vocab = catalog.vocabulary();
  const std::set<std::string> canonical_samplers(vocab.samplers().begin(), vocab.samplers().end());
  const std::set<std::string> canonical_schedulers(vocab.schedulers().begin(), vocab.schedulers().end());

  // Samplers.
  const auto samplers = j.value("samplers", nlohmann::json::object());
  if (!samplers.is_object()) r.error("samplers", "must be an object keyed by canonical sampler name.");
  for (const auto& [name, e] : samplers.items()) {
    const std::string path = "samplers." + name;
    if (!canonical_samplers.count(name)) {
      r.error(path, fmt::format("\"{}\" is not a canonical sampler of catalog/vocabulary.json.", name));
      continue;
    }
    if (!e.is_object()) {
      r.error(path, fmt::format("is {}, but must be an object.", detail::describe_value(e)));
      continue;
    }
    r.reject_unknown(e, path, {"a1111", "diffusers", "diffusers_flow", "engine_only", "substitute", "note"});
    EngineSampler s;
    s.name = name;
    s.a1111 = r.nullable_string(e, path, "a1111");
    s.diffusers = read_diffusers(r, e, path, "diffusers", canonical_schedulers, false);
    s.diffusers_flow = read_diffusers(r, e, path, "diffusers_flow", canonical_schedulers, true);
    s.engine_only = r.string(e, path, "engine_only");
    s.substitute = r.string(e, path, "substitute");
    s.note = r.string(e, path, "note");
    if (!s.engine_only.empty() && s.engine_only != "comfyui")
      r.error(path + ".engine_only", fmt::format("is \"{}\", but only \"comfyui\" is allowed.", s.engine_only));
    if (s.a1111) {
      // The exported name must read back as this sampler, or a round trip breaks.
      const auto back = vocab.canonical_sampler(*s.a1111);
      if (back != name)
        r.error(path + ".a1111", fmt::format("is \"{}\", which the catalogue's vocabulary reads as {}, not {}; add the "
                                             "alias to catalog/vocabulary.json or fix the name.",
                                             *s.a1111, back ? "\"" + *back + "\"" : "no sampler", name));
    }
    if (!s.substitute.empty() && !canonical_samplers.count(s.substitute))
      r.error(path + ".substitute", fmt::format("is \"{}\", which is not a canonical sampler.", s.substitute));
    if ((!s.a1111 || !s.diffusers) && s.substitute.empty())
      r.error(path + ".substitute", "is missing; a sampler some engine lacks needs its documented nearest substitute.");
    v.samplers_.emplace(name, std::move(s));
  }
  for (const auto& name : vocab.samplers())
    if (!v.samplers_.count(name))
      r.error("samplers." + name, "is missing: every canonical sampler needs its translation (null where an engine lacks it).");
  v.flow_substitute_ = r.string(j, "$", "flow_substitute");
  if (auto it = v.samplers_.find(v.flow_substitute_); it == v.samplers_.end() || !it->second.diffusers_flow)
    r.error("flow_substitute", fmt::format("is \"{}\", but must name a sampler with a diffusers_flow class.", v.flow_substitute_));

  // Schedulers.
  const auto schedulers = j.value("schedulers", nlohmann::json::object());
  for (const auto& [name, e] : schedulers.items()) {
    const std::string path = "schedulers." + name;
    if (!canonical_schedulers.count(name)) {
      r.error(path, fmt::format("\"{}\" is not a canonical scheduler of catalog/vocabulary.json.", name));
      continue;
    }
    if (!e.is_object()) {
      r.error(path, fmt::format("is {}, but must be an object.", detail::describe_value(e)));
      continue;
    }
    r.reject_unknown(e, path, {"a1111", "diffusers", "diffusers_flow", "engine_only", "substitute", "note"});
    EngineScheduler s;
    s.name = name;
    s.a1111 = r.nullable_string(e, path, "a1111");
    s.diffusers = read_config(r, e, path, "diffusers");
    s.diffusers_flow = read_config(r, e, path, "diffusers_flow");
    s.engine_only = r.string(e, path, "engine_only");
    s.substitute = r.string(e, path, "substitute");
    s.note = r.string(e, path, "note");
    if (s.a1111) {
      const auto back = vocab.canonical_scheduler(*s.a1111);
      if (back != name)
        r.error(path + ".a1111", fmt::format("is \"{}\", which the catalogue's vocabulary reads as {}, not {}.", *s.a1111,
                                             back ? "\"" + *back + "\"" : "no scheduler", name));
    }
    if (!s.substitute.empty() && !canonical_schedulers.count(s.substitute))
      r.error(path + ".substitute", fmt::format("is \"{}\", which is not a canonical scheduler.", s.substitute));
    if ((!s.a1111 || !s.diffusers) && s.substitute.empty())
      r.error(path + ".substitute", "is missing; a scheduler some engine lacks needs its documented nearest substitute.");
    v.schedulers_.emplace(name, std::move(s));
  }
  for (const auto& name : vocab.schedulers())
    if (!v.schedulers_.count(name)) r.error("schedulers." + name, "is missing: every canonical scheduler needs its translation.");

  // Every substitute chain must end in a name the engine has.
  for (const auto& [name, s] : v.samplers_) {
    if (settle(v.samplers_, name, [](const EngineSampler& x) { return x.a1111.has_value(); }).empty())
      r.error("samplers." + name + ".substitute", "leads to no sampler A1111 has (or loops).");
    if (settle(v.samplers_, name, [](const EngineSampler& x) { return x.diffusers.has_value(); }).empty())
      r.error("samplers." + name + ".substitute", "leads to no sampler diffusers has (or loops).");
  }
  for (const auto& [name, s] : v.schedulers_) {
    if (settle(v.schedulers_, name, [](const EngineScheduler& x) { return x.a1111.has_value(); }).empty())
      r.error("schedulers." + name + ".substitute", "leads to no schedule type A1111 has (or loops).");
    if (settle(v.schedulers_, name, [](const EngineScheduler& x) { return x.diffusers.has_value(); }).empty())
      r.error("schedulers." + name + ".substitute", "leads to no diffusers schedule (or loops).");
  }

  // A1111-only labels.
  const auto only = j.value("a1111_only", nlohmann::json::object());
  r.reject_unknown(only, "a1111_only", {"samplers", "schedulers"});
  auto read_foreign = [&](std::string_view key, const std::set<std::string>& targets, auto& out, bool sampler) {
    const auto section = only.value(std::string(key), nlohmann::json::object());
    for (const auto& [label, e] : section.items()) {
      const std::string path = fmt::format("a1111_only.{}.{}", key, label);
      if (!e.is_object()) {
        r.error(path, "must be an object with substitute and note.");
        continue;
      }
      r.reject_unknown(e, path, {"substitute", "note"});
      ForeignName f{r.string(e, path, "substitute"), r.string(e, path, "note")};
      if (!targets.count(f.substitute))
        r.error(path + ".substitute", fmt::format("is \"{}\", which is not a canonical name.", f.substitute));
      const bool known = sampler ? vocab.canonical_sampler(label).has_value() : vocab.canonical_scheduler(label).has_value();
      if (known) r.error(path, fmt::format("\"{}\" is already a name of the vocabulary, so it is not A1111-only.", label));
      out.emplace(lower(label), std::move(f));
    }
  };
  read_foreign("samplers", canonical_samplers, v.a1111_samplers_, true);
  read_foreign("schedulers", canonical_schedulers, v.a1111_schedulers_, false);

  // Architectures.
  static const std::set<std::string> graphs = {"checkpoint", "flux", "wan", "wan_two_experts", "wan_5b", "hidream",
                                               "unsupported"};
  const auto archs = j.value("architectures", nlohmann::json::object());
  for (const auto& [key, e] : archs.items()) {
    const std::string path = "architectures." + key;
    const auto slash = key.find('/');
    const auto* base = catalog.find(key.substr(0, slash));
    if (!base || (slash != std::string::npos && !base->find_variant(key.substr(slash + 1)))) {
      r.error(path, fmt::format("\"{}\" is not a base model (or base/variant) of the catalogue.", key));
      continue;
    }
    if (!e.is_object()) {
      r.error(path, "must be an object with comfyui, a1111 and diffusers.");
      continue;
    }
    r.reject_unknown(e, path, {"comfyui", "a1111", "diffusers"});
    EngineArchitecture a;
    a.key = key;
    const auto comfy = e.value("comfyui", nlohmann::json::object());
    r.reject_unknown(comfy, path + ".comfyui", {"graph", "files", "reason"});
    a.comfyui_graph = r.string(comfy, path + ".comfyui", "graph");
    a.comfyui_reason = r.string(comfy, path + ".comfyui", "reason");
    if (!graphs.count(a.comfyui_graph))
      r.error(path + ".comfyui.graph", fmt::format("is \"{}\"; allowed: {}.", a.comfyui_graph,
                                                   detail::join({graphs.begin(), graphs.end()})));
    if (a.comfyui_graph == "unsupported" && a.comfyui_reason.empty())
      r.error(path + ".comfyui.reason", "is missing; say why ComfyUI export is refused and what to do instead.");
    const auto files = comfy.value("files", nlohmann::json::object());
    for (const auto& [role, file] : files.items()) {
      if (!file.is_string() || file.get<std::string>().empty())
        r.error(path + ".comfyui.files." + role, "must be a file name.");
      else
        a.comfyui_files[role] = file.get<std::string>();
    }
    const auto a1111 = e.value("a1111", nlohmann::json::object());
    r.reject_unknown(a1111, path + ".a1111", {"supported", "distilled_cfg", "reason"});
    a.a1111_supported = a1111.value("supported", false);
    a.a1111_distilled_cfg = a1111.value("distilled_cfg", false);
    a.a1111_reason = r.string(a1111, path + ".a1111", "reason");
    if (!a.a1111_supported && a.a1111_reason.empty())
      r.error(path + ".a1111.reason", "is missing; say why A1111 export is refused and what to do instead.");
    a.diffusers = e.value("diffusers", nlohmann::json::object());
    if (!a.diffusers.is_object() || !a.diffusers.value("pipeline", nlohmann::json()).is_string() ||
        !a.diffusers.value("repo", nlohmann::json()).is_string())
      r.error(path + ".diffusers", "must be an object with pipeline and repo strings.");
    else if (const auto p = a.diffusers.value("prediction", std::string()); p != "epsilon" && p != "flow")
      r.error(path + ".diffusers.prediction", fmt::format("is \"{}\"; allowed: epsilon, flow.", p));
    v.architectures_.emplace(key, std::move(a));
  }
  for (const auto& b : catalog.base_models())
    if (!v.architectures_.count(b.id))
      r.error("architectures." + b.id, "is missing: every catalogue base model needs its engine files and pipeline.");

  if (!errors.empty())
    throw invalid(fmt::format("The engine vocabulary {} has {} problem{}; fix them and retry.", origin, errors.size(),
                              errors.size() == 1 ? "" : "s"),
                  std::move(errors));
  return v;
}

const EngineSampler* EngineVocabulary::sampler(std::string_view canonical) const {
  auto it = samplers_.find(canonical);
  return it == samplers_.end() ? nullptr : &it->second;
}

const EngineScheduler* EngineVocabulary::scheduler(std::string_view canonical) const {
  auto it = schedulers_.find(canonical);
  return it == schedulers_.end() ? nullptr : &it->second;
}

const EngineArchitecture* EngineVocabulary::architecture(std::string_view base_model, std::string_view variant) const {
  if (!variant.empty())
    if (auto it = architectures_.find(fmt::format("{}/{}", base_model, variant)); it != architectures_.end())
      return &it->second;
  auto it = architectures_.find(base_model);
  return it == architectures_.end() ? nullptr : &it->second;
}

const ForeignName* EngineVocabulary::a1111_only_sampler(std::string_view label) const {
  auto it = a1111_samplers_.find(lower(label));
  return it == a1111_samplers_.end() ? nullptr : &it->second;
}

const ForeignName* EngineVocabulary::a1111_only_scheduler(std::string_view label) const {
  auto it = a1111_schedulers_.find(lower(label));
  return it == a1111_schedulers_.end() ? nullptr : &it->second;
}

}  // namespace inferconf
