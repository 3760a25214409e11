// `inferconf detect FILE|DIR... [--json] [--recursive] [--jobs N]`: reads the
// header of each safetensors file (never the tensor data) and prints its base
// model, variant, kind, key prefix, dominant dtype and parameter count. --json
// prints one JSON object per file per line (JSON Lines). Files are read on
// --jobs worker threads (default one per core) and printed in input order, so
// the output is the same for any --jobs. The exit code is 1 when any file
// could not be read.
#include <algorithm>
#include <array>
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "cli/cli_support.hpp"
#include "cli/jobs_option.hpp"
#include "inferconf/detect.hpp"

namespace inferconf::cli {

namespace {

namespace fs = std::filesystem;

struct DetectOptions {
  std::vector<std::string> paths;
  bool json = false;
  bool recursive = false;
  unsigned jobs = 0;  // 0: detect::default_jobs()
};

bool is_model_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".safetensors" || ext == ".sft" || ext == ".gguf";
}

// Expands directories (sorted, so the output is stable); a path that does not
// exist is kept and reported as unreadable.
std::vector<fs::path> expand(const std::vector<std::string>& args, bool recursive) {
  std::vector<fs::path> out;
  for (const auto& a : args) {
    std::error_code ec;
    const fs::path p(a);
    if (!fs::is_directory(p, ec)) {
      out.push_back(p);
      continue;
    }
    std::vector<fs::path> found;
    auto visit = [&](const fs::directory_entry& e) {
      std::error_code ec2;
      if (e.is_regular_file(ec2) && is_model_file(e.path())) found.push_back(e.path());
    };
    if (recursive) {
      for (fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
           it.increment(ec)) {
        visit(*it);
      }
    } else {
      for (fs::directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
           it.increment(ec)) {
        visit(*it);
      }
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::string human_count(std::uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f}B", static_cast<double>(n) / 1e9);
  if (n >= 1'000'000) return fmt::format("{:.1f}M", static_cast<double>(n) / 1e6);
  if (n >= 1'000) return fmt::format("{:.1f}K", static_cast<double>(n) / 1e3);
  return std::to_string(n);
}

struct Row {
  std::string file;
  std::optional<detect::Classification> c;
  std::optional<detect::ReadError> error;
};

void run_detect(const DetectOptions& o, GlobalOptions& opts) {
  std::shared_ptr<const detect::Rules> rules;
  try {
    rules = load_bundle_for(opts)->shared_rules();
  } catch (const detect::ReadError& e) {
    *opts.err << "error: " << e.what() << "\n";
    opts.exit_code = kExitFailure;
    return;
  }
  const bool json = o.json || opts.json;
  std::vector<Row> rows;
  const auto files = expand(o.paths, o.recursive);
  if (files.empty()) {
    *opts.err << "warning: no .safetensors files found\n";
  }
  // The callback runs on this thread, in input order, as each prefix of the
  // list is done: JSON lines stream out and are identical for any --jobs.
  detect::detect_files(
      *rules, files,
      [&](std::size_t, detect::FileResult&& r) {
        Row row{r.file.string(), std::nullopt, std::nullopt};
        if (r.ok()) {
          row.c = std::move(std::get<detect::Classification>(r.outcome));
        } else {
          row.error = std::move(std::get<detect::ReadError>(r.outcome));
          opts.exit_code = kExitFailure;
        }
        if (json) {
          nlohmann::json j;
          if (row.c) {
            j = row.c->to_json();
            j["file"] = row.file;
          } else {
            j = {{"file", row.file}, {"error", row.error->to_json()}};
            j["error"].erase("file");
          }
          *opts.out << j.dump() << "\n";
        } else {
          rows.push_back(std::move(row));
        }
      },
      {o.jobs == 0 ? detect::default_jobs() : o.jobs, 0});
  if (json) return;

  // Human output: one aligned line per file.
  std::vector<std::array<std::string, 8>> table;
  table.push_back({"FILE", "BASE", "VARIANT", "KIND", "PREFIX", "DTYPE", "PARAMS", "DECIDED BY"});
  std::vector<std::string> tails;
  tails.emplace_back();
  for (const auto& r : rows) {
    if (r.error) {
      table.push_back({r.file, "error", "", "", "", "", "", ""});
      tails.push_back(fmt::format("{} [{}{}]", r.error->message(), r.error->rule(),
                                  r.error->tensor().empty() ? "" : ", tensor " + r.error->tensor()));
      continue;
    }
    const auto& c = *r.c;
    std::string variant = c.variant.value_or("-");
    if (c.expert) variant += "+" + *c.expert;
    table.push_back({r.file, c.base_model, variant, std::string(detect::to_string(c.kind)), c.prefix.empty() ? "-" : c.prefix,
                     c.dtype.empty() ? "-" : c.dtype, human_count(c.parameters), c.decided_by});
    std::string tail;
    if (c.base_model == "unknown" && !c.reason.empty()) tail = c.reason;
    if (!c.conflict.empty()) tail += (tail.empty() ? "" : "; ") + std::string("conflict: ") + c.conflict;
    tails.push_back(tail);
  }
  std::array<std::size_t, 8> width{};
  for (const auto& row : table) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (std::size_t r = 0; r < table.size(); ++r) {
    std::string line;
    const auto& row = table[r];
    if (row[1] == "error" && r > 0) {
      line = fmt::format("{:<{}}  error: {}", row[0], width[0], tails[r]);
    } else {
      for (std::size_t i = 0; i < row.size(); ++i) {
        line += fmt::format("{:<{}}", row[i], i + 1 < row.size() ? width[i] + 2 : 0);
      }
      if (!tails[r].empty()) line += "  (" + tails[r] + ")";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    *opts.out << line << "\n";
  }
}

}  // namespace

void register_detect_command(CLI::App& app, GlobalOptions& opts) {
  auto o = std::make_shared<DetectOptions>();
  auto* cmd = app.add_subcommand(
      "detect", "Detect the base model of .safetensors files from their headers (tensor names, shapes, metadata)");
  cmd->add_option("paths", o->paths, "Files or directories (directories: their .safetensors files)")->required();
  cmd->add_flag("--json", o->json, "One JSON object per file per line");
  cmd->add_flag("-r,--recursive", o->recursive, "Descend into subdirectories");
  add_jobs_option(*cmd, o->jobs);
  cmd->callback([o, &opts] { run_detect(*o, opts); });
}

}  // namespace inferconf::cli
