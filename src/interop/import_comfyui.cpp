// A ComfyUI API graph (PNG "prompt" chunk) -> CreateDTO: the KSampler's
// settings and those of the nodes wired to it, walked through links.
#include <algorithm>

#include <fmt/format.h>

#include "interop/export_support.hpp"
#include "interop/import_support.hpp"

namespace inferconf {

namespace {

using json = nlohmann::json;
using interop::PresetBuilder;

// Graphs are small; a walk longer than this is a cycle.
constexpr int kMaxHops = 64;

class GraphView {
 public:
  explicit GraphView(const json& nodes) : nodes_(nodes) {}

  static bool is_link(const json& v) {
    return v.is_array() && v.size() == 2 && (v[0].is_string() || v[0].is_number_integer()) && v[1].is_number_integer();
  }
  // The node a link points at, with its id; nullptr when dangling.
  const json* target(const json& link, std::string* id = nullptr) const {
    if (!is_link(link)) return nullptr;
    const auto key = link[0].is_string() ? link[0].get<std::string>() : std::to_string(link[0].get<long long>());
    auto it = nodes_.find(key);
    if (it == nodes_.end() || !it->is_object()) return nullptr;
    if (id) *id = key;
    return &*it;
  }
  static std::string type(const json& node) {
    auto it = node.find("class_type");
    return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
  }
  static const json* input(const json& node, std::string_view name) {
    auto in = node.find("inputs");
    if (in == node.end() || !in->is_object()) return nullptr;
    auto it = in->find(name);
    return it == in->end() ? nullptr : &*it;
  }
  // A literal input; throws when it is wired to another node.
  static const json* literal(const json& node, const std::string& id, std::string_view name) {
    const auto* v = input(node, name);
    if (v && is_link(*v))
      throw invalid(fmt::format("The ComfyUI graph's node {} ({}) takes its {} from node {}; inferconf reads only values "
                                "typed into the sampler and its loaders.",
                                id, type(node), name, (*v)[0].dump()));
    return v;
  }
  const json& nodes() const { return nodes_; }

 private:
  const json& nodes_;
};

std::string text_of(const json* v) {
  if (!v) return {};
  return v->is_string() ? v->get<std::string>() : v->dump();
}

class ComfyImport {
 public:
  ComfyImport(const json& nodes, PresetBuilder& b) : g_(nodes), b_(b) {}

  ImportResult run() {
    std::vector<std::pair<std::string, const json*>> samplers;
    for (const auto& [id, node] : g_.nodes().items())
      if (node.is_object() && (GraphView::type(node) == "KSampler" || GraphView::type(node) == "KSamplerAdvanced"))
        samplers.emplace_back(id, &node);
    if (samplers.empty())
      throw invalid("The ComfyUI graph has no KSampler or KSamplerAdvanced node; inferconf reads a preset from those "
                    "(graphs built on SamplerCustom cannot be read).");
    std::sort(samplers.begin(), samplers.end(), [](const auto& a, const auto& c) {
      return a.first.size() != c.first.size() ? a.first.size() < c.first.size() : a.first < c.first;
    });
    // The first pass is the sampler whose latent comes from an empty latent (not another sampler).
    auto from_empty = [&](const json& node) {
      const auto* src = g_.target(GraphView::input(node, "latent_image") ? *GraphView::input(node, "latent_image") : json());
      return src && GraphView::type(*src).rfind("Empty", 0) == 0;
    };
    auto primary = std::find_if(samplers.begin(), samplers.end(), [&](const auto& s) { return from_empty(*s.second); });
    if (primary == samplers.end()) primary = samplers.begin();
    const auto& [id, node] = *primary;
    read_sampler(*node, id);
    std::string last_id = id;
    for (const auto& [other_id, other] : samplers) {
      if (other == node) continue;
      std::string src_id;
      const auto* latent = GraphView::input(*other, "latent_image");
      const bool continues = latent && g_.target(*latent, &src_id) && src_id == id;
      if (continues && GraphView::type(*other) == "KSamplerAdvanced") {
        read_second_expert(*other, other_id, *node, id);
        last_id = other_id;
      } else {
        b_.note(fmt::format("node {}", other_id), GraphView::type(*other), "ignored",
                "a further sampler (e.g. a hires-fix pass) is not part of the preset.");
      }
    }
    read_model(*node);
    read_conditioning(*node);
    read_latent(*node);
    read_output(last_id);
    b_.set_model_id(model_file_.empty() ? std::string() : interop::file_stem(model_file_), "graph's loader");
    b_.take_prompt(prompt_, negative_);
    if (!b_.result().dto.model_specific_params.contains("clip_skip") && b_.knows("clip_skip"))
      b_.set_param("clip_skip", -1);  // no CLIPSetLastLayer: the last layer
    return b_.finish();
  }

