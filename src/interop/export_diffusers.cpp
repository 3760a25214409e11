// diffusers: pipeline, scheduler class + config overrides, and the call's
// keyword arguments, as JSON; and the same rendered as a Python snippet.
#include <cctype>
#include <sstream>

#include <fmt/format.h>

#include "interop/export_support.hpp"

namespace inferconf::interop {

using json = nlohmann::json;

json export_diffusers(ExportContext& ctx) {
  const auto& arch = ctx.architecture.diffusers;
  const auto& p = ctx.params;
  const bool flow = arch.value("prediction", "") == "flow";
  json body;
  body["pipeline"] = arch.at("pipeline");
  if (ctx.options.checkpoint.empty()) {
    body["from_pretrained"] = arch.at("repo");
  } else {
    // A single checkpoint file: the repo still supplies the configuration.
    body["from_single_file"] = ctx.options.checkpoint;
    body["config"] = arch.at("repo");
  }
  if (arch.contains("components")) body["components"] = arch["components"];
  // The flow transformers (Flux, Wan, HiDream) are published and run in bfloat16.
  body["torch_dtype"] = flow ? "bfloat16" : "float16";
  auto pipeline_kwargs = json::object();
  if (arch.value("two_experts", false)) pipeline_kwargs["boundary_ratio"] = p.require_number("boundary", "diffusers");
  if (!pipeline_kwargs.empty()) body["pipeline_kwargs"] = pipeline_kwargs;

  auto choice = diffusers_scheduler(ctx, flow);
  if (flow) {
    if (p.has("max_shift") || p.has("base_shift")) {
      // Flux's resolution-dependent shift: mu interpolated between these.
      choice.config["use_dynamic_shifting"] = true;
      choice.config["base_shift"] = p.require_number("base_shift", "diffusers");
      choice.config["max_shift"] = p.require_number("max_shift", "diffusers");
    } else if (auto shift = p.number("shift")) {
      choice.config[choice.shift_key] = *shift;
    }
  }
  body["scheduler"] = {{"class", choice.class_name}, {"config", choice.config}};

  json call = json::object();
  call["prompt"] = ctx.positive_prompt();
  const double cfg = p.require_number("cfg_scale", "diffusers");
  const bool distilled = ctx.architecture.a1111_distilled_cfg;
  const auto& pipeline = arch.at("pipeline").get_ref<const std::string&>();
  const bool is_flux = pipeline == "FluxPipeline";
  if (!ctx.options.negative_prompt.empty()) {
    if (cfg > 1.0 || !is_flux)
      call["negative_prompt"] = ctx.options.negative_prompt;
    else
      ctx.notes.push_back("The negative prompt is not used: Flux runs a negative pass only with true CFG above 1.");
  }
  call["num_inference_steps"] = p.require_integer("steps", "diffusers");
  if (is_flux) {
    // FluxPipeline's guidance_scale is the distilled guidance; real CFG is true_cfg_scale.
    call["guidance_scale"] = distilled ? p.number_or("guidance", 3.5) : 0.0;
    if (cfg > 1.0) call["true_cfg_scale"] = cfg;
  } else {
    call["guidance_scale"] = cfg;
  }
  if (p.has("guidance_low_noise") && arch.value("two_experts", false))
    call["guidance_scale_2"] = p.require_number("guidance_low_noise", "diffusers");
  call["width"] = p.require_integer("width", "diffusers");
  call["height"] = p.require_integer("height", "diffusers");
  if (p.has("video_frames")) call["num_frames"] = p.require_integer("video_frames", "diffusers");
  // diffusers counts the layers skipped: A1111's "Clip skip 2" (our -2) is clip_skip=1.
  if (auto clip_skip = p.integer("clip_skip"); clip_skip && *clip_skip < -1) call["clip_skip"] = -*clip_skip - 1;
  if (p.has("max_sequence_length")) call["max_sequence_length"] = p.require_integer("max_sequence_length", "diffusers");
  if (auto d = p.number("denoise"); d && *d != 1.0)
    ctx.notes.push_back(fmt::format("denoise {} applies to image-to-image pipelines; the text-to-image call has no such argument.", *d));
  body["call"] = call;
  if (ctx.options.seed) body["seed"] = *ctx.options.seed;
  if (auto lora = p.string("lightning_lora")) body["lora"] = *lora;
  if (auto vae = p.string("requires_vae"); vae && !p.has("video_frames"))
    ctx.notes.push_back(fmt::format("requires_vae {} is a single-file VAE; the pipeline loads the repo's VAE unless you "
                                    "replace pipe.vae.", *vae));
  if (p.has("text_encoder"))
    ctx.notes.push_back("text_encoder names a ComfyUI file; the diffusers pipeline loads the repo's text encoder.");
  if (arch.value("needs_image", false))
    ctx.notes.push_back(fmt::format("{} needs an input image: pass image=... to the call.", pipeline));
  body["output"] = p.has("video_frames") ? json{{"type", "video"}, {"fps", p.require_number("video_fps", "diffusers")}}
                                         : json{{"type", "image"}};
  return body;
}

namespace {

// A JSON value as a Python literal.
std::string py(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "None";
    case json::value_t::boolean: return v.get<bool>() ? "True" : "False";
    case json::value_t::number_float: return python_float(v.get<double>());
    case json::value_t::string: return v.dump(-1, ' ', false, json::error_handler_t::replace);
    case json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + py(v[i]);
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, x] : v.items()) {
        out += (first ? "" : ", ") + json(k).dump() + ": " + py(x);
        first = false;
      }
      return out + "}";
    }
    default: return v.dump();
  }
}

