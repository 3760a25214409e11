// A1111/Forge infotext -> CreateDTO, and the content dispatch of import_preset.
#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/messages.hpp"
#include "common/text.hpp"
#include "inferconf/base_model_decision.hpp"
#include "inferconf/detect.hpp"

#include "inferconf/json_text.hpp"
#include "interop/export_support.hpp"
#include "interop/import_support.hpp"

namespace inferconf {

namespace {

using interop::parse_integer;
using interop::parse_number;
using interop::PresetBuilder;

// Keys that describe one image (its seed, files, versions, second passes), not a preset.
const std::set<std::string, std::less<>>& informational_keys() {
  static const std::set<std::string, std::less<>> keys = {
      "Seed", "Model", "Model hash", "VAE hash", "Version", "Lora hashes", "TI hashes", "Hashes", "ENSD", "Eta",
      "Face restoration", "Variation seed", "Variation seed strength", "Seed resize from-1", "Seed resize from-2",
      "Denoising strength", "Hires upscale", "Hires steps", "Hires upscaler", "Hires resize-1", "Hires resize-2",
      "Hires prompt", "Hires negative prompt", "Hires sampler", "Hires schedule type", "Hires CFG Scale",
      "Hires Distilled CFG Scale", "Hires Module 1", "Hires checkpoint", "Module 1", "Module 2", "Module 3", "Emphasis",
      "RNG", "NGMS", "Token merging ratio", "Pad conds", "Schedule max sigma", "Schedule min sigma", "Schedule rho",
      "Batch size", "Batch pos", "Template", "Negative Template", "Refiner", "Refiner switch at", "Beta schedule alpha",
      "Beta schedule beta", "Diffusion in Low Bits", "Noise multiplier", "Eta DDIM", "Discard penultimate sigma"};
  return keys;
}

int whole(const std::string& key, const std::string& value) {
  auto v = parse_integer(value);
  if (!v || *v < -1000000 || *v > 1000000)
    throw invalid(fmt::format("The infotext's {} is \"{}\", but it must be a whole number.", key, value));
  return static_cast<int>(*v);
}

double number(const std::string& key, const std::string& value) {
  auto v = parse_number(value);
  if (!v) throw invalid(fmt::format("The infotext's {} is \"{}\", but it must be a number.", key, value));
  return *v;
}


bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// A1111 writes the first 10 hex digits of the file's SHA-256 ("AutoV2"); older
// versions an 8-digit hash of their own, which only an equal stored hash matches.
bool hash_matches(std::string_view stored, const std::string& given) {
  const std::string s = detail::lower(stored);
  if (s == given) return true;
  return given.size() == 10 && s.size() == 64 && is_hex(s) && s.compare(0, 10, given) == 0;
}

bool record_has_hash(const ModelRecord& m, const std::string& given) {
  if (!m.metadata.is_object()) return false;
  for (const char* key : {"sha256", "model_hash", "hash"})
    if (auto it = m.metadata.find(key); it != m.metadata.end() && it->is_string() && hash_matches(it->get<std::string>(), given))
      return true;
  if (auto it = m.metadata.find("hashes"); it != m.metadata.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string() && hash_matches(v.get<std::string>(), given)) return true;
  return false;
}

bool record_has_name(const ModelRecord& m, const std::string& given) {
  if (detail::lower(m.id) == given || detail::lower(m.name) == given) return true;
  return m.file_path && detail::lower(std::filesystem::path(*m.file_path).stem().string()) == given;
}

std::string known_base_models(const Catalog& catalog) { return detail::join(detail::ids_of(catalog.base_models())); }

// The base model an infotext without --base-model is for, decided as populate
// decides a registry model's: the registry model the infotext names (its own
// evidence: label, metadata, file header, name), else the name rules on the
// checkpoint name. Throws, asking for --base-model, when nothing decides.
BaseModelDecision decide_base_model(const ParsedInfotext& t, const PresetImportOptions& options, const Catalog& catalog,
                                    std::optional<RegistryMatch>& match) {
  if (!options.rules)
    throw invalid("The import was not given the detection rules of its catalogue folder (PresetImportOptions::rules), "
                  "which decide the base model of an infotext without --base-model; pass --base-model, or load the "
                  "catalogue folder's rules and set them.");
  const detect::Rules& rules = *options.rules;
  const auto* model = t.find("Model");
  const auto* hash = t.find("Model hash");
  const std::string name = model ? *model : std::string();
  auto usable = [&](const std::string& base, const std::optional<std::string>& variant) {
    BaseModelDecision d;
    d.base_model = base;
    if (const auto* spec = catalog.find(base); spec && variant && spec->find_variant(*variant)) d.variant = variant;
    return d;
  };
  std::string registry_said;
  if (match) {
    // The registry model's base model, decided as populate and resolve decide it.
    const DecidedBaseModel decided = inferconf::decide_base_model(catalog, rules, match->record);
    const detect::Inference& inf = decided.inference;
    if (decided.decided()) {
      BaseModelDecision d;
      d.base_model = decided.spec->id;
      if (!decided.variant.empty()) d.variant = decided.variant;
      d.source = "registry";
      d.confidence = std::string(detect::to_string(inf.confidence));
      d.model_id = match->record.id;
      d.evidence = fmt::format("the registry model \"{}\" (matched by {}); its base model from {}: {}",
                               match->record.id, match->how, detect::to_string(inf.source), inf.detail);
      return d;
    }
    registry_said = fmt::format("; the registry model \"{}\" it names has no known base model ({})", match->record.id,
                                inf.reason.empty() ? "no source names one" : inf.reason);
  }
  if (!name.empty()) {
    const auto v = detect::infer_from_name(rules, name);
    if (v.matched() && catalog.find(v.base_model)) {
      auto d = usable(v.base_model, v.variant);
      d.source = "name";
      d.confidence = std::string(detect::to_string(v.confidence));
      d.evidence = fmt::format("the checkpoint name \"{}\" (Model): {}", name, v.reason);
      return d;
    }
    throw invalid(fmt::format(
        "Which base model is this image for? The infotext's checkpoint \"{}\"{} is {}{}; give --base-model (one of: {}).",
        name, hash ? fmt::format(" (Model hash {})", *hash) : std::string(),
        v.known_other ? fmt::format("not a supported base model: {}", v.reason)
                      : std::string(options.registry ? "in neither the registry nor the name rules"
                                                     : "not one the name rules recognise"),
        registry_said, known_base_models(catalog)));
  }
  throw invalid(fmt::format("Which base model is this image for? The infotext names no checkpoint (no \"Model\"){}; give "
                            "--base-model (one of: {}).",
                            registry_said, known_base_models(catalog)));
}

}  // namespace

void to_json(nlohmann::json& j, const BaseModelDecision& d) {
  j = {{"base_model", d.base_model}, {"source", d.source}, {"confidence", d.confidence}, {"evidence", d.evidence}};
  if (d.variant) j["variant"] = *d.variant;
  if (d.model_id) j["model_id"] = *d.model_id;
}

std::optional<RegistryMatch> match_registry_model(
    const std::function<void(const std::function<bool(const ModelRecord&)>&)>& registry, std::string_view model,
    std::string_view model_hash) {
  if (!registry || (model.empty() && model_hash.empty())) return std::nullopt;
  const std::string name = detail::lower(model), hash = detail::lower(model_hash);
  std::optional<RegistryMatch> by_name;
  std::optional<RegistryMatch> by_hash;
  registry([&](const ModelRecord& m) {
    if (!hash.empty() && record_has_hash(m, hash)) {
      by_hash = RegistryMatch{m, fmt::format("Model hash \"{}\"", model_hash)};
      return false;  // a hash names one file: nothing better can follow
    }
    if (!by_name && !name.empty() && record_has_name(m, name))
      by_name = RegistryMatch{m, fmt::format("Model \"{}\"", model)};
    return true;
  });
  return by_hash ? by_hash : by_name;
}

ImportResult preset_from_infotext(const ParsedInfotext& t, const PresetImportOptions& options, const Catalog& catalog,
                                  const EngineVocabulary& vocabulary) {
  if (!t.has_parameters)
    throw invalid("The text holds no A1111 parameters: its last line must hold at least 3 \"Key: value\" pairs "
                  "(e.g. \"Steps: 30, Sampler: DPM++ 2M, CFG scale: 7\").");
  const auto* model = t.find("Model");
  const auto* hash = t.find("Model hash");
  PresetImportOptions decided = options;
  std::optional<RegistryMatch> match;
  if (options.model_record)
    match = RegistryMatch{*options.model_record, fmt::format("its id \"{}\"", options.model_record->id)};
  else if (options.base_model.empty() || options.model_id.empty())
    match = match_registry_model(options.registry, model ? *model : std::string(), hash ? *hash : std::string());
  std::optional<BaseModelDecision> decision;
  if (options.base_model.empty()) {
    decision = decide_base_model(t, options, catalog, match);
    decided.base_model = decision->base_model;
    if (decided.variant.empty() && decision->variant) decided.variant = *decision->variant;
  }
  PresetBuilder b(decided, catalog, vocabulary, "infotext");
  b.set_model_id(match ? match->record.id : model ? *model : std::string(), "infotext (no \"Model\" key)");
  b.result().decided = std::move(decision);
  b.take_prompt(t.prompt, t.negative_prompt);

  std::set<std::string, std::less<>> used;
  // What decided the base model or the model is not noted as ignored.
  if (match && match->how.starts_with("Model hash")) used.insert("Model hash");
  if ((match && match->how.starts_with("Model \"")) || (b.result().decided && b.result().decided->source == "name"))
    used.insert("Model");
  auto get = [&](std::string_view key) -> const std::string* {
    const auto* v = t.find(key);
    if (v) used.insert(std::string(key));
    return v;
  };

  std::optional<int> steps;
  std::optional<double> cfg;
  std::optional<std::string> sampler, scheduler;
  if (const auto* v = get("Steps")) steps = whole("Steps", *v);
  if (const auto* v = get("CFG scale")) cfg = number("CFG scale", *v);
  const auto* sampler_text = get("Sampler");
  const auto* schedule_text = get("Schedule type");
  if (sampler_text) {
    if (schedule_text) {
      // A combined name next to a schedule type: the explicit type wins.
      auto split = catalog.vocabulary().split_combined(*sampler_text);
      if (split && !catalog.vocabulary().canonical_sampler(*sampler_text)) {
        sampler = split->first;
        b.note("Sampler", *sampler_text, "normalised",
               fmt::format("the legacy combined name is read as the sampler \"{}\".", split->first));
      } else {
        sampler = b.sampler(*sampler_text, "Sampler");
      }
      scheduler = b.scheduler(*schedule_text, "Schedule type");
    } else if (auto split = catalog.vocabulary().split_combined(*sampler_text);
               split && !catalog.vocabulary().canonical_sampler(*sampler_text)) {
      sampler = split->first;
      scheduler = split->second;
      b.note("Sampler", *sampler_text, "normalised",
             fmt::format("the legacy combined name is read as sampler \"{}\" with scheduler \"{}\".", split->first,
                         split->second));
    } else {
      sampler = b.sampler(*sampler_text, "Sampler");
      // An absent schedule type is A1111's Automatic.
      scheduler = b.scheduler("Automatic", "Schedule type");
      b.note("Schedule type", "", "defaulted",
             fmt::format("absent, so A1111's Automatic applies; it is stored as \"{}\".", *scheduler));
    }
  } else if (schedule_text) {
    scheduler = b.scheduler(*schedule_text, "Schedule type");
  }
  interop::set_core(b, steps, cfg, sampler, scheduler);

  const auto* w = get("Size-1");
  const auto* h = get("Size-2");
  if (w && h) {
    b.set_param("width", whole("Size", *w));
    b.set_param("height", whole("Size", *h));
  }
  if (b.knows("clip_skip")) {
    const auto* v = get("Clip skip");
    const int clip_skip = v ? whole("Clip skip", *v) : 1;  // A1111's default
    if (clip_skip < 1)
      throw invalid(fmt::format("The infotext's Clip skip is {}, but A1111 counts from 1 (1 = last layer).", clip_skip));
    b.set_param("clip_skip", -clip_skip);
  } else if (const auto* v = get("Clip skip"); v && *v != "1") {
    b.note("Clip skip", *v, "ignored", fmt::format("{} has no clip_skip parameter.", b.base().id));
  }
  if (const auto* v = get("Distilled CFG Scale")) {
    if (b.knows("guidance"))
      b.set_param("guidance", number("Distilled CFG Scale", *v));
    else
      b.note("Distilled CFG Scale", *v, "ignored", fmt::format("{} takes no distilled guidance.", b.base().id));
  }
  if (const auto* v = get("VAE")) {
    if (b.knows("requires_vae") && *v != "Automatic" && *v != "None")
      b.set_param("requires_vae", *v);
    else
      b.note("VAE", *v, "ignored", fmt::format("{} takes no VAE file, or the infotext names the built-in one.", b.base().id));
  }
  for (const auto& [key, value] : t.params) {
    std::string_view k = key;
    while (!k.empty() && k.back() == ' ') k.remove_suffix(1);
    if (used.count(k)) continue;
    if (informational_keys().count(k))
      b.note(std::string(k), value, "ignored", "describes this one image (seed, files, versions, second pass), not a preset.");
    else
      b.note(std::string(k), value, "unknown", "is not a setting inferconf reads from infotext; it is not in the preset.");
  }
  return b.finish();
}

ImportResult import_preset(std::string_view bytes, std::string_view what, const PresetImportOptions& options,
                           const Catalog& catalog, const EngineVocabulary& vocabulary) {
  if (!looks_like_png(bytes)) {
    if (bytes.find('\0') != std::string_view::npos)
      throw invalid(fmt::format("{} is neither a PNG file nor text: it holds NUL bytes.", what));
    return preset_from_infotext(parse_infotext(bytes), options, catalog, vocabulary);
  }
  const auto chunks = read_png_text_chunks(bytes, what);
  for (const auto& c : chunks)
    if (c.keyword == "parameters") return preset_from_infotext(parse_infotext(c.text), options, catalog, vocabulary);
  for (const auto& c : chunks)
    if (c.keyword == "prompt") {
      nlohmann::json graph;
      try {
        graph = parse_json_text(c.text, "the text");
      } catch (const Error& e) {
        throw invalid(fmt::format("{}: its \"prompt\" text chunk is not a ComfyUI API graph (a JSON object): {}", what,
                                  e.what()),
                      e.field_errors());
      }
      if (!graph.is_object())
        throw invalid(fmt::format("{}: its \"prompt\" text chunk is not a ComfyUI API graph (a JSON object).", what));
      return preset_from_comfyui(graph, options, catalog, vocabulary);
    }
  std::vector<std::string> keywords;
  for (const auto& c : chunks) keywords.push_back("\"" + c.keyword + "\"");
  throw invalid(fmt::format("{} holds no \"parameters\" (A1111/Forge) or \"prompt\" (ComfyUI) text chunk{}; it was not "
                            "saved with generation metadata, or the metadata was stripped.",
                            what, keywords.empty() ? " (it has no text chunks at all)"
                                                   : fmt::format(" (its text chunks: {})", fmt::join(keywords, ", "))));
}

}  // namespace inferconf
