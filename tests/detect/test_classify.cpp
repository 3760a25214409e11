// Classification of generated fixtures: real key names and shapes, written as
// safetensors files whose data region is a sparse hole.
#include <functional>

#include <gtest/gtest.h>

#include "detect/layouts.hpp"
#include "detect/test_support.hpp"
#include "inferconf/detect.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::detect {
namespace {

using namespace testing;
using Meta = std::map<std::string, std::string>;

struct Fixture {
  std::string file;                         // file name (also a name hint)
  std::function<Layout()> layout;
  Meta metadata;
  std::string base, variant, expert, kind, prefix, dtype, decided_by, rule;
  std::string evidence;                     // a substring of one evidence line ("" none)
  std::string reason;                       // a substring of reason ("" none)
};

Layout prefixed(const Layout& l, const std::string& p) {
  Layout out;
  append(out, l, p);
  return out;
}

Layout comfy_flux_checkpoint(bool guidance) {
  Layout l;
  append(l, flux_dit(guidance, 64, Dtype::F8_E4M3), "model.diffusion_model.");
  append(l, clip_text(12, 768, 3072), "text_encoders.clip_l.transformer.");
  append(l, t5_xxl(Dtype::F8_E4M3), "text_encoders.t5xxl.transformer.");
  append(l, ldm_vae(16, Dtype::BF16), "vae.");
  return l;
}

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> f = {
      // SD 1.5
      {"v1-5-pruned-emaonly.safetensors", [] { return sd15_checkpoint(); }, {}, "sd_1_5", "", "", "checkpoint",
       "model.diffusion_model.", "F16", "keys", "sd15_unet", "attn2.to_k.weight F16 [320,768]", ""},
      {"realisticVisionV60_unet.safetensors", [] { return sd15_unet(); }, {}, "sd_1_5", "", "", "diffusion_model", "", "F16",
       "keys", "sd15_unet", "no label_emb.0.0.weight", ""},
      {"sd-v1-5-inpainting.safetensors", [] { return prefixed(sd15_unet(9), "model.diffusion_model."); }, {}, "sd_1_5", "", "",
       "diffusion_model", "model.diffusion_model.", "F16", "keys", "sd15_inpainting", "[320,9,3,3]", "inpainting"},
      // SDXL
      {"sd_xl_base_1.0.safetensors", [] { return sdxl_checkpoint(); }, {}, "sdxl", "", "", "checkpoint", "model.diffusion_model.",
       "F16", "keys", "sdxl_unet", "label_emb.0.0.weight F16 [1280,2816]", "Pony Diffusion, Illustrious-XL and NoobAI-XL share"},
      {"juggernautXL_unet_bf16.safetensors", [] { return sdxl_unet(Dtype::BF16); }, {}, "sdxl", "", "", "diffusion_model", "",
       "BF16", "keys", "sdxl_unet", "input_blocks.7.1.transformer_blocks.9.attn2.to_k.weight", ""},
      {"noobai_vpred.safetensors",
       [] {
         auto l = prefixed(sdxl_unet(), "model.diffusion_model.");
         l.push_back({"v_pred", Dtype::F32, {}});
         return l;
       },
       {}, "noobai", "v_pred", "", "diffusion_model", "model.diffusion_model.", "F16", "keys", "sdxl_vpred", "v_pred", "v-prediction"},
      {"model_0007.safetensors",
       [] {
         auto l = prefixed(sdxl_unet(), "model.diffusion_model.");
         l.push_back({"ztsnr", Dtype::F32, {}});
         return l;
       },
       {}, "noobai", "v_pred", "", "diffusion_model", "model.diffusion_model.", "F16", "keys", "sdxl_vpred", "ztsnr",
       "sampled as epsilon it breaks"},
      // Illustrious and NoobAI: SDXL keys; the name or metadata decides, as for Pony.
      {"illustriousXL_v01.safetensors", [] { return sdxl_checkpoint(); }, {}, "illustrious", "", "", "checkpoint",
       "model.diffusion_model.", "F16", "keys+name", "sdxl_unet", "name \"illustriousXL_v01", "only metadata or the name"},
      {"model_0043.safetensors", [] { return sdxl_checkpoint(); }, {{"civitai.baseModel", "NoobAI"}}, "noobai", "", "",
       "checkpoint", "model.diffusion_model.", "F16", "keys+metadata", "sdxl_unet", "metadata", "only metadata or the name"},
      {"sd_xl_base_1.0_0.9vae.safetensors", [] { return sdxl_checkpoint(); }, {}, "sdxl", "", "", "checkpoint",
       "model.diffusion_model.", "F16", "keys", "sdxl_unet", "agrees", "Illustrious-XL and NoobAI-XL"},
      // Pony: decided by name or metadata only.
      {"ponyDiffusionV6XL_v6StartWithThisOne.safetensors", [] { return sdxl_checkpoint(); }, {}, "pony", "", "", "checkpoint",
       "model.diffusion_model.", "F16", "keys+name", "sdxl_unet", "name \"ponyDiffusionV6XL", "only metadata or the name"},
      {"model_0042.safetensors", [] { return sdxl_checkpoint(); },
       {{"modelspec.architecture", "stable-diffusion-xl-v1-base"}, {"modelspec.usage_hint", "Pony"}}, "pony", "", "",
       "checkpoint", "model.diffusion_model.", "F16", "keys+metadata", "sdxl_unet", "metadata", ""},
      // FLUX.1 dev / schnell / Krea
      {"flux1-dev.safetensors", [] { return flux_dit(true); }, {}, "flux_dev", "", "", "diffusion_model", "", "BF16", "keys",
       "flux_dev_dit", "guidance_in.in_layer.weight BF16 [3072,256]", "Krea"},
      {"flux1-dev-fp8.safetensors", [] { return comfy_flux_checkpoint(true); }, {}, "flux_dev", "", "", "checkpoint",
       "model.diffusion_model.", "F8_E4M3", "keys", "flux_dev_dit", "also holds", ""},
      {"flux1-dev-diffusers.safetensors", [] { return flux_diffusers(true); }, {}, "flux_dev", "", "", "diffusion_model", "", "BF16",
       "keys", "flux_dev_diffusers", "time_text_embed.guidance_embedder.linear_1.weight", ""},
      {"flux1-schnell.safetensors", [] { return flux_dit(false); }, {}, "flux_schnell", "", "", "diffusion_model", "", "BF16",
       "keys", "flux_schnell_dit", "no guidance_in.*", ""},
      {"flux1-schnell-fp8.safetensors", [] { return comfy_flux_checkpoint(false); }, {}, "flux_schnell", "", "", "checkpoint",
       "model.diffusion_model.", "F8_E4M3", "keys", "flux_schnell_dit", "", ""},
      {"flux1-krea-dev.safetensors", [] { return flux_dit(true); }, {}, "flux_krea", "", "", "diffusion_model", "", "BF16",
       "keys+name", "flux_dev_dit", "name \"flux1-krea-dev.safetensors\" says flux_krea", "FLUX.1 Krea [dev] and FLUX.1 Kontext [dev] share"},
      {"flux1-krea-dev_fp8_scaled.safetensors", [] { return comfy_scaled_fp8(flux_dit(true)); }, {}, "flux_krea", "", "",
       "diffusion_model", "", "F8_E4M3", "keys+name", "flux_dev_dit", "scaled_fp8", ""},
      {"krea_finetune.safetensors", [] { return flux_dit(true); }, {{"modelspec.title", "FLUX.1 Krea [dev]"}}, "flux_krea", "", "",
       "diffusion_model", "", "BF16", "keys+metadata", "flux_dev_dit", "metadata modelspec.title", ""},
      // Wan 2.1
      {"wan2.1_t2v_1.3B_fp16.safetensors", [] { return wan_dit(1536, 8960, 30, 16, 16, false, Dtype::F16); }, {}, "wan_2_1",
       "t2v_1_3b", "", "diffusion_model", "", "F16", "keys", "wan21_t2v_1_3b", "patch_embedding.weight F16 [1536,16,1,2,2]", ""},
      {"wan2.1_i2v_480p_14B_bf16.safetensors", [] { return prefixed(wan_dit(5120, 13824, 40, 36, 16, true), "model.diffusion_model."); },
       {}, "wan_2_1", "i2v_14b", "", "diffusion_model", "model.diffusion_model.", "BF16", "keys", "wan21_i2v_14b",
       "img_emb.proj.0.bias", ""},
      {"wan2.1_t2v_14B_fp8_e4m3fn.safetensors", [] { return with_dtype(wan_dit(5120, 13824, 40, 16, 16, false), Dtype::F8_E4M3); },
       {}, "wan_2_1", "t2v_14b", "", "diffusion_model", "", "F8_E4M3", "keys+name", "wan_t2v_14b", "says wan_2_1/t2v_14b",
       "shape-identical"},
      {"t2v_14b_mystery.safetensors", [] { return wan_dit(5120, 13824, 40, 16, 16, false); }, {}, "unknown", "", "",
       "diffusion_model", "", "BF16", "keys", "wan_t2v_14b", "", "candidates: wan_2_1/t2v_14b, wan_2_2/t2v_a14b"},
      // Wan 2.2
      {"wan2.2_ti2v_5B_fp16.safetensors", [] { return wan_dit(3072, 14336, 30, 48, 48, false, Dtype::F16); }, {}, "wan_2_2",
       "ti2v_5b", "", "diffusion_model", "", "F16", "keys", "wan22_ti2v_5b", "head.head.weight F16 [192,3072]", ""},
      {"wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors", [] { return comfy_scaled_fp8(wan_dit(5120, 13824, 40, 16, 16, false)); },
       {}, "wan_2_2", "t2v_a14b", "high_noise", "diffusion_model", "", "F8_E4M3", "keys+name", "wan_t2v_14b", "scaled_fp8", ""},
      {"wan2.2_i2v_low_noise_14B_fp16.safetensors", [] { return wan_dit(5120, 13824, 40, 36, 16, false, Dtype::F16); }, {},
       "wan_2_2", "i2v_a14b", "low_noise", "diffusion_model", "", "F16", "keys", "wan22_i2v_a14b", "no img_emb.*", ""},
      {"expert.safetensors", [] { return wan_dit(5120, 13824, 40, 36, 16, false); }, {{"model_type", "Wan2_2-I2V-A14B-high"}},
       "wan_2_2", "i2v_a14b", "high_noise", "diffusion_model", "", "BF16", "keys", "wan22_i2v_a14b", "(high_noise)", ""},
      // HiDream
      {"hidream_i1_dev_bf16.safetensors", [] { return hidream_dit(); }, {}, "hidream", "dev", "", "diffusion_model", "", "BF16",
       "keys+name", "hidream_i1", "double_stream_blocks.0.block.ff_i.gate.weight", ""},
      {"hidream_i1_full_fp8.safetensors", [] { return prefixed(with_dtype(hidream_dit(), Dtype::F8_E4M3), "model.diffusion_model."); },
       {}, "hidream", "full", "", "diffusion_model", "model.diffusion_model.", "F8_E4M3", "keys+name", "hidream_i1", "", ""},
      {"hidream.safetensors", [] { return hidream_dit(); }, {}, "hidream", "", "", "diffusion_model", "", "BF16", "keys",
       "hidream_i1", "16 double_stream_blocks.N blocks", "only metadata or the name gives the variant"},
      // LoRAs, by target base
      {"add_detail_sd15.safetensors", [] { return lora_kohya_sd15(); }, {}, "sd_1_5", "", "", "lora", "", "F16", "keys",
       "lora_sd15", "attn2_to_k.lora_down.weight F16 [16,768]", ""},
      {"xl_more_art-full.safetensors", [] { return lora_kohya_sdxl(); }, {{"ss_base_model_version", "sdxl_base_v1-0"}}, "sdxl", "",
       "", "lora", "", "F16", "keys", "lora_sdxl", "sdxl_base_v1-0\" agrees", ""},
      {"pony_style_lora.safetensors", [] { return lora_kohya_sdxl(); }, {}, "pony", "", "", "lora", "", "F16", "keys+name",
       "lora_sdxl", "", ""},
      {"flux_realism_lora.safetensors", [] { return lora_kohya_flux(); }, {{"modelspec.architecture", "flux-1-dev/lora"}},
       "flux_dev", "", "", "lora", "", "BF16", "keys", "lora_flux_kohya", "lora_unet_double_blocks_0", ""},
      {"wan21_1.3b_style_lora.safetensors", [] { return lora_wan(1536); }, {}, "wan_2_1", "t2v_1_3b", "", "lora",
       "diffusion_model.", "BF16", "keys", "lora_wan_1_3b", "cross_attn.k.lora_A.weight BF16 [32,1536]", ""},
      {"wan22_lightx2v_4steps_high_noise.safetensors", [] { return lora_wan(5120); }, {}, "wan_2_2", "", "high_noise", "lora",
       "diffusion_model.", "BF16", "keys+name", "lora_wan_14b", "", ""},
      {"hidream_lora.safetensors", [] { return lora_hidream(); }, {}, "hidream", "", "", "lora", "diffusion_model.", "BF16", "keys",
       "lora_hidream", "double_stream_blocks.0.block.attn1.to_k.lora_A.weight BF16 [16,2560]", ""},
      // LoRAs for the 2025-26 transformers, kohya and diffusers/PEFT names each.
      {"qwen_image_lightning_lora.safetensors", [] { return lora_transformer(LoraTarget::kQwenImage, true); }, {}, "qwen_image",
       "t2i", "", "lora", "", "BF16", "keys", "lora_qwen_image", "img_mlp_net_0_proj.lora_down.weight BF16 [16,3072]", "Qwen-Image-Edit"},
      {"qwen_image_edit_style_lora.safetensors", [] { return lora_transformer(LoraTarget::kQwenImage, false); }, {}, "qwen_image",
       "edit", "", "lora", "transformer.", "BF16", "keys+name", "lora_qwen_image", "img_mlp.net.0.proj.lora_A.weight", ""},
      {"lumina2_style_lora.safetensors", [] { return lora_transformer(LoraTarget::kLumina2, true); }, {}, "lumina_2", "", "",
       "lora", "", "BF16", "keys", "lora_lumina_2", "layers_0_attention_qkv.lora_down.weight BF16 [16,2304]", ""},
      {"model_0110.safetensors", [] { return lora_transformer(LoraTarget::kLumina2, false); }, {}, "lumina_2", "", "", "lora",
       "transformer.", "BF16", "keys", "lora_lumina_2", "layers.0.attn.to_q.lora_A.weight BF16 [16,2304]", ""},
      {"model_0111.safetensors", [] { return lora_transformer(LoraTarget::kLtxVideo2B, false); }, {}, "ltx_video", "v2b", "",
       "lora", "transformer.", "BF16", "keys", "lora_ltx_video_2b", "attn1.to_q.lora_A.weight BF16 [16,2048]", ""},
      {"model_0112.safetensors", [] { return lora_transformer(LoraTarget::kLtxVideo2B, true); }, {}, "ltx_video", "v2b", "", "lora",
       "", "BF16", "keys", "lora_ltx_video_2b", "attn1_to_q.lora_down.weight BF16 [16,2048]", ""},
      {"ltxv_13b_squish_lora.safetensors", [] { return lora_transformer(LoraTarget::kLtxVideo13B, false); }, {}, "ltx_video",
       "v13b", "", "lora", "transformer.", "BF16", "keys", "lora_ltx_video_13b", "attn1.to_q.lora_A.weight BF16 [16,4096]", ""},
      {"model_0113.safetensors", [] { return lora_transformer(LoraTarget::kHunyuanVideo15, true); }, {}, "hunyuan_video", "v1_5",
       "", "lora", "", "BF16", "keys", "lora_hunyuan_video_1_5", "double_blocks_0_img_attn_qkv.lora_down.weight BF16 [16,2048]",
       ""},
      {"model_0114.safetensors", [] { return lora_transformer(LoraTarget::kHunyuanVideo15, false); }, {}, "hunyuan_video", "v1_5",
       "", "lora", "transformer.", "BF16", "keys", "lora_hunyuan_video_1_5", "attn.add_k_proj.lora_A.weight BF16 [16,2048]", ""},
      {"mystery_lora.safetensors", [] { return Layout{{"lora_unet_foo.lora_down.weight", Dtype::F16, {4, 8}}}; }, {}, "unknown", "",
       "", "lora", "", "F16", "none", "", "LoRA key", "neither its keys nor its metadata"},
      // VAEs and text encoders
      {"sdxl_vae.safetensors", [] { return ldm_vae(4); }, {}, "unknown", "", "", "vae", "", "F16", "keys", "vae_sd",
       "decoder.conv_in.weight F16 [512,4,3,3]", "VAE"},
      {"ae.safetensors", [] { return ldm_vae(16, Dtype::BF16); }, {}, "unknown", "", "", "vae", "", "BF16", "keys", "vae_flux",
       "[512,16,3,3]", "16 latent channels"},
      {"wan_2.1_vae.safetensors", [] { return wan_vae(); }, {}, "unknown", "", "", "vae", "", "BF16", "keys", "vae_wan", "", ""},
      {"clip_l.safetensors", [] { return clip_text(12, 768, 3072); }, {}, "unknown", "", "", "text_encoder", "", "F16", "keys",
       "te_clip_l", "", "CLIP-L"},
      {"clip_g.safetensors", [] { return clip_text(32, 1280, 5120); }, {}, "unknown", "", "", "text_encoder", "", "F16", "keys",
       "te_clip_g", "", "CLIP-G"},
      {"t5xxl_fp8_e4m3fn.safetensors", [] { return t5_xxl(Dtype::F8_E4M3); }, {}, "unknown", "", "", "text_encoder", "", "F8_E4M3",
       "keys", "te_t5xxl", "", "T5-XXL"},
      {"llama_3.1_8b_instruct_fp8_scaled.safetensors", [] { return llama_te(32, Dtype::BF16); }, {}, "unknown", "", "",
       "text_encoder", "", "BF16", "keys", "te_llama", "", "Llama"},
      // Models that are none of ours: unknown with the reason.
      {"v2-1_768-ema-pruned.safetensors", [] { return prefixed(sd2_unet(), "model.diffusion_model."); }, {}, "unknown", "", "",
       "diffusion_model", "model.diffusion_model.", "F16", "keys", "sd2_unet", "", "Stable Diffusion 2.x"},
      {"sd_xl_refiner_1.0.safetensors", [] { return prefixed(sdxl_refiner_unet(), "model.diffusion_model."); }, {}, "unknown", "",
       "", "diffusion_model", "model.diffusion_model.", "F16", "keys", "sdxl_refiner", "", "refiner"},
      {"ssd-1b.safetensors", [] { return sdxl_distilled_unet(); }, {}, "unknown", "", "", "diffusion_model", "", "F16", "keys",
       "sdxl_distilled", "", "SSD-1B"},
      {"playground-v2.5.safetensors",
       [] {
         auto l = prefixed(sdxl_unet(), "model.diffusion_model.");
         l.push_back({"edm_mean", Dtype::F32, {1, 4, 1, 1}});
         l.push_back({"edm_std", Dtype::F32, {1, 4, 1, 1}});
         return l;
       },
       {}, "unknown", "", "", "diffusion_model", "model.diffusion_model.", "F16", "keys", "playground_v2_5", "edm_mean",
       "Playground"},
      {"flux1-fill-dev.safetensors", [] { return flux_dit(true, 384); }, {}, "unknown", "", "", "diffusion_model", "", "BF16", "keys",
       "flux_fill", "[3072,384]", "Fill"},
      {"chroma-unlocked-v37.safetensors",
       [] {
         auto l = flux_dit(false);
         l.push_back({"distilled_guidance_layer.in_proj.weight", Dtype::BF16, {5120, 64}});
         return l;
       },
       {}, "chroma", "", "", "diffusion_model", "", "BF16", "keys", "chroma", "distilled_guidance_layer", "Chroma"},
      // Kontext has Flux dev's keys: only the name or metadata tells it apart.
      {"flux1-kontext-dev.safetensors", [] { return flux_dit(true); }, {}, "flux_kontext", "", "", "diffusion_model", "", "BF16",
       "keys+name", "flux_dev_dit", "name \"flux1-kontext-dev", "Kontext"},
      {"model_0044.safetensors", [] { return flux_dit(true); },
       {{"modelspec.architecture", "flux-1-dev"}, {"modelspec.title", "FLUX.1 Kontext [dev]"}}, "flux_kontext", "", "",
       "diffusion_model", "", "BF16", "keys+metadata", "flux_dev_dit", "metadata", "Kontext"},
      {"wan2.1_vace_14B_fp16.safetensors",
       [] {
         auto l = wan_dit(5120, 13824, 40, 16, 16, false, Dtype::F16);
         l.push_back({"vace_blocks.0.after_proj.weight", Dtype::F16, {5120, 5120}});
         return l;
       },
       {}, "unknown", "", "", "diffusion_model", "", "F16", "keys", "wan_vace_control", "vace_blocks.0", "VACE"},
      // SD 3.5: Large (38 joint blocks, width 2432) and Medium (24, width 1536, dual attention) in both
      // key layouts; Large Turbo only by name; SD 3 Medium (24 blocks, no dual attention) is not SD 3.5.
      {"sd3.5_large.safetensors", [] { return prefixed(sd3_mmdit(38, 0), "model.diffusion_model."); }, {}, "sd3_5", "large", "",
       "diffusion_model", "model.diffusion_model.", "F16", "keys", "sd3_5_large", "x_embedder.proj.weight F16 [2432,16,2,2]",
       "Large Turbo"},
      {"sd3.5_large_turbo.safetensors", [] { return prefixed(sd3_mmdit(38, 0), "model.diffusion_model."); }, {}, "sd3_5",
       "large_turbo", "", "diffusion_model", "model.diffusion_model.", "F16", "keys+name", "sd3_5_large",
       "name \"sd3.5_large_turbo", "Large Turbo"},
      {"sd3.5_medium.safetensors", [] { return prefixed(sd3_mmdit(24, 13), "model.diffusion_model."); }, {}, "sd3_5", "medium", "",
       "diffusion_model", "model.diffusion_model.", "F16", "keys", "sd3_5_medium", "joint_blocks.0.x_block.attn2.qkv.weight",
       "MMDiT-X"},
      {"sd3.5_large_diffusers.safetensors", [] { return sd3_diffusers(38, 0, Dtype::BF16); }, {}, "sd3_5", "large", "",
       "diffusion_model", "", "BF16", "keys", "sd3_5_large_diffusers", "pos_embed.proj.weight BF16 [2432,16,2,2]", ""},
      {"sd3.5_medium_diffusers.safetensors", [] { return sd3_diffusers(24, 13, Dtype::BF16); }, {}, "sd3_5", "medium", "",
       "diffusion_model", "", "BF16", "keys", "sd3_5_medium_diffusers", "transformer_blocks.0.attn2.to_q.weight", ""},
      {"sd3_medium.safetensors", [] { return prefixed(sd3_mmdit(24, 0), "model.diffusion_model."); }, {}, "unknown", "", "",
       "diffusion_model", "model.diffusion_model.", "F16", "keys", "sd3_mmdit", "joint_blocks.0", "not SD 3.5"},
      {"sd3_medium_diffusers.safetensors", [] { return sd3_diffusers(24, 0); }, {}, "unknown", "", "", "diffusion_model", "",
       "F16", "keys", "sd3_diffusers", "pos_embed.proj.weight", "not SD 3.5"},
      // A Large layout whose patch embedding lost its 16 latent channels is no SD 3.5.
      {"sd3.5_large_broken.safetensors",
       [] {
         auto l = sd3_mmdit(38, 0);
         l[0].shape = {2432, 4, 2, 2};
         return prefixed(l, "model.diffusion_model.");
       },
       {}, "unknown", "", "", "diffusion_model", "model.diffusion_model.", "F16", "keys", "sd3_mmdit", "joint_blocks.0", ""},
      // HunyuanVideo 13B text-to-video; an image-to-video transformer (33 input channels) is not in the catalogue.
      {"hunyuan_video_t2v_720p_bf16.safetensors", [] { return hunyuan_video_dit(); }, {}, "hunyuan_video", "v1", "",
       "diffusion_model", "", "BF16", "keys", "hunyuan_video_t2v", "img_in.proj.weight BF16 [3072,16,1,2,2]", "HunyuanVideo 13B"},
      {"model_0045.safetensors", [] { return prefixed(hunyuan_video_dit(), "model.diffusion_model."); }, {}, "hunyuan_video", "v1",
       "", "diffusion_model", "model.diffusion_model.", "BF16", "keys", "hunyuan_video_t2v", "guidance_in", ""},
      {"hunyuan_video_i2v_720p_bf16.safetensors", [] { return hunyuan_video_dit(33); }, {}, "unknown", "", "", "diffusion_model",
       "", "BF16", "keys", "hunyuan_video", "individual_token_refiner", "image-to-video"},
      // Qwen-Image: the diffusers keys, bare or under ComfyUI's prefix; Edit before 2511 only by name or
      // metadata, Edit-2511 by its marker; a latent input width that is not Qwen-Image's is rejected.
      {"qwen_image_bf16.safetensors", [] { return qwen_image_dit(); }, {}, "qwen_image", "t2i", "", "diffusion_model", "",
       "BF16", "keys", "qwen_image", "txt_norm.weight BF16 [3584]", "Qwen-Image-Edit (before 2511)"},
      {"model_0101.safetensors", [] { return prefixed(qwen_image_dit(), "model.diffusion_model."); }, {}, "qwen_image", "t2i", "",
       "diffusion_model", "model.diffusion_model.", "BF16", "keys", "qwen_image", "img_in.weight BF16 [3072,64]", ""},
      {"qwen_image_edit_bf16.safetensors", [] { return prefixed(qwen_image_dit(), "model.diffusion_model."); }, {}, "qwen_image",
       "edit", "", "diffusion_model", "model.diffusion_model.", "BF16", "keys+name", "qwen_image", "name \"qwen_image_edit", ""},
      {"model_0102.safetensors", [] { return prefixed(qwen_image_dit(64, true), "model.diffusion_model."); }, {}, "qwen_image",
       "edit", "", "diffusion_model", "model.diffusion_model.", "BF16", "keys", "qwen_image_edit_2511", "__index_timestep_zero__",
       ""},
      {"qwen_image_broken.safetensors", [] { return qwen_image_dit(16); }, {}, "unknown", "", "", "diffusion_model", "", "BF16",
       "keys", "qwen_image_other", "txt_norm.weight", "not Qwen-Image's"},
      // Lumina-Image 2.0 in both key layouts; a patch embedding of the wrong width is rejected.
      {"lumina_2_model_bf16.safetensors", [] { return lumina2_dit(false); }, {}, "lumina_2", "", "", "diffusion_model", "", "BF16",
       "keys", "lumina_2", "cap_embedder.1.weight BF16 [2304,2304]", ""},
      {"model_0103.safetensors", [] { return prefixed(lumina2_dit(false), "model.diffusion_model."); }, {}, "lumina_2", "", "",
       "diffusion_model", "model.diffusion_model.", "BF16", "keys", "lumina_2", "noise_refiner.0.attention.k_norm.weight", ""},
      {"model_0104.safetensors", [] { return lumina2_dit(true); }, {}, "lumina_2", "", "", "diffusion_model", "", "BF16", "keys",
       "lumina_2_diffusers", "time_caption_embed.caption_embedder.1.weight BF16 [2304,2304]", ""},
      {"lumina_2_broken.safetensors", [] { return lumina2_dit(false, 16); }, {}, "unknown", "", "", "diffusion_model", "", "BF16",
       "keys", "lumina_2_other", "noise_refiner.0", "not Lumina-Image 2.0's"},
      // LTX-Video: 2B and 13B by width and depth in both layouts; distilled only by name; LTX-2 and a
      // broken patch embedding are not LTX-Video.
      {"ltx-video-2b-v0.9.5.safetensors", [] { return ltxv_dit(2048, 28, false); }, {}, "ltx_video", "v2b", "", "diffusion_model",
       "", "BF16", "keys", "ltx_video_2b", "patchify_proj.weight BF16 [2048,128]", "shape-identical"},
      {"model_0105.safetensors", [] { return ltxv_dit(4096, 48, false); }, {}, "ltx_video", "v13b", "", "diffusion_model", "",
       "BF16", "keys", "ltx_video_13b", "transformer_blocks.0.attn2.to_k.weight BF16 [4096,4096]", ""},
      {"ltxv-13b-0.9.7-distilled.safetensors", [] { return ltxv_dit(4096, 48, false); }, {}, "ltx_video", "distilled", "",
       "diffusion_model", "", "BF16", "keys+name", "ltx_video_13b", "name \"ltxv-13b-0.9.7-distilled", ""},
      {"model_0106.safetensors", [] { return ltxv_dit(2048, 28, true); }, {}, "ltx_video", "v2b", "", "diffusion_model", "", "BF16",
       "keys", "ltx_video_2b_diffusers", "proj_in.weight BF16 [2048,128]", ""},
      {"model_0107.safetensors", [] { return ltxv_dit(4096, 48, true); }, {}, "ltx_video", "v13b", "", "diffusion_model", "",
       "BF16", "keys", "ltx_video_13b_diffusers", "proj_in.weight BF16 [4096,128]", ""},
      {"ltx-video-2b-broken.safetensors", [] { return ltxv_dit(2048, 28, false, 64); }, {}, "unknown", "", "", "diffusion_model", "",
       "BF16", "keys", "ltx_video_other", "transformer_blocks.0.attn2.to_k.weight", "neither the 2B's"},
      {"ltx-2-19b-dev.safetensors",
       [] {
         auto l = ltxv_dit(4096, 48, false);
         l.push_back({"audio_adaln_single.linear.weight", Dtype::BF16, {6 * 2048, 2048}});
         return l;
       },
       {}, "unknown", "", "", "diffusion_model", "", "BF16", "keys", "ltx2_av", "audio_adaln_single", "LTX-2"},
      // HunyuanVideo 1.5 in both layouts; a patch embedding that is neither model's is rejected.
      {"hunyuanvideo1.5_720p_t2v_fp16.safetensors", [] { return hunyuan_video15_dit(false, 65, Dtype::F16); }, {}, "hunyuan_video",
       "v1_5", "", "diffusion_model", "", "F16", "keys", "hunyuan_video_1_5", "cond_type_embedding.weight F16 [3,2048]", ""},
      {"model_0108.safetensors", [] { return prefixed(hunyuan_video15_dit(false), "model.diffusion_model."); }, {}, "hunyuan_video",
       "v1_5", "", "diffusion_model", "model.diffusion_model.", "BF16", "keys", "hunyuan_video_1_5",
       "img_in.proj.weight BF16 [2048,65,1,1,1]", ""},
      {"model_0109.safetensors", [] { return hunyuan_video15_dit(true); }, {}, "hunyuan_video", "v1_5", "", "diffusion_model", "",
       "BF16", "keys", "hunyuan_video_1_5_diffusers", "cond_type_embed.weight BF16 [3,2048]", ""},
      {"hunyuanvideo1.5_broken.safetensors", [] { return hunyuan_video15_dit(false, 16); }, {}, "unknown", "", "",
       "diffusion_model", "", "BF16", "keys", "hunyuan_video", "individual_token_refiner", "HunyuanVideo 1.5"},
      // Chroma and HunyuanVideo v1 in the diffusers layout; Chroma's is FLUX.1's blocks without their
      // modulation, so it must not pass for FLUX.1 schnell.
      {"model_0115.safetensors", [] { return chroma_diffusers(); }, {}, "chroma", "", "", "diffusion_model", "", "BF16", "keys",
       "chroma_diffusers", "distilled_guidance_layer", ""},
      {"model_0116.safetensors", [] { return hunyuan_video_diffusers(); }, {}, "hunyuan_video", "v1", "", "diffusion_model", "",
       "BF16", "keys", "hunyuan_video_t2v_diffusers", "x_embedder.proj.weight BF16 [3072,16,1,2,2]", ""},
      {"hunyuan_video_i2v_diffusers.safetensors", [] { return hunyuan_video_diffusers(33); }, {}, "unknown", "", "",
       "diffusion_model", "", "BF16", "keys", "hunyuan_video_diffusers", "context_embedder.token_refiner", "diffusers layout"},
      {"random.safetensors", [] { return Layout{{"foo.weight", Dtype::F32, {3, 3}}}; }, {}, "unknown", "", "", "unknown", "", "F32",
       "none", "", "", "no detection rule matched the 1 tensors"},
  };
  return f;
}

