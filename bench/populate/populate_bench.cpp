// bench/populate: `inferconf populate` on SQLite at catalogue scale, next to
// the sqlite3 shell's .import of the same rows in the same run.
//
//   populate_bench [--models N] [--dir DIR] [--keep]
//
// Generates an N-model registry (default 1 000 000) mixing every base model
// and the ways platforms name them, then measures, each as a child process
// (wall time, peak RSS and user+system CPU time from wait4's rusage):
//   1. .import of the N registry rows into database_models   (baseline)
//   2. inferconf populate over that registry                  (2 presets/model)
//   3. .import of the 2N rows populate wrote into a fresh store (baseline):
//      the very rows, ids included (populate's time-ordered UUID v7 ids, in the
//      order populate inserted them), so both load the same keys into the same
//      unique indexes
//   4. inferconf populate again: everything exists, all skipped
//   5. inferconf populate --registry FILE on a fresh store     (import + populate)
// Targets: >= 100 000 models/s, within 2x of .import, peak RSS < 100 MB.
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

struct Run {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system: on a shared machine, steadier than wall time
  long max_rss_kb = 0;
  int exit_code = -1;
};

// Runs argv with stdout/stderr to files; waits with wait4 for its own rusage.
Run run(const std::vector<std::string>& args, const fs::path& out_file) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.max_rss_kb = ru.ru_maxrss;
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  r.cpu_seconds = secs(ru.ru_utime) + secs(ru.ru_stime);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one.empty() ? std::string("unknown") : one + " " + five + " " + fifteen;
}

void require(const Run& r, const std::string& what, const fs::path& log) {
  if (r.exit_code == 0) return;
  std::ifstream in(log);
  std::cerr << what << " failed with exit " << r.exit_code << ":\n" << in.rdbuf() << '\n';
  std::exit(1);
}

