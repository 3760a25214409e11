// Planning a generation for the hardware it will run on: the weight format
// of each component, the offload mode, VAE tiling and, when nothing else
// fits, a lower resolution or frame count, with the peak memory each needs.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/hardware.hpp"

namespace inferconf {

// Where the weights live while the generation runs.
enum class Offload {
  kNone,        // every component stays on the GPU
  kModel,       // one component at a time on the GPU (diffusers enable_model_cpu_offload)
  kSequential,  // the diffusion model streamed block by block (enable_sequential_cpu_offload)
};
// "none", "model", "sequential".
const char* to_string(Offload o) noexcept;

// What is generated: the output size, frames (1 for an image) and images per run.
struct Workload {
  int width = 0;
  int height = 0;
  int frames = 1;
  int images = 1;
};

// One way of running: the weight format level (each component takes its
// best format no wider than this), the offload mode, whether the text
// encoders run on the CPU, and whether the VAE decodes in tiles.
struct RunSettings {
  WeightDtype level = WeightDtype::kBf16;
  Offload offload = Offload::kNone;
  bool text_encoders_on_cpu = false;
  bool vae_tiling = false;
};

struct ComponentDtype {
  std::string component;  // "diffusion_model", "vae", or a text encoder's id
  WeightDtype dtype;
};

struct MemoryEstimate {
  double peak_vram_gb = 0;
  double system_ram_gb = 0;
  double weights_gb = 0;  // every component's weights (each expert's), wherever they live
  // The phase that sets the VRAM peak: "diffusion_model", "vae_decode" or
  // "text_encoders".
  std::string peak_phase;
  std::vector<ComponentDtype> dtypes;
};

// The memory `workload` needs run with `settings` on a card of compute
// capability `compute_capability` (bf16 needs 8.0): the peak over the
// phases (text encoding, denoising, VAE decode) plus the constant overhead.
// `experts`: the diffusion models held at once without offload (2 for Wan
// 2.2 A14B). Pure and thread-safe.
MemoryEstimate estimate_memory(const MemoryModel& model, const EstimateConstants& constants, int experts,
                               const Workload& workload, const RunSettings& settings, double compute_capability);

// A value the plan lowered so the run fits, and why.
struct PlanAdjustment {
  std::string parameter;  // "width", "height", "video_frames"
  int from = 0;
  int to = 0;
  std::string note;
};

struct HardwarePlan {
  HardwareProfile profile;
  RunSettings settings;
  MemoryEstimate estimate;
  Workload workload;  // as planned (after any adjustment)
  std::vector<PlanAdjustment> adjustments;
  std::vector<std::string> notes;
};
// {"profile", "weight_dtypes", "offload", "text_encoders_on_cpu",
// "vae_tiling", "estimated_peak_vram_gb", "estimated_system_ram_gb", "peak",
// "adjusted" ({parameter, from, to}; the note saying why is the answer's
// note for the parameter), "notes"}: the "hardware" member of a resolve answer.
void to_json(nlohmann::json& j, const HardwarePlan& plan);

// Chooses how to run a base model on a profile. Holds a reference to the
// hardware catalogue, which must outlive it; immutable (each thread keeps
// its own plans), so thread-safe.
class HardwarePlanner {
 public:
  explicit HardwarePlanner(const HardwareCatalog& hardware) : hardware_(hardware) {}

  // The plan for generating `workload` with (spec, variant) on `profile`:
  // the first run settings, best first (widest weights, least offload,
  // no tiling), whose estimate fits the card's VRAM and the machine's RAM;
  // when none fits the workload, the largest lower resolution (then frame
  // count) within the base model's rules that fits, each lowered value in
  // `adjustments` with a note. Throws Error(kInvalid) when the base model
  // (or variant) has no memory model, or when nothing fits even at the
  // smallest size the rules allow: the message names the phase that needs
  // how much against what the profile has, and the smallest shipped
  // profile that runs the workload as asked (or says none does).
  // Each thread keeps the last plans it made (up to 1024), so a plan asked
  // for again costs a look-up.
  HardwarePlan plan(const BaseModelSpec& spec, std::string_view variant, const HardwareProfile& profile,
                    const Workload& workload) const;
  // The same without the kept plans: what a plan costs to make.
  HardwarePlan plan_afresh(const BaseModelSpec& spec, std::string_view variant, const HardwareProfile& profile,
                           const Workload& workload) const;

  // The first run settings that fit `workload` on `profile` unchanged;
  // false when none does. Pure.
  bool fits(const MemoryModel& model, int experts, const HardwareProfile& profile, const Workload& workload,
            HardwarePlan& out) const;

  const HardwareCatalog& hardware() const { return hardware_; }

 private:
  const HardwareCatalog& hardware_;
};

}  // namespace inferconf
