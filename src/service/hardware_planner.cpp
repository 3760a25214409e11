// The hardware planner: estimate the memory of each way of running, best
// first, and take the first that fits; lower the workload only when none
// does, and refuse with the numbers when even the smallest workload does not.
#include "inferconf/hardware_plan.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "common/text.hpp"

namespace inferconf {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// bf16 arithmetic needs Ampere; older cards take fp16 where the model has it.
constexpr double kBf16ComputeCapability = 8.0;

double round1(double v) { return std::round(v * 10.0) / 10.0; }
std::string gb(double v) { return detail::format_number(round1(v)); }

bool usable(WeightDtype d, double compute_capability) {
  return d != WeightDtype::kBf16 || compute_capability >= kBf16ComputeCapability;
}

// The component's best format no wider than the level, else its narrowest.
WeightDtype dtype_at(const ComponentMemory& c, WeightDtype level, double compute_capability) {
  const double limit = bytes_per_parameter(level);
  const WeightDtype* narrowest = nullptr;
  for (const auto& d : c.dtypes) {
    if (!usable(d, compute_capability)) continue;
    if (bytes_per_parameter(d) <= limit) return d;
    if (!narrowest || bytes_per_parameter(d) < bytes_per_parameter(*narrowest)) narrowest = &d;
  }
  return narrowest ? *narrowest : c.dtypes.back();
}

double weights_gb(const ComponentMemory& c, WeightDtype d) { return c.params_billion * 1e9 * bytes_per_parameter(d) / kGiB; }

std::string size_text(const Workload& w, bool video) {
  return video ? fmt::format("{}x{}x{} frames", w.width, w.height, w.frames) : fmt::format("{}x{}", w.width, w.height);
}

// Visits the run settings in the order the planner prefers them, until
// `visit` returns true: full-width weights before narrower ones, and at each
// width the least offload first (it costs speed, not quality); sequential
// offload, which is many times slower, only after every format has been tried
// with model offload. Returns whether a visit returned true. Allocates nothing:
// it runs dozens of times per plan.
template <typename Visit>
bool for_each_setting(const MemoryModel& m, double compute_capability, Visit&& visit) {
  WeightDtype levels[8];
  std::size_t count = 0;
  for (const auto& d : m.diffusion_model.dtypes) {
    if (!usable(d, compute_capability) || count == std::size(levels)) continue;
    bool same_width = false;
    for (std::size_t i = 0; i < count; ++i) same_width = same_width || bytes_per_parameter(levels[i]) == bytes_per_parameter(d);
    if (!same_width) levels[count++] = d;
  }
  if (count == 0) levels[count++] = m.diffusion_model.dtypes.front();
  const bool encoders = !m.text_encoders.empty();
  for (std::size_t i = 0; i < count; ++i)
    for (const auto offload : {Offload::kNone, Offload::kModel})
      for (const bool on_cpu : {false, true}) {
        if (on_cpu && !encoders) continue;
        for (const bool tiling : {false, true})
          if (visit(RunSettings{levels[i], offload, on_cpu, tiling})) return true;
      }
  for (std::size_t i = 0; i < count; ++i)
    for (const bool tiling : {false, true})
      if (visit(RunSettings{levels[i], Offload::kSequential, false, tiling})) return true;
  return false;
}

// The last setting visited: the narrowest weights under sequential offload.
RunSettings leanest_setting(const MemoryModel& m, double compute_capability) {
  RunSettings last;
  for_each_setting(m, compute_capability, [&](const RunSettings& s) {
    last = s;
    return false;
  });
  return last;
}

int snap_down(int value, int multiple) { return multiple > 1 ? value / multiple * multiple : value; }

// The rule of one size parameter of the base model, when it can be lowered.
struct SizeRule {
  bool lowerable = false;
  int min = 1;
  int multiple = 1;
  int modulo = 0;
  int remainder = 0;
};

SizeRule size_rule(const Constraints& c, const char* key) {
  SizeRule s;
  auto it = c.params.find(key);
  if (it == c.params.end()) return s;
  const ParamRule& r = it->second;
  if (!r.allowed.empty()) return s;  // a fixed list (Wan 2.1 1.3B's 832x480) cannot be scaled
  s.lowerable = true;
  s.multiple = r.multiple_of.value_or(1);
  s.modulo = r.modulo.value_or(0);
  s.remainder = r.remainder;
  s.min = r.range ? static_cast<int>(std::ceil(r.range->min)) : 1;
  if (s.multiple > 1) s.min = (s.min + s.multiple - 1) / s.multiple * s.multiple;
  return s;
}

int lower_frames(int frames, const SizeRule& r) {
  int f = static_cast<int>(frames * 0.75);
  if (r.modulo > 1)
    while (f > r.min && ((f % r.modulo) + r.modulo) % r.modulo != r.remainder) --f;
  return std::max(f, r.min);
}

// The next smaller workload: a quarter fewer frames or pixels, alternating
// for video so neither collapses first. False when nothing can be lowered.
bool lower(Workload& w, const SizeRule& width, const SizeRule& height, const SizeRule& frames, bool video, int step) {
  const bool can_frames = video && frames.lowerable && lower_frames(w.frames, frames) < w.frames;
  const double s = std::sqrt(0.75);
  const int nw = std::max(width.min, snap_down(static_cast<int>(w.width * s), width.multiple));
  const int nh = std::max(height.min, snap_down(static_cast<int>(w.height * s), height.multiple));
  const bool can_size = width.lowerable && height.lowerable && (nw < w.width || nh < w.height);
  if (can_frames && (step % 2 == 1 || !can_size)) {
    w.frames = lower_frames(w.frames, frames);
    return true;
  }
  if (can_size) {
    w.width = std::min(w.width, nw);
    w.height = std::min(w.height, nh);
    return true;
  }
  return false;
}

// The numbers of an estimate, without the strings a plan shows: the planner
// computes dozens per request and describes one.
enum class Phase { kDenoise, kDecode, kEncode };
struct Numbers {
  double vram = 0, ram = 0, weights = 0, activations = 0, decode = 0;
  Phase phase = Phase::kDenoise;
};

// Megapixels of output times frames (video) times images per run.
double units_of(const MemoryModel& m, const Workload& w) {
  return double(w.width) * w.height / 1e6 * (m.video ? std::max(w.frames, 1) : 1) * std::max(w.images, 1);
}

Numbers estimate_numbers(const MemoryModel& m, const EstimateConstants& k, int experts, double units, const RunSettings& s,
                         double compute_capability) {
  double encoders = 0, largest_encoder = 0;
  for (const auto& t : m.text_encoders) {
    const double g = weights_gb(t, dtype_at(t, s.level, compute_capability));
    encoders += g;
    largest_encoder = std::max(largest_encoder, g);
  }
  const double diffusion = weights_gb(m.diffusion_model, dtype_at(m.diffusion_model, s.level, compute_capability));
  const double vae = weights_gb(m.vae, dtype_at(m.vae, s.level, compute_capability));
  Numbers n;
  n.activations = m.activation_gb * units;
  n.decode = m.vae_decode_gb * units;
  if (s.vae_tiling) n.decode = std::min(n.decode, m.vae_tiled_decode_gb);

  // The peak is that of the phase needing most: what stays resident plus
  // the phase's own weights and working memory.
  double resident = 0, denoise = 0, decoding = 0, encoding = 0;
  switch (s.offload) {
    case Offload::kNone:
      resident = diffusion * experts + vae + (s.text_encoders_on_cpu ? 0 : encoders);
      denoise = n.activations;
      decoding = n.decode;
      break;
    case Offload::kModel:  // experts take turns, as the other components do
      denoise = diffusion + n.activations;
      decoding = vae + n.decode;
      encoding = s.text_encoders_on_cpu ? 0 : largest_encoder;
      break;
    case Offload::kSequential:
      denoise = diffusion * k.sequential_resident_fraction + n.activations;
      decoding = vae * k.sequential_resident_fraction + n.decode;
      encoding = largest_encoder * k.sequential_resident_fraction;
      break;
  }
  const double phase = std::max({denoise, decoding, encoding});
  n.phase = phase == denoise ? Phase::kDenoise : phase == decoding ? Phase::kDecode : Phase::kEncode;
  n.vram = resident + phase + k.overhead_gb;
  n.weights = diffusion * experts + vae + encoders;
  n.ram = k.system_ram_base_gb + (s.offload != Offload::kNone ? n.weights : s.text_encoders_on_cpu ? encoders : 0.0);
  return n;
}

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kDenoise: return "diffusion_model";
    case Phase::kDecode: return "vae_decode";
    case Phase::kEncode: return "text_encoders";
  }
  return "diffusion_model";
}

