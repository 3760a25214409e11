// hardware.json: reading the memory models and hardware profiles, every
// problem reported at once, each checked against the base-model catalogue.
#include <algorithm>
#include <array>
#include <atomic>

#include <fmt/format.h>

#include "catalog/catalog_io.hpp"
#include "common/field_reader.hpp"
#include "common/text.hpp"
#include "inferconf/hardware.hpp"
#include "inferconf/json_text.hpp"

namespace inferconf {

namespace {

using detail::FieldReader;
using Errors = std::vector<FieldError>;

struct DtypeInfo {
  WeightDtype dtype;
  std::string_view name;
  double bytes;
};
constexpr std::array<DtypeInfo, 7> kDtypes = {{{WeightDtype::kFp32, "fp32", 4.0},
                                                {WeightDtype::kBf16, "bf16", 2.0},
                                                {WeightDtype::kFp16, "fp16", 2.0},
                                                {WeightDtype::kFp8E4m3fn, "fp8_e4m3fn", 1.0},
                                                {WeightDtype::kFp8E5m2, "fp8_e5m2", 1.0},
                                                {WeightDtype::kGgufQ8_0, "gguf_q8_0", 8.5 / 8},
                                                {WeightDtype::kGgufQ4K, "gguf_q4_k", 4.5 / 8}}};

std::optional<ComponentMemory> read_component(const nlohmann::json& j, const std::string& path, bool with_id,
                                              Errors& errors) {
  FieldReader r(j, path, errors);
  if (!r.is_object()) return std::nullopt;
  if (with_id)
    r.reject_unknown({"id", "params_billion", "dtypes", "source"});
  else
    r.reject_unknown({"params_billion", "dtypes", "source"});
  const std::size_t before = errors.size();
  ComponentMemory c;
  if (with_id) c.id = r.string("id", true).value_or("");
  if (auto p = r.number("params_billion", true)) {
    if (*p <= 0 || *p > 1000)
      r.error("params_billion", fmt::format("is {}; a component has more than 0 and at most 1000 billion parameters.",
                                            detail::format_number(*p)));
    c.params_billion = *p;
  }
  c.source = r.string("source", true, 2000).value_or("");
  if (!j.contains("dtypes") || !j["dtypes"].is_array() || j["dtypes"].empty()) {
    r.error("dtypes", fmt::format("must be a non-empty array of weight formats, best first; allowed: {}.",
                                  weight_dtype_names()));
  } else {
    for (std::size_t i = 0; i < j["dtypes"].size(); ++i) {
      const auto& v = j["dtypes"][i];
      auto d = v.is_string() ? parse_weight_dtype(v.get_ref<const std::string&>()) : std::nullopt;
      if (!d)
        r.error(fmt::format("dtypes[{}]", i), fmt::format("is {}, which is not a weight format; allowed: {}.",
                                                          detail::describe_value(v), weight_dtype_names()));
      else if (std::find(c.dtypes.begin(), c.dtypes.end(), *d) != c.dtypes.end())
        r.error(fmt::format("dtypes[{}]", i), fmt::format("is \"{}\" again; each format is listed once.", to_string(*d)));
      else
        c.dtypes.push_back(*d);
    }
  }
  if (errors.size() != before) return std::nullopt;
  return c;
}

// A growth rate: a number >= 0 and at most 1000 GiB per unit.
double read_rate(FieldReader& r, const std::string& key) {
  auto v = r.number(key, true);
  if (!v) return 0;
  if (*v < 0 || *v > 1000)
    r.error(key, fmt::format("is {}; allowed: 0 to 1000 GiB.", detail::format_number(*v)));
  return *v;
}

std::optional<MemoryModel> read_model(const nlohmann::json& j, const std::string& path, const Catalog& catalog,
                                      Errors& errors) {
  FieldReader r(j, path, errors);
  if (!r.is_object()) return std::nullopt;
  const std::size_t before = errors.size();
  MemoryModel m;
  m.base_model = r.string("base_model", true).value_or("");
  m.variant = r.string("variant", false).value_or("");
  const BaseModelSpec* spec = m.base_model.empty() ? nullptr : catalog.find(m.base_model);
  if (!m.base_model.empty() && !spec)
    r.error("base_model", fmt::format("is \"{}\", which base_models.json does not define.", m.base_model));
  if (spec && !m.variant.empty() && !spec->find_variant(m.variant))
    r.error("variant", fmt::format("is \"{}\", which is not a variant of {} in base_models.json.", m.variant, m.base_model));
  m.video = spec && spec->modality == "video";
  // The unit follows the catalogue's modality, so a video model cannot be
  // described per image by mistake.
  const std::string unit = m.video ? "megapixel_frame" : "megapixel";
  r.reject_unknown({"base_model", "variant", "diffusion_model", "text_encoders", "vae",
                    m.video ? "activation_gb_per_megapixel_frame" : "activation_gb_per_megapixel",
                    m.video ? "vae_decode_gb_per_megapixel_frame" : "vae_decode_gb_per_megapixel",
                    "vae_tiled_decode_gb", "source"});
  if (j.contains("diffusion_model"))
    if (auto c = read_component(j["diffusion_model"], r.path("diffusion_model"), false, errors)) m.diffusion_model = *c;
  if (!j.contains("diffusion_model")) r.error("diffusion_model", "is required but missing.");
  if (j.contains("vae"))
    if (auto c = read_component(j["vae"], r.path("vae"), false, errors)) m.vae = *c;
  if (!j.contains("vae")) r.error("vae", "is required but missing.");
  if (!j.contains("text_encoders") || !j["text_encoders"].is_array()) {
    r.error("text_encoders", "must be an array of components with an id (an empty array when there is none).");
  } else {
    for (std::size_t i = 0; i < j["text_encoders"].size(); ++i) {
      auto c = read_component(j["text_encoders"][i], fmt::format("{}[{}]", r.path("text_encoders"), i), true, errors);
      if (!c) continue;
      const bool repeated = std::any_of(m.text_encoders.begin(), m.text_encoders.end(),
                                        [&](const ComponentMemory& t) { return t.id == c->id; });
      if (repeated)
        r.error(fmt::format("text_encoders[{}].id", i), fmt::format("is \"{}\" again; each encoder is listed once.", c->id));
      else
        m.text_encoders.push_back(std::move(*c));
    }
  }
  m.activation_gb = read_rate(r, "activation_gb_per_" + unit);
  m.vae_decode_gb = read_rate(r, "vae_decode_gb_per_" + unit);
  m.vae_tiled_decode_gb = read_rate(r, "vae_tiled_decode_gb");
  m.source = r.string("source", true, 4000).value_or("");
  if (errors.size() != before) return std::nullopt;
  return m;
}

EstimateConstants read_constants(const nlohmann::json& j, Errors& errors) {
  FieldReader r(j, "estimate", errors);
  EstimateConstants c;
  if (!r.is_object()) return c;
  r.reject_unknown({"overhead_gb", "system_ram_base_gb", "sequential_resident_fraction", "source"});
  c.overhead_gb = read_rate(r, "overhead_gb");
  c.system_ram_base_gb = read_rate(r, "system_ram_base_gb");
  if (auto f = r.number("sequential_resident_fraction", true)) {
    if (*f <= 0 || *f > 1)
      r.error("sequential_resident_fraction", fmt::format("is {}; allowed: more than 0, at most 1.", detail::format_number(*f)));
    c.sequential_resident_fraction = *f;
  }
  r.string("source", true, 2000);
  return c;
}

}  // namespace

std::string_view to_string(WeightDtype d) noexcept {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.name;
  return "unknown";
}

std::optional<WeightDtype> parse_weight_dtype(std::string_view name) noexcept {
  for (const auto& i : kDtypes)
    if (i.name == name) return i.dtype;
  return std::nullopt;
}

double bytes_per_parameter(WeightDtype d) noexcept {
  for (const auto& i : kDtypes)
    if (i.dtype == d) return i.bytes;
  return 4.0;
}

const std::string& weight_dtype_names() {
  static const std::string names = [] {
    std::vector<std::string> all;
    for (const auto& i : kDtypes) all.emplace_back(i.name);
    return detail::join(all);
  }();
  return names;
}

nlohmann::json to_json(const HardwareProfile& p) {
  nlohmann::json j = {{"id", p.id},
                      {"vram_gb", p.vram_gb},
                      {"system_ram_gb", p.system_ram_gb},
                      {"gpu_family", p.gpu_family},
                      {"compute_capability", p.compute_capability},
                      {"count", p.count}};
  return j;
}

std::optional<HardwareProfile> read_hardware_profile(const nlohmann::json& j, const std::string& prefix,
                                                     bool require_id, std::vector<FieldError>& errors) {
  FieldReader r(j, prefix, errors);
  if (!r.is_object()) return std::nullopt;
  const std::size_t before = errors.size();
  r.reject_unknown({"id", "display_name", "vram_gb", "system_ram_gb", "gpu_family", "compute_capability", "count",
                    "source"});
  HardwareProfile p;
  // An inline profile is always "inline", so the source "hardware:<id>" of a
  // lowered value never passes for a shipped profile.
  if (!require_id && r.has("id"))
    r.error("id", "cannot be given: a profile in a request is named \"inline\"; to use a shipped profile, give its "
                  "name instead of an object.");
  p.id = require_id ? r.string("id", true, 64).value_or("") : "inline";
  p.display_name = r.string("display_name", false, 200).value_or("");
  p.gpu_family = r.string("gpu_family", false, 64).value_or("");
  p.source = r.string("source", false, 2000).value_or("");
  auto positive = [&](const char* key, double max, const char* what) {
    auto v = r.number(key, true);
    if (v && (*v <= 0 || *v > max))
      r.error(key, fmt::format("is {}; {} is more than 0 and at most {} GiB.", detail::format_number(*v), what,
                               detail::format_number(max)));
    return v.value_or(0);
  };
  p.vram_gb = positive("vram_gb", 1024, "the memory of one card");
  p.system_ram_gb = positive("system_ram_gb", 65536, "the machine's system RAM");
  if (auto cc = r.number("compute_capability", true)) {
    if (*cc < 3.0 || *cc > 12.0)
      r.error("compute_capability",
              fmt::format("is {}; a CUDA compute capability is between 3.0 and 12.0 (8.6 for an RTX 3060, 8.9 for an "
                          "RTX 4090, 9.0 for an H100).", detail::format_number(*cc)));
    p.compute_capability = *cc;
  }
  if (r.has("count")) {
    auto n = r.integer("count", true);
    if (n && (*n < 1 || *n > 64)) r.error("count", fmt::format("is {}; allowed: 1 to 64 cards.", *n));
    p.count = n.value_or(1);
  }
  if (errors.size() != before) return std::nullopt;
  return p;
}

std::filesystem::path HardwareCatalog::file_in(const std::filesystem::path& dir) { return dir / "hardware.json"; }

HardwareCatalog HardwareCatalog::load(const std::filesystem::path& file, const Catalog& catalog) {
  return from_json(parse_json_text(detail::read_catalogue_file(file), file.string()), catalog, file.string());
}

HardwareCatalog HardwareCatalog::from_json(const nlohmann::json& j, const Catalog& catalog, std::string_view origin) {
  Errors errors;
  HardwareCatalog h;
  FieldReader r(j, "", errors);
  if (r.is_object()) {
    r.reject_unknown({"schema_version", "description", "estimate", "memory_models", "profiles"});
    if (j.value("schema_version", nlohmann::json()) != 1)
      r.error("schema_version", "must be 1, the version this inferconf reads.");
    if (j.contains("estimate"))
      h.constants_ = read_constants(j["estimate"], errors);
    else
      r.error("estimate", "is required but missing.");
    const auto& models = j.contains("memory_models") ? j["memory_models"] : nlohmann::json();
    if (!models.is_array()) r.error("memory_models", "must be an array of memory models.");
    for (std::size_t i = 0; models.is_array() && i < models.size(); ++i) {
      const auto path = fmt::format("memory_models[{}]", i);
      auto m = read_model(models[i], path, catalog, errors);
      if (!m) continue;
      if (h.memory_model_exact(m->base_model, m->variant))
        errors.push_back({path, fmt::format("describes {}{} again; each base model and variant has one entry.",
                                             m->base_model, m->variant.empty() ? "" : "/" + m->variant)});
      else
        h.models_.push_back(std::move(*m));
    }
    const auto& profiles = j.contains("profiles") ? j["profiles"] : nlohmann::json();
    if (!profiles.is_array() || profiles.empty()) r.error("profiles", "must be a non-empty array of hardware profiles.");
    for (std::size_t i = 0; profiles.is_array() && i < profiles.size(); ++i) {
      const auto path = fmt::format("profiles[{}]", i);
      auto p = read_hardware_profile(profiles[i], path, true, errors);
      if (!p) continue;
      if (h.find_profile(p->id))
        errors.push_back({path + ".id", fmt::format("is \"{}\" again; profile ids are unique.", p->id)});
      else if (p->id == "inline")
        errors.push_back({path + ".id", "is \"inline\", the name of a profile given in a request; choose another id."});
      else
        h.profiles_.push_back(std::move(*p));
    }
  }
  if (!errors.empty()) {
    auto message = fmt::format("The hardware catalogue {} has {} problem(s):", origin, errors.size());
    for (auto& e : errors) {
      e.field = fmt::format("{}: {}", origin, e.field);
      message += fmt::format("\n- {} {}", e.field, e.message);
    }
    throw invalid(std::move(message), std::move(errors));
  }
  std::stable_sort(h.profiles_.begin(), h.profiles_.end(), [](const HardwareProfile& a, const HardwareProfile& b) {
    return a.vram_gb != b.vram_gb ? a.vram_gb < b.vram_gb : a.system_ram_gb < b.system_ram_gb;
  });
  static std::atomic<std::uint64_t> reads{0};
  h.identity_ = ++reads;
  return h;
}

const MemoryModel* HardwareCatalog::memory_model_exact(std::string_view base_model, std::string_view variant) const {
  for (const auto& m : models_)
    if (m.base_model == base_model && m.variant == variant) return &m;
  return nullptr;
}

const MemoryModel* HardwareCatalog::memory_model(std::string_view base_model, std::string_view variant) const {
  if (!variant.empty())
    if (const auto* m = memory_model_exact(base_model, variant)) return m;
  return memory_model_exact(base_model, {});
}

const HardwareProfile* HardwareCatalog::find_profile(std::string_view id) const {
  for (const auto& p : profiles_)
    if (p.id == id) return &p;
  return nullptr;
}

std::string HardwareCatalog::profile_ids() const {
  std::vector<std::string> ids;
  for (const auto& p : profiles_) ids.push_back(p.id);
  return detail::join(ids);
}

}  // namespace inferconf
