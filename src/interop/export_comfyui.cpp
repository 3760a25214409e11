// The ComfyUI API-format prompt: one graph shape per architecture (the
// "graph" of engine_vocabulary.json), nodes and inputs as ComfyUI's node
// definitions name them (tests/interop/comfyui_nodes.json checks every one).
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "interop/export_support.hpp"

namespace inferconf::interop {

namespace {

using json = nlohmann::json;

// Node ids are assigned in creation order, "1", "2", ...
class Graph {
 public:
  std::string add(std::string class_type, json inputs) {
    const auto id = std::to_string(++next_);
    nodes_[id] = {{"class_type", std::move(class_type)}, {"inputs", std::move(inputs)}};
    return id;
  }
  static json link(const std::string& id, int output) { return json::array({id, output}); }
  json take() { return std::move(nodes_); }

 private:
  int next_ = 0;
  json nodes_ = json::object();
};

class Builder {
 public:
  explicit Builder(ExportContext& ctx) : ctx_(ctx), p_(ctx.params) {}

  json build() {
    const auto& graph = ctx_.architecture.comfyui_graph;
    if (graph == "unsupported")
      throw invalid(fmt::format("ComfyUI export of {} is not supported: {}", ctx_.who(), ctx_.architecture.comfyui_reason));
    if (graph == "checkpoint") checkpoint_graph();
    else if (graph == "flux") flux_graph();
    else if (graph == "wan") wan_graph(false);
    else if (graph == "wan_5b") wan_graph(true);
    else if (graph == "wan_two_experts") wan_two_experts_graph();
    else if (graph == "hidream") hidream_graph();
    else throw invalid(fmt::format("engine_vocabulary.json names the unknown ComfyUI graph \"{}\" for {}.", graph, ctx_.who()));
    // The checkpoint graph loads everything with CheckpointLoaderSimple (no
    // weight_dtype, no device); HiDream's QuadrupleCLIPLoader has no device.
    note_comfyui_plan(ctx_, graph != "checkpoint", graph != "checkpoint" && graph != "hidream");
    return {{"prompt", g_.take()}};
  }

 private:
  std::string file(std::string_view role) const {
    auto it = ctx_.architecture.comfyui_files.find(std::string(role));
    if (it == ctx_.architecture.comfyui_files.end())
      throw invalid(fmt::format("engine_vocabulary.json names no \"{}\" file for {}; add it under comfyui.files.", role,
                                ctx_.who()));
    return it->second;
  }
  // The model file: --checkpoint / the registry's file, else the usual name.
  std::string model_file(std::string_view role) const {
    return ctx_.options.checkpoint.empty() ? file(role) : ctx_.options.checkpoint;
  }
  std::uint64_t seed() {
    if (ctx_.options.seed) return *ctx_.options.seed;
    if (!seed_noted_) ctx_.notes.push_back("No seed was given; ComfyUI needs one, so 0 is used.");
    seed_noted_ = true;
    return 0;
  }
  json width() const { return p_.require_integer("width", "ComfyUI"); }
  json height() const { return p_.require_integer("height", "ComfyUI"); }

  std::string lora(const std::string& model) {
    auto name = p_.string("lightning_lora");
    if (!name) return model;
    return g_.add("LoraLoaderModelOnly", {{"model", Graph::link(model, 0)}, {"lora_name", *name}, {"strength_model", 1.0}});
  }

  // Positive and negative conditioning; the negative is zeroed out when CFG
  // is off (cfg 1 never runs the negative pass, so its text would be unused).
  std::pair<json, json> conditioning(const json& clip, bool cfg_off) {
    const auto pos = g_.add("CLIPTextEncode", {{"text", ctx_.positive_prompt()}, {"clip", clip}});
    if (cfg_off) {
      if (!ctx_.options.negative_prompt.empty())
        ctx_.notes.push_back(fmt::format("The negative prompt is not used: CFG is {} for this preset, so ComfyUI runs no "
                                         "negative pass.", p_.number_or("cfg_scale", 1.0)));
      const auto zero = g_.add("ConditioningZeroOut", {{"conditioning", Graph::link(pos, 0)}});
      return {Graph::link(pos, 0), Graph::link(zero, 0)};
    }
    const auto neg = g_.add("CLIPTextEncode", {{"text", ctx_.options.negative_prompt}, {"clip", clip}});
    return {Graph::link(pos, 0), Graph::link(neg, 0)};
  }