// The estimate as a plan shows it: each component's format and the phase of the peak.
MemoryEstimate describe(const MemoryModel& m, const RunSettings& s, double compute_capability, const Numbers& n) {
  MemoryEstimate e;
  e.peak_vram_gb = n.vram;
  e.system_ram_gb = n.ram;
  e.weights_gb = n.weights;
  e.peak_phase = phase_name(n.phase);
  e.dtypes.reserve(m.text_encoders.size() + 2);
  e.dtypes.push_back({"diffusion_model", dtype_at(m.diffusion_model, s.level, compute_capability)});
  for (const auto& t : m.text_encoders) e.dtypes.push_back({t.id, dtype_at(t, s.level, compute_capability)});
  e.dtypes.push_back({"vae", dtype_at(m.vae, s.level, compute_capability)});
  return e;
}

// What sets the peak, in words, for a refusal: "the diffusion model (0.4 GB
// of weights in gguf_q4_k on the GPU + 0.1 GB of activations)".
std::string explain_peak(const MemoryModel& m, const EstimateConstants& k, const RunSettings& s,
                         double compute_capability, const Numbers& n) {
  const double phase = n.vram - k.overhead_gb;
  switch (n.phase) {
    case Phase::kDenoise:
      return fmt::format("the diffusion model ({} GB of weights in {} on the GPU + {} GB of activations)",
                         gb(phase - n.activations), to_string(dtype_at(m.diffusion_model, s.level, compute_capability)),
                         gb(n.activations));
    case Phase::kDecode:
      return fmt::format("the VAE decode ({} GB resident + {} GB of decode memory{})", gb(phase - n.decode),
                         gb(n.decode), s.vae_tiling ? ", tiled" : "");
    case Phase::kEncode:
      break;
  }
  return fmt::format("the text encoders ({} GB)", gb(phase));
}

}  // namespace

