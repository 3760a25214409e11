// `inferconf export` (a resolved configuration as an engine request) and
// `inferconf import-infotext` (a preset from A1111 infotext or a PNG's metadata).
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/interop.hpp"
#include "inferconf/service.hpp"

namespace inferconf::cli {

namespace {

// Whether the store can be read without creating it: a SQLite file that does
// not exist yet holds no registry, and a dry import must not create one.
// Whether there may be a registry to consult: a SQLite file that does not
// exist is not created just to find it empty. A URI open_store() refuses says
// so when it is opened.
bool store_exists(const GlobalOptions& opts) {
  try {
    const auto file = sqlite_file_of(opts.db_uri);
    return !file || std::filesystem::exists(*file);
  } catch (const Error&) {
    return true;
  }
}

struct ExportArgs {
  std::string model_id, base_model, variant, type = "quality", format = "comfyui";
  std::string prompt, negative_prompt, checkpoint, checkpoint_2, hardware;
  std::optional<std::uint64_t> seed;
  bool python = false, allow_substitute = false;
};

struct ImportArgs {
  std::string model_id, base_model, variant, type = "quality", input;
  bool apply = false, allow_substitute = false;
};

void print_substitutions(std::ostream& err, const ExportResult& r) {
  for (const auto& s : r.substitutions)
    err << fmt::format("substituted: {} \"{}\" -> \"{}\": {}\n", s.field, s.given, s.used, s.reason);
  for (const auto& n : r.notes) err << "note: " << n << '\n';
}

void run_export(GlobalOptions& opts, const ExportArgs& a) {
  const auto format = parse_export_format(a.format);
  if (!format)
    throw invalid(fmt::format("--format \"{}\" is not known; use comfyui, a1111, diffusers or infotext.", a.format));
  if (a.python && *format != ExportFormat::kDiffusers)
    throw invalid("--python renders the diffusers export; use it with --format diffusers.");
  if (!a.checkpoint_2.empty() && *format != ExportFormat::kDiffusers)
    throw invalid(fmt::format("--file-2 \"{}\" (a multi-expert model's second expert) is read by --format diffusers "
                              "only; drop it for --format {}.",
                              a.checkpoint_2, a.format));
  auto store = open_store_for(opts);
  const auto bundle = load_bundle_for(opts);
  const Catalog& catalog = bundle->catalog();
  const EngineVocabulary& vocabulary = bundle->require_engine_vocabulary();
  Resolver resolver(*store, catalog, bundle->rules(), bundle->hardware().get());
  ResolveRequest req;
  req.model_id = a.model_id;
  req.configuration_type = a.type;
  if (!a.base_model.empty()) req.base_model = a.base_model;
  if (!a.variant.empty()) req.variant = a.variant;
  if (!a.hardware.empty()) req.hardware = parse_hardware_option(a.hardware);
  const auto resolved = resolver.resolve(req);

  ExportOptions options;
  options.prompt = a.prompt;
  options.negative_prompt = a.negative_prompt;
  options.seed = a.seed;
  options.allow_substitute = a.allow_substitute;
  options.checkpoint = a.checkpoint;
  options.checkpoint_2 = a.checkpoint_2;
  if (options.checkpoint.empty() || options.checkpoint_2.empty())
    if (auto record = store->get_model(a.model_id)) export_files_from_registry(*record, resolved, catalog, options);

  const auto result = export_request(resolved, *format, options, catalog, vocabulary);
  if (opts.json) {
    nlohmann::json j = {{"format", to_string(*format)}, {"substitutions", result.substitutions}, {"notes", result.notes}};
    if (*format == ExportFormat::kInfotext)
      j["text"] = result.text;
    else
      j["body"] = result.body;
    print_json(*opts.out, j);
    return;
  }
  print_substitutions(*opts.err, result);
  if (*format == ExportFormat::kInfotext)
    *opts.out << result.text << '\n';
  else if (a.python)
    *opts.out << render_diffusers_python(result.body);
  else
    print_json(*opts.out, result.body);
}

void run_import(GlobalOptions& opts, const ImportArgs& a) {
  const auto bundle = load_bundle_for(opts);
  const Catalog& catalog = bundle->catalog();
  const EngineVocabulary& vocabulary = bundle->require_engine_vocabulary();
  PresetImportOptions options;
  options.model_id = a.model_id;
  options.base_model = a.base_model;
  options.variant = a.variant;
  options.configuration_type = a.type;
  options.allow_substitute = a.allow_substitute;
  std::unique_ptr<Store> store;
  if (options.base_model.empty() && !options.model_id.empty()) {
    // The registry may know the model's architecture.
    store = open_store_for(opts);
    if (auto record = store->get_model(options.model_id)) {
      if (record->base_model)
        if (const auto* spec = catalog.find(*record->base_model)) options.base_model = spec->id;
      options.model_record = std::move(record);  // else infotext decides from its label, file or name
    }
  }
  // Without --base-model or --model-id, infotext looks the model it names up in
  // the registry (by Model hash or Model), as populate would decide it.
  std::string registry_error;
  if ((options.base_model.empty() || options.model_id.empty()) && !options.model_record && store_exists(opts)) {
    options.registry = [&](const std::function<bool(const ModelRecord&)>& fn) {
      try {
        if (!store) store = open_store_for(opts);
        store->for_each_model(false, fn);
      } catch (const Error& e) {
        registry_error = e.what();
      }
    };
  }
  options.rules = &bundle->rules();
  const auto bytes = read_input(a.input);
  const auto what = a.input == "-" ? std::string("standard input") : a.input;
  auto result = import_preset(bytes, what, options, catalog, vocabulary);
  if (!registry_error.empty())
    *opts.err << fmt::format("note: the registry was not searched for the infotext's model: {}\n", registry_error);
  if (result.decided)
    *opts.err << fmt::format("note: base model {}{} decided by {} ({} confidence): {}\n", result.decided->base_model,
                             result.decided->variant ? " (variant " + *result.decided->variant + ")" : std::string(),
                             result.decided->source == "registry" ? "the registry" : "the name rules",
                             result.decided->confidence, result.decided->evidence);

  // Say now what a write would refuse.
  Validator validator(catalog);
  auto checked = result.dto;
  const auto report = validator.validate(checked, options.variant);
  if (opts.json) {
    nlohmann::json j = result;
    if (result.decided) j["base_model_decision"] = *result.decided;
    auto& problems = j["problems"] = nlohmann::json::array();
    for (const auto& e : report.errors) problems.push_back({{"field", e.field}, {"message", e.message}});
    if (!a.apply) print_json(*opts.out, j);
  } else {
    for (const auto& n : result.notes)
      *opts.err << fmt::format("note: {} {}{}: {}\n", n.kind, n.key, n.value.empty() ? "" : " \"" + n.value + "\"",
                               n.message);
    for (const auto& e : report.errors) *opts.err << fmt::format("problem: {} {}\n", e.field, e.message);
    if (!a.apply) print_json(*opts.out, result.dto);
  }
  if (!a.apply) {
    if (!report.ok()) opts.exit_code = kExitUsage;
    return;
  }
  if (!store) store = open_store_for(opts);
  store->ensure_schema();  // as `create` does: the unique index must exist before the first insert
  ConfigurationService service(*store, catalog);
  const auto written = service.create(result.dto);
  if (opts.json) {
    print_json(*opts.out, written.configuration);
  } else {
    *opts.out << "created " << summary(written.configuration) << '\n';
    print_notes(*opts.out, written.normalised, written.unknown_params, written.configuration.base_model);
  }
}

}  // namespace

void register_export_commands(CLI::App& app, GlobalOptions& opts) {
  auto e = std::make_shared<ExportArgs>();
  auto* exp = app.add_subcommand(
      "export",
      "Export a model's resolved configuration as a request an engine accepts: a ComfyUI API prompt, an "
      "AUTOMATIC1111/Forge txt2img body, a diffusers pipeline description (or --python snippet), or A1111 infotext");
  exp->add_option("--model-id", e->model_id, "The model (its id in the registry / configurations)")->required();
  exp->add_option("--type", e->type, "Configuration type of the catalogue: quality, speed, draft or balanced")->capture_default_str();
  exp->add_option("--format", e->format, "comfyui, a1111, diffusers or infotext")->capture_default_str();
  exp->add_option("--base-model", e->base_model, "Base model to use when neither the store nor the registry knows it");
  exp->add_option("--variant", e->variant, "Catalogue variant (e.g. ti2v_5b for wan_2_2)");
  exp->add_option("--prompt", e->prompt, "Prompt text (a preset's prompt_prefix is put in front)");
  exp->add_option("--negative-prompt", e->negative_prompt, "Negative prompt text");
  exp->add_option("--seed", e->seed, "Seed (default: random in A1111, 0 in ComfyUI)");
  exp->add_option("--checkpoint,--file", e->checkpoint,
                  "Model file name (default: the registry's file, else the usual one); for a two-expert model "
                  "(Wan 2.2 A14B) the high-noise expert");
  exp->add_option("--file-2", e->checkpoint_2,
                  "With --format diffusers: the second expert's file of a two-expert model (Wan 2.2 A14B: the "
                  "low-noise expert; default: the registry's metadata.expert_files)");
  exp->add_option("--hardware", e->hardware,
                  "Plan for this hardware as resolve --hardware does (a shipped profile or a profile as JSON) and "
                  "carry the plan into the request: ComfyUI weight_dtype, text encoder device and tiled decode; "
                  "diffusers torch_dtype, CPU offload, fp8 layerwise casting and VAE tiling; launch flags as notes");
  exp->add_flag("--python", e->python, "With --format diffusers: print a runnable Python snippet instead of JSON");
  exp->add_flag("--allow-substitute", e->allow_substitute,
                "Use the documented nearest sampler/scheduler when the engine lacks one (reported on stderr)");
  exp->callback([&opts, e] { run_export(opts, *e); });

  auto i = std::make_shared<ImportArgs>();
  auto* imp = app.add_subcommand(
      "import-infotext",
      "Read a preset from A1111/Forge infotext or a PNG's metadata (its \"parameters\" chunk, or a ComfyUI \"prompt\" "
      "graph) and print it as a create document; --apply stores it");
  imp->add_option("input", i->input, "FILE.png, FILE.txt, or - for standard input")->required();
  imp->add_option("--model-id", i->model_id,
                  "The model the preset is for (default: the registry model the infotext's Model hash or Model "
                  "names, else the Model name)");
  imp->add_option("--base-model", i->base_model,
                  "Base model (default: decided as populate does, from the registry model of --model-id or the one "
                  "the infotext names, else from the Model name; the answer says which evidence decided)");
  imp->add_option("--variant", i->variant, "Catalogue variant whose preset completes absent settings");
  imp->add_option("--type", i->type, "Configuration type of the catalogue: quality, speed, draft or balanced")->capture_default_str();
  imp->add_flag("--apply", i->apply, "Store the preset (validated) instead of printing it");
  imp->add_flag("--allow-substitute", i->allow_substitute,
                "Store the documented nearest name for an A1111-only sampler or schedule (noted)");
  imp->callback([&opts, i] { run_import(opts, *i); });
}

}  // namespace inferconf::cli
