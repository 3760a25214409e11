// `inferconf models scan DIR`: registers the checkpoints of a ComfyUI / A1111
// models/ folder, each with the base model, variant, kind and size its
// safetensors header shows. Re-scanning updates (the id is the relative path).
//
// Exit codes: 0 every candidate file registered; 5 some files could not be
// (not safetensors, unreadable), the rest were registered; 2 DIR is not a folder.
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "cli/jobs_option.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/populate.hpp"

namespace inferconf::cli {
namespace {

struct ScanArgs {
  std::string dir;
  bool recursive = false;
  bool inactive = false;
  bool dry_run = false;
  unsigned jobs = 0;  // 0: one per core
};

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

void run_scan(GlobalOptions& opts, const ScanArgs& args) {
  std::ostream& out = *opts.out;
  const auto rules = load_bundle_for(opts)->shared_rules();
  auto store = open_store_for(opts);
  if (!args.dry_run) store->ensure_schema();
  populate::ScanOptions so;
  so.dir = args.dir;
  so.recursive = args.recursive;
  so.inactive = args.inactive;
  so.dry_run = args.dry_run;
  so.jobs = args.jobs;
  nlohmann::json files = nlohmann::json::array();
  const auto report = populate::scan_models(*store, *rules, so, [&](const populate::ScanEntry& e) {
    if (opts.json) {
      files.push_back(e);
      return;
    }
    if (!e.registered) {
      out << fmt::format("skipped {}: {}\n", e.file, e.error);
      return;
    }
    const auto& m = e.record;
    std::string what = m.base_model.value_or("unknown base model");
    if (auto v = m.metadata.find("variant"); v != m.metadata.end()) what += "/" + v->get<std::string>();
    out << fmt::format("{} {}: {} ({}, {}{})\n", e.updated ? "updated" : "registered", e.file, what, e.kind,
                       human_size(e.size), m.is_active ? "" : ", inactive");
    if (!m.base_model) {
      const auto& d = m.metadata["detection"];
      if (d.contains("reason")) out << fmt::format("  note: {}\n", d["reason"].get<std::string>());
    }
  });
  if (opts.json) {
    nlohmann::json j = report;
    j["files_scanned"] = std::move(files);
    j["store"] = store->describe();
    j["dry_run"] = args.dry_run;
    print_json(out, j);
  } else {
    out << fmt::format("Scanned {}: {} registered, {} updated, {} skipped{}.\n", args.dir, report.registered,
                       report.updated, report.errors, args.dry_run ? " (dry run: nothing was written)" : "");
  }
  if (report.errors > 0) opts.exit_code = kExitPartial;
}

}  // namespace

void register_models_scan_command(CLI::App& models, GlobalOptions& opts) {
  auto args = std::make_shared<ScanArgs>();
  auto* cmd = models.add_subcommand(
      "scan",
      "Register the .safetensors files of a models folder (ComfyUI / A1111 models/) with their detected base model, "
      "variant, kind and size; the id is the path relative to DIR, so a re-scan updates. Exit 5 when some files "
      "could not be registered.");
  cmd->add_option("DIR", args->dir, "The models folder")->required();
  cmd->add_flag("--recursive,-r", args->recursive, "Also scan sub-folders");
  cmd->add_flag("--inactive", args->inactive, "Register the models as inactive (populate skips them)");
  cmd->add_flag("--dry-run", args->dry_run, "Report what would be registered; write nothing");
  add_jobs_option(*cmd, args->jobs);
  cmd->callback([&opts, args] { run_scan(opts, *args); });
}

}  // namespace inferconf::cli