const char* to_string(Offload o) noexcept {
  switch (o) {
    case Offload::kNone: return "none";
    case Offload::kModel: return "model";
    case Offload::kSequential: return "sequential";
  }
  return "none";
}

MemoryEstimate estimate_memory(const MemoryModel& m, const EstimateConstants& k, int experts, const Workload& w,
                               const RunSettings& s, double compute_capability) {
  return describe(m, s, compute_capability, estimate_numbers(m, k, experts, units_of(m, w), s, compute_capability));
}

void to_json(nlohmann::json& j, const HardwarePlan& p) {
  // Built member by member rather than from initializer lists, which copy
  // every value: a server serialises a plan with every answer.
  using object = nlohmann::json::object_t;
  nlohmann::json encoders(nlohmann::json::value_t::object), dtypes(nlohmann::json::value_t::object);
  for (const auto& d : p.estimate.dtypes) {
    auto& into = d.component == "diffusion_model" || d.component == "vae" ? dtypes : encoders;
    into.get_ref<object&>().emplace(d.component, to_string(d.dtype));
  }
  dtypes.get_ref<object&>().emplace("text_encoders", std::move(encoders));
  nlohmann::json adjusted(nlohmann::json::value_t::array);
  for (const auto& a : p.adjustments) {
    nlohmann::json one(nlohmann::json::value_t::object);
    auto& o = one.get_ref<object&>();
    o.emplace("parameter", a.parameter);
    o.emplace("from", a.from);
    o.emplace("to", a.to);
    adjusted.push_back(std::move(one));
  }
  j = nlohmann::json(nlohmann::json::value_t::object);
  auto& o = j.get_ref<object&>();
  o.emplace("profile", p.profile.id);
  o.emplace("weight_dtypes", std::move(dtypes));
  o.emplace("offload", to_string(p.settings.offload));
  o.emplace("text_encoders_on_cpu", p.settings.text_encoders_on_cpu);
  o.emplace("vae_tiling", p.settings.vae_tiling);
  o.emplace("estimated_peak_vram_gb", round1(p.estimate.peak_vram_gb));
  o.emplace("estimated_system_ram_gb", round1(p.estimate.system_ram_gb));
  o.emplace("peak", p.estimate.peak_phase);
  o.emplace("adjusted", std::move(adjusted));
  o.emplace("notes", p.notes);
}