class DetectFixtures : public ::testing::TestWithParam<std::size_t> {
 protected:
  static void SetUpTestSuite() { dir_ = new std::filesystem::path(scratch_dir("fixtures")); }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::filesystem::path* dir_;
};
std::filesystem::path* DetectFixtures::dir_ = nullptr;

TEST_P(DetectFixtures, ClassifiedWithEvidence) {
  const Fixture& f = fixtures()[GetParam()];
  const auto path = *dir_ / f.file;
  write_sparse_safetensors(path, f.layout(), f.metadata);
  const auto header = read_header(path);
  const auto c = classify(*inferconf::testing::shipped_rules(), header, {f.file});
  const std::string dump = c.to_json().dump(1);
  EXPECT_EQ(c.base_model, f.base) << dump;
  EXPECT_EQ(c.variant.value_or(""), f.variant) << dump;
  EXPECT_EQ(c.expert.value_or(""), f.expert) << dump;
  EXPECT_EQ(to_string(c.kind), f.kind) << dump;
  EXPECT_EQ(c.prefix, f.prefix) << dump;
  EXPECT_EQ(c.dtype, f.dtype) << dump;
  EXPECT_EQ(c.decided_by, f.decided_by) << dump;
  EXPECT_EQ(c.rule, f.rule) << dump;
  if (!f.evidence.empty()) {
    EXPECT_TRUE(std::any_of(c.evidence.begin(), c.evidence.end(),
                            [&](const std::string& e) { return e.find(f.evidence) != std::string::npos; }))
        << "no evidence line contains \"" << f.evidence << "\"\n" << dump;
  }
  if (!f.reason.empty()) {
    EXPECT_NE(c.reason.find(f.reason), std::string::npos) << dump;
  }
  if (c.base_model != "unknown") {
    EXPECT_FALSE(c.evidence.empty());
  }
  EXPECT_GT(c.parameters, 0u);
  // Never the data: the file is a sparse hole beyond the header.
  EXPECT_EQ(std::filesystem::file_size(path), header.file_size);
}

