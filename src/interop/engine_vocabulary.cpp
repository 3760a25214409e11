// Loading catalog/engine_vocabulary.json: every problem is collected with its
// JSON path so one run of `inferconf catalog` shows them all.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/field_reader.hpp"
#include "common/text.hpp"
#include "inferconf/interop/engine_vocabulary.hpp"

namespace inferconf {

namespace {

using detail::lower;

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

// A list of distinct non-empty strings; errors name each bad item.
std::vector<std::string> read_names(Reader& r, const nlohmann::json& obj, const std::string& path, std::string_view key,
                                    bool required) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  const std::string p = path + "." + std::string(key);
  if (it == obj.end()) {
    if (required) r.error(p, "is missing; give an array of names ([] when there is none).");
    return out;
  }
  if (!it->is_array()) {
    r.error(p, fmt::format("is {}, but must be an array of names.", detail::describe_value(*it)));
    return out;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_string() || v.get<std::string>().empty())
      r.error(fmt::format("{}[{}]", p, i), fmt::format("is {}, but must be a non-empty name.", detail::describe_value(v)));
    else if (std::find(out.begin(), out.end(), v.get<std::string>()) != out.end())
      r.error(fmt::format("{}[{}]", p, i), fmt::format("is \"{}\" again; list each name once.", v.get<std::string>()));
    else
      out.push_back(v.get<std::string>());
  }
  return out;
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

DiffusersLibrary read_library(Reader& r, const nlohmann::json& j) {
  DiffusersLibrary lib;
  const std::string root = "diffusers_library";
  auto it = j.find(root);
  if (it == j.end() || !it->is_object()) {
    r.error(root, "is missing or not an object; it lists the diffusers classes, mixins and parameters the diffusers "
                  "export relies on.");
    return lib;
  }
  const auto& d = *it;
  r.reject_unknown(d, root, {"description", "checked_against", "mixins", "pipelines", "models", "schedulers",
                             "transformers"});
  const auto checked = d.value("checked_against", nlohmann::json());
  if (!checked.is_object() || !checked.value("repository", nlohmann::json()).is_string() ||
      !checked.value("version", nlohmann::json()).is_string() || !checked.value("files", nlohmann::json()).is_array() ||
      checked["files"].empty())
    r.error(root + ".checked_against", "must be an object with repository, version and the files (path, commit) the "
                                       "facts were read from.");
  else
    lib.checked_against = checked;

  const auto mixins = d.value("mixins", nlohmann::json::object());
  for (const auto& [name, methods] : mixins.items()) {
    const std::string path = root + ".mixins." + name;
    if (!methods.is_object()) {
      r.error(path, "must be an object of the loading methods it provides and their keyword arguments.");
      continue;
    }
    auto& out = lib.mixins[name];
    for (const auto& [method, args] : methods.items()) out[method] = as_set(read_names(r, methods, path, method, true));
  }
  auto read_bases = [&](DiffusersClass& c, const nlohmann::json& e, const std::string& path) {
    c.bases = read_names(r, e, path, "bases", true);
    for (std::size_t i = 0; i < c.bases.size(); ++i)
      if (!lib.mixins.count(c.bases[i]))
        r.error(fmt::format("{}.bases[{}]", path, i),
                fmt::format("is \"{}\", which {}.mixins does not list; add it there with the methods it provides.",
                            c.bases[i], root));
  };
  auto section = [&](std::string_view key, std::string_view kind, const std::set<std::string>& fields, auto&& read) {
    const auto sec = d.value(std::string(key), nlohmann::json::object());
    for (const auto& [name, e] : sec.items()) {
      const std::string path = fmt::format("{}.{}.{}", root, key, name);
      if (!e.is_object()) {
        r.error(path, "must be an object.");
        continue;
      }
      r.reject_unknown(e, path, fields);
      DiffusersClass c;
      c.name = name;
      c.kind = std::string(kind);
      c.source = r.string(e, path, "source");
      read(c, e, path);
      if (lib.classes.count(name))
        r.error(path, fmt::format("\"{}\" is listed in two sections; a class has one kind.", name));
      else
        lib.classes.emplace(name, std::move(c));
    }
  };
  section("pipelines", "pipeline", {"bases", "components", "init", "call", "source"},
          [&](DiffusersClass& c, const nlohmann::json& e, const std::string& path) {
            read_bases(c, e, path);
            c.components = as_set(read_names(r, e, path, "components", true));
            c.init = as_set(read_names(r, e, path, "init", true));
            c.call = as_set(read_names(r, e, path, "call", true));
          });
  section("models", "model", {"bases", "single_file_loadable", "default_subfolder", "source"},
          [&](DiffusersClass& c, const nlohmann::json& e, const std::string& path) {
            read_bases(c, e, path);
            c.single_file_loadable = e.value("single_file_loadable", false);
            c.default_subfolder = r.string(e, path, "default_subfolder");
          });
  section("schedulers", "scheduler", {"bases", "config", "source"},
          [&](DiffusersClass& c, const nlohmann::json& e, const std::string& path) {
            read_bases(c, e, path);
            c.config = as_set(read_names(r, e, path, "config", true));
          });
  section("transformers", "transformers", {"methods", "source"},
          [&](DiffusersClass& c, const nlohmann::json& e, const std::string& path) {
            const auto methods = e.value("methods", nlohmann::json::object());
            for (const auto& [method, args] : methods.items())
              c.methods[method] = as_set(read_names(r, methods, path + ".methods", method, true));
          });
  return lib;
}

// The diffusers section of an architecture, against the library and the
// catalogue's experts: every class, component and argument it names exists.
void check_diffusers_architecture(Reader& r, const std::string& path, const nlohmann::json& d,
                                  const DiffusersLibrary& lib, const std::vector<std::string>& experts) {
  const auto pipeline_name = d.value("pipeline", std::string());
  const auto* pipeline = lib.find(pipeline_name);
  if (!pipeline || pipeline->kind != "pipeline") {
    r.error(path + ".pipeline", fmt::format("is \"{}\", which diffusers_library.pipelines does not list.", pipeline_name));
    return;
  }
  r.reject_unknown(d, path, {"pipeline", "repo", "prediction", "components", "files", "needs_image", "note"});
  const auto components = d.value("components", nlohmann::json::object());
  for (const auto& [name, c] : components.items()) {
    const std::string p = path + ".components." + name;
    if (!pipeline->components.count(name))
      r.error(p, fmt::format("\"{}\" is not a component of {}; its components: {}.", name, pipeline_name,
                             detail::join({pipeline->components.begin(), pipeline->components.end()})));
    const auto cls = c.value("class", std::string());
    const auto* k = lib.find(cls);
    const auto args = k ? lib.method(cls, "from_pretrained") : std::nullopt;
    if (!k || k->kind != "transformers" || !args) {
      r.error(p + ".class", fmt::format("is \"{}\", which diffusers_library.transformers does not list with "
                                        "from_pretrained.", cls));
      continue;
    }
    if (!c.value("repo", nlohmann::json()).is_string()) r.error(p + ".repo", "must name the repository to load it from.");
    const auto kwargs = c.value("kwargs", nlohmann::json::object());
    for (const auto& [kw, v] : kwargs.items())
      if (!args->count(kw))
        r.error(p + ".kwargs." + kw, fmt::format("is not a from_pretrained argument of {} that diffusers_library lists.", cls));
  }
  const auto files = d.value("files", nlohmann::json::object());
  if (!files.is_object()) {
    r.error(path + ".files", "must be an object of component -> {class, expert}.");
    return;
  }
  if (files.empty()) {
    if (!lib.method(pipeline_name, "from_single_file"))
      r.error(path + ".files",
              fmt::format("is missing, but {} cannot load a single file (none of its bases provides "
                          "from_single_file); name the component a checkpoint file holds.", pipeline_name));
    if (!experts.empty())
      r.error(path + ".files", fmt::format("is missing, but the catalogue gives this model experts ({}); name the "
                                           "component each expert's file is loaded into.", detail::join(experts)));
    return;
  }
  std::set<std::string> seen_experts;
  for (const auto& [name, f] : files.items()) {
    const std::string p = path + ".files." + name;
    if (!f.is_object()) {
      r.error(p, "must be an object with class (and expert for a multi-expert model).");
      continue;
    }
    r.reject_unknown(f, p, {"class", "expert", "subfolder"});
    if (!pipeline->components.count(name))
      r.error(p, fmt::format("\"{}\" is not a component of {}; its components: {}.", name, pipeline_name,
                             detail::join({pipeline->components.begin(), pipeline->components.end()})));
    const auto cls = f.value("class", std::string());
    const auto args = lib.method(cls, "from_single_file");
    const auto* k = lib.find(cls);
    if (!k || k->kind != "model" || !args)
      r.error(p + ".class", fmt::format("is \"{}\", which diffusers_library.models does not list as loading a single "
                                        "file (a from_single_file mixin and single_file_loadable).", cls));
    else
      for (const char* kw : {"config", "subfolder", "torch_dtype"})
        if (!args->count(kw))
          r.error(p + ".class", fmt::format("{}.from_single_file does not take {} per diffusers_library.mixins.", cls, kw));
    const auto expert = f.value("expert", std::string());
    if (experts.empty() && !expert.empty())
      r.error(p + ".expert", fmt::format("is \"{}\", but the catalogue gives this model no experts.", expert));
    if (!experts.empty()) {
      if (std::find(experts.begin(), experts.end(), expert) == experts.end())
        r.error(p + ".expert", fmt::format("is \"{}\"; the catalogue's experts of this model: {}.", expert,
                                           detail::join(experts)));
      else if (!seen_experts.insert(expert).second)
        r.error(p + ".expert", fmt::format("is \"{}\" again; each expert loads into one component.", expert));
    }
  }
  if (experts.empty() && files.size() != 1)
    r.error(path + ".files", "names several components, but the model is one file; list the one it is loaded into.");
  for (const auto& e : experts)
    if (!seen_experts.count(e))
      r.error(path + ".files", fmt::format("names no component for the catalogue's expert \"{}\".", e));
  if (!experts.empty() && !pipeline->init.count("boundary_ratio"))
    r.error(path + ".pipeline", fmt::format("is {}, whose __init__ has no boundary_ratio to hand over between experts.",
                                            pipeline_name));
}

}  // namespace