  std::string ksampler(const std::string& model, const json& positive, const json& negative, const json& latent) {
    return g_.add("KSampler", {{"model", Graph::link(model, 0)},
                               {"seed", seed()},
                               {"steps", p_.require_integer("steps", "ComfyUI")},
                               {"cfg", p_.require_number("cfg_scale", "ComfyUI")},
                               {"sampler_name", p_.require_string("sampler", "ComfyUI")},
                               {"scheduler", p_.require_string("scheduler", "ComfyUI")},
                               {"positive", positive},
                               {"negative", negative},
                               {"latent_image", latent},
                               {"denoise", p_.number_or("denoise", 1.0)}});
  }

  // VAEDecodeTiled with ComfyUI's default tiles when the plan tiles the decode.
  std::string decode(const std::string& samples, const json& vae) {
    if (!plan_vae_tiling(ctx_)) return g_.add("VAEDecode", {{"samples", Graph::link(samples, 0)}, {"vae", vae}});
    return g_.add("VAEDecodeTiled", {{"samples", Graph::link(samples, 0)},
                                     {"vae", vae},
                                     {"tile_size", 512},
                                     {"overlap", 64},
                                     {"temporal_size", 64},
                                     {"temporal_overlap", 8}});
  }
  // A text encoder loader's inputs, with device cpu when the plan runs them there.
  json on_device(json inputs) const {
    if (plan_text_encoders_on_cpu(ctx_)) inputs["device"] = "cpu";
    return inputs;
  }

  void save_image(const std::string& samples, const json& vae) {
    const auto decoded = decode(samples, vae);
    g_.add("SaveImage", {{"images", Graph::link(decoded, 0)}, {"filename_prefix", "inferconf"}});
  }

  void save_video(const std::string& samples, const json& vae) {
    const auto decoded = decode(samples, vae);
    g_.add("SaveAnimatedWEBP", {{"images", Graph::link(decoded, 0)},
                                {"filename_prefix", "inferconf"},
                                {"fps", p_.require_number("video_fps", "ComfyUI")},
                                {"lossless", false},
                                {"quality", 90},
                                {"method", "default"}});
  }

  void checkpoint_graph() {
    const auto ckpt = g_.add("CheckpointLoaderSimple", {{"ckpt_name", model_file("checkpoint")}});
    const auto model = lora(ckpt);
    json clip = Graph::link(ckpt, 1);
    const auto clip_skip = p_.integer_or("clip_skip", -1);
    if (clip_skip != -1)
      clip = Graph::link(g_.add("CLIPSetLastLayer", {{"clip", clip}, {"stop_at_clip_layer", clip_skip}}), 0);
    const auto [pos, neg] = conditioning(clip, false);
    const auto latent = g_.add("EmptyLatentImage", {{"width", width()}, {"height", height()}, {"batch_size", 1}});
    const auto ks = ksampler(model, pos, neg, Graph::link(latent, 0));
    json vae = Graph::link(ckpt, 2);
    if (auto v = p_.string("requires_vae")) vae = Graph::link(g_.add("VAELoader", {{"vae_name", *v}}), 0);
    save_image(ks, vae);
  }

