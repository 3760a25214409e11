#include "detect/layouts.hpp"

#include <algorithm>
#include <string>

namespace inferconf::detect::testing {

namespace {

using U = std::uint64_t;
using S = std::vector<U>;

struct B {
  Layout& l;
  Dtype dt;
  void w(const std::string& name, S shape) { l.push_back({name, dt, std::move(shape)}); }
  void f32(const std::string& name, S shape) { l.push_back({name, Dtype::F32, std::move(shape)}); }
  void linear(const std::string& name, U out, U in, bool bias = true) {
    w(name + ".weight", {out, in});
    if (bias) w(name + ".bias", {out});
  }
  void conv(const std::string& name, U out, U in, U k) {
    w(name + ".weight", {out, in, k, k});
    w(name + ".bias", {out});
  }
  void norm(const std::string& name, U ch) {
    w(name + ".weight", {ch});
    w(name + ".bias", {ch});
  }
};

std::string S_(std::size_t i) { return std::to_string(i); }

void resblock(B& b, const std::string& p, U in, U out, U emb) {
  b.norm(p + ".in_layers.0", in);
  b.conv(p + ".in_layers.2", out, in, 3);
  b.linear(p + ".emb_layers.1", out, emb);
  b.norm(p + ".out_layers.0", out);
  b.conv(p + ".out_layers.3", out, out, 3);
  if (in != out) b.conv(p + ".skip_connection", out, in, 1);
}

void spatial_transformer(B& b, const std::string& p, U ch, U ctx, int depth, bool linear_proj) {
  b.norm(p + ".norm", ch);
  if (linear_proj) {
    b.linear(p + ".proj_in", ch, ch);
  } else {
    b.conv(p + ".proj_in", ch, ch, 1);
  }
  for (int d = 0; d < depth; ++d) {
    const std::string t = p + ".transformer_blocks." + S_(static_cast<std::size_t>(d));
    b.linear(t + ".attn1.to_q", ch, ch, false);
    b.linear(t + ".attn1.to_k", ch, ch, false);
    b.linear(t + ".attn1.to_v", ch, ch, false);
    b.linear(t + ".attn1.to_out.0", ch, ch);
    b.linear(t + ".ff.net.0.proj", ch * 8, ch);
    b.linear(t + ".ff.net.2", ch, ch * 4);
    b.linear(t + ".attn2.to_q", ch, ch, false);
    b.linear(t + ".attn2.to_k", ch, ctx, false);
    b.linear(t + ".attn2.to_v", ch, ctx, false);
    b.linear(t + ".attn2.to_out.0", ch, ch);
    b.norm(t + ".norm1", ch);
    b.norm(t + ".norm2", ch);
    b.norm(t + ".norm3", ch);
  }
  if (linear_proj) {
    b.linear(p + ".proj_out", ch, ch);
  } else {
    b.conv(p + ".proj_out", ch, ch, 1);
  }
}

struct UNetConfig {
  U in = 4, c = 320, ctx = 768, adm = 0;
  std::vector<U> mult{1, 2, 4, 4};
  std::vector<int> depth{1, 1, 1, 0};  // transformer depth per level
  int middle_depth = 1;
  std::vector<int> out_depth;  // per output block; empty = from depth
  bool linear_proj = false;
};

Layout ldm_unet(const UNetConfig& cfg, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U C = cfg.c, E = 4 * C;
  b.linear("time_embed.0", E, C);
  b.linear("time_embed.2", E, E);
  if (cfg.adm) {
    b.linear("label_emb.0.0", E, cfg.adm);
    b.linear("label_emb.0.2", E, E);
  }
  b.conv("input_blocks.0.0", C, cfg.in, 3);
  std::vector<U> chans{C};
  U ch = C;
  std::size_t idx = 1;
  for (std::size_t lvl = 0; lvl < cfg.mult.size(); ++lvl) {
    for (int r = 0; r < 2; ++r) {
      const U out = cfg.mult[lvl] * C;
      const std::string p = "input_blocks." + S_(idx);
      resblock(b, p + ".0", ch, out, E);
      ch = out;
      if (cfg.depth[lvl] > 0) spatial_transformer(b, p + ".1", ch, cfg.ctx, cfg.depth[lvl], cfg.linear_proj);
      chans.push_back(ch);
      ++idx;
    }
    if (lvl + 1 != cfg.mult.size()) {
      b.conv("input_blocks." + S_(idx) + ".0.op", ch, ch, 3);
      chans.push_back(ch);
      ++idx;
    }
  }
  resblock(b, "middle_block.0", ch, ch, E);
  if (cfg.middle_depth > 0) spatial_transformer(b, "middle_block.1", ch, cfg.ctx, cfg.middle_depth, cfg.linear_proj);
  resblock(b, cfg.middle_depth > 0 ? "middle_block.2" : "middle_block.1", ch, ch, E);
  idx = 0;
  for (std::size_t lvl = cfg.mult.size(); lvl-- > 0;) {
    for (int i = 0; i < 3; ++i) {
      const U skip = chans.back();
      chans.pop_back();
      const U out = cfg.mult[lvl] * C;
      const std::string p = "output_blocks." + S_(idx);
      resblock(b, p + ".0", ch + skip, out, E);
      ch = out;
      int depth = cfg.out_depth.empty() ? cfg.depth[lvl] : cfg.out_depth[idx];
      int sub = 1;
      if (depth > 0) spatial_transformer(b, p + "." + S_(static_cast<std::size_t>(sub++)), ch, cfg.ctx, depth, cfg.linear_proj);
      if (lvl > 0 && i == 2) b.conv(p + "." + S_(static_cast<std::size_t>(sub)) + ".conv", ch, ch, 3);
      ++idx;
    }
  }
  b.norm("out.0", C);
  b.conv("out.2", 4, C, 3);
  return l;
}

}  // namespace

void append(Layout& dst, const Layout& src, const std::string& prefix) {
  for (const auto& t : src) dst.push_back({prefix + t.name, t.dtype, t.shape});
}

Layout with_dtype(Layout l, Dtype dt) {
  for (auto& t : l) {
    if (t.shape.size() >= 2) t.dtype = dt;
  }
  return l;
}

Layout sd15_unet(int in_channels, Dtype dt) {
  UNetConfig c;
  c.in = static_cast<U>(in_channels);
  return ldm_unet(c, dt);
}

Layout sd2_unet(Dtype dt) {
  UNetConfig c;
  c.ctx = 1024;
  c.linear_proj = true;
  // SD 2.x keeps conv-style levels but linear projections and context 1024.
  return ldm_unet(c, dt);
}

Layout sdxl_unet(Dtype dt) {
  UNetConfig c;
  c.ctx = 2048;
  c.adm = 2816;
  c.mult = {1, 2, 4};
  c.depth = {0, 2, 10};
  c.middle_depth = 10;
  c.linear_proj = true;
  return ldm_unet(c, dt);
}

Layout sdxl_distilled_unet(Dtype dt) {
  UNetConfig c;
  c.ctx = 2048;
  c.adm = 2816;
  c.mult = {1, 2, 4};
  c.depth = {0, 2, 4};
  c.middle_depth = 0;
  c.linear_proj = true;
  return ldm_unet(c, dt);
}

Layout sdxl_refiner_unet(Dtype dt) {
  UNetConfig c;
  c.c = 384;
  c.ctx = 1280;
  c.adm = 2560;
  c.mult = {1, 2, 4, 4};
  c.depth = {0, 4, 4, 0};
  c.middle_depth = 4;
  c.linear_proj = true;
  return ldm_unet(c, dt);
}

Layout clip_text(int layers, int width, int ffn, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U W = static_cast<U>(width);
  b.w("text_model.embeddings.token_embedding.weight", {49408, W});
  b.w("text_model.embeddings.position_embedding.weight", {77, W});
  l.push_back({"text_model.embeddings.position_ids", Dtype::I64, {1, 77}});
  for (int i = 0; i < layers; ++i) {
    const std::string p = "text_model.encoder.layers." + S_(static_cast<std::size_t>(i));
    b.linear(p + ".self_attn.q_proj", W, W);
    b.linear(p + ".self_attn.k_proj", W, W);
    b.linear(p + ".self_attn.v_proj", W, W);
    b.linear(p + ".self_attn.out_proj", W, W);
    b.norm(p + ".layer_norm1", W);
    b.norm(p + ".layer_norm2", W);
    b.linear(p + ".mlp.fc1", static_cast<U>(ffn), W);
    b.linear(p + ".mlp.fc2", W, static_cast<U>(ffn));
  }
  b.norm("text_model.final_layer_norm", W);
  return l;
}

Layout open_clip_g(Dtype dt) {
  Layout l;
  B b{l, dt};
  const U W = 1280;
  b.w("model.token_embedding.weight", {49408, W});
  b.w("model.positional_embedding", {77, W});
  b.w("model.text_projection", {W, W});
  b.f32("model.logit_scale", {});
  for (std::size_t i = 0; i < 32; ++i) {
    const std::string p = "model.transformer.resblocks." + S_(i);
    b.w(p + ".attn.in_proj_weight", {3 * W, W});
    b.w(p + ".attn.in_proj_bias", {3 * W});
    b.linear(p + ".attn.out_proj", W, W);
    b.norm(p + ".ln_1", W);
    b.norm(p + ".ln_2", W);
    b.linear(p + ".mlp.c_fc", 5120, W);
    b.linear(p + ".mlp.c_proj", W, 5120);
  }
  b.norm("model.ln_final", W);
  return l;
}

Layout t5_xxl(Dtype dt) {
  Layout l;
  B b{l, dt};
  b.w("shared.weight", {32128, 4096});
  for (std::size_t i = 0; i < 24; ++i) {
    const std::string p = "encoder.block." + S_(i);
    for (const char* x : {"q", "k", "v"}) b.w(p + ".layer.0.SelfAttention." + x + ".weight", {4096, 4096});
    b.w(p + ".layer.0.SelfAttention.o.weight", {4096, 4096});
    if (i == 0) b.w(p + ".layer.0.SelfAttention.relative_attention_bias.weight", {32, 64});
    b.w(p + ".layer.0.layer_norm.weight", {4096});
    b.w(p + ".layer.1.DenseReluDense.wi_0.weight", {10240, 4096});
    b.w(p + ".layer.1.DenseReluDense.wi_1.weight", {10240, 4096});
    b.w(p + ".layer.1.DenseReluDense.wo.weight", {4096, 10240});
    b.w(p + ".layer.1.layer_norm.weight", {4096});
  }
  b.w("encoder.final_layer_norm.weight", {4096});
  return l;
}

Layout llama_te(int layers, Dtype dt) {
  Layout l;
  B b{l, dt};
  b.w("model.embed_tokens.weight", {128256, 4096});
  for (int i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + S_(static_cast<std::size_t>(i));
    b.w(p + ".self_attn.q_proj.weight", {4096, 4096});
    b.w(p + ".self_attn.k_proj.weight", {1024, 4096});
    b.w(p + ".self_attn.v_proj.weight", {1024, 4096});
    b.w(p + ".self_attn.o_proj.weight", {4096, 4096});
    b.w(p + ".mlp.gate_proj.weight", {14336, 4096});
    b.w(p + ".mlp.up_proj.weight", {14336, 4096});
    b.w(p + ".mlp.down_proj.weight", {4096, 14336});
    b.w(p + ".input_layernorm.weight", {4096});
    b.w(p + ".post_attention_layernorm.weight", {4096});
  }
  b.w("model.norm.weight", {4096});
  return l;
}

Layout ldm_vae(int z_channels, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U z = static_cast<U>(z_channels);
  b.conv("encoder.conv_in", 128, 3, 3);
  const U chs[4] = {128, 256, 512, 512};
  U ch = 128;
  for (std::size_t lvl = 0; lvl < 4; ++lvl) {
    for (std::size_t r = 0; r < 2; ++r) {
      const std::string p = "encoder.down." + S_(lvl) + ".block." + S_(r);
      b.norm(p + ".norm1", ch);
      b.conv(p + ".conv1", chs[lvl], ch, 3);
      b.norm(p + ".norm2", chs[lvl]);
      b.conv(p + ".conv2", chs[lvl], chs[lvl], 3);
      if (ch != chs[lvl]) b.conv(p + ".nin_shortcut", chs[lvl], ch, 1);
      ch = chs[lvl];
    }
    if (lvl < 3) b.conv("encoder.down." + S_(lvl) + ".downsample.conv", ch, ch, 3);
  }
  for (const char* side : {"encoder", "decoder"}) {
    const std::string s = side;
    for (const char* blk : {"block_1", "block_2"}) {
      const std::string p = s + ".mid." + blk;
      b.norm(p + ".norm1", 512);
      b.conv(p + ".conv1", 512, 512, 3);
      b.norm(p + ".norm2", 512);
      b.conv(p + ".conv2", 512, 512, 3);
    }
    b.norm(s + ".mid.attn_1.norm", 512);
    for (const char* x : {"q", "k", "v", "proj_out"}) b.conv(s + ".mid.attn_1." + x, 512, 512, 1);
  }
  b.norm("encoder.norm_out", 512);
  b.conv("encoder.conv_out", 2 * z, 512, 3);
  b.conv("quant_conv", 2 * z, 2 * z, 1);
  b.conv("post_quant_conv", z, z, 1);
  b.conv("decoder.conv_in", 512, z, 3);
  ch = 512;
  for (std::size_t lvl = 4; lvl-- > 0;) {
    for (std::size_t r = 0; r < 3; ++r) {
      const std::string p = "decoder.up." + S_(lvl) + ".block." + S_(r);
      b.norm(p + ".norm1", ch);
      b.conv(p + ".conv1", chs[lvl], ch, 3);
      b.norm(p + ".norm2", chs[lvl]);
      b.conv(p + ".conv2", chs[lvl], chs[lvl], 3);
      if (ch != chs[lvl]) b.conv(p + ".nin_shortcut", chs[lvl], ch, 1);
      ch = chs[lvl];
    }
    if (lvl > 0) b.conv("decoder.up." + S_(lvl) + ".upsample.conv", ch, ch, 3);
  }
  b.norm("decoder.norm_out", 128);
  b.conv("decoder.conv_out", 3, 128, 3);
  return l;
}

Layout wan_vae(Dtype dt) {
  Layout l;
  B b{l, dt};
  b.w("conv1.weight", {32, 32, 1, 1, 1});
  b.w("conv2.weight", {16, 16, 1, 1, 1});
  b.w("encoder.conv1.weight", {96, 3, 3, 3, 3});
  b.w("decoder.conv1.weight", {384, 16, 3, 3, 3});
  for (std::size_t i = 0; i < 3; i += 2) {
    const std::string p = "decoder.middle." + S_(i) + ".residual.";
    b.w(p + "0.gamma", {384, 1, 1, 1});
    b.w(p + "2.weight", {384, 384, 3, 3, 3});
    b.w(p + "3.gamma", {384, 1, 1, 1});
    b.w(p + "6.weight", {384, 384, 3, 3, 3});
  }
  b.w("decoder.head.0.gamma", {96, 1, 1, 1});
  b.w("decoder.head.2.weight", {3, 96, 3, 3, 3});
  return l;
}

Layout sd15_checkpoint(Dtype dt) {
  Layout l;
  append(l, sd15_unet(4, dt), "model.diffusion_model.");
  append(l, clip_text(12, 768, 3072, dt), "cond_stage_model.transformer.");
  append(l, ldm_vae(4, dt), "first_stage_model.");
  return l;
}

Layout sdxl_checkpoint(Dtype dt) {
  Layout l;
  append(l, sdxl_unet(dt), "model.diffusion_model.");
  append(l, clip_text(12, 768, 3072, dt), "conditioner.embedders.0.transformer.");
  append(l, open_clip_g(dt), "conditioner.embedders.1.");
  append(l, ldm_vae(4, dt), "first_stage_model.");
  return l;
}

Layout flux_dit(bool guidance, int img_in, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 3072;
  b.linear("img_in", H, static_cast<U>(img_in));
  b.linear("time_in.in_layer", H, 256);
  b.linear("time_in.out_layer", H, H);
  b.linear("vector_in.in_layer", H, 768);
  b.linear("vector_in.out_layer", H, H);
  if (guidance) {
    b.linear("guidance_in.in_layer", H, 256);
    b.linear("guidance_in.out_layer", H, H);
  }
  b.linear("txt_in", H, 4096);
  for (std::size_t i = 0; i < 19; ++i) {
    const std::string p = "double_blocks." + S_(i);
    for (const char* s : {"img", "txt"}) {
      const std::string q = p + "." + s;
      b.linear(q + "_mod.lin", 6 * H, H);
      b.linear(q + "_attn.qkv", 3 * H, H);
      b.w(q + "_attn.norm.query_norm.scale", {128});
      b.w(q + "_attn.norm.key_norm.scale", {128});
      b.linear(q + "_attn.proj", H, H);
      b.linear(q + "_mlp.0", 4 * H, H);
      b.linear(q + "_mlp.2", H, 4 * H);
    }
  }
  for (std::size_t i = 0; i < 38; ++i) {
    const std::string p = "single_blocks." + S_(i);
    b.linear(p + ".linear1", 3 * H + 4 * H, H);
    b.linear(p + ".linear2", H, H + 4 * H);
    b.w(p + ".norm.query_norm.scale", {128});
    b.w(p + ".norm.key_norm.scale", {128});
    b.linear(p + ".modulation.lin", 3 * H, H);
  }
  b.linear("final_layer.linear", 64, H);
  b.linear("final_layer.adaLN_modulation.1", 2 * H, H);
  return l;
}

namespace {

// The dual- and single-stream blocks diffusers names alike for FLUX.1, Chroma and HunyuanVideo
// (width 3072); Chroma prunes the per-block modulation (`modulated` false) in favour of its
// distilled guidance layer.
void mmdit_diffusers_blocks(B& b, std::size_t dual, std::size_t single, bool modulated) {
  const U H = 3072;
  for (std::size_t i = 0; i < dual; ++i) {
    const std::string p = "transformer_blocks." + S_(i);
    for (const char* x : {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out"}) b.linear(p + ".attn." + x, H, H);
    b.linear(p + ".attn.to_out.0", H, H);
    if (modulated) {
      b.linear(p + ".norm1.linear", 6 * H, H);
      b.linear(p + ".norm1_context.linear", 6 * H, H);
    }
    b.linear(p + ".ff.net.0.proj", 4 * H, H);
    b.linear(p + ".ff.net.2", H, 4 * H);
    b.linear(p + ".ff_context.net.0.proj", 4 * H, H);
    b.linear(p + ".ff_context.net.2", H, 4 * H);
  }
  for (std::size_t i = 0; i < single; ++i) {
    const std::string p = "single_transformer_blocks." + S_(i);
    for (const char* x : {"to_q", "to_k", "to_v"}) b.linear(p + ".attn." + x, H, H);
    if (modulated) b.linear(p + ".norm.linear", 3 * H, H);
    b.linear(p + ".proj_mlp", 4 * H, H);
    b.linear(p + ".proj_out", H, 5 * H);
  }
  if (modulated) b.linear("norm_out.linear", 2 * H, H);
}

}  // namespace

Layout flux_diffusers(bool guidance, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 3072;
  b.linear("x_embedder", H, 64);
  b.linear("context_embedder", H, 4096);
  b.linear("time_text_embed.timestep_embedder.linear_1", H, 256);
  b.linear("time_text_embed.timestep_embedder.linear_2", H, H);
  b.linear("time_text_embed.text_embedder.linear_1", H, 768);
  b.linear("time_text_embed.text_embedder.linear_2", H, H);
  if (guidance) {
    b.linear("time_text_embed.guidance_embedder.linear_1", H, 256);
    b.linear("time_text_embed.guidance_embedder.linear_2", H, H);
  }
  mmdit_diffusers_blocks(b, 19, 38, true);
  b.linear("proj_out", 64, H);
  return l;
}

Layout chroma_diffusers(Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 3072, A = 5120;
  b.linear("x_embedder", H, 64);
  b.linear("context_embedder", H, 4096);
  // The approximator that replaces FLUX.1's per-block modulation and guidance embedding.
  b.linear("distilled_guidance_layer.in_proj", A, 64);
  for (std::size_t i = 0; i < 5; ++i) {
    b.linear("distilled_guidance_layer.layers." + S_(i) + ".linear_1", A, A);
    b.linear("distilled_guidance_layer.layers." + S_(i) + ".linear_2", A, A);
    b.w("distilled_guidance_layer.norms." + S_(i) + ".weight", {A});
  }
  b.linear("distilled_guidance_layer.out_proj", H, A);
  mmdit_diffusers_blocks(b, 19, 38, false);
  b.linear("proj_out", 64, H);
  return l;
}

Layout hunyuan_video_diffusers(U in_channels, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 3072;
  b.w("x_embedder.proj.weight", {H, in_channels, 1, 2, 2});
  b.w("x_embedder.proj.bias", {H});
  struct Embedder {
    const char* name;
    U in;
  };
  // The text refiner and the timestep, guidance and pooled-text embedders (all of width H).
  for (const Embedder& e : {Embedder{"context_embedder.proj_in", 4096},
                            Embedder{"context_embedder.time_text_embed.timestep_embedder.linear_1", 256},
                            Embedder{"context_embedder.time_text_embed.text_embedder.linear_1", 4096},
                            Embedder{"time_text_embed.timestep_embedder.linear_1", 256},
                            Embedder{"time_text_embed.timestep_embedder.linear_2", H},
                            Embedder{"time_text_embed.guidance_embedder.linear_1", 256},
                            Embedder{"time_text_embed.guidance_embedder.linear_2", H},
                            Embedder{"time_text_embed.text_embedder.linear_1", 768},
                            Embedder{"time_text_embed.text_embedder.linear_2", H}}) {
    b.linear(e.name, H, e.in);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string p = "context_embedder.token_refiner.refiner_blocks." + S_(i);
    for (const char* x : {"to_q", "to_k", "to_v", "to_out.0"}) b.linear(p + ".attn." + x, H, H);
    b.norm(p + ".norm1", H);
    b.norm(p + ".norm2", H);
  }
  mmdit_diffusers_blocks(b, 20, 40, true);
  b.linear("proj_out", 64, H);
  return l;
}

Layout wan_dit(int dim_, int ffn_, int blocks, int in_ch, int out_ch, bool img_emb, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U D = static_cast<U>(dim_), F = static_cast<U>(ffn_);
  b.w("patch_embedding.weight", {D, static_cast<U>(in_ch), 1, 2, 2});
  b.w("patch_embedding.bias", {D});
  b.linear("text_embedding.0", D, 4096);
  b.linear("text_embedding.2", D, D);
  b.linear("time_embedding.0", D, 256);
  b.linear("time_embedding.2", D, D);
  b.linear("time_projection.1", 6 * D, D);
  for (std::size_t i = 0; i < static_cast<std::size_t>(blocks); ++i) {
    const std::string p = "blocks." + S_(i);
    for (const char* a : {"self_attn", "cross_attn"}) {
      const std::string q = p + "." + a;
      for (const char* x : {"q", "k", "v", "o"}) b.linear(q + "." + x, D, D);
      b.w(q + ".norm_q.weight", {D});
      b.w(q + ".norm_k.weight", {D});
    }
    if (img_emb) {
      b.linear(p + ".cross_attn.k_img", D, D);
      b.linear(p + ".cross_attn.v_img", D, D);
      b.w(p + ".cross_attn.norm_k_img.weight", {D});
    }
    b.norm(p + ".norm3", D);
    b.linear(p + ".ffn.0", F, D);
    b.linear(p + ".ffn.2", D, F);
    b.f32(p + ".modulation", {1, 6, D});
  }
  b.linear("head.head", static_cast<U>(out_ch) * 4, D);
  b.f32("head.modulation", {1, 2, D});
  if (img_emb) {
    b.norm("img_emb.proj.0", 1280);
    b.linear("img_emb.proj.1", 1280, 1280);
    b.linear("img_emb.proj.3", D, 1280);
    b.norm("img_emb.proj.4", D);
  }
  return l;
}

// The inputs both SD3 layouts hold under their own names: the 2x2 patch
// embedding of the 16-channel latent, the timestep and pooled-text MLPs, and
// the T5/CLIP context projection.
struct Sd3Inputs {
  std::string patch, timestep_1, timestep_2, pooled_1, pooled_2;
};

void sd3_inputs(B& b, U H, const Sd3Inputs& n) {
  b.w(n.patch + ".weight", {H, 16, 2, 2});
  b.w(n.patch + ".bias", {H});
  b.linear(n.timestep_1, H, 256);
  b.linear(n.timestep_2, H, H);
  b.linear(n.pooled_1, H, 2048);
  b.linear(n.pooled_2, H, H);
  b.linear("context_embedder", H, 4096);
}

// Calls block(prefix, dual, last) for each joint block: the first dual_layers
// carry SD 3.5 Medium's second image attention; the last block's context side
// only feeds the joint attention (context_pre_only).
template <class Block>
void sd3_blocks(const std::string& name, int depth, int dual_layers, Block block) {
  for (int i = 0; i < depth; ++i) block(name + "." + S_(static_cast<std::size_t>(i)), i < dual_layers, i == depth - 1);
}

Layout sd3_mmdit(int depth, int dual_layers, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 64 * static_cast<U>(depth);
  sd3_inputs(b, H, {"x_embedder.proj", "t_embedder.mlp.0", "t_embedder.mlp.2", "y_embedder.mlp.0", "y_embedder.mlp.2"});
  b.w("pos_embed", {1, 36864, H});
  sd3_blocks("joint_blocks", depth, dual_layers, [&](const std::string& p, bool dual, bool last) {
    b.linear(p + ".x_block.adaLN_modulation.1", (dual ? 9 : 6) * H, H);
    auto attention = [&](const std::string& a) {
      b.linear(p + ".x_block." + a + ".qkv", 3 * H, H);
      b.linear(p + ".x_block." + a + ".proj", H, H);
    };
    attention("attn");
    if (dual) attention("attn2");
    b.linear(p + ".x_block.mlp.fc1", 4 * H, H);
    b.linear(p + ".x_block.mlp.fc2", H, 4 * H);
    b.linear(p + ".context_block.adaLN_modulation.1", (last ? 2 : 6) * H, H);
    b.linear(p + ".context_block.attn.qkv", 3 * H, H);
    if (last) return;
    b.linear(p + ".context_block.attn.proj", H, H);
    b.linear(p + ".context_block.mlp.fc1", 4 * H, H);
    b.linear(p + ".context_block.mlp.fc2", H, 4 * H);
  });
  b.linear("final_layer.adaLN_modulation.1", 2 * H, H);
  b.linear("final_layer.linear", 64, H);
  return l;
}

Layout sd3_diffusers(int depth, int dual_layers, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 64 * static_cast<U>(depth);
  sd3_inputs(b, H, {"pos_embed.proj", "time_text_embed.timestep_embedder.linear_1",
                    "time_text_embed.timestep_embedder.linear_2", "time_text_embed.text_embedder.linear_1",
                    "time_text_embed.text_embedder.linear_2"});
  sd3_blocks("transformer_blocks", depth, dual_layers, [&](const std::string& p, bool dual, bool last) {
    b.linear(p + ".norm1.linear", (dual ? 9 : 6) * H, H);
    b.linear(p + ".norm1_context.linear", (last ? 2 : 6) * H, H);
    for (const char* x : {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj"}) b.linear(p + ".attn." + x, H, H);
    b.linear(p + ".attn.to_out.0", H, H);
    if (!last) b.linear(p + ".attn.to_add_out", H, H);
    if (dual) {
      for (const char* x : {"to_q", "to_k", "to_v"}) b.linear(p + ".attn2." + x, H, H);
      b.linear(p + ".attn2.to_out.0", H, H);
    }
    b.linear(p + ".ff.net.0.proj", 4 * H, H);
    b.linear(p + ".ff.net.2", H, 4 * H);
  });
  b.linear("norm_out.linear", 2 * H, H);
  b.linear("proj_out", 64, H);
  return l;
}

Layout hunyuan_video_dit(int in_channels, bool guidance, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 3072;
  b.w("img_in.proj.weight", {H, static_cast<U>(in_channels), 1, 2, 2});
  b.w("img_in.proj.bias", {H});
  b.linear("time_in.mlp.0", H, 256);
  b.linear("time_in.mlp.2", H, H);
  b.linear("vector_in.in_layer", H, 768);
  b.linear("vector_in.out_layer", H, H);
  if (guidance) {
    b.linear("guidance_in.mlp.0", H, 256);
    b.linear("guidance_in.mlp.2", H, H);
  }
  b.linear("txt_in.input_embedder", H, 4096);
  b.linear("txt_in.t_embedder.mlp.0", H, 256);
  b.linear("txt_in.c_embedder.linear_1", H, 4096);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string p = "txt_in.individual_token_refiner.blocks." + S_(i);
    b.norm(p + ".norm1", H);
    b.linear(p + ".self_attn_qkv", 3 * H, H);
    b.linear(p + ".self_attn_proj", H, H);
    b.norm(p + ".norm2", H);
    b.linear(p + ".mlp.fc1", 4 * H, H);
    b.linear(p + ".mlp.fc2", H, 4 * H);
  }
  for (std::size_t i = 0; i < 20; ++i) {
    const std::string p = "double_blocks." + S_(i);
    for (const char* s : {"img", "txt"}) {
      const std::string q = p + "." + s;
      b.linear(q + "_mod.linear", 6 * H, H);
      b.linear(q + "_attn_qkv", 3 * H, H);
      b.linear(q + "_attn_proj", H, H);
      b.linear(q + "_mlp.fc1", 4 * H, H);
      b.linear(q + "_mlp.fc2", H, 4 * H);
    }
  }
  for (std::size_t i = 0; i < 40; ++i) {
    const std::string p = "single_blocks." + S_(i);
    b.linear(p + ".linear1", 3 * H + 4 * H, H);
    b.linear(p + ".linear2", H, H + 4 * H);
    b.linear(p + ".modulation.linear", 3 * H, H);
  }
  b.linear("final_layer.linear", 64, H);
  b.linear("final_layer.adaLN_modulation.1", 2 * H, H);
  return l;
}

Layout qwen_image_dit(U img_in, bool edit_marker, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 3072;
  b.linear("img_in", H, img_in);
  b.w("txt_norm.weight", {3584});
  b.linear("txt_in", H, 3584);
  b.linear("time_text_embed.timestep_embedder.linear_1", H, 256);
  b.linear("time_text_embed.timestep_embedder.linear_2", H, H);
  for (std::size_t i = 0; i < 60; ++i) {
    const std::string p = "transformer_blocks." + S_(i);
    b.linear(p + ".img_mod.1", 6 * H, H);
    b.linear(p + ".txt_mod.1", 6 * H, H);
    for (const char* x : {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"}) {
      b.linear(p + ".attn." + x, H, H);
    }
    for (const char* n : {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) b.w(p + ".attn." + n + ".weight", {128});
    for (const char* s : {"img_mlp", "txt_mlp"}) {
      b.linear(p + "." + s + ".net.0.proj", 4 * H, H);
      b.linear(p + "." + s + ".net.2", H, 4 * H);
    }
  }
  b.linear("norm_out.linear", 2 * H, H);
  b.linear("proj_out", 64, H);
  // Qwen-Image-Edit-2511 files carry this empty marker; ComfyUI reads it as the edit model's reference method.
  if (edit_marker) b.f32("__index_timestep_zero__", {0});
  return l;
}

namespace {

// One Lumina 2 block: grouped-query attention (24 query, 8 key/value heads of 96) and a SwiGLU
// feed-forward of 6144; refiner blocks on the caption carry no modulation.
void lumina2_block(B& b, const std::string& p, bool diffusers, bool modulated) {
  const U D = 2304, F = 6144, KV = 8 * 96;
  // The same block under the two layouts' names: diffusers splits the fused qkv projection.
  struct Names {
    const char *attn, *q_norm, *k_norm, *ff[3], *norms[4], *modulation;
  };
  static const Names kOriginal{"attention", "q_norm", "k_norm", {"w1", "w2", "w3"},
                               {"attention_norm1", "ffn_norm1", "attention_norm2", "ffn_norm2"}, "adaLN_modulation.1"};
  static const Names kDiffusers{"attn", "norm_q", "norm_k", {"linear_1", "linear_2", "linear_3"},
                                {"norm1.norm", "ffn_norm1", "norm2", "ffn_norm2"}, "norm1.linear"};
  const Names& n = diffusers ? kDiffusers : kOriginal;
  const std::string a = p + "." + n.attn;
  if (diffusers) {
    b.linear(a + ".to_q", D, D, false);
    b.linear(a + ".to_k", KV, D, false);
    b.linear(a + ".to_v", KV, D, false);
    b.linear(a + ".to_out.0", D, D, false);
  } else {
    b.linear(a + ".qkv", D + 2 * KV, D, false);
    b.linear(a + ".out", D, D, false);
  }
  b.w(a + "." + n.q_norm + ".weight", {96});
  b.w(a + "." + n.k_norm + ".weight", {96});
  b.linear(p + ".feed_forward." + n.ff[0], F, D, false);
  b.linear(p + ".feed_forward." + n.ff[1], D, F, false);
  b.linear(p + ".feed_forward." + n.ff[2], F, D, false);
  for (const char* norm : n.norms) b.w(p + "." + norm + ".weight", {D});
  if (modulated) b.linear(p + "." + n.modulation, 4 * D, 1024);
}

}  // namespace

Layout lumina2_dit(bool diffusers, U x_in, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U D = 2304;
  b.linear("x_embedder", D, x_in);
  if (diffusers) {
    b.linear("time_caption_embed.timestep_embedder.linear_1", 1024, 256);
    b.linear("time_caption_embed.timestep_embedder.linear_2", 1024, 1024);
    b.w("time_caption_embed.caption_embedder.0.weight", {D});
    b.linear("time_caption_embed.caption_embedder.1", D, D);
  } else {
    b.linear("t_embedder.mlp.0", 1024, 256);
    b.linear("t_embedder.mlp.2", 1024, 1024);
    b.w("cap_embedder.0.weight", {D});
    b.linear("cap_embedder.1", D, D);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    lumina2_block(b, "noise_refiner." + S_(i), diffusers, true);
    lumina2_block(b, "context_refiner." + S_(i), diffusers, false);
  }
  for (std::size_t i = 0; i < 26; ++i) lumina2_block(b, "layers." + S_(i), diffusers, true);
  if (diffusers) {
    b.linear("norm_out.linear_1", D, 1024);
    b.linear("norm_out.linear_2", 64, D);
  } else {
    b.linear("final_layer.adaLN_modulation.1", D, 1024);
    b.linear("final_layer.linear", 64, D);
  }
  return l;
}

Layout ltxv_dit(U dim, int blocks, bool diffusers, U patch_in, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U D = dim;
  const std::string qn = diffusers ? "norm_q" : "q_norm", kn = diffusers ? "norm_k" : "k_norm";
  b.linear(diffusers ? "proj_in" : "patchify_proj", D, patch_in);
  const std::string t = diffusers ? "time_embed" : "adaln_single";
  b.linear(t + ".emb.timestep_embedder.linear_1", D, 256);
  b.linear(t + ".emb.timestep_embedder.linear_2", D, D);
  b.linear(t + ".linear", 6 * D, D);
  b.linear("caption_projection.linear_1", D, 4096);
  b.linear("caption_projection.linear_2", D, D);
  for (std::size_t i = 0; i < static_cast<std::size_t>(blocks); ++i) {
    const std::string p = "transformer_blocks." + S_(i);
    for (const char* a : {".attn1", ".attn2"}) {
      const U ctx = std::string(a) == ".attn2" ? 4096 : D;
      b.linear(p + a + ".to_q", D, D);
      b.linear(p + a + ".to_k", D, ctx);
      b.linear(p + a + ".to_v", D, ctx);
      b.linear(p + a + ".to_out.0", D, D);
      b.w(p + a + "." + qn + ".weight", {D});
      b.w(p + a + "." + kn + ".weight", {D});
    }
    b.linear(p + ".ff.net.0.proj", 4 * D, D);
    b.linear(p + ".ff.net.2", D, 4 * D);
    b.w(p + ".scale_shift_table", {6, D});
  }
  b.w("scale_shift_table", {2, D});
  b.linear("proj_out", patch_in, D);
  return l;
}

Layout hunyuan_video15_dit(bool diffusers, U in_channels, Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 2048;
  // Both layouts: 54 dual-stream blocks of width 2048 (16 heads of 128), no single-stream blocks,
  // a 1x1x1 patch over 65 channels (32 latent, 32 condition latent, 1 mask).
  const std::string in = diffusers ? "x_embedder.proj" : "img_in.proj";
  b.w(in + ".weight", {H, in_channels, 1, 1, 1});
  b.w(in + ".bias", {H});
  const std::string ref = diffusers ? "context_embedder" : "txt_in";
  b.linear(ref + (diffusers ? ".proj_in" : ".input_embedder"), H, 3584);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string p = ref + (diffusers ? ".token_refiner.refiner_blocks." : ".individual_token_refiner.blocks.") + S_(i);
    b.norm(p + ".norm1", H);
    b.linear(p + (diffusers ? ".attn.to_q" : ".self_attn_qkv"), diffusers ? H : 3 * H, H);
    b.linear(p + (diffusers ? ".attn.to_out.0" : ".self_attn_proj"), H, H);
    b.norm(p + ".norm2", H);
  }
  b.w(diffusers ? "cond_type_embed.weight" : "cond_type_embedding.weight", {3, H});
  b.linear(diffusers ? "context_embedder_2.linear_1" : "byt5_in.fc1", 2048, 1472);
  b.linear(diffusers ? "image_embedder.linear_1" : "vision_in.proj.1", 1152, 1152);
  if (!diffusers) b.norm("vision_in.proj.0", 1152);
  b.linear(diffusers ? "image_embedder.linear_2" : "vision_in.proj.3", H, 1152);
  b.linear(diffusers ? "time_embed.timestep_embedder.linear_1" : "time_in.mlp.0", H, 256);
  b.linear(diffusers ? "time_embed.timestep_embedder.linear_2" : "time_in.mlp.2", H, H);
  for (std::size_t i = 0; i < 54; ++i) {
    if (diffusers) {
      const std::string p = "transformer_blocks." + S_(i);
      b.linear(p + ".norm1.linear", 6 * H, H);
      b.linear(p + ".norm1_context.linear", 6 * H, H);
      for (const char* x : {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out"}) {
        b.linear(p + ".attn." + x, H, H);
      }
      for (const char* s : {".ff", ".ff_context"}) {
        b.linear(p + s + ".net.0.proj", 4 * H, H);
        b.linear(p + s + ".net.2", H, 4 * H);
      }
      continue;
    }
    for (const char* s : {"img", "txt"}) {
      const std::string q = "double_blocks." + S_(i) + "." + s;
      b.linear(q + "_mod.linear", 6 * H, H);
      b.linear(q + "_attn_qkv", 3 * H, H);
      b.linear(q + "_attn_proj", H, H);
      b.w(q + "_attn_q_norm.weight", {128});
      b.w(q + "_attn_k_norm.weight", {128});
      b.linear(q + "_mlp.fc1", 4 * H, H);
      b.linear(q + "_mlp.fc2", H, 4 * H);
    }
  }
  b.linear(diffusers ? "norm_out.linear" : "final_layer.adaLN_modulation.1", 2 * H, H);
  b.linear(diffusers ? "proj_out" : "final_layer.linear", 32, H);
  return l;
}

Layout hidream_dit(Dtype dt) {
  Layout l;
  B b{l, dt};
  const U H = 2560;
  b.linear("x_embedder.proj", H, 64);
  b.linear("t_embedder.timestep_embedder.linear_1", H, 256);
  b.linear("t_embedder.timestep_embedder.linear_2", H, H);
  b.linear("p_embedder.pooled_embedder.linear_1", H, 2048);
  b.linear("p_embedder.pooled_embedder.linear_2", H, H);
  for (std::size_t i = 0; i < 49; ++i) b.linear("caption_projection." + S_(i) + ".linear", H, i < 48 ? 4096 : 4096, false);
  auto moe = [&](const std::string& p) {
    b.w(p + ".gate.weight", {4, H});
    for (const char* w : {"w1", "w3"}) b.w(p + ".shared_experts." + std::string(w) + ".weight", {3584, H});
    b.w(p + ".shared_experts.w2.weight", {H, 3584});
    for (std::size_t e = 0; e < 4; ++e) {
      const std::string q = p + ".experts." + S_(e);
      b.w(q + ".w1.weight", {6912, H});
      b.w(q + ".w3.weight", {6912, H});
      b.w(q + ".w2.weight", {H, 6912});
    }
  };
  for (std::size_t i = 0; i < 16; ++i) {
    const std::string p = "double_stream_blocks." + S_(i) + ".block";
    b.linear(p + ".adaLN_modulation.1", 12 * H, H);
    for (const char* x : {"to_q", "to_k", "to_v", "to_out", "to_q_t", "to_k_t", "to_v_t", "to_out_t"}) b.linear(p + ".attn1." + x, H, H);
    for (const char* x : {"q_rms_norm", "k_rms_norm", "q_rms_norm_t", "k_rms_norm_t"}) b.w(p + ".attn1." + std::string(x) + ".weight", {H});
    moe(p + ".ff_i");
    b.w(p + ".ff_t.w1.weight", {6912, H});
    b.w(p + ".ff_t.w3.weight", {6912, H});
    b.w(p + ".ff_t.w2.weight", {H, 6912});
  }
  for (std::size_t i = 0; i < 32; ++i) {
    const std::string p = "single_stream_blocks." + S_(i) + ".block";
    b.linear(p + ".adaLN_modulation.1", 6 * H, H);
    for (const char* x : {"to_q", "to_k", "to_v", "to_out"}) b.linear(p + ".attn1." + x, H, H);
    for (const char* x : {"q_rms_norm", "k_rms_norm"}) b.w(p + ".attn1." + std::string(x) + ".weight", {H});
    moe(p + ".ff_i");
  }
  b.linear("final_layer.linear", 64, H);
  b.linear("final_layer.adaLN_modulation.1", 2 * H, H);
  return l;
}

namespace {
void kohya_pair(B& b, const std::string& module, U in, U out, U rank) {
  b.w(module + ".lora_down.weight", {rank, in});
  b.w(module + ".lora_up.weight", {out, rank});
  b.f32(module + ".alpha", {});
}
}  // namespace

Layout lora_kohya_sd15(int rank) {
  Layout l;
  B b{l, Dt::F16};
  const U r = static_cast<U>(rank);
  for (const auto& [blk, ch] : std::vector<std::pair<std::string, U>>{{"down_blocks_0_attentions_0", 320}, {"down_blocks_1_attentions_1", 640},
                                                                      {"up_blocks_3_attentions_2", 320}, {"mid_block_attentions_0", 1280}}) {
    const std::string p = "lora_unet_" + blk + "_transformer_blocks_0_";
    kohya_pair(b, p + "attn1_to_q", ch, ch, r);
    kohya_pair(b, p + "attn2_to_k", 768, ch, r);
    kohya_pair(b, p + "attn2_to_v", 768, ch, r);
    kohya_pair(b, p + "ff_net_2", ch * 4, ch, r);
  }
  kohya_pair(b, "lora_te_text_model_encoder_layers_0_mlp_fc1", 768, 3072, r);
  return l;
}

Layout lora_kohya_sdxl(int rank) {
  Layout l;
  B b{l, Dt::F16};
  const U r = static_cast<U>(rank);
  for (const auto& [blk, ch] : std::vector<std::pair<std::string, U>>{{"input_blocks_4_1", 640}, {"input_blocks_7_1", 1280},
                                                                      {"output_blocks_5_1", 640}, {"middle_block_1", 1280}}) {
    for (std::size_t t = 0; t < 2; ++t) {
      const std::string p = "lora_unet_" + blk + "_transformer_blocks_" + S_(t) + "_";
      kohya_pair(b, p + "attn1_to_q", ch, ch, r);
      kohya_pair(b, p + "attn2_to_k", 2048, ch, r);
      kohya_pair(b, p + "attn2_to_v", 2048, ch, r);
      kohya_pair(b, p + "ff_net_2", ch * 4, ch, r);
    }
  }
  kohya_pair(b, "lora_te1_text_model_encoder_layers_0_mlp_fc1", 768, 3072, r);
  kohya_pair(b, "lora_te2_text_model_encoder_layers_0_mlp_fc1", 1280, 5120, r);
  return l;
}

Layout lora_kohya_flux(int rank) {
  Layout l;
  B b{l, Dt::BF16};
  const U r = static_cast<U>(rank);
  for (std::size_t i = 0; i < 19; ++i) {
    const std::string p = "lora_unet_double_blocks_" + S_(i) + "_";
    kohya_pair(b, p + "img_attn_proj", 3072, 3072, r);
    kohya_pair(b, p + "img_attn_qkv", 3072, 9216, r);
    kohya_pair(b, p + "txt_attn_proj", 3072, 3072, r);
  }
  for (std::size_t i = 0; i < 38; ++i) kohya_pair(b, "lora_unet_single_blocks_" + S_(i) + "_linear1", 3072, 21504, r);
  return l;
}

Layout lora_wan(int dim, int rank) {
  Layout l;
  B b{l, Dt::BF16};
  const U D = static_cast<U>(dim), r = static_cast<U>(rank);
  const int blocks = dim == 5120 ? 40 : 30;
  for (std::size_t i = 0; i < static_cast<std::size_t>(blocks); ++i) {
    for (const char* a : {"self_attn", "cross_attn"}) {
      for (const char* x : {"q", "k", "v", "o"}) {
        const std::string p = "diffusion_model.blocks." + S_(i) + "." + a + "." + x;
        b.w(p + ".lora_A.weight", {r, D});
        b.w(p + ".lora_B.weight", {D, r});
      }
    }
  }
  return l;
}

Layout lora_hidream(int rank) {
  Layout l;
  B b{l, Dt::BF16};
  const U r = static_cast<U>(rank);
  for (std::size_t i = 0; i < 16; ++i) {
    const std::string p = "diffusion_model.double_stream_blocks." + S_(i) + ".block.";
    for (const char* x : {"attn1.to_q", "attn1.to_k", "attn1.to_v"}) {
      b.w(p + x + ".lora_A.weight", {r, 2560});
      b.w(p + x + ".lora_B.weight", {2560, r});
    }
    b.w(p + "ff_i.shared_experts.w1.lora_A.weight", {r, 2560});
    b.w(p + "ff_i.shared_experts.w1.lora_B.weight", {3584, r});
  }
  return l;
}

Layout lora_transformer(LoraTarget target, bool kohya, int rank) {
  struct Module {
    const char* name;
    U in, out;
  };
  std::string block;
  std::size_t blocks = 0;
  std::vector<Module> modules;
  switch (target) {
    case LoraTarget::kQwenImage:
      block = "transformer_blocks.", blocks = 60;
      modules = {{"attn.to_q", 3072, 3072}, {"attn.add_k_proj", 3072, 3072}, {"img_mod.1", 3072, 18432},
                 {"img_mlp.net.0.proj", 3072, 12288}, {"txt_mlp.net.0.proj", 3072, 12288}};
      break;
    case LoraTarget::kLumina2:
      // sd-scripts trains Lumina 2 on the original keys (fused qkv); diffusers' PEFT on its split projections.
      block = "layers.", blocks = 26;
      if (kohya) {
        modules = {{"attention.qkv", 2304, 3840}, {"attention.out", 2304, 2304}, {"feed_forward.w1", 2304, 6144}};
      } else {
        modules = {{"attn.to_q", 2304, 2304}, {"attn.to_k", 2304, 768}, {"feed_forward.linear_1", 2304, 6144}};
      }
      break;
    case LoraTarget::kLtxVideo2B:
    case LoraTarget::kLtxVideo13B: {
      const U D = target == LoraTarget::kLtxVideo2B ? 2048 : 4096;
      block = "transformer_blocks.", blocks = target == LoraTarget::kLtxVideo2B ? 28 : 48;
      modules = {{"attn1.to_q", D, D}, {"attn1.to_k", D, D}, {"attn2.to_k", 4096, D}, {"ff.net.0.proj", D, 4 * D}};
      break;
    }
    case LoraTarget::kHunyuanVideo15:
      // musubi-tuner trains HunyuanVideo 1.5 on the original double_blocks keys.
      blocks = 54;
      if (kohya) {
        block = "double_blocks.";
        modules = {{"img_attn_qkv", 2048, 6144}, {"txt_attn_qkv", 2048, 6144}, {"img_mlp.fc1", 2048, 8192}};
      } else {
        block = "transformer_blocks.";
        modules = {{"attn.to_q", 2048, 2048}, {"attn.add_k_proj", 2048, 2048}, {"ff.net.0.proj", 2048, 8192}};
      }
      break;
  }
  Layout l;
  B b{l, Dt::BF16};
  const U r = static_cast<U>(rank);
  for (std::size_t i = 0; i < blocks; ++i) {
    for (const auto& m : modules) {
      const std::string path = block + S_(i) + "." + m.name;
      if (kohya) {
        std::string flat = "lora_unet_" + path;
        std::replace(flat.begin(), flat.end(), '.', '_');
        kohya_pair(b, flat, m.in, m.out, r);
      } else {
        b.w("transformer." + path + ".lora_A.weight", {r, m.in});
        b.w("transformer." + path + ".lora_B.weight", {m.out, r});
      }
    }
  }
  return l;
}

Layout comfy_scaled_fp8(const Layout& src) {
  Layout l;
  l.push_back({"scaled_fp8", Dtype::F8_E4M3, {0}});
  for (const auto& t : src) {
    if (t.shape.size() >= 2) {
      l.push_back({t.name, Dtype::F8_E4M3, t.shape});
      const auto dot = t.name.rfind(".weight");
      if (dot != std::string::npos) l.push_back({t.name.substr(0, dot) + ".scale_weight", Dtype::F32, {}});
    } else {
      l.push_back(t);
    }
  }
  return l;
}

}  // namespace inferconf::detect::testing