 private:
  void read_sampler(const json& node, const std::string& id) {
    auto lit = [&](std::string_view name) { return GraphView::literal(node, id, name); };
    std::optional<int> steps;
    std::optional<double> cfg;
    std::optional<std::string> sampler, scheduler;
    if (const auto* v = lit("steps"); v && v->is_number_integer()) steps = v->get<int>();
    if (const auto* v = lit("cfg"); v && v->is_number()) cfg = v->get<double>();
    if (const auto* v = lit("sampler_name"); v && v->is_string()) sampler = b_.sampler(v->get<std::string>(), "sampler_name");
    if (const auto* v = lit("scheduler"); v && v->is_string()) scheduler = b_.scheduler(v->get<std::string>(), "scheduler");
    interop::set_core(b_, steps, cfg, sampler, scheduler);
    if (const auto* v = lit("denoise"); v && v->is_number() && v->get<double>() != 1.0) adopt("denoise", *v);
    steps_ = steps.value_or(0);
  }

  void read_second_expert(const json& node, const std::string& id, const json& first, const std::string& first_id) {
    if (const auto* v = GraphView::literal(node, id, "cfg"); v && v->is_number()) adopt("guidance_low_noise", *v);
    const auto* split = GraphView::literal(first, first_id, "end_at_step");
    if (split && split->is_number_integer()) split_at_ = split->get<int>();
  }

  void adopt(const std::string& key, const json& value) {
    if (b_.adopts(key, value))
      b_.set_param(key, value);
    else
      b_.note(key, value.is_string() ? value.get<std::string>() : value.dump(), "ignored",
              fmt::format("{}'s preset has no {} (or the graph loads the usual file).", b_.base().id, key));
  }

  // Follows the model input back to its loader: LoRA, sampling shift.
  void read_model(const json& sampler) {
    const json* link = GraphView::input(sampler, "model");
    for (int hop = 0; link && hop < kMaxHops; ++hop) {
      std::string id;
      const auto* n = g_.target(*link, &id);
      if (!n) break;
      const auto t = GraphView::type(*n);
      if (t == "UNETLoader" || t == "CheckpointLoaderSimple") {
        model_file_ = text_of(GraphView::literal(*n, id, t == "UNETLoader" ? "unet_name" : "ckpt_name"));
        break;
      }
      if (t == "LoraLoaderModelOnly" || t == "LoraLoader") {
        if (const auto* v = GraphView::literal(*n, id, "lora_name")) adopt("lightning_lora", *v);
      } else if (t == "ModelSamplingSD3") {
        if (const auto* v = GraphView::literal(*n, id, "shift")) adopt("shift", *v);
      } else if (t == "ModelSamplingFlux") {
        for (const char* k : {"max_shift", "base_shift"})
          if (const auto* v = GraphView::literal(*n, id, k)) adopt(k, *v);
      } else {
        b_.note(fmt::format("node {}", id), t, "ignored", "a model patch inferconf does not read.");
      }
      link = GraphView::input(*n, "model");
    }
  }

  void read_conditioning(const json& sampler) {
    // Positive: guidance, then the text encoder, then the CLIP chain.
    const json* link = GraphView::input(sampler, "positive");
    for (int hop = 0; link && hop < kMaxHops; ++hop) {
      std::string id;
      const auto* n = g_.target(*link, &id);
      if (!n) break;
      const auto t = GraphView::type(*n);
      if (t == "FluxGuidance") {
        if (const auto* v = GraphView::literal(*n, id, "guidance")) adopt("guidance", *v);
        link = GraphView::input(*n, "conditioning");
      } else if (t.rfind("CLIPTextEncode", 0) == 0) {
        prompt_ = text_of(GraphView::literal(*n, id, "text"));
        read_clip(GraphView::input(*n, "clip"));
        break;
      } else {
        link = GraphView::input(*n, "conditioning");
      }
    }
    if (const auto* neg = GraphView::input(sampler, "negative")) {
      std::string id;
      if (const auto* n = g_.target(*neg, &id); n && GraphView::type(*n).rfind("CLIPTextEncode", 0) == 0)
        negative_ = text_of(GraphView::literal(*n, id, "text"));
    }
  }

