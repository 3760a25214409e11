// Catalog::from_json: base_models.json and vocabulary.json into a Catalog,
// checking everything a user document would be checked against plus the
// catalogue's own rules (ids unique, a preset per type, presets within their
// base's constraints, canonical sampler names).
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "catalog/catalog_io.hpp"
#include "catalog/checks.hpp"
#include "inferconf/catalog.hpp"
#include "common/field_reader.hpp"

namespace inferconf {

namespace {

using detail::FieldReader;
using Errors = std::vector<FieldError>;
constexpr std::size_t kLongText = 4000;

std::string at(const std::string& path, std::string_view key) { return fmt::format("{}.{}", path, key); }
std::string at(const std::string& path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

// Ids are identifiers in URLs, file names and SQL values alike: [a-z][a-z0-9_]*.
bool is_id(const std::string& s) {
  return !s.empty() && s[0] >= 'a' && s[0] <= 'z' && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::optional<std::string> read_id(FieldReader& r, std::string_view what) {
  auto id = r.string("id", true);
  if (id && !is_id(*id)) {
    r.error("id", fmt::format("is \"{}\", but {} ids use lower-case letters, digits and _ and start with a letter.",
                              *id, what));
    return std::nullopt;
  }
  return id;
}

// A sampler / scheduler name in a preset: it must be canonical, since presets
// are copied into stored documents verbatim.
void check_name(FieldReader& r, std::string_view key, const std::string& name, std::string_view kind,
                const std::optional<std::string>& canonical, const std::vector<std::string>& allowed) {
  if (!canonical)
    r.error(key, fmt::format("is \"{}\", which is not a known {}; allowed: {}.", name, kind, detail::join(allowed)));
  else if (*canonical != name)
    r.error(key, fmt::format("is the alias \"{}\"; presets must use the canonical name {}.", name, *canonical));
}

// "experts": the ids of the denoising experts in the order they run. One
// expert is no split, so the list is empty (a single model) or has two or more.
std::optional<std::vector<std::string>> read_experts(FieldReader& r, const nlohmann::json& j) {
  if (!r.has("experts")) return std::nullopt;
  const auto& e = j["experts"];
  std::vector<std::string> out;
  if (!e.is_array()) {
    r.error("experts", fmt::format("must be an array of expert ids (e.g. [\"high_noise\", \"low_noise\"]), but it is {}.",
                                   detail::json_type_name(e)));
    return std::nullopt;
  }
  for (std::size_t i = 0; i < e.size(); ++i) {
    const auto key = fmt::format("experts[{}]", i);
    if (!e[i].is_string() || !is_id(e[i].get<std::string>())) {
      r.error(key, fmt::format("is {}, but an expert id is a string of lower-case letters, digits and _ starting with "
                               "a letter.", e[i].dump()));
      return std::nullopt;
    }
    const auto id = e[i].get<std::string>();
    if (std::find(out.begin(), out.end(), id) != out.end()) {
      r.error(key, fmt::format("is \"{}\" again; each expert is listed once.", id));
      return std::nullopt;
    }
    out.push_back(id);
  }
  if (out.size() == 1) {
    r.error("experts", fmt::format("lists one expert (\"{}\"); a single model has no experts, so give [] or two or "
                                   "more.", out[0]));
    return std::nullopt;
  }
  return out;
}

// Why a model of this guidance kind runs without classifier-free guidance, or
// null when cfg_scale is its guidance: a preset with CFG above 1 on such a model
// doubles the cost of every step and burns the image.
const char* guidance_without_cfg(const Constraints& c) {
  if (c.guidance_kind == "distilled") return "the guidance strength is an input of the model (model_specific_params)";
  if (c.guidance_kind == "embedded") return "the guidance strength is embedded in the model's input (model_specific_params)";
  if (c.guidance_kind == "none") return "the model is step-distilled and takes no guidance";
  return nullptr;
}

// c is null when the constraints themselves are broken: the preset is then
// only read, since checking it against half-read rules would report noise.
std::optional<Preset> read_preset(const nlohmann::json& j, const std::string& path, const Constraints* c,
                                  const std::string& who, const Vocabulary* vocabulary, Errors& errors) {
  const auto before = errors.size();
  FieldReader r(j, path, errors);
  r.reject_unknown({"steps", "cfg_scale", "sampler", "scheduler", "model_specific_params", "source"});
  if (!r.is_object()) return std::nullopt;
  Preset p;
  if (auto v = r.integer("steps", true)) {
    p.steps = *v;
    if (auto problem = c ? detail::check_steps(*c, who, *v) : std::nullopt) r.error("steps", *problem);
  }
  if (auto v = r.number("cfg_scale", true)) {
    p.cfg_scale = *v;
    if (auto problem = c ? detail::check_cfg_scale(*c, who, *v) : std::nullopt) r.error("cfg_scale", *problem);
    else if (auto kind = c ? guidance_without_cfg(*c) : nullptr; kind && *v != 1)
      r.error("cfg_scale", fmt::format("is {}, but {} has guidance_kind {}: {}, so its presets run at cfg_scale 1.",
                                       detail::format_number(*v), who, c->guidance_kind, kind));
  }
  if (auto v = r.string("sampler", true)) {
    p.sampler = *v;
    if (vocabulary)
      check_name(r, "sampler", *v, "sampler", vocabulary->canonical_sampler(*v), vocabulary->samplers());
  }
  if (auto v = r.string("scheduler", true)) {
    p.scheduler = *v;
    if (vocabulary)
      check_name(r, "scheduler", *v, "scheduler", vocabulary->canonical_scheduler(*v), vocabulary->schedulers());
  }
  if (auto v = r.object("model_specific_params", false)) {
    p.model_specific_params = std::move(*v);
    std::vector<std::string> unknown;
    if (c) detail::check_params(*c, who, p.model_specific_params, at(path, "model_specific_params"), errors, &unknown);
    for (const auto& key : unknown)
      errors.push_back({at(at(path, "model_specific_params"), key),
                        fmt::format("is not declared in {}'s constraints.params; a shipped preset may only use "
                                    "parameters with a rule, so declare one or remove the key.",
                                    who)});
  }
  if (auto v = r.string("source", true, kLongText)) {
    if (v->find_first_not_of(" \t\r\n") == std::string::npos)
      r.error("source", "is blank; every shipped preset says where its values come from (a model card, reference "
                        "code, or \"Product decision: ...\").");
    p.source = *v;
  }
  if (errors.size() != before) return std::nullopt;
  return p;
}

// The presets object of a base model (every type required) or of a variant
// (any subset of the types).
std::map<std::string, Preset> read_presets(const nlohmann::json& j, const std::string& path, bool all_types,
                                           const std::vector<ConfigurationTypeSpec>& types, const Constraints* c,
                                           const std::string& who, const Vocabulary* vocabulary, Errors& errors) {
  std::map<std::string, Preset> presets;
  if (!j.is_object()) {
    errors.push_back({path, fmt::format("must be an object mapping a configuration type to its preset, but it is {}.",
                                        detail::json_type_name(j))});
    return presets;
  }
  std::vector<std::string> type_ids;
  for (const auto& t : types) type_ids.push_back(t.id);
  for (const auto& [type, value] : j.items()) {
    if (std::find(type_ids.begin(), type_ids.end(), type) == type_ids.end()) {
      errors.push_back({at(path, type), fmt::format("is not a configuration type; the catalogue declares: {}.",
                                                    detail::join(type_ids))});
      continue;
    }
    if (auto p = read_preset(value, at(path, type), c, who, vocabulary, errors)) presets[type] = std::move(*p);
  }
  if (all_types)
    for (const auto& type : type_ids)
      if (!j.contains(type))
        errors.push_back({path, fmt::format("lacks the {} preset; every base model needs one per configuration "
                                            "type ({}).",
                                            type, detail::join(type_ids))});
  return presets;
}

std::vector<std::pair<int, int>> read_resolutions(const nlohmann::json& j, const std::string& path,
                                                  const Constraints& c, const std::string& who, Errors& errors) {
  std::vector<std::pair<int, int>> out;
  if (!j.is_array() || j.empty()) {
    errors.push_back({path, fmt::format("must be a non-empty array of [width, height] pairs, but it is {}.",
                                        detail::describe_value(j))});
    return out;
  }
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& pair = j[i];
    const bool ok = pair.is_array() && pair.size() == 2 && pair[0].is_number_integer() && pair[1].is_number_integer() &&
                    pair[0].get<long long>() > 0 && pair[1].get<long long>() > 0 && pair[0].get<long long>() < 100000 &&
                    pair[1].get<long long>() < 100000;
    if (!ok) {
      errors.push_back({at(path, i), fmt::format("is {}, but must be [width, height] in pixels.", pair.dump())});
      continue;
    }
    const char* names[] = {"width", "height"};
    for (int side = 0; side < 2; ++side)
      if (auto rule = c.params.find(names[side]); rule != c.params.end())
        if (auto problem = detail::check_param(rule->second, who, pair[side]))
          errors.push_back({at(at(path, i), static_cast<std::size_t>(side)),
                            fmt::format("(the {}) {}", names[side], *problem)});
    out.emplace_back(pair[0].get<int>(), pair[1].get<int>());
  }
  return out;
}

std::optional<Variant> read_variant(const nlohmann::json& j, const std::string& path, const BaseModelSpec& base,
                                    bool base_constraints_ok, const std::vector<ConfigurationTypeSpec>& types,
                                    const Vocabulary* vocabulary, Errors& errors) {
  const auto before = errors.size();
  FieldReader r(j, path, errors);
  r.reject_unknown({"id", "display_name", "description", "constraints", "presets", "experts"});
  if (!r.is_object()) return std::nullopt;
  Variant v;
  if (auto id = read_id(r, "variant")) v.id = *id;
  v.experts = read_experts(r, j);
  if (auto s = r.string("display_name", true)) v.display_name = *s;
  if (auto s = r.string("description", false, kLongText)) v.description = *s;
  const auto who = fmt::format("{}/{}", base.id, v.id);
  bool constraints_ok = base_constraints_ok;
  if (r.has("constraints") && base_constraints_ok) {
    const auto count = errors.size();
    v.constraints = detail::read_constraint_override(j["constraints"], base.constraints, at(path, "constraints"), errors);
    constraints_ok = errors.size() == count;
  }
  const auto* c = !constraints_ok ? nullptr : v.constraints ? &*v.constraints : &base.constraints;
  if (r.has("presets"))
    v.presets = read_presets(j["presets"], at(path, "presets"), false, types, c, who, vocabulary, errors);
  if (errors.size() != before) return std::nullopt;
  return v;
}

std::optional<BaseModelSpec> read_base_model(const nlohmann::json& j, const std::string& path,
                                             const std::vector<ConfigurationTypeSpec>& types,
                                             const Vocabulary* vocabulary, Errors& errors) {
  const auto before = errors.size();
  FieldReader r(j, path, errors);
  r.reject_unknown({"id", "display_name", "family", "modality", "native_resolutions", "constraints", "presets",
                    "variants", "notes", "experts"});
  if (!r.is_object()) return std::nullopt;
  BaseModelSpec b;
  if (auto e = read_experts(r, j)) b.experts = std::move(*e);
  if (auto id = read_id(r, "base model")) b.id = *id;
  if (auto s = r.string("display_name", true)) b.display_name = *s;
  if (auto s = r.string("family", true)) b.family = *s;
  if (auto s = r.string("modality", true)) {
    if (*s != "image" && *s != "video") r.error("modality", fmt::format("is \"{}\", but must be image or video.", *s));
    b.modality = *s;
  }
  if (auto s = r.string("notes", false, kLongText)) b.notes = *s;
  const auto count = errors.size();
  if (!r.has("constraints")) r.error("constraints", "is required but missing.");
  else b.constraints = detail::read_constraints(j["constraints"], at(path, "constraints"), errors);
  const bool constraints_ok = errors.size() == count;
  const auto* c = constraints_ok ? &b.constraints : nullptr;
  const auto& who = b.id;
  if (!r.has("native_resolutions")) r.error("native_resolutions", "is required but missing.");
  else b.native_resolutions = read_resolutions(j["native_resolutions"], at(path, "native_resolutions"),
                                               b.constraints, who, errors);
  if (!r.has("presets")) r.error("presets", "is required but missing.");
  else b.presets = read_presets(j["presets"], at(path, "presets"), true, types, c, who, vocabulary, errors);
  if (r.has("variants")) {
    const auto& variants = j["variants"];
    if (!variants.is_array()) {
      r.error("variants", fmt::format("must be an array of variants, but it is {}.", detail::json_type_name(variants)));
    } else {
      std::map<std::string, std::size_t> seen;
      for (std::size_t i = 0; i < variants.size(); ++i) {
        auto v = read_variant(variants[i], at(at(path, "variants"), i), b, constraints_ok, types, vocabulary, errors);
        if (!v) continue;
        if (auto [it, inserted] = seen.emplace(v->id, i); !inserted) {
          errors.push_back({at(at(at(path, "variants"), i), "id"),
                            fmt::format("is \"{}\", which variants[{}] already uses; variant ids must be unique "
                                        "within a base model.",
                                        v->id, it->second)});
          continue;
        }
        b.variants.push_back(std::move(*v));
      }
    }
  }
  if (errors.size() != before) return std::nullopt;
  return b;
}

std::vector<ConfigurationTypeSpec> read_types(const nlohmann::json& j, Errors& errors) {
  std::vector<ConfigurationTypeSpec> types;
  if (!j.is_array() || j.empty()) {
    errors.push_back({"configuration_types", "must be a non-empty array of {\"id\", \"description\", \"populate\"}."});
    return types;
  }
  for (std::size_t i = 0; i < j.size(); ++i) {
    FieldReader r(j[i], at("configuration_types", i), errors);
    r.reject_unknown({"id", "description", "populate"});
    ConfigurationTypeSpec t;
    auto id = read_id(r, "configuration type");
    if (auto d = r.string("description", true, kLongText)) t.description = *d;
    if (auto p = r.boolean("populate", false)) t.populate = *p;
    if (!id) continue;
    t.id = *id;
    auto same = std::find_if(types.begin(), types.end(), [&](const auto& o) { return o.id == t.id; });
    if (same != types.end()) {
      r.error("id", fmt::format("is \"{}\", which configuration_types[{}] already uses; ids must be unique.", t.id,
                                same - types.begin()));
      continue;
    }
    types.push_back(std::move(t));
  }
  return types;
}

// When vocabulary.json is broken its problems are reported, and the presets
// are still checked against whatever canonical lists it holds, so one load
// shows every problem of both files.
std::optional<Vocabulary> salvage_vocabulary(const nlohmann::json& j, std::string_view origin) {
  if (!j.is_object()) return std::nullopt;
  nlohmann::json lists = nlohmann::json::object();
  for (const char* key : {"samplers", "schedulers"}) {
    if (!j.contains(key) || !j[key].is_array()) return std::nullopt;
    std::set<std::string> seen;
    lists[key] = nlohmann::json::array();
    for (const auto& name : j[key])
      if (name.is_string() && seen.insert(name.get<std::string>()).second) lists[key].push_back(name);
  }
  try {
    return Vocabulary::from_json(lists, origin);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

Catalog Catalog::from_json(const nlohmann::json& base_models, const nlohmann::json& vocabulary,
                           std::string_view origin) {
  Errors errors;
  const auto vocabulary_file = fmt::format("{}/vocabulary.json", origin);
  const auto base_models_file = fmt::format("{}/base_models.json", origin);
  Catalog catalog;
  std::optional<Vocabulary> usable;
  try {
    usable = Vocabulary::from_json(vocabulary, vocabulary_file);
  } catch (const Error& e) {
    errors.insert(errors.end(), e.field_errors().begin(), e.field_errors().end());
    usable = salvage_vocabulary(vocabulary, vocabulary_file);
  }

  Errors local;  // paths relative to base_models.json
  FieldReader r(base_models, "", local);
  r.reject_unknown({"schema_version", "description", "configuration_types", "base_models"});
  if (r.is_object()) {
    if (auto v = r.integer("schema_version", false); v && *v != 1)
      r.error("schema_version", fmt::format("is {}, but this inferconf reads version 1.", *v));
    r.string("description", false, kLongText);
    if (!r.has("configuration_types")) r.error("configuration_types", "is required but missing.");
    else catalog.types_ = read_types(base_models["configuration_types"], local);
    const auto& list = base_models.contains("base_models") ? base_models["base_models"] : nlohmann::json();
    if (!list.is_array() || list.empty()) {
      r.error("base_models", fmt::format("must be a non-empty array of base models, but it is {}.",
                                         detail::describe_value(list)));
    } else {
      std::map<std::string, std::size_t> seen;
      for (std::size_t i = 0; i < list.size(); ++i) {
        auto b = read_base_model(list[i], at("base_models", i), catalog.types_, usable ? &*usable : nullptr, local);
        if (!b) continue;
        if (auto [it, inserted] = seen.emplace(b->id, i); !inserted) {
          local.push_back({at(at("base_models", i), "id"),
                           fmt::format("is \"{}\", which base_models[{}] already uses; base model ids must be unique.",
                                       b->id, it->second)});
          continue;
        }
        catalog.base_models_.push_back(std::move(*b));
      }
    }
  }
  for (auto& e : local) errors.push_back({fmt::format("{}:{}", base_models_file, e.field), std::move(e.message)});

  if (!errors.empty()) {
    auto message = fmt::format("The catalogue in {} has {} problem{}; fix them and load it again:", origin,
                               errors.size(), errors.size() == 1 ? "" : "s");
    for (const auto& e : errors) message += fmt::format("\n- {} {}", e.field, e.message);
    throw invalid(std::move(message), std::move(errors));
  }
  catalog.vocabulary_ = std::move(*usable);
  return catalog;
}

}  // namespace inferconf