INSTANTIATE_TEST_SUITE_P(detect, DetectFixtures, ::testing::Range<std::size_t>(0, fixtures().size()), [](const auto& info) {
  std::string n = fixtures()[info.param].file;
  for (auto& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

TEST(DetectClassify, ParameterCountsMatchThePublishedSizes) {
  auto params = [](const Layout& l) {
    std::uint64_t n = 0;
    for (const auto& t : l) {
      std::uint64_t e = 1;
      for (auto d : t.shape) e *= d;
      n += e;
    }
    return n;
  };
  EXPECT_NEAR(static_cast<double>(params(flux_dit(true))) / 1e9, 11.9, 0.1);
  EXPECT_NEAR(static_cast<double>(params(sdxl_unet())) / 1e9, 2.57, 0.03);
  EXPECT_NEAR(static_cast<double>(params(sd15_unet())) / 1e6, 860, 10);
  EXPECT_NEAR(static_cast<double>(params(wan_dit(1536, 8960, 30, 16, 16, false))) / 1e9, 1.42, 0.05);
  EXPECT_NEAR(static_cast<double>(params(wan_dit(5120, 13824, 40, 16, 16, false))) / 1e9, 14.3, 0.3);
}

TEST(DetectClassify, EveryBaseHasAtLeastTwoFixtures) {
  std::map<std::string, int> count;
  for (const auto& f : fixtures()) {
    if (f.kind == "checkpoint" || f.kind == "diffusion_model") ++count[f.base];
  }
  for (const char* b : {"sd_1_5", "sdxl", "pony", "flux_dev", "flux_schnell", "flux_krea", "wan_2_1", "wan_2_2", "hidream",
                        "sd3_5", "qwen_image", "lumina_2", "ltx_video", "hunyuan_video"}) {
    EXPECT_GE(count[b], 2) << b;
  }
}

TEST(DetectClassify, MetadataConflictingWithTheKeysIsReported) {
  const auto dir = scratch_dir("conflict");
  write_sparse_safetensors(dir / "m.safetensors", flux_dit(false), {{"modelspec.architecture", "stable-diffusion-xl-v1-base"}});
  const auto c = classify(*inferconf::testing::shipped_rules(), read_header(dir / "m.safetensors"), {"m.safetensors"});
  EXPECT_EQ(c.base_model, "flux_schnell");
  EXPECT_NE(c.conflict.find("says sdxl"), std::string::npos) << c.conflict;
}

}  // namespace
}  // namespace inferconf::detect
