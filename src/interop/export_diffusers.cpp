// diffusers: pipeline, scheduler class + config overrides, and the call's
// keyword arguments, as JSON; and the same rendered as a Python snippet.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/field_reader.hpp"
#include "common/text.hpp"
#include "inferconf/registry.hpp"
#include "interop/export_support.hpp"

namespace inferconf::interop {

using json = nlohmann::json;

namespace {

// The components loaded from checkpoint files, for a pipeline that cannot load
// one file itself: each file goes into its component with the model class's
// from_single_file, the repository supplying the configuration (and the rest).
json file_components(ExportContext& ctx, const json& files, const std::vector<std::string>& experts,
                     const std::string& repo, const std::string& dtype) {
  const auto& o = ctx.options;
  const auto& p = ctx.architecture.diffusers.at("pipeline").get_ref<const std::string&>();
  std::map<std::string, std::string> file_of;  // expert ("" for a single model) -> file
  if (experts.empty()) {
    if (!o.checkpoint_2.empty())
      throw invalid(fmt::format("A second file ({}) was given, but {} is a single model ({} loads one file into {}); "
                                "drop --file-2 (HTTP: export.checkpoint_2).",
                                o.checkpoint_2, ctx.who(), p, files.begin().key()));
    file_of[""] = o.checkpoint;
  } else {
    // The first expert's file is `checkpoint`, the second's `checkpoint_2`.
    const std::vector<const std::string*> given = {&o.checkpoint, &o.checkpoint_2};
    for (std::size_t i = 0; i < experts.size(); ++i) file_of[experts[i]] = i < given.size() ? *given[i] : "";
    std::vector<std::string> missing, have;
    for (const auto& e : experts) (file_of[e].empty() ? missing : have).push_back(e);
    if (!missing.empty()) {
      std::vector<std::string> where;
      for (const auto& [component, f] : files.items())
        if (std::find(missing.begin(), missing.end(), f.value("expert", "")) != missing.end())
          where.push_back(fmt::format("{} ({})", f.value("expert", ""), component));
      throw invalid(fmt::format(
          "{} has {} experts, each its own file ({}), but the file of {} is missing ({} given: {}). Give the {} "
          "expert with --file and the {} expert with --file-2 (HTTP: export.checkpoint and export.checkpoint_2), "
          "or record both in the registry (file_path and metadata.expert_files), or give neither to load both "
          "from {}.",
          ctx.who(), experts.size(), detail::join(experts), detail::join(where), have.size(),
          have.empty() ? std::string("none") : detail::join(have), experts[0], experts.size() > 1 ? experts[1] : experts[0],
          repo));
    }
  }
  json out = json::object();
  for (const auto& [component, f] : files.items()) {
    const auto expert = f.value("expert", std::string());
    json c;
    c["class"] = f.at("class");
    c["library"] = "diffusers";
    c["method"] = "from_single_file";
    c["file"] = file_of.at(expert);
    c["config"] = repo;
    c["subfolder"] = f.value("subfolder", component);
    c["torch_dtype"] = dtype;
    if (!expert.empty()) c["expert"] = expert;
    out[component] = std::move(c);
  }
  return out;
}

}  // namespace

json export_diffusers(ExportContext& ctx) {
  if (!ctx.architecture.diffusers_supported)
    throw invalid(fmt::format("diffusers export of {} is not supported: {}", ctx.who(), ctx.architecture.diffusers_reason));
  const auto& arch = ctx.architecture.diffusers;
  const auto& p = ctx.params;
  const bool flow = arch.value("prediction", "") == "flow";
  const auto* base = ctx.catalog.find(ctx.resolved.base_model);
  const auto& experts = base ? base->experts_for(ctx.resolved.variant) : std::vector<std::string>{};
  const auto repo = arch.at("repo").get<std::string>();
  // The flow transformers (Flux, Wan, HiDream) are published and run in bfloat16.
  const std::string dtype = flow ? "bfloat16" : "float16";
  const auto files = arch.value("files", json::object());
  json body;
  body["pipeline"] = arch.at("pipeline");
  json components = json::object();
  const auto from_transformers = arch.value("components", json::object());
  for (const auto& [name, c] : from_transformers.items()) {
    components[name] = c;
    components[name]["library"] = "transformers";
    components[name]["method"] = "from_pretrained";
  }
  if (ctx.options.checkpoint.empty() && ctx.options.checkpoint_2.empty()) {
    body["from_pretrained"] = repo;
  } else if (files.empty()) {
    // The pipeline loads the single checkpoint itself; the repo supplies the configuration.
    if (!ctx.options.checkpoint_2.empty())
      throw invalid(fmt::format("A second file ({}) was given, but {} is a single checkpoint; drop --file-2 (HTTP: "
                                "export.checkpoint_2).",
                                ctx.options.checkpoint_2, ctx.who()));
    body["from_single_file"] = ctx.options.checkpoint;
    body["config"] = repo;
  } else {
    // The repo supplies the configuration and every component not loaded from a file.
    body["from_pretrained"] = repo;
    const auto from_files = file_components(ctx, files, experts, repo, dtype);
    for (const auto& [name, c] : from_files.items()) components[name] = c;
  }
  if (!components.empty()) body["components"] = components;
  body["torch_dtype"] = dtype;
  auto pipeline_kwargs = json::object();
  if (!experts.empty()) pipeline_kwargs["boundary_ratio"] = p.require_number("boundary", "diffusers");
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
  if (p.has("guidance_low_noise") && !experts.empty())
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
  apply_diffusers_plan(ctx, body, flow ? "transformer" : "unet");
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

// Where the pipeline runs: pipe.to("cuda"), or the offload the hardware plan
// chose, then fp8 storage of the denoisers and VAE tiling.
template <typename Identifier>
std::string memory_lines(const json& memory, const Identifier& identifier) {
  std::string out;
  const auto offload = memory.value("offload", std::string("none"));
  if (offload == "model")
    out += "pipe.enable_model_cpu_offload()\n";
  else if (offload == "sequential")
    out += "pipe.enable_sequential_cpu_offload()\n";
  else
    out += "pipe.to(\"cuda\")\n";
  if (const auto cast = memory.find("layerwise_casting"); cast != memory.end())
    for (const auto& component : cast->at("components"))
      out += fmt::format("pipe.{}.enable_layerwise_casting(storage_dtype=torch.{}, compute_dtype=torch.{})\n",
                         identifier(component.get<std::string>(), "component name"),
                         identifier(cast->at("storage_dtype").get<std::string>(), "torch dtype"),
                         identifier(cast->at("compute_dtype").get<std::string>(), "torch dtype"));
  if (memory.value("vae_tiling", false)) out += "pipe.vae.enable_tiling()\n";
  return out;
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
  auto identifier = [](const std::string& name, std::string_view what) {
    if (!interop::is_python_identifier(name))
      throw invalid(fmt::format("\"{}\" is not a Python {}; the diffusers export is malformed.", name, what));
    return name;
  };
  identifier(pipeline, "class name");
  identifier(scheduler_class, "class name");
  auto dtype_of = [&](const json& obj) {
    return "torch." + identifier(obj.value("torch_dtype", std::string("float16")), "torch dtype");
  };
  const bool video = body.value("output", json::object()).value("type", "") == "video";
  const auto components = body.value("components", json::object());
  // Classes to import, each once, in the order they are first used.
  std::vector<std::string> diffusers_imports = {pipeline};
  std::vector<std::string> transformers_imports;
  for (const auto& [name, c] : components.items()) {
    identifier(name, "component name");
    auto& list = c.value("library", std::string("transformers")) == "diffusers" ? diffusers_imports : transformers_imports;
    const auto cls = identifier(c.at("class").get<std::string>(), "class name");
    if (std::find(list.begin(), list.end(), cls) == list.end()) list.push_back(cls);
  }
  if (std::find(diffusers_imports.begin(), diffusers_imports.end(), scheduler_class) == diffusers_imports.end())
    diffusers_imports.push_back(scheduler_class);
  std::ostringstream out;
  out << "# Generated by inferconf: the resolved preset as a diffusers pipeline call.\n"
      << "import torch\n"
      << fmt::format("from diffusers import {}\n", fmt::join(diffusers_imports, ", "));
  if (video) out << "from diffusers.utils import export_to_video\n";
  for (const auto& cls : transformers_imports) out << fmt::format("from transformers import {}\n", cls);
  out << "\n";
  std::string extra;
  for (const auto& [name, c] : components.items()) {
    const auto cls = c.at("class").get<std::string>();
    if (c.value("method", std::string("from_pretrained")) == "from_single_file") {
      // A model class loading one checkpoint file; the repo gives its config.
      out << fmt::format("{} = {}.from_single_file(\n    {},\n    config={},\n    subfolder={},\n    torch_dtype={},\n)\n",
                         name, cls, py(c.at("file")), py(c.at("config")), py(c.at("subfolder")), dtype_of(c));
    } else {
      std::string kwargs_text;
      const auto kwargs = c.value("kwargs", json::object());
      for (const auto& [k, v] : kwargs.items()) kwargs_text += ", " + k + "=" + py(v);
      out << fmt::format("{} = {}.from_pretrained({}{})\n", name, cls, py(c.at("repo")), kwargs_text);
    }
    extra += fmt::format("    {}={},\n", name, name);
  }
  const auto pipeline_kwargs = body.value("pipeline_kwargs", json::object());
  for (const auto& [k, v] : pipeline_kwargs.items()) extra += fmt::format("    {}={},\n", k, py(v));
  const auto dtype = dtype_of(body);
  if (body.contains("from_single_file"))
    out << fmt::format("pipe = {}.from_single_file(\n    {},\n    config={},\n{}    torch_dtype={},\n)\n", pipeline,
                       py(body["from_single_file"]), py(body["config"]), extra, dtype);
  else
    out << fmt::format("pipe = {}.from_pretrained(\n    {},\n{}    torch_dtype={},\n)\n", pipeline,
                       py(body.at("from_pretrained")), extra, dtype);
  out << fmt::format("pipe.scheduler = {}.from_config(\n    pipe.scheduler.config,\n{})\n", scheduler_class,
                     interop::kwargs(scheduler.value("config", json::object()), "    "));
  if (body.contains("lora")) out << fmt::format("pipe.load_lora_weights({})\n", py(body["lora"]));
  out << interop::memory_lines(body.value("memory", json::object()), identifier) << "\n";
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

namespace {
std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }
}  // namespace

void export_files_from_registry(const ModelRecord& record, const ResolvedParameters& resolved, const Catalog& catalog,
                              ExportOptions& options) {
  const auto* base = catalog.find(resolved.base_model);
  const auto& experts = base ? base->experts_for(resolved.variant) : std::vector<std::string>{};
  const bool has_path = record.file_path && !record.file_path->empty();
  if (experts.empty()) {
    if (options.checkpoint.empty() && has_path) options.checkpoint = file_name(*record.file_path);
    return;
  }
  std::map<std::string, std::string> by_expert;
  if (const auto files = record.metadata.find("expert_files");
      files != record.metadata.end() && files->is_object())
    for (const auto& [expert, path] : files->items())
      if (path.is_string() && !path.get<std::string>().empty()) by_expert[expert] = file_name(path.get<std::string>());
  if (has_path) {
    std::string expert = experts[0];
    if (const auto e = record.metadata.find("expert"); e != record.metadata.end() && e->is_string())
      expert = e->get<std::string>();
    by_expert.emplace(expert, file_name(*record.file_path));
  }
  std::string* slots[] = {&options.checkpoint, &options.checkpoint_2};
  for (std::size_t i = 0; i < experts.size() && i < 2; ++i)
    if (slots[i]->empty())
      if (auto it = by_expert.find(experts[i]); it != by_expert.end()) *slots[i] = it->second;
}

}  // namespace inferconf
