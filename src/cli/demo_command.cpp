// `inferconf demo`: the main job of `make run` — initialise the store, lay out
// the demo's checkpoint files, import the demo registry, and print the resolved
// quality and speed parameters of every active model.
//
// The demo registry names checkpoint files but no architecture: the files are
// laid out as their real headers over a sparse hole (a few kilobytes on disk),
// so `populate` decides each base model from the file, as it would on a
// machine that has the real checkpoints.
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "inferconf/detect.hpp"

namespace inferconf::cli {

std::filesystem::path default_demo_registry() {
  if (const char* env = std::getenv("INFERCONF_DEMO_REGISTRY")) return env;
  return std::filesystem::path(INFERCONF_SOURCE_DIR) / "examples" / "demo_models.jsonl";
}

namespace {

namespace fs = std::filesystem;

fs::path default_demo_checkpoints() {
  if (const char* env = std::getenv("INFERCONF_DEMO_CHECKPOINTS")) return env;
  return fs::path(INFERCONF_SOURCE_DIR) / "examples" / "demo_checkpoints.json";
}

// The folder a SQLite store lives in (data/ for the default sqlite:data/inferconf.db);
// ./data for a MongoDB store, the folder `make run` uses.
fs::path default_data_dir(std::string_view uri) {
  const auto file = sqlite_file_of(uri);
  if (!file) return "data";
  const fs::path parent = file->parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// "blocks.{0..39}.norm.weight" -> blocks.0.norm.weight ... blocks.39.norm.weight
void expand_name(const std::string& name, std::vector<std::string>& out, const fs::path& file) {
  const auto open = name.find('{');
  if (open == std::string::npos) {
    out.push_back(name);
    return;
  }
  const auto close = name.find('}', open);
  const auto dots = name.find("..", open);
  unsigned long first = 0, last = 0;
  bool ok = close != std::string::npos && dots != std::string::npos && dots < close;
  if (ok) {
    try {
      std::size_t used = 0;
      first = std::stoul(name.substr(open + 1, dots - open - 1), &used);
      ok = used == dots - open - 1;
      last = std::stoul(name.substr(dots + 2, close - dots - 2), &used);
      ok = ok && used == close - dots - 2 && first <= last && last - first < 100'000;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok)
    throw invalid(fmt::format("{}: the tensor name \"{}\" has a malformed range; write {{FIRST..LAST}}, e.g. "
                              "blocks.{{0..39}}.norm.weight.",
                              file.string(), name));
  for (unsigned long i = first; i <= last; ++i)
    expand_name(name.substr(0, open) + std::to_string(i) + name.substr(close + 1), out, file);
}

// file_path (as the registry writes it) -> the tensors of that file.
std::map<std::string, std::vector<detect::TensorSpec>> read_demo_checkpoints(const fs::path& file) {
  const auto text = read_input(file.string());
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  const auto bad = [&](const std::string& what) {
    return invalid(fmt::format("{} is not a demo checkpoint file: {}. Restore it from the source tree "
                               "(examples/demo_checkpoints.json).",
                               file.string(), what));
  };
  if (doc.is_discarded() || !doc.is_object()) throw bad("it is not a JSON object");
  if (!doc.contains("files") || !doc["files"].is_object() || !doc.contains("layouts") || !doc["layouts"].is_object())
    throw bad("it needs a \"files\" object and a \"layouts\" object");
  std::map<std::string, std::vector<detect::TensorSpec>> layouts;
  for (const auto& [id, tensors] : doc["layouts"].items()) {
    if (!tensors.is_array()) throw bad(fmt::format("layout \"{}\" is not an array", id));
    auto& specs = layouts[id];
    for (const auto& t : tensors) {
      if (!t.is_array() || t.size() != 3 || !t[0].is_string() || !t[1].is_string() || !t[2].is_array())
        throw bad(fmt::format("layout \"{}\" has an entry that is not [name, dtype, shape]: {}", id, t.dump()));
      const auto dtype = detect::parse_dtype(t[1].get<std::string>());
      if (!dtype) throw bad(fmt::format("layout \"{}\" names the unknown dtype \"{}\"", id, t[1].get<std::string>()));
      std::vector<std::uint64_t> shape;
      for (const auto& d : t[2]) {
        if (!d.is_number_unsigned()) throw bad(fmt::format("layout \"{}\" has a bad shape: {}", id, t.dump()));
        shape.push_back(d.get<std::uint64_t>());
      }
      std::vector<std::string> names;
      expand_name(t[0].get<std::string>(), names, file);
      for (auto& n : names) specs.push_back({std::move(n), *dtype, shape});
    }
  }
  std::map<std::string, std::vector<detect::TensorSpec>> out;
  for (const auto& [path, layout] : doc["files"].items()) {
    if (!layout.is_string() || !layouts.count(layout.get<std::string>()))
      throw bad(fmt::format("file \"{}\" names no layout of \"layouts\"", path));
    out[path] = layouts[layout.get<std::string>()];
  }
  return out;
}

// "sdxl, read from the file header" — how the demo knows a model's base model.
std::string base_model_label(const ModelRecord& m, const detect::Rules& rules) {
  if (m.base_model) return *m.base_model;
  const detect::Inference inf = detect::infer_base_model_for(rules, m);
  if (inf.base_model == "unknown") return "base model unknown";
  const auto source = inf.source == detect::Source::kFile       ? "read from the file header"
                      : inf.source == detect::Source::kMetadata ? "from the metadata"
                                                                : "from the name";
  return fmt::format("{}{}, {}", inf.base_model, inf.variant ? " (" + *inf.variant + ")" : "", source);
}

// "quality  steps 30  cfg 7.5  dpmpp_2m/karras  width=1024 height=1024 clip_skip=-1"
std::string compact_parameters(const std::string& type, const ResolvedParameters& r) {
  const auto& p = r.parameters;
  auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::string line = fmt::format("{:<8} steps {:>3}  cfg {:<4}  {}/{}", type, text(p.value("steps", nlohmann::json())),
                                 text(p.value("cfg_scale", nlohmann::json())), text(p.value("sampler", nlohmann::json())),
                                 text(p.value("scheduler", nlohmann::json())));
  for (const auto& [k, v] : p.items())
    if (k != "steps" && k != "cfg_scale" && k != "sampler" && k != "scheduler") line += fmt::format("  {}={}", k, text(v));
  line += r.configuration_id ? "  (model's configuration)" : "  (catalogue preset)";
  return line;
}


// Writes each checkpoint the registry names and the demo has a layout for,
// under data_dir, unless a file is already there (a real checkpoint is never
// replaced). Written to a temporary name first, so an interrupted demo leaves
// no truncated checkpoint behind. Returns the number of files written.
std::size_t lay_out_checkpoints(const std::vector<std::pair<fs::path, const std::vector<detect::TensorSpec>*>>& files) {
  std::size_t written = 0;
  for (const auto& [target, tensors] : files) {
    std::error_code ec;
    if (fs::exists(target, ec)) continue;
    const fs::path partial = target.string() + ".partial";
    try {
      fs::create_directories(target.parent_path());
      detect::write_sparse_safetensors(partial, *tensors);
      fs::rename(partial, target);
    } catch (const std::exception& e) {
      fs::remove(partial, ec);
      throw invalid(fmt::format("Cannot write the demo checkpoint {} ({}); pass --data-dir with a folder you can "
                                "write to.",
                                target.string(), e.what()));
    }
    ++written;
  }
  return written;
}

}  // namespace

void register_demo_command(CLI::App& app, GlobalOptions& opts) {
  struct Args {
    std::string registry;
    std::string data_dir;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Initialise the store, lay out the demo's checkpoint files (headers only, sparse), import the demo registry and "
      "print every active model's resolved presets");
  cmd->add_option("--registry", args->registry, "Registry file to import (default: examples/demo_models.jsonl)");
  cmd->add_option("--data-dir", args->data_dir,
                  "Folder in which the registry's relative file paths are resolved and the demo checkpoints "
                  "(examples/demo_checkpoints.json) are written (default: the SQLite store's folder, data/ for "
                  "MongoDB)");
  cmd->callback([&opts, args] {
    const std::string file = args->registry.empty() ? default_demo_registry().string() : args->registry;
    const fs::path data_dir = args->data_dir.empty() ? default_data_dir(opts.db_uri) : fs::path(args->data_dir);
    auto records = parse_model_records(read_input(file));
    const auto checkpoints = read_demo_checkpoints(default_demo_checkpoints());
    std::vector<std::pair<fs::path, const std::vector<detect::TensorSpec>*>> to_write;
    for (auto& m : records) {
      if (!m.file_path || m.file_path->empty() || fs::path(*m.file_path).is_absolute()) continue;
      const fs::path target = fs::absolute(data_dir / *m.file_path).lexically_normal();
      if (auto it = checkpoints.find(*m.file_path); it != checkpoints.end()) to_write.emplace_back(target, &it->second);
      m.file_path = target.string();
    }
    auto store = open_store_for(opts);
    store->ensure_schema();
    const auto bundle = load_bundle_for(opts);
    const Catalog& catalog = bundle->catalog();
    store->upsert_models(records);
    const auto written = lay_out_checkpoints(to_write);
    Resolver resolver(*store, catalog, bundle->rules());
    nlohmann::json all = nlohmann::json::array();
    if (!opts.json) {
      *opts.out << fmt::format("Store {}: imported {} model(s) from {}.\n", store->describe(), records.size(), file);
      if (!to_write.empty())
        *opts.out << fmt::format(
            "Checkpoint files in {}: {} written now, {} already there (headers only: the tensor data is a sparse "
            "hole).\n",
            (data_dir / "models").lexically_normal().string(), written, to_write.size() - written);
      *opts.out << '\n';
    }
    store->for_each_model(true, [&](const ModelRecord& m) {
      // The label says how the base model was decided; resolve decides it the
      // same way (decide_base_model), as `populate` will.
      if (!opts.json) *opts.out << fmt::format("{}  [{} · {}]\n", m.name, m.id, base_model_label(m, bundle->rules()));
      for (const auto& type : catalog.configuration_types()) {
        // The demo shows what population creates: the types marked for it.
        if (!type.populate) continue;
        ResolveRequest req{m.id, type.id, std::nullopt, std::nullopt, nlohmann::json::object()};
        try {
          const auto r = resolver.resolve(req);
          if (opts.json) {
            nlohmann::json j = r;
            j["name"] = m.name;
            all.push_back(j);
          } else {
            *opts.out << "  " << compact_parameters(type.id, r) << '\n';
          }
        } catch (const Error& e) {
          if (opts.json)
            all.push_back({{"model_id", m.id}, {"name", m.name}, {"configuration_type", type.id}, {"error", e.what()}});
          else
            *opts.out << fmt::format("  {:<8} error: {}\n", type.id, e.what());
          opts.exit_code = kExitFailure;
        }
      }
      if (!opts.json) *opts.out << '\n';
      return true;
    });
    if (opts.json) print_json(*opts.out, all);
    else
      *opts.out << "Values come from each base model's catalogue preset until a model has its own configuration\n"
                   "(`inferconf create`, or `inferconf populate`); `inferconf resolve --model-id ID --type quality`\n"
                   "shows one model with the source of every value.\n";
  });
}

}  // namespace inferconf::cli