  void flux_graph() {
    const auto unet = g_.add("UNETLoader", {{"unet_name", model_file("unet")}, {"weight_dtype", comfyui_weight_dtype(ctx_)}});
    const auto clip = g_.add("DualCLIPLoader", on_device({{"clip_name1", file("clip_l")},
                                                          {"clip_name2", p_.string("text_encoder").value_or(file("t5"))},
                                                          {"type", "flux"}}));
    const auto vae = g_.add("VAELoader", {{"vae_name", p_.string("requires_vae").value_or(file("vae"))}});
    auto model = lora(unet);
    if (p_.has("max_shift") || p_.has("base_shift"))
      model = g_.add("ModelSamplingFlux", {{"model", Graph::link(model, 0)},
                                           {"max_shift", p_.require_number("max_shift", "ComfyUI")},
                                           {"base_shift", p_.require_number("base_shift", "ComfyUI")},
                                           {"width", width()},
                                           {"height", height()}});
    const bool cfg_off = p_.number_or("cfg_scale", 1.0) <= 1.0;
    auto [pos, neg] = conditioning(Graph::link(clip, 0), cfg_off);
    if (ctx_.architecture.a1111_distilled_cfg && p_.has("guidance"))
      pos = Graph::link(g_.add("FluxGuidance", {{"conditioning", pos}, {"guidance", p_.require_number("guidance", "ComfyUI")}}), 0);
    const auto latent = g_.add("EmptySD3LatentImage", {{"width", width()}, {"height", height()}, {"batch_size", 1}});
    const auto ks = ksampler(model, pos, neg, Graph::link(latent, 0));
    save_image(ks, Graph::link(vae, 0));
    if (p_.has("max_sequence_length"))
      ctx_.notes.push_back("max_sequence_length is not a ComfyUI input: its T5 encoder always reads the whole prompt.");
  }

  // The shared front of the Wan graphs: text encoder, VAE, conditioning.
  struct WanFront {
    std::string vae;
    json pos, neg;
  };
  WanFront wan_front() {
    const auto clip = g_.add("CLIPLoader", on_device({{"clip_name", p_.string("text_encoder").value_or(file("text_encoder"))},
                                                      {"type", "wan"}}));
    const auto vae = g_.add("VAELoader", {{"vae_name", p_.string("requires_vae").value_or(file("vae"))}});
    auto [pos, neg] = conditioning(Graph::link(clip, 0), false);
    return {vae, pos, neg};
  }
  std::string shifted(const std::string& unet) {
    return g_.add("ModelSamplingSD3", {{"model", Graph::link(lora(unet), 0)}, {"shift", p_.require_number("shift", "ComfyUI")}});
  }
  json video_size(std::string_view key) const { return p_.require_integer(key, "ComfyUI"); }

  void wan_graph(bool five_b) {
    const auto unet = g_.add("UNETLoader", {{"unet_name", model_file("unet")}, {"weight_dtype", comfyui_weight_dtype(ctx_)}});
    const auto model = shifted(unet);
    const auto front = wan_front();
    const auto frames = video_size("video_frames");
    const auto latent =
        five_b ? g_.add("Wan22ImageToVideoLatent", {{"vae", Graph::link(front.vae, 0)},
                                                    {"width", width()},
                                                    {"height", height()},
                                                    {"length", frames},
                                                    {"batch_size", 1}})
               : g_.add("EmptyHunyuanLatentVideo", {{"width", width()}, {"height", height()}, {"length", frames}, {"batch_size", 1}});
    const auto ks = ksampler(model, front.pos, front.neg, Graph::link(latent, 0));
    save_video(ks, Graph::link(front.vae, 0));
  }