bool HardwarePlanner::fits(const MemoryModel& model, int experts, const HardwareProfile& profile,
                           const Workload& workload, HardwarePlan& out) const {
  const double units = units_of(model, workload);
  const auto& k = hardware_.constants();
  Numbers found;
  const bool fit = for_each_setting(model, profile.compute_capability, [&](const RunSettings& s) {
    const Numbers n = estimate_numbers(model, k, experts, units, s, profile.compute_capability);
    if (n.vram > profile.vram_gb || n.ram > profile.system_ram_gb) return false;
    out.settings = s;
    found = n;
    return true;
  });
  if (!fit) return false;
  out.estimate = describe(model, out.settings, profile.compute_capability, found);
  out.workload = workload;
  return true;
}

namespace {

// What a plan is a function of: the catalogue read, the model (and the
// variant, whose rules and experts it may not share), the profile and the size.
struct PlanKey {
  std::uint64_t catalogue;
  const MemoryModel* model;
  std::string variant;
  std::string profile;
  double vram, ram, compute_capability;
  int count;
  Workload workload;
  bool operator==(const PlanKey& o) const {
    return std::tie(catalogue, model, variant, profile, vram, ram, compute_capability, count, workload.width, workload.height,
                    workload.frames, workload.images) ==
           std::tie(o.catalogue, o.model, o.variant, o.profile, o.vram, o.ram, o.compute_capability, o.count, o.workload.width,
                    o.workload.height, o.workload.frames, o.workload.images);
  }
};
struct PlanKeyHash {
  std::size_t operator()(const PlanKey& k) const {
    std::size_t h = std::hash<std::uint64_t>()(k.catalogue);
    for (const std::size_t v : {std::hash<const void*>()(k.model), std::hash<std::string>()(k.variant),
                                std::hash<std::string>()(k.profile),
                                std::hash<double>()(k.vram), std::hash<double>()(k.ram),
                                std::hash<double>()(k.compute_capability), std::hash<int>()(k.count),
                                std::hash<int>()(k.workload.width), std::hash<int>()(k.workload.height),
                                std::hash<int>()(k.workload.frames), std::hash<int>()(k.workload.images)})
      h = h * 1000003u ^ v;
    return h;
  }
};

// Plans are pure, and a server asks for the same few again and again: each
// thread keeps the ones it made (no lock), bounded.
constexpr std::size_t kPlansKept = 1024;
std::unordered_map<PlanKey, HardwarePlan, PlanKeyHash>& kept_plans() {
  thread_local std::unordered_map<PlanKey, HardwarePlan, PlanKeyHash> plans;
  return plans;
}

}  // namespace

HardwarePlan HardwarePlanner::plan(const BaseModelSpec& spec, std::string_view variant, const HardwareProfile& profile,
                                   const Workload& workload) const {
  const MemoryModel* model = hardware_.memory_model(spec.id, variant);
  if (!model) return plan_afresh(spec, variant, profile, workload);  // the refusal
  PlanKey key{hardware_.identity(), model, std::string(variant), profile.id, profile.vram_gb, profile.system_ram_gb,
              profile.compute_capability, profile.count, workload};
  auto& plans = kept_plans();
  if (auto it = plans.find(key); it != plans.end()) return it->second;
  HardwarePlan made = plan_afresh(spec, variant, profile, workload);
  if (plans.size() >= kPlansKept) plans.clear();
  plans.emplace(std::move(key), made);
  return made;
}