const DiffusersClass* DiffusersLibrary::find(std::string_view name) const {
  auto it = classes.find(name);
  return it == classes.end() ? nullptr : &it->second;
}

std::optional<std::set<std::string>> DiffusersLibrary::method(std::string_view name, std::string_view method) const {
  const auto* c = find(name);
  if (!c) return std::nullopt;
  if (c->kind == "transformers") {
    auto it = c->methods.find(std::string(method));
    if (it == c->methods.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::set<std::string>> args;
  for (const auto& base : c->bases) {
    auto m = mixins.find(base);
    if (m == mixins.end()) continue;
    if (auto it = m->second.find(std::string(method)); it != m->second.end()) {
      if (!args) args.emplace();
      args->insert(it->second.begin(), it->second.end());
    }
  }
  if (!args) return std::nullopt;
  // FromOriginalModelMixin refuses a class missing from the single-file mapping.
  if (c->kind == "model" && method == "from_single_file" && !c->single_file_loadable) return std::nullopt;
  // DiffusionPipeline hands keyword arguments named after components or
  // __init__ parameters to __init__.
  if (c->kind == "pipeline" && (method == "from_pretrained" || method == "from_single_file")) {
    args->insert(c->components.begin(), c->components.end());
    args->insert(c->init.begin(), c->init.end());
  }
  return args;
}

namespace {
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
                            "diffusers_library", "architectures"});
  if (j.value("schema_version", nlohmann::json()) != 1)
    r.error("schema_version", "must be 1, the version this inferconf reads.");

  v.diffusers_library_ = read_library(r, j);
  const auto& lib = v.diffusers_library_;

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

  // Every scheduler class and config key the translations use is one diffusers has.
  for (const auto& [name, s] : v.samplers_)
    for (const auto* d : {s.diffusers ? &*s.diffusers : nullptr, s.diffusers_flow ? &*s.diffusers_flow : nullptr}) {
      if (!d) continue;
      const bool flow = d == (s.diffusers_flow ? &*s.diffusers_flow : nullptr);
      const std::string path = fmt::format("samplers.{}.{}", name, flow ? "diffusers_flow" : "diffusers");
      const auto* cls = lib.find(d->class_name);
      if (!cls || cls->kind != "scheduler") {
        r.error(path + ".class", fmt::format("is \"{}\", which diffusers_library.schedulers does not list.", d->class_name));
        continue;
      }
      auto check_key = [&](const std::string& key, const std::string& where) {
        if (!cls->config.count(key))
          r.error(where, fmt::format("uses the config key {}, which diffusers_library.schedulers.{}.config does not list.",
                                     key, d->class_name));
      };
      for (const auto& [key, value] : d->config.items()) check_key(key, path + ".config");
      if (!d->shift_key.empty()) check_key(d->shift_key, path + ".shift_key");
      for (const auto& schedule : d->schedules)
        if (auto it = v.schedulers_.find(schedule); it != v.schedulers_.end()) {
          const auto& config = flow ? it->second.diffusers_flow : it->second.diffusers;
          if (config)
            for (const auto& [key, value] : config->items()) check_key(key, path + ".schedules (" + schedule + ")");
        }
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
    const auto supported = a.diffusers.is_object() ? a.diffusers.find("supported") : a.diffusers.end();
    if (supported != a.diffusers.end() && !supported->is_boolean()) {
      r.error(path + ".diffusers.supported", fmt::format("is {}, but must be true or false.",
                                                         detail::describe_value(*supported)));
    } else if (supported != a.diffusers.end() && !supported->get<bool>()) {
      // A refusal names no pipeline, so there is nothing to check against the library.
      r.reject_unknown(a.diffusers, path + ".diffusers", {"supported", "reason"});
      a.diffusers_supported = false;
      a.diffusers_reason = r.string(a.diffusers, path + ".diffusers", "reason");
      if (a.diffusers_reason.empty())
        r.error(path + ".diffusers.reason", "is missing; say why diffusers export is refused and what to do instead.");
    } else if (!a.diffusers.is_object() || !a.diffusers.value("pipeline", nlohmann::json()).is_string() ||
        !a.diffusers.value("repo", nlohmann::json()).is_string()) {
      r.error(path + ".diffusers", "must be an object with pipeline and repo strings.");
    } else {
      if (const auto p = a.diffusers.value("prediction", std::string()); p != "epsilon" && p != "flow")
        r.error(path + ".diffusers.prediction", fmt::format("is \"{}\"; allowed: epsilon, flow.", p));
      check_diffusers_architecture(r, path + ".diffusers", a.diffusers, lib,
                                   base->experts_for(slash == std::string::npos ? "" : key.substr(slash + 1)));
    }
    v.architectures_.emplace(key, std::move(a));
  }
  for (const auto& b : catalog.base_models())
    if (!v.architectures_.count(b.id))
      r.error("architectures." + b.id, "is missing: every catalogue base model needs its engine files and pipeline.");

  if (!errors.empty()) {
    // The message is built before the errors move into the exception: the
    // order in which call arguments are evaluated is unspecified.
    auto message = fmt::format("The engine vocabulary {} has {} problem{}; fix them and retry.", origin, errors.size(),
                               errors.size() == 1 ? "" : "s");
    throw invalid(std::move(message), std::move(errors));
  }
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