// The same mix as the tests' synthetic registry: canonical ids, Civitai
// labels, metadata-only and name-only models; one in 50 inactive.
std::size_t generate(std::size_t n, const fs::path& jsonl, const fs::path& csv) {
  static const char* const kLabels[] = {"sdxl",        "SDXL 1.0",  "pony",    "flux_dev",         "Flux.1 D",
                                        "flux_schnell", "flux_krea", "wan_2_1", "wan_2_1/t2v_1_3b", "wan_2_2",
                                        "hidream/dev",  "sd_1_5",    "SD 1.5"};
  constexpr std::size_t kLabelCount = std::size(kLabels);
  std::ofstream j(jsonl, std::ios::binary), c(csv, std::ios::binary);
  std::size_t active = 0;
  for (std::size_t i = 0; i < n; ++i) {
    nlohmann::json r;
    char id[24];
    std::snprintf(id, sizeof id, "m%07zu", i + 1);
    const bool is_active = i % 50 != 7;
    active += is_active;
    r["id"] = id;
    r["is_active"] = is_active;
    std::string base, metadata = "{}";
    switch (i % 4) {
      case 0:
      case 1:
        r["name"] = "model " + std::to_string(i);
        base = kLabels[i % kLabelCount];
        r["base_model"] = base;
        break;
      case 2:
        r["name"] = "finetune " + std::to_string(i);
        r["metadata"] = {{"baseModel", kLabels[(i / 4) % kLabelCount]}};
        metadata = r["metadata"].dump();
        break;
      default:
        r["name"] = (i % 8 == 3 ? "Juggernaut XL v" : "Pony Diffusion V6 XL v") + std::to_string(i);
    }
    j << r.dump() << '\n';
    // CSV for .import: quotes doubled; NULLs cannot be expressed, so base_model is empty when absent.
    std::string md;
    for (char ch : metadata) md += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    c << id << ",\"" << r["name"].get<std::string>() << "\"," << (is_active ? 1 : 0) << ",\"" << base << "\",\"" << md
      << "\",\n";
  }
  return active;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t models = 1'000'000;
  fs::path dir = fs::temp_directory_path() / ("inferconf-populate-bench-" + std::to_string(getpid()));
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--models" && i + 1 < argc) models = std::stoul(argv[++i]);
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--keep") keep = true;
    else {
      std::cerr << "usage: populate_bench [--models N] [--dir DIR] [--keep]\n";
      return 2;
    }
  }
  const std::string inferconf = INFERCONF_BINARY;
  const std::string catalog = std::string(INFERCONF_SOURCE_DIR) + "/catalog";
  fs::create_directories(dir);
  const auto jsonl = dir / "registry.jsonl", csv = dir / "registry.csv", log = dir / "log.txt";
  const std::size_t active = generate(models, jsonl, csv);
  auto db = [&](const char* name) { return (dir / name).string(); };
  auto ic = [&](const std::string& path, std::vector<std::string> args) {
    std::vector<std::string> argv{inferconf, "--db", "sqlite:" + path, "--catalog", catalog};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  for (const char* name : {"a.db", "b.db", "c.db"})
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db(name) + suffix);

  require(run(ic(db("a.db"), {"init"}), log), "inferconf init", log);
  const Run import_models = run({"sqlite3", db("a.db"), ".import --csv " + csv.string() + " database_models"}, log);
  require(import_models, "sqlite3 .import (registry)", log);
  const Run populate = run(ic(db("a.db"), {"populate"}), log);
  require(populate, "inferconf populate", log);
  const Run again = run(ic(db("a.db"), {"populate"}), log);
  require(again, "inferconf populate (re-run)", log);

  // The rows populate wrote, exported in insertion order (rowid) with their
  // UUID v7 ids, then loaded into a fresh store by .import: the baseline loads
  // the same keys in the same order as populate did.
  const auto configs_csv = dir / "configurations.csv";
  require(run({"sqlite3", "-csv", db("a.db"), "SELECT * FROM inference_configurations ORDER BY rowid"}, configs_csv),
          "export", log);
  require(run(ic(db("b.db"), {"init"}), log), "inferconf init", log);
  const Run import_configs =
      run({"sqlite3", db("b.db"), ".import --csv " + configs_csv.string() + " inference_configurations"}, log);
  require(import_configs, "sqlite3 .import (configurations)", log);

  const Run full = run(ic(db("c.db"), {"populate", "--registry", jsonl.string()}), log);
  require(full, "inferconf populate --registry", log);

  const double rows = 2.0 * static_cast<double>(active);
  auto line = [&](const char* what, const Run& r, double n, const char* unit) {
    std::cout << fmt::format("{:<52} {:>8.2f} s {:>12.0f} {}/s  peak RSS {:>6.1f} MB  (cpu {:.2f} s)\n", what,
                             r.seconds, n / r.seconds, unit, static_cast<double>(r.max_rss_kb) / 1024.0,
                             r.cpu_seconds);
  };
  std::cout << fmt::format("registry: {} models ({} active), 2 presets each; folder {}\n", models, active, dir.string());
  line("sqlite3 .import registry rows (database_models)", import_models, static_cast<double>(models), "rows");
  line("inferconf populate (registry in the store)", populate, static_cast<double>(active), "models");
  line("sqlite3 .import the rows populate wrote (v7 ids)", import_configs, rows, "rows");
  line("inferconf populate re-run (all exist, skipped)", again, static_cast<double>(active), "models");
  line("inferconf populate --registry FILE (import+populate)", full, static_cast<double>(active), "models");
  std::cout << fmt::format("ratio populate / .import of the same {} configuration rows: {:.2f}x (target <= 2)\n",
                           static_cast<std::size_t>(rows), populate.seconds / import_configs.seconds);
  std::cout << fmt::format("ratio populate / .import of the same {} registry rows:      {:.2f}x\n", models,
                           populate.seconds / import_models.seconds);
  std::cout << fmt::format("cpu-time ratio populate / .import of the configuration rows: {:.2f}x; cpu-bound rate "
                           "{:.0f} models/s; load average at the end {}\n",
                           populate.cpu_seconds / import_configs.cpu_seconds,
                           static_cast<double>(active) / populate.cpu_seconds, load_average());
  std::cout << fmt::format("targets: >= 100000 models/s: {}; within 2x of .import: {}; peak RSS < 100 MB: {}\n",
                           static_cast<double>(active) / populate.seconds >= 100'000 ? "met" : "NOT met",
                           populate.seconds <= 2 * import_configs.seconds ? "met" : "NOT met",
                           std::max(populate.max_rss_kb, full.max_rss_kb) < 100 * 1024 ? "met" : "NOT met");
  if (!keep) fs::remove_all(dir);
  return 0;
}
