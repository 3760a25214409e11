#include "interop/import_support.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/text.hpp"
#include "common/field_reader.hpp"
#include "common/messages.hpp"

namespace inferconf {

void to_json(nlohmann::json& j, const ImportNote& n) {
  j = {{"key", n.key}, {"value", n.value}, {"kind", n.kind}, {"message", n.message}};
}

void to_json(nlohmann::json& j, const ImportResult& r) {
  j = {{"configuration", r.dto}, {"source", r.source}, {"prompt", r.prompt}, {"negative_prompt", r.negative_prompt},
       {"notes", r.notes}};
}

namespace interop {

std::optional<double> parse_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> parse_integer(std::string_view s) {
  auto v = parse_number(s);
  if (!v || std::floor(*v) != *v || std::fabs(*v) > 9e15) return std::nullopt;
  return static_cast<long long>(*v);
}

PresetBuilder::PresetBuilder(const PresetImportOptions& options, const Catalog& catalog, const EngineVocabulary& vocabulary,
                             std::string source)
    : options_(options), catalog_(catalog), vocabulary_(vocabulary) {
  const std::vector<std::string> ids = detail::ids_of(catalog.base_models());
  if (options.base_model.empty())
    throw invalid(fmt::format("Which base model is this image for? Give --base-model (one of: {}); infotext does not "
                              "name the architecture.", fmt::join(ids, ", ")));
  base_ = catalog.find(options.base_model);
  if (!base_)
    throw invalid(fmt::format("The base model \"{}\" is not in the catalogue; allowed: {}.", options.base_model,
                              fmt::join(ids, ", ")));
  if (!catalog.has_type(options.configuration_type))
    throw detail::unknown_configuration_type("--type", options.configuration_type,
                                             detail::ids_of(catalog.configuration_types()));
  if (!options.variant.empty() && !base_->find_variant(options.variant)) {
    std::vector<std::string> variants;
    for (const auto& v : base_->variants) variants.push_back(v.id);
    throw invalid(fmt::format("The variant \"{}\" is not one of {}'s; allowed: {}.", options.variant, base_->id,
                              variants.empty() ? std::string("none") : fmt::format("{}", fmt::join(variants, ", "))));
  }
  preset_ = base_->preset(options.configuration_type, options.variant);
  if (!preset_)
    throw invalid(fmt::format("{} has no {} preset to complete the imported settings from.", base_->id,
                              options.configuration_type));
  result_.source = std::move(source);
  result_.dto.base_model = base_->id;
  result_.dto.configuration_type = options.configuration_type;
}

bool PresetBuilder::knows(std::string_view param) const {
  return base_->constraints.params.count(std::string(param)) > 0;
}

bool PresetBuilder::adopts(std::string_view param, const nlohmann::json& value) const {
  if (!knows(param)) return false;
  if (param != "requires_vae" && param != "text_encoder") return true;
  if (preset_->model_specific_params.contains(param)) return true;
  const auto* arch = vocabulary_.architecture(base_->id, options_.variant);
  if (!arch || !value.is_string()) return true;
  for (const char* role : {"vae", "text_encoder", "t5"})
    if (auto it = arch->comfyui_files.find(role); it != arch->comfyui_files.end() && it->second == value.get<std::string>())
      return false;
  return true;
}

std::string PresetBuilder::sampler(const std::string& given, std::string_view key) {
  const auto& vocab = catalog_.vocabulary();
  if (auto c = vocab.canonical_sampler(given)) {
    const auto* e = vocabulary_.sampler(*c);
    if (given != *c && (!e || !e->a1111 || *e->a1111 != given))
      note(std::string(key), given, "normalised", fmt::format("the sampler \"{}\" is stored as \"{}\".", given, *c));
    return *c;
  }
  if (const auto* f = vocabulary_.a1111_only_sampler(given)) {
    if (!options_.allow_substitute)
      throw invalid(fmt::format("The sampler \"{}\" exists only in AUTOMATIC1111/Forge ({}). Allow substitution "
                                "(--allow-substitute) to store the documented nearest, \"{}\".",
                                given, f->note, f->substitute));
    note(std::string(key), given, "substituted",
         fmt::format("\"{}\" exists only in A1111/Forge; the documented nearest \"{}\" is stored ({}).", given,
                     f->substitute, f->note));
    return f->substitute;
  }
  throw invalid(fmt::format("The sampler \"{}\" is not one inferconf knows (ComfyUI names, A1111 display names and "
                            "their aliases are accepted, e.g. \"DPM++ 2M\", \"Euler a\", \"dpmpp_2m\").",
                            given));
}

std::string PresetBuilder::scheduler(const std::string& given, std::string_view key) {
  const auto& vocab = catalog_.vocabulary();
  if (auto c = vocab.canonical_scheduler(given)) {
    const auto* e = vocabulary_.scheduler(*c);
    if (given != *c && (!e || !e->a1111 || *e->a1111 != given))
      note(std::string(key), given, "normalised", fmt::format("the schedule \"{}\" is stored as \"{}\".", given, *c));
    return *c;
  }
  if (const auto* f = vocabulary_.a1111_only_scheduler(given)) {
    if (!options_.allow_substitute)
      throw invalid(fmt::format("The schedule type \"{}\" exists only in AUTOMATIC1111/Forge ({}). Allow substitution "
                                "(--allow-substitute) to store the documented nearest, \"{}\".",
                                given, f->note, f->substitute));
    note(std::string(key), given, "substituted",
         fmt::format("\"{}\" exists only in A1111/Forge; the documented nearest \"{}\" is stored ({}).", given,
                     f->substitute, f->note));
    return f->substitute;
  }
  throw invalid(fmt::format("The schedule type \"{}\" is not one inferconf knows; allowed: {} and A1111's labels "
                            "(Automatic, Uniform, Karras, Exponential, SGM Uniform, KL Optimal, Simple, Normal, DDIM, Beta).",
                            given, fmt::join(vocab.schedulers(), ", ")));
}

void PresetBuilder::set_model_id(const std::string& written, std::string_view where) {
  result_.dto.model_id = !options_.model_id.empty() ? options_.model_id : written;
  if (result_.dto.model_id.empty())
    throw invalid(fmt::format("Which model is this preset for? Give --model-id; the {} names no model.", where));
}

void PresetBuilder::take_prompt(std::string prompt, std::string negative_prompt) {
  if (auto it = preset_->model_specific_params.find("prompt_prefix");
      it != preset_->model_specific_params.end() && it->is_string() && knows("prompt_prefix")) {
    const auto& prefix = it->get_ref<const std::string&>();
    if (!prefix.empty() && prompt.compare(0, prefix.size(), prefix) == 0) {
      set_param("prompt_prefix", prefix);
      prompt.erase(0, prefix.size());
    } else {
      note("prompt_prefix", prefix, "ignored",
           fmt::format("the prompt does not start with {}'s prompt_prefix, so the preset sets none.", base_->id));
      result_.dto.model_specific_params["prompt_prefix"] = nullptr;  // marks "decided"; removed in finish()
    }
  }
  result_.prompt = std::move(prompt);
  result_.negative_prompt = std::move(negative_prompt);
}

void set_core(PresetBuilder& b, std::optional<int> steps, std::optional<double> cfg, std::optional<std::string> sampler,
              std::optional<std::string> scheduler) {
  auto& dto = b.result_.dto;
  if (steps) dto.steps = *steps, b.steps_set_ = true;
  if (cfg) dto.cfg_scale = *cfg, b.cfg_set_ = true;
  if (sampler) dto.sampler = *sampler, b.sampler_set_ = true;
  if (scheduler) dto.scheduler = *scheduler, b.scheduler_set_ = true;
}

ImportResult PresetBuilder::finish() {
  auto& dto = result_.dto;
  const auto& p = *preset_;
  auto defaulted = [&](std::string key, const nlohmann::json& value) {
    note(key, value.is_string() ? value.get<std::string>() : value.dump(), "defaulted",
         fmt::format("not in the source; {}'s {} preset value is used.", base_->id, options_.configuration_type));
  };
  if (!steps_set_) dto.steps = p.steps, defaulted("steps", p.steps);
  if (!cfg_set_) dto.cfg_scale = p.cfg_scale, defaulted("cfg_scale", p.cfg_scale);
  if (!sampler_set_) dto.sampler = p.sampler, defaulted("sampler", p.sampler);
  if (!scheduler_set_) dto.scheduler = p.scheduler, defaulted("scheduler", p.scheduler);
  for (const auto& [k, v] : p.model_specific_params.items())
    if (!dto.model_specific_params.contains(k)) {
      dto.model_specific_params[k] = v;
      defaulted(k, v);
    }
  for (auto it = dto.model_specific_params.begin(); it != dto.model_specific_params.end();)
    it = it->is_null() ? dto.model_specific_params.erase(it) : std::next(it);
  return std::move(result_);
}

}  // namespace interop
}  // namespace inferconf
