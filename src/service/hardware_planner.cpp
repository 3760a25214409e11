// The hardware planner: estimate the memory of each way of running, best
// first, and take the first that fits; lower the workload only when none
// does, and refuse with the numbers when even the smallest workload does not.
#include "inferconf/hardware_plan.hpp"

#include <algorithm>
#include <cmath>

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

// The run settings in the order the planner prefers them: full-width weights
// before narrower ones, and at each width the least offload first (it costs
// speed, not quality); sequential offload, which is many times slower, only
// after every format has been tried with model offload.
std::vector<RunSettings> ladder(const MemoryModel& m, double compute_capability) {
  std::vector<WeightDtype> levels;
  for (const auto& d : m.diffusion_model.dtypes) {
    if (!usable(d, compute_capability)) continue;
    const bool same_width = std::any_of(levels.begin(), levels.end(), [&](WeightDtype l) {
      return bytes_per_parameter(l) == bytes_per_parameter(d);
    });
    if (!same_width) levels.push_back(d);
  }
  if (levels.empty()) levels.push_back(m.diffusion_model.dtypes.front());
  const bool encoders = !m.text_encoders.empty();
  std::vector<RunSettings> out;
  for (const auto level : levels)
    for (const auto offload : {Offload::kNone, Offload::kModel})
      for (const bool on_cpu : {false, true}) {
        if (on_cpu && !encoders) continue;
        for (const bool tiling : {false, true}) out.push_back({level, offload, on_cpu, tiling});
      }
  for (const auto level : levels)
    for (const bool tiling : {false, true}) out.push_back({level, Offload::kSequential, false, tiling});
  return out;
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
  MemoryEstimate e;
  const WeightDtype diffusion_dtype = dtype_at(m.diffusion_model, s.level, compute_capability);
  const WeightDtype vae_dtype = dtype_at(m.vae, s.level, compute_capability);
  e.dtypes.push_back({"diffusion_model", diffusion_dtype});
  double encoders = 0, largest_encoder = 0;
  for (const auto& t : m.text_encoders) {
    const WeightDtype d = dtype_at(t, s.level, compute_capability);
    e.dtypes.push_back({t.id, d});
    encoders += weights_gb(t, d);
    largest_encoder = std::max(largest_encoder, weights_gb(t, d));
  }
  e.dtypes.push_back({"vae", vae_dtype});
  const double diffusion = weights_gb(m.diffusion_model, diffusion_dtype);
  const double vae = weights_gb(m.vae, vae_dtype);
  const double units = double(w.width) * w.height / 1e6 * (m.video ? std::max(w.frames, 1) : 1) * std::max(w.images, 1);
  const double activations = m.activation_gb * units;
  double decode = m.vae_decode_gb * units;
  if (s.vae_tiling) decode = std::min(decode, m.vae_tiled_decode_gb);

  // The peak is that of the phase needing most: what stays resident plus
  // the phase's own weights and working memory.
  double resident = 0, denoise = 0, decoding = 0, encoding = 0;
  const double gpu_encoders = s.text_encoders_on_cpu ? 0 : encoders;
  switch (s.offload) {
    case Offload::kNone:
      resident = diffusion * experts + vae + gpu_encoders;
      denoise = activations;
      decoding = decode;
      break;
    case Offload::kModel:  // experts take turns, as the other components do
      denoise = diffusion + activations;
      decoding = vae + decode;
      encoding = s.text_encoders_on_cpu ? 0 : largest_encoder;
      break;
    case Offload::kSequential:
      denoise = diffusion * k.sequential_resident_fraction + activations;
      decoding = vae * k.sequential_resident_fraction + decode;
      encoding = largest_encoder * k.sequential_resident_fraction;
      break;
  }
  const double phase = std::max({denoise, decoding, encoding});
  e.peak_vram_gb = resident + phase + k.overhead_gb;
  const auto dtype_name = to_string(diffusion_dtype);
  if (phase == denoise)
    e.peak_phase = fmt::format("the diffusion model ({} GB of weights in {} on the GPU + {} GB of activations)",
                               gb(e.peak_vram_gb - k.overhead_gb - activations), dtype_name, gb(activations));
  else if (phase == decoding)
    e.peak_phase = fmt::format("the VAE decode ({} GB resident + {} GB of decode memory{})",
                               gb(e.peak_vram_gb - k.overhead_gb - decode), gb(decode), s.vae_tiling ? ", tiled" : "");
  else
    e.peak_phase = fmt::format("the text encoders ({} GB)", gb(e.peak_vram_gb - k.overhead_gb));
  const double all_weights = diffusion * experts + vae + encoders;
  e.weights_gb = all_weights;
  e.system_ram_gb = k.system_ram_base_gb + (s.offload != Offload::kNone ? all_weights
                                            : s.text_encoders_on_cpu    ? encoders
                                                                        : 0.0);
  return e;
}