std::string kwargs(const json& obj, std::string_view indent) {
  std::string out;
  for (const auto& [k, v] : obj.items()) out += fmt::format("{}{}={},\n", indent, k, py(v));
  return out;
}

bool is_python_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

}  // namespace inferconf::interop

namespace inferconf {

std::string render_diffusers_python(const nlohmann::json& body) {
  using interop::py;
  using json = nlohmann::json;
  const auto pipeline = body.at("pipeline").get<std::string>();
  const auto& scheduler = body.at("scheduler");
  const auto scheduler_class = scheduler.at("class").get<std::string>();
  for (const auto& name : {pipeline, scheduler_class})
    if (!interop::is_python_identifier(name))
      throw invalid(fmt::format("\"{}\" is not a Python class name; the diffusers export is malformed.", name));
  const bool video = body.value("output", json::object()).value("type", "") == "video";
  std::ostringstream out;
  out << "# Generated by inferconf: the resolved preset as a diffusers pipeline call.\n"
      << "import torch\n"
      << fmt::format("from diffusers import {}, {}\n", pipeline, scheduler_class);
  if (video) out << "from diffusers.utils import export_to_video\n";
  const auto components = body.value("components", json::object());
  for (const auto& [name, c] : components.items())
    out << fmt::format("from transformers import {}\n", c.at("class").get<std::string>());
  out << "\n";
  std::string extra;
  for (const auto& [name, c] : components.items()) {
    std::string kwargs_text;
    const auto kwargs = c.value("kwargs", json::object());
    for (const auto& [k, v] : kwargs.items()) kwargs_text += ", " + k + "=" + py(v);
    out << fmt::format("{} = {}.from_pretrained({}{})\n", name, c.at("class").get<std::string>(), py(c.at("repo")),
                       kwargs_text);
    extra += fmt::format("    {}={},\n", name, name);
  }
  const auto pipeline_kwargs = body.value("pipeline_kwargs", json::object());
  for (const auto& [k, v] : pipeline_kwargs.items()) extra += fmt::format("    {}={},\n", k, py(v));
  const auto dtype = "torch." + body.value("torch_dtype", std::string("float16"));
  if (!interop::is_python_identifier(dtype.substr(6)))
    throw invalid(fmt::format("\"{}\" is not a torch dtype; the diffusers export is malformed.", dtype));
  if (body.contains("from_single_file"))
    out << fmt::format("pipe = {}.from_single_file(\n    {},\n    config={},\n{}    torch_dtype={},\n)\n", pipeline,
                       py(body["from_single_file"]), py(body["config"]), extra, dtype);
  else
    out << fmt::format("pipe = {}.from_pretrained(\n    {},\n{}    torch_dtype={},\n)\n", pipeline,
                       py(body.at("from_pretrained")), extra, dtype);
  out << fmt::format("pipe.scheduler = {}.from_config(\n    pipe.scheduler.config,\n{})\n", scheduler_class,
                     interop::kwargs(scheduler.value("config", json::object()), "    "));
  if (body.contains("lora")) out << fmt::format("pipe.load_lora_weights({})\n", py(body["lora"]));
  out << "pipe.to(\"cuda\")\n\n";
  std::string call = interop::kwargs(body.at("call"), "    ");
  if (body.contains("seed")) {
    out << fmt::format("generator = torch.Generator(\"cuda\").manual_seed({})\n", body["seed"].dump());
    call += "    generator=generator,\n";
  }
  out << "result = pipe(\n" << call << ")\n";
  if (video)
    out << fmt::format("export_to_video(result.frames[0], \"inferconf.mp4\", fps={})\n",
                       py(body["output"].value("fps", json(16))));
  else
    out << "result.images[0].save(\"inferconf.png\")\n";
  return out.str();
}

}  // namespace inferconf
