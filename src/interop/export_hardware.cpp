// The hardware plan (ResolvedParameters::hardware) in an engine's request:
// the knobs each engine has in the request itself, and notes for what must
// be set where the engine starts.
#include <fmt/format.h>

#include "interop/export_support.hpp"

namespace inferconf::interop {

namespace {

WeightDtype diffusion_dtype(const HardwarePlan& plan) {
  for (const auto& d : plan.estimate.dtypes)
    if (d.component == "diffusion_model") return d.dtype;
  return WeightDtype::kBf16;
}

bool is_fp8(WeightDtype d) { return d == WeightDtype::kFp8E4m3fn || d == WeightDtype::kFp8E5m2; }
bool is_gguf(WeightDtype d) { return d == WeightDtype::kGgufQ8_0 || d == WeightDtype::kGgufQ4K; }

// The narrowed text encoders (fp8 or GGUF) a loader of full-width files cannot make so.
std::string narrowed_encoders(const HardwarePlan& plan) {
  std::string out;
  for (const auto& d : plan.estimate.dtypes)
    if (d.component != "diffusion_model" && d.component != "vae" && (is_fp8(d.dtype) || is_gguf(d.dtype)))
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", d.component, to_string(d.dtype));
  return out;
}

std::string gguf_note(const HardwarePlan& plan, std::string_view how) {
  return fmt::format("The plan for {} stores the diffusion model as {}: {}", plan.profile.id,
                     to_string(diffusion_dtype(plan)), how);
}

}  // namespace

std::string comfyui_weight_dtype(const ExportContext& ctx) {
  if (!ctx.resolved.hardware) return "default";
  const auto d = diffusion_dtype(*ctx.resolved.hardware);
  return is_fp8(d) ? std::string(to_string(d)) : "default";
}

bool plan_text_encoders_on_cpu(const ExportContext& ctx) {
  return ctx.resolved.hardware && ctx.resolved.hardware->settings.text_encoders_on_cpu;
}

bool plan_vae_tiling(const ExportContext& ctx) { return ctx.resolved.hardware && ctx.resolved.hardware->settings.vae_tiling; }

void note_comfyui_plan(ExportContext& ctx, bool loader_has_weight_dtype, bool loader_has_device) {
  if (!ctx.resolved.hardware) return;
  const auto& plan = *ctx.resolved.hardware;
  const auto d = diffusion_dtype(plan);
  if (is_fp8(d) && !loader_has_weight_dtype)
    ctx.notes.push_back(fmt::format("The plan for {} stores the diffusion model in {}, which CheckpointLoaderSimple "
                                    "cannot ask for: start ComfyUI with --{}-unet.",
                                    plan.profile.id, to_string(d), d == WeightDtype::kFp8E4m3fn ? "fp8_e4m3fn" : "fp8_e5m2"));
  if (is_gguf(d))
    ctx.notes.push_back(gguf_note(plan, "load a GGUF file of it with ComfyUI-GGUF's UnetLoaderGGUF (a custom node) in "
                                        "place of UNETLoader, which reads safetensors only."));
  if (const auto narrowed = narrowed_encoders(plan); !narrowed.empty())
    ctx.notes.push_back(fmt::format("The plan stores text encoders narrower ({}): give the loader such a file (an "
                                    "fp8 safetensors, or GGUF through ComfyUI-GGUF's CLIPLoaderGGUF); a loader reads "
                                    "the file it is given as it is.", narrowed));
  if (plan.settings.text_encoders_on_cpu && !loader_has_device)
    ctx.notes.push_back("The plan runs the text encoders on the CPU, but this graph's loader has no device input; "
                        "ComfyUI moves them off the GPU between stages under --lowvram.");
  if (plan.settings.offload == Offload::kSequential)
    ctx.notes.push_back("The plan streams the diffusion model's weights (sequential offload): start ComfyUI with "
                        "--lowvram.");
  else if (plan.settings.offload == Offload::kModel)
    ctx.notes.push_back("The plan keeps one model at a time on the GPU: ComfyUI's default memory management "
                        "(--normalvram) does so; do not start it with --highvram or --gpu-only.");
}

void note_a1111_plan(ExportContext& ctx) {
  if (!ctx.resolved.hardware) return;
  const auto& plan = *ctx.resolved.hardware;
  const auto d = diffusion_dtype(plan);
  if (is_fp8(d))
    ctx.notes.push_back(fmt::format("The plan for {} stores the model in {}: set Settings > Optimizations > FP8 weight "
                                    "(A1111) or the Diffusion in Low Bits option (Forge).",
                                    plan.profile.id, to_string(d)));
  if (is_gguf(d)) ctx.notes.push_back(gguf_note(plan, "Forge loads GGUF files; A1111 does not."));
  if (plan.settings.offload == Offload::kSequential)
    ctx.notes.push_back("The plan streams the model's weights: start A1111 with --lowvram (Forge manages this itself; "
                        "lower its GPU Weights setting).");
  else if (plan.settings.offload == Offload::kModel || plan.settings.text_encoders_on_cpu)
    ctx.notes.push_back("The plan keeps the text encoders and VAE off the GPU while the model runs: start A1111 with "
                        "--medvram (--medvram-sdxl for SDXL); Forge does this by itself.");
  if (plan.settings.vae_tiling)
    ctx.notes.push_back("The plan decodes in tiles: enable Tiled VAE (the multidiffusion-upscaler extension in A1111; "
                        "built into Forge).");
}

void apply_diffusers_plan(ExportContext& ctx, nlohmann::json& body, std::string_view denoiser) {
  if (!ctx.resolved.hardware) return;
  const auto& plan = *ctx.resolved.hardware;
  const auto d = diffusion_dtype(plan);
  // Weights narrower than 16 bits still compute in 16 bits: bf16 where the
  // card has it (compute capability 8.0), else fp16.
  const std::string compute = plan.profile.compute_capability >= 8.0 ? "bfloat16" : "float16";
  std::string dtype = d == WeightDtype::kFp32   ? "float32"
                      : d == WeightDtype::kFp16 ? "float16"
                      : d == WeightDtype::kBf16 ? "bfloat16"
                                                : compute;
  body["torch_dtype"] = dtype;
  if (body.contains("components"))
    for (auto& [name, c] : body["components"].items())
      if (c.value("method", "") == "from_single_file") c["torch_dtype"] = dtype;
  nlohmann::json memory = {{"offload", to_string(plan.settings.offload)}, {"vae_tiling", plan.settings.vae_tiling}};
  if (is_fp8(d)) {
    auto denoisers = nlohmann::json::array({denoiser});
    if (body.contains("pipeline_kwargs") && body["pipeline_kwargs"].contains("boundary_ratio"))
      denoisers.push_back(std::string(denoiser) + "_2");  // the second expert
    memory["layerwise_casting"] = {{"components", denoisers},
                                   {"storage_dtype", d == WeightDtype::kFp8E4m3fn ? "float8_e4m3fn" : "float8_e5m2"},
                                   {"compute_dtype", compute}};
  }
  body["memory"] = std::move(memory);
  if (is_gguf(d))
    ctx.notes.push_back(gguf_note(plan, fmt::format("diffusers reads a GGUF file with {}.from_single_file(file, "
                                                    "quantization_config=GGUFQuantizationConfig(compute_dtype=torch.{})); "
                                                    "this description loads the repository's weights.",
                                                    denoiser == "unet" ? "UNet2DConditionModel" : "the transformer class",
                                                    compute)));
  if (const auto narrowed = narrowed_encoders(plan); !narrowed.empty())
    ctx.notes.push_back(fmt::format("The plan narrows text encoders ({}); the pipeline loads them at torch_dtype unless "
                                    "you pass quantized ones.", narrowed));
  if (plan.settings.text_encoders_on_cpu && plan.settings.offload == Offload::kNone)
    ctx.notes.push_back("The plan runs the text encoders on the CPU: encode the prompt with pipe.encode_prompt on the "
                        "CPU, or use enable_model_cpu_offload(), which keeps them off the GPU except while encoding.");
}

}  // namespace inferconf::interop