HardwarePlan HardwarePlanner::plan_afresh(const BaseModelSpec& spec, std::string_view variant,
                                          const HardwareProfile& profile, const Workload& workload) const {
  const std::string who = variant.empty() ? spec.id : fmt::format("{}/{}", spec.id, variant);
  const MemoryModel* model = hardware_.memory_model(spec.id, variant);
  if (!model)
    throw invalid(fmt::format("{} has no memory model in the hardware catalogue (hardware.json), so inferconf cannot "
                              "plan it for hardware; resolve without \"hardware\", or add its memory model "
                              "(docs/HARDWARE.md).", who),
                  {{"hardware", fmt::format("cannot be planned for {}: hardware.json has no memory model for it.", who)}});
  const int experts = std::max<int>(1, static_cast<int>(spec.experts_for(variant).size()));
  HardwarePlan plan;
  plan.profile = profile;
  if (profile.count > 1)
    plan.notes.push_back(fmt::format("Planned for one of the {} cards: the estimate is per card, and inferconf does not "
                                     "split one generation across cards.", profile.count));
  if (fits(*model, experts, profile, workload, plan)) return plan;

  // Nothing fits as asked: what the leanest run needs, for the notes and the refusal.
  RunSettings leanest = leanest_setting(*model, profile.compute_capability);
  leanest.text_encoders_on_cpu = !model->text_encoders.empty();
  leanest.vae_tiling = true;
  const auto leanest_of = [&](const Workload& w) {
    return estimate_numbers(*model, hardware_.constants(), experts, units_of(*model, w), leanest,
                            profile.compute_capability);
  };
  const Numbers as_asked = leanest_of(workload);
  const Constraints& rules = spec.constraints_for(variant);
  const SizeRule width = size_rule(rules, "width"), height = size_rule(rules, "height"),
                 frames = size_rule(rules, "video_frames");
  Workload w = workload;
  for (int step = 0; lower(w, width, height, frames, model->video, step); ++step) {
    if (!fits(*model, experts, profile, w, plan)) continue;
    const std::string why = fmt::format(
        "lowered so {} fits {} ({} GB VRAM, {} GB system RAM): at {} even the leanest plan needs {} GB of VRAM and "
        "{} GB of system RAM.",
        who, profile.id, gb(profile.vram_gb), gb(profile.system_ram_gb), size_text(workload, model->video),
        gb(as_asked.vram), gb(as_asked.ram));
    if (w.width != workload.width) plan.adjustments.push_back({"width", workload.width, w.width, why});
    if (w.height != workload.height) plan.adjustments.push_back({"height", workload.height, w.height, why});
    if (w.frames != workload.frames) plan.adjustments.push_back({"video_frames", workload.frames, w.frames, why});
    return plan;
  }

  const Numbers smallest = leanest_of(w);
  std::string shortage;
  if (smallest.vram > profile.vram_gb)
    shortage = fmt::format("{} needs {} GB of VRAM against the {} GB of {}",
                           explain_peak(*model, hardware_.constants(), leanest, profile.compute_capability, smallest),
                           gb(smallest.vram), gb(profile.vram_gb), profile.id);
  if (smallest.ram > profile.system_ram_gb)
    shortage += fmt::format("{}the weights held in system RAM need {} GB against its {} GB",
                            shortage.empty() ? "" : ", and ", gb(smallest.ram), gb(profile.system_ram_gb));
  std::string instead = "No shipped profile runs it as asked.";
  HardwarePlan probe;
  for (const auto& p : hardware_.profiles())
    if (fits(*model, experts, p, workload, probe)) {
      instead = fmt::format("The smallest shipped profile that runs it as asked is {} ({} GB VRAM, {} GB system RAM).",
                            p.id, gb(p.vram_gb), gb(p.system_ram_gb));
      break;
    }
  auto message = fmt::format("{} does not fit {} even at {}: with {} weights, sequential offload, the text encoders on "
                             "the CPU and a tiled VAE decode, {}. {}",
                             who, profile.id, size_text(w, model->video),
                             to_string(dtype_at(model->diffusion_model, leanest.level, profile.compute_capability)),
                             shortage, instead);
  throw invalid(message, {{"hardware", message}});
}

}  // namespace inferconf
