// AUTOMATIC1111/Forge: the /sdapi/v1/txt2img body and the infotext line that
// A1111's create_infotext would write for the same settings.
#include <fmt/format.h>

#include "interop/export_support.hpp"

namespace inferconf::interop {

namespace {

void require_a1111(const ExportContext& ctx, std::string_view what) {
  if (!ctx.architecture.a1111_supported)
    throw invalid(fmt::format("{} export of {} is refused: {}", what, ctx.who(), ctx.architecture.a1111_reason));
}

// A1111 applies a LoRA through the prompt: <lora:name:weight>.
std::string prompt_with_lora(const ExportContext& ctx) {
  auto prompt = ctx.positive_prompt();
  if (auto lora = ctx.params.string("lightning_lora"))
    prompt += fmt::format("{}<lora:{}:1>", prompt.empty() ? "" : " ", file_stem(*lora));
  return prompt;
}

// Parameters a txt2img request has no field for; said once per export.
void note_unsupported(ExportContext& ctx, std::string_view engine) {
  for (std::string_view key : {"shift", "max_shift", "base_shift", "max_sequence_length", "text_encoder"})
    if (ctx.params.has(key))
      ctx.notes.push_back(fmt::format("{} has no {} field for {}; the engine's default applies.", engine, key, ctx.who()));
  if (auto d = ctx.params.number("denoise"); d && *d != 1.0)
    ctx.notes.push_back(fmt::format("denoise {} applies to image-to-image; a txt2img request has no such field.", *d));
}

}  // namespace

nlohmann::json export_a1111(ExportContext& ctx) {
  require_a1111(ctx, "AUTOMATIC1111/Forge");
  const auto [sampler, schedule] = a1111_names(ctx);
  nlohmann::json body = {
      {"prompt", prompt_with_lora(ctx)},
      {"negative_prompt", ctx.options.negative_prompt},
      {"seed", ctx.options.seed ? nlohmann::json(*ctx.options.seed) : nlohmann::json(-1)},
      {"sampler_name", sampler},
      {"scheduler", schedule},
      {"steps", ctx.params.require_integer("steps", "a1111")},
      {"cfg_scale", ctx.params.require_number("cfg_scale", "a1111")},
      {"width", ctx.params.require_integer("width", "a1111")},
      {"height", ctx.params.require_integer("height", "a1111")},
      {"batch_size", 1},
      {"n_iter", 1},
  };
  auto overrides = nlohmann::json::object();
  // -1 (last layer) is A1111's "Clip skip 1", -2 its "Clip skip 2".
  if (auto clip_skip = ctx.params.integer("clip_skip")) overrides["CLIP_stop_at_last_layers"] = -*clip_skip;
  if (!ctx.options.checkpoint.empty()) overrides["sd_model_checkpoint"] = file_stem(ctx.options.checkpoint);
  if (auto vae = ctx.params.string("requires_vae")) overrides["sd_vae"] = *vae;
  if (!overrides.empty()) {
    body["override_settings"] = overrides;
    body["override_settings_restore_afterwards"] = true;
  }
  if (ctx.architecture.a1111_distilled_cfg)
    body["distilled_cfg_scale"] = ctx.params.number_or("guidance", 3.5);
  if (ctx.params.number_or("cfg_scale", 1.0) <= 1.0 && !ctx.options.negative_prompt.empty())
    ctx.notes.push_back("The negative prompt has no effect: CFG 1 runs no negative pass.");
  note_unsupported(ctx, "A txt2img request");
  note_a1111_plan(ctx);
  return body;
}

std::string export_infotext(ExportContext& ctx) {
  require_a1111(ctx, "Infotext");
  const auto [sampler, schedule] = a1111_names(ctx);
  std::vector<std::pair<std::string, std::string>> params;
  params.emplace_back("Steps", std::to_string(ctx.params.require_integer("steps", "infotext")));
  params.emplace_back("Sampler", sampler);
  params.emplace_back("Schedule type", schedule);
  params.emplace_back("CFG scale", python_float(ctx.params.require_number("cfg_scale", "infotext")));
  if (ctx.options.seed) params.emplace_back("Seed", std::to_string(*ctx.options.seed));
  params.emplace_back("Size", fmt::format("{}x{}", ctx.params.require_integer("width", "infotext"),
                                          ctx.params.require_integer("height", "infotext")));
  std::string model = ctx.options.checkpoint;
  if (model.empty()) {
    const auto& files = ctx.architecture.comfyui_files;
    for (const char* role : {"checkpoint", "unet", "unet_high_noise"})
      if (auto it = files.find(role); it != files.end()) {
        model = it->second;
        break;
      }
  }
  if (!model.empty()) params.emplace_back("Model", file_stem(model));
  if (auto vae = ctx.params.string("requires_vae")) params.emplace_back("VAE", *vae);
  // A1111 writes Clip skip only above 1.
  if (auto clip_skip = ctx.params.integer("clip_skip"); clip_skip && *clip_skip < -1)
    params.emplace_back("Clip skip", std::to_string(-*clip_skip));
  if (ctx.architecture.a1111_distilled_cfg)
    params.emplace_back("Distilled CFG Scale", python_float(ctx.params.number_or("guidance", 3.5)));
  note_unsupported(ctx, "Infotext");
  return write_infotext(prompt_with_lora(ctx), ctx.options.negative_prompt, params);
}

}  // namespace inferconf::interop
