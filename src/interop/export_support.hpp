// Shared by the exporters: reading resolved parameters and translating names,
// with the substitution policy in one place.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/interop/export.hpp"
#include "inferconf/interop/infotext.hpp"

namespace inferconf::interop {

// Typed access to ResolvedParameters::parameters.
class Params {
 public:
  explicit Params(const nlohmann::json& p) : p_(p) {}
  bool has(std::string_view key) const;
  std::optional<double> number(std::string_view key) const;
  std::optional<std::int64_t> integer(std::string_view key) const;
  std::optional<std::string> string(std::string_view key) const;
  double number_or(std::string_view key, double fallback) const { return number(key).value_or(fallback); }
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const { return integer(key).value_or(fallback); }
  // Throws Error(kInvalid) naming the key when it is absent or not a number.
  double require_number(std::string_view key, std::string_view target) const;
  std::int64_t require_integer(std::string_view key, std::string_view target) const;
  std::string require_string(std::string_view key, std::string_view target) const;

 private:
  const nlohmann::json& p_;
};

struct ExportContext {
  const ResolvedParameters& resolved;
  const ExportOptions& options;
  const Catalog& catalog;
  const EngineVocabulary& vocabulary;
  const EngineArchitecture& architecture;
  Params params;
  std::vector<Substitution>& substitutions;
  std::vector<std::string>& notes;

  std::string who() const;  // "sdxl", "wan_2_2/ti2v_5b"
  // The positive prompt: the preset's prompt_prefix, then the user's prompt.
  std::string positive_prompt() const;
};

// The A1111 sampler display name and schedule type for the resolved names.
std::pair<std::string, std::string> a1111_names(ExportContext& ctx);

struct DiffusersSchedulerChoice {
  std::string class_name;
  nlohmann::json config = nlohmann::json::object();
  std::string shift_key;
};
DiffusersSchedulerChoice diffusers_scheduler(ExportContext& ctx, bool flow);

// File name without folders and extension: A1111's model name in infotext.
std::string file_stem(std::string_view file);
// Python's str(float): 7.0 -> "7.0", 7.5 -> "7.5".
std::string python_float(double v);

// The request's hardware plan, where the engine has a knob for it
// (export_hardware.cpp); without a plan: "default", false, and no change.
std::string comfyui_weight_dtype(const ExportContext& ctx);  // UNETLoader's weight_dtype
bool plan_text_encoders_on_cpu(const ExportContext& ctx);
bool plan_vae_tiling(const ExportContext& ctx);
// Notes for what the plan needs outside the graph / body (launch flags, custom nodes).
void note_comfyui_plan(ExportContext& ctx, bool loader_has_weight_dtype, bool loader_has_device);
void note_a1111_plan(ExportContext& ctx);
// torch_dtype, body["memory"] (offload, vae_tiling, layerwise_casting) and notes;
// `denoiser` is the pipeline's diffusion component ("transformer", "unet").
void apply_diffusers_plan(ExportContext& ctx, nlohmann::json& body, std::string_view denoiser);

nlohmann::json export_comfyui(ExportContext& ctx);
nlohmann::json export_a1111(ExportContext& ctx);
std::string export_infotext(ExportContext& ctx);
nlohmann::json export_diffusers(ExportContext& ctx);

}  // namespace inferconf::interop