  void wan_two_experts_graph() {
    const bool custom = !ctx_.options.checkpoint.empty();
    if (custom)
      ctx_.notes.push_back("--checkpoint names one file, but Wan 2.2 A14B loads two experts; it is used for the "
                           "high-noise expert and the low-noise expert keeps its usual file.");
    const auto high_unet = g_.add("UNETLoader", {{"unet_name", model_file("unet_high_noise")}, {"weight_dtype", comfyui_weight_dtype(ctx_)}});
    const auto low_unet = g_.add("UNETLoader", {{"unet_name", file("unet_low_noise")}, {"weight_dtype", comfyui_weight_dtype(ctx_)}});
    const auto high = shifted(high_unet);
    const auto low = shifted(low_unet);
    const auto front = wan_front();
    const auto latent = g_.add("EmptyHunyuanLatentVideo", {{"width", width()},
                                                           {"height", height()},
                                                           {"length", video_size("video_frames")},
                                                           {"batch_size", 1}});
    const auto steps = p_.require_integer("steps", "ComfyUI");
    const auto cfg = p_.require_number("cfg_scale", "ComfyUI");
    const auto switch_at = wan_expert_switch_step(static_cast<int>(steps), p_.require_number("shift", "ComfyUI"),
                                                  p_.require_number("boundary", "ComfyUI"));
    const auto noise_seed = seed();
    auto advanced = [&](const std::string& model, const json& latent_in, bool first, double expert_cfg) {
      return g_.add("KSamplerAdvanced", {{"model", Graph::link(model, 0)},
                                         {"add_noise", first ? "enable" : "disable"},
                                         {"noise_seed", noise_seed},
                                         {"steps", steps},
                                         {"cfg", expert_cfg},
                                         {"sampler_name", p_.require_string("sampler", "ComfyUI")},
                                         {"scheduler", p_.require_string("scheduler", "ComfyUI")},
                                         {"positive", front.pos},
                                         {"negative", front.neg},
                                         {"latent_image", latent_in},
                                         {"start_at_step", first ? 0 : switch_at},
                                         {"end_at_step", first ? switch_at : 10000},
                                         {"return_with_leftover_noise", first ? "enable" : "disable"}});
    };
    const auto first = advanced(high, Graph::link(latent, 0), true, cfg);
    const auto second = advanced(low, Graph::link(first, 0), false, p_.number_or("guidance_low_noise", cfg));
    save_video(second, Graph::link(front.vae, 0));
  }

  void hidream_graph() {
    const auto unet = g_.add("UNETLoader", {{"unet_name", model_file("unet")}, {"weight_dtype", comfyui_weight_dtype(ctx_)}});
    const auto clip = g_.add("QuadrupleCLIPLoader", {{"clip_name1", file("clip_l")},
                                                     {"clip_name2", file("clip_g")},
                                                     {"clip_name3", p_.string("text_encoder").value_or(file("t5"))},
                                                     {"clip_name4", file("llama")}});
    const auto vae = g_.add("VAELoader", {{"vae_name", p_.string("requires_vae").value_or(file("vae"))}});
    const auto model = shifted(unet);
    const auto [pos, neg] = conditioning(Graph::link(clip, 0), p_.number_or("cfg_scale", 1.0) <= 1.0);
    const auto latent = g_.add("EmptySD3LatentImage", {{"width", width()}, {"height", height()}, {"batch_size", 1}});
    const auto ks = ksampler(model, pos, neg, Graph::link(latent, 0));
    save_image(ks, Graph::link(vae, 0));
    if (p_.has("max_sequence_length"))
      ctx_.notes.push_back("max_sequence_length is not a ComfyUI input: its encoders always read the whole prompt.");
  }

  ExportContext& ctx_;
  const Params& p_;
  Graph g_;
  bool seed_noted_ = false;
};

}  // namespace

nlohmann::json export_comfyui(ExportContext& ctx) {
  // ComfyUI rejects the whole prompt for a name not in its list, so only
  // canonical names reach it (the vocabulary is ComfyUI's own).
  const auto sampler = ctx.params.require_string("sampler", "ComfyUI");
  const auto scheduler = ctx.params.require_string("scheduler", "ComfyUI");
  const auto& vocab = ctx.catalog.vocabulary();
  if (std::find(vocab.samplers().begin(), vocab.samplers().end(), sampler) == vocab.samplers().end())
    throw invalid(fmt::format("The sampler \"{}\" is not one of ComfyUI's; ComfyUI would reject the prompt. Store one of: {}.",
                              sampler, fmt::join(vocab.samplers(), ", ")));
  if (std::find(vocab.schedulers().begin(), vocab.schedulers().end(), scheduler) == vocab.schedulers().end())
    throw invalid(fmt::format("The scheduler \"{}\" is not one of ComfyUI's; ComfyUI would reject the prompt. Store one of: {}.",
                              scheduler, fmt::join(vocab.schedulers(), ", ")));
  return Builder(ctx).build();
}

}  // namespace inferconf::interop