  void read_clip(const json* link) {
    for (int hop = 0; link && hop < kMaxHops; ++hop) {
      std::string id;
      const auto* n = g_.target(*link, &id);
      if (!n) return;
      const auto t = GraphView::type(*n);
      if (t == "CLIPSetLastLayer") {
        if (const auto* v = GraphView::literal(*n, id, "stop_at_clip_layer")) adopt("clip_skip", *v);
      } else if (t == "CLIPLoader") {
        if (const auto* v = GraphView::literal(*n, id, "clip_name")) adopt("text_encoder", *v);
        return;
      } else if (t == "DualCLIPLoader") {
        if (const auto* v = GraphView::literal(*n, id, "clip_name2")) adopt("text_encoder", *v);
        return;
      } else if (t == "QuadrupleCLIPLoader") {
        if (const auto* v = GraphView::literal(*n, id, "clip_name3")) adopt("text_encoder", *v);
        return;
      } else if (t == "CheckpointLoaderSimple") {
        return;
      }
      link = GraphView::input(*n, "clip");
    }
  }

  void read_latent(const json& sampler) {
    std::string id;
    const auto* latent = GraphView::input(sampler, "latent_image");
    const auto* n = latent ? g_.target(*latent, &id) : nullptr;
    if (!n) return;
    const auto t = GraphView::type(*n);
    if (t.rfind("Empty", 0) != 0 && t != "Wan22ImageToVideoLatent") {
      b_.note(fmt::format("node {}", id), t, "ignored", "the sampler's latent does not come from an empty latent node.");
      return;
    }
    for (const char* k : {"width", "height"})
      if (const auto* v = GraphView::literal(*n, id, k)) adopt(k, *v);
    if (const auto* v = GraphView::literal(*n, id, "length")) adopt("video_frames", *v);
  }

  // The decode of the last sampler, and the video node that saves it.
  void read_output(const std::string& sampler_id) {
    for (const auto& [id, n] : g_.nodes().items()) {
      if (!n.is_object()) continue;
      const auto t = GraphView::type(n);
      std::string src;
      if (t == "VAEDecode") {
        const auto* samples = GraphView::input(n, "samples");
        if (!samples || !g_.target(*samples, &src) || src != sampler_id) continue;
        std::string vae_id;
        const auto* vae_link = GraphView::input(n, "vae");
        if (const auto* v = vae_link ? g_.target(*vae_link, &vae_id) : nullptr; v && GraphView::type(*v) == "VAELoader")
          if (const auto* name = GraphView::literal(*v, vae_id, "vae_name")) adopt("requires_vae", *name);
      } else if (const auto* fps = GraphView::input(n, "fps"); fps && !GraphView::is_link(*fps) && fps->is_number()) {
        if (b_.knows("video_fps"))
          b_.set_param("video_fps", fps->get<double>() == static_cast<int>(fps->get<double>())
                                        ? json(static_cast<int>(fps->get<double>()))
                                        : *fps);
      }
    }
    if (split_at_) {
      const auto& p = b_.preset().model_specific_params;
      const auto& msp = b_.result().dto.model_specific_params;
      const double shift = msp.value("shift", p.value("shift", 1.0));
      const double boundary = p.value("boundary", 0.875);
      const int expected = wan_expert_switch_step(steps_, shift, boundary);
      b_.note("end_at_step", std::to_string(*split_at_), expected == *split_at_ ? "defaulted" : "ignored",
              expected == *split_at_
                  ? fmt::format("the experts switch at step {}, which {}'s boundary {} gives; the boundary is kept.",
                                *split_at_, b_.base().id, boundary)
                  : fmt::format("the experts switch at step {}, but {}'s boundary {} gives step {}; the preset's "
                                "boundary is kept.", *split_at_, b_.base().id, boundary, expected));
    }
  }

  GraphView g_;
  PresetBuilder& b_;
  std::string model_file_, prompt_, negative_;
  int steps_ = 0;
  std::optional<int> split_at_;
};

}  // namespace

ImportResult preset_from_comfyui(const nlohmann::json& graph, const PresetImportOptions& options, const Catalog& catalog,
                                 const EngineVocabulary& vocabulary) {
  const auto& nodes = graph.contains("prompt") && graph["prompt"].is_object() ? graph["prompt"] : graph;
  if (!nodes.is_object()) throw invalid("The ComfyUI graph must be a JSON object of nodes keyed by id.");
  PresetBuilder b(options, catalog, vocabulary, "comfyui");
  return ComfyImport(nodes, b).run();
}

}  // namespace inferconf
