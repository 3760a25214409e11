// Generators of real tensor layouts (key names and shapes as the released
// checkpoints carry them; see the sources in catalog/detection_rules.json) for
// the detection tests and bench/detect. Data is never written: the files are
// a header followed by a sparse hole.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "inferconf/detect.hpp"

namespace inferconf::detect::testing {

using Layout = std::vector<TensorSpec>;
using Dt = Dtype;

// Appends `src` with every key prefixed by `prefix`.
void append(Layout& dst, const Layout& src, const std::string& prefix = "");
// Converts the dtype of every tensor of rank >= 2 (weights) to `dt`.
Layout with_dtype(Layout l, Dtype dt);

// LDM UNets (model.diffusion_model.* relative keys).
Layout sd15_unet(int in_channels = 4, Dtype dt = Dt::F16);
Layout sd2_unet(Dtype dt = Dt::F16);
Layout sdxl_unet(Dtype dt = Dt::F16);
Layout sdxl_distilled_unet(Dtype dt = Dt::F16);  // SSD-1B-like depths
Layout sdxl_refiner_unet(Dtype dt = Dt::F16);

// Text encoders and VAEs (relative keys).
Layout clip_text(int layers, int width, int ffn, Dtype dt = Dt::F16);      // text_model.*
Layout open_clip_g(Dtype dt = Dt::F16);                                    // model.* (SDXL conditioner.embedders.1)
Layout t5_xxl(Dtype dt = Dt::BF16);
Layout llama_te(int layers = 32, Dtype dt = Dt::BF16);
Layout ldm_vae(int z_channels, Dtype dt = Dt::F16);
Layout wan_vae(Dtype dt = Dt::BF16);

// Full single-file checkpoints.
Layout sd15_checkpoint(Dtype dt = Dt::F16);
Layout sdxl_checkpoint(Dtype dt = Dt::F16);

// Transformers (no prefix).
Layout flux_dit(bool guidance, int img_in = 64, Dtype dt = Dt::BF16);
Layout flux_diffusers(bool guidance, Dtype dt = Dt::BF16);
Layout wan_dit(int dim, int ffn, int blocks, int in_ch, int out_ch, bool img_emb, Dtype dt = Dt::BF16);
Layout hidream_dit(Dtype dt = Dt::BF16);
// SD 3 / 3.5 MMDiT, original keys (hidden = 64 x depth; joint blocks 0..dual_layers-1 carry
// SD 3.5 Medium's second image attention, x_block.attn2) and the diffusers SD3Transformer2DModel.
Layout sd3_mmdit(int depth, int dual_layers, Dtype dt = Dt::F16);
Layout sd3_diffusers(int depth, int dual_layers, Dtype dt = Dt::F16);
// HunyuanVideo 13B (ComfyUI / original keys): 20 double and 40 single blocks of width 3072.
Layout hunyuan_video_dit(int in_channels = 16, bool guidance = true, Dtype dt = Dt::BF16);
// The same model in the diffusers HunyuanVideoTransformer3DModel layout, and Chroma in the diffusers
// ChromaTransformer2DModel layout (FLUX.1's blocks without their modulation, plus the approximator).
Layout hunyuan_video_diffusers(std::uint64_t in_channels = 16, Dtype dt = Dt::BF16);
Layout chroma_diffusers(Dtype dt = Dt::BF16);

// Qwen-Image 20B (the diffusers QwenImageTransformer2DModel keys, which ComfyUI's repackaged files
// keep under model.diffusion_model.): 60 blocks of width 3072; `edit_marker` adds Edit-2511's marker.
Layout qwen_image_dit(std::uint64_t img_in = 64, bool edit_marker = false, Dtype dt = Dt::BF16);
// Lumina-Image 2.0 (NextDiT, width 2304, 26 layers): the original keys or the diffusers Lumina2Transformer2DModel.
Layout lumina2_dit(bool diffusers, std::uint64_t x_in = 64, Dtype dt = Dt::BF16);
// LTX-Video: width 2048 with 28 blocks (2B) or 4096 with 48 (13B); original or diffusers keys.
Layout ltxv_dit(std::uint64_t dim, int blocks, bool diffusers, std::uint64_t patch_in = 128, Dtype dt = Dt::BF16);
// HunyuanVideo 1.5 (8.3B): original (ComfyUI) or diffusers HunyuanVideo15Transformer3DModel keys.
Layout hunyuan_video15_dit(bool diffusers, std::uint64_t in_channels = 65, Dtype dt = Dt::BF16);
// LoRAs.
Layout lora_kohya_sd15(int rank = 16);
Layout lora_kohya_sdxl(int rank = 16);
Layout lora_kohya_flux(int rank = 16);
Layout lora_wan(int dim, int rank = 32);
Layout lora_hidream(int rank = 16);
// LoRAs for the 2025-26 transformers: kohya-style `lora_unet_<module>` down/up/alpha triples, or
// diffusers/PEFT `transformer.<module>.lora_A/lora_B` pairs.
enum class LoraTarget { kQwenImage, kLumina2, kLtxVideo2B, kLtxVideo13B, kHunyuanVideo15 };
Layout lora_transformer(LoraTarget target, bool kohya, int rank = 16);

// The fp8 conversion ComfyUI applies ("scaled fp8"): weights F8_E4M3, a
// scaled_fp8 marker and one F32 scale_weight scalar per converted weight.
Layout comfy_scaled_fp8(const Layout& l);

}  // namespace inferconf::detect::testing