void to_json(nlohmann::json& j, const HardwarePlan& p) {
  nlohmann::json dtypes = {{"text_encoders", nlohmann::json::object()}};
  for (const auto& d : p.estimate.dtypes) {
    if (d.component == "diffusion_model" || d.component == "vae")
      dtypes[d.component] = to_string(d.dtype);
    else
      dtypes["text_encoders"][d.component] = to_string(d.dtype);
  }
  auto adjusted = nlohmann::json::array();
  for (const auto& a : p.adjustments)
    adjusted.push_back({{"parameter", a.parameter}, {"from", a.from}, {"to", a.to}, {"note", a.note}});
  j = nlohmann::json{{"profile", to_json(p.profile)},
                     {"weight_dtypes", std::move(dtypes)},
                     {"offload", to_string(p.settings.offload)},
                     {"text_encoders_on_cpu", p.settings.text_encoders_on_cpu},
                     {"vae_tiling", p.settings.vae_tiling},
                     {"estimated_peak_vram_gb", round1(p.estimate.peak_vram_gb)},
                     {"estimated_system_ram_gb", round1(p.estimate.system_ram_gb)},
                     {"peak", p.estimate.peak_phase},
                     {"adjusted", std::move(adjusted)},
                     {"notes", p.notes}};
}

bool HardwarePlanner::fits(const MemoryModel& model, int experts, const HardwareProfile& profile,
                           const Workload& workload, HardwarePlan& out) const {
  for (const auto& s : ladder(model, profile.compute_capability)) {
    auto e = estimate_memory(model, hardware_.constants(), experts, workload, s, profile.compute_capability);
    if (e.peak_vram_gb <= profile.vram_gb && e.system_ram_gb <= profile.system_ram_gb) {
      out.settings = s;
      out.estimate = std::move(e);
      out.workload = workload;
      return true;
    }
  }
  return false;
}

HardwarePlan HardwarePlanner::plan(const BaseModelSpec& spec, std::string_view variant, const HardwareProfile& profile,
                                   const Workload& workload) const {
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
  const auto leanest_of = [&](const Workload& w) {
    const auto all = ladder(*model, profile.compute_capability);
    RunSettings s = all.back();
    s.text_encoders_on_cpu = !model->text_encoders.empty();
    s.vae_tiling = true;
    return estimate_memory(*model, hardware_.constants(), experts, w, s, profile.compute_capability);
  };
  const MemoryEstimate as_asked = leanest_of(workload);
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
        gb(as_asked.peak_vram_gb), gb(as_asked.system_ram_gb));
    if (w.width != workload.width) plan.adjustments.push_back({"width", workload.width, w.width, why});
    if (w.height != workload.height) plan.adjustments.push_back({"height", workload.height, w.height, why});
    if (w.frames != workload.frames) plan.adjustments.push_back({"video_frames", workload.frames, w.frames, why});
    return plan;
  }

  const MemoryEstimate smallest = leanest_of(w);
  std::string shortage;
  if (smallest.peak_vram_gb > profile.vram_gb)
    shortage = fmt::format("{} needs {} GB of VRAM against the {} GB of {}", smallest.peak_phase,
                           gb(smallest.peak_vram_gb), gb(profile.vram_gb), profile.id);
  if (smallest.system_ram_gb > profile.system_ram_gb)
    shortage += fmt::format("{}the weights held in system RAM need {} GB against its {} GB",
                            shortage.empty() ? "" : ", and ", gb(smallest.system_ram_gb), gb(profile.system_ram_gb));
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
                             who, profile.id, size_text(w, model->video), to_string(smallest.dtypes.front().dtype),
                             shortage, instead);
  throw invalid(message, {{"hardware", message}});
}

}  // namespace inferconf
