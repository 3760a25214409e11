// detect_bench: generates N checkpoint headers (default 10 000; real key
// names/shapes, data region a sparse hole) in a temporary directory, then
// measures headers read + validated + classified per second by our reader and
// by bench/detect/reader.py (Python json + struct) in the same run, warm cache:
// one thread (per core, wall and CPU), and detect_files() with one worker per
// core (wall), both against the Python reader in one process.
//
//   detect_bench [--count N] [--dir DIR] [--keep] [--python /usr/bin/python3] [--rounds R]
//
// Built with simdjson (DETECT_BENCH_SIMDJSON), it also times simdjson's DOM and
// On-Demand parsers on the same headers, to keep the choice of parser measured.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <time.h>
#include <unistd.h>

#include "detect/layouts.hpp"
#include "inferconf/detect.hpp"

#if DETECT_BENCH_SIMDJSON
#include <simdjson.h>
#endif

namespace fs = std::filesystem;
using namespace inferconf::detect;
using namespace inferconf::detect::testing;

namespace {

struct Kind {
  std::string name;  // file name stem
  std::string bytes;  // encoded header
  std::uint64_t data = 0;
};

std::vector<Kind> kinds() {
  std::vector<std::pair<std::string, Layout>> layouts;
  layouts.emplace_back("v1-5-pruned-emaonly", [] {
    Layout l;
    append(l, sd15_unet(), "model.diffusion_model.");
    return l;
  }());
  layouts.emplace_back("juggernautXL_v9", [] {
    Layout l;
    append(l, sdxl_unet(), "model.diffusion_model.");
    return l;
  }());
  layouts.emplace_back("ponyDiffusionV6XL", sdxl_unet());
  layouts.emplace_back("flux1-dev", flux_dit(true));
  layouts.emplace_back("flux1-schnell-fp8", comfy_scaled_fp8(flux_dit(false)));
  layouts.emplace_back("flux1-krea-dev", flux_dit(true));
  layouts.emplace_back("wan2.1_t2v_1.3B_fp16", wan_dit(1536, 8960, 30, 16, 16, false, Dtype::F16));
  layouts.emplace_back("wan2.2_ti2v_5B_fp16", wan_dit(3072, 14336, 30, 48, 48, false, Dtype::F16));
  layouts.emplace_back("wan2.2_i2v_high_noise_14B_fp16", wan_dit(5120, 13824, 40, 36, 16, false, Dtype::F16));
  layouts.emplace_back("hidream_i1_dev_bf16", hidream_dit());
  std::vector<Kind> out;
  for (auto& [name, l] : layouts) {
    Kind k;
    k.name = name;
    k.bytes = encode_header(l, {{"format", "pt"}}, &k.data);
    out.push_back(std::move(k));
  }
  return out;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of this process: the machine may be shared, so both are reported.
double cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

#if DETECT_BENCH_SIMDJSON
// What the reader keeps of a header, extracted with simdjson (JSON only: no
// offset, size or duplicate-name checks, so a lower bound for a reader on it).
struct Extracted {
  std::vector<std::string_view> names;
  std::vector<std::uint64_t> dims, offsets;
  std::size_t bad = 0;  // unknown dtypes (none expected)
  void clear() {
    names.clear();
    dims.clear();
    offsets.clear();
  }
};

void extract_dom(simdjson::dom::parser& parser, const std::string& json, Extracted& out) {
  using namespace simdjson;
  out.clear();
  dom::element doc = parser.parse(json.data(), json.size(), false);
  for (auto [key, value] : dom::object(doc)) {
    if (key == "__metadata__") {
      for (auto [k, v] : dom::object(value)) out.bad += std::string_view(v).empty() && k.empty();
      continue;
    }
    out.names.push_back(key);
    for (auto [field, v] : dom::object(value)) {
      if (field == "dtype") {
        out.bad += !parse_dtype(std::string_view(v));
      } else if (field == "shape") {
        for (auto d : dom::array(v)) out.dims.push_back(std::uint64_t(d));
      } else if (field == "data_offsets") {
        for (auto d : dom::array(v)) out.offsets.push_back(std::uint64_t(d));
      }
    }
  }
}

void extract_on_demand(simdjson::ondemand::parser& parser, const std::string& json, Extracted& out) {
  using namespace simdjson;
  out.clear();
  // `json` holds SIMDJSON_PADDING bytes of capacity past its size (see below).
  ondemand::document doc = parser.iterate(padded_string_view(json.data(), json.size(), json.capacity()));
  for (auto entry : doc.get_object()) {
    const std::string_view key = entry.unescaped_key();
    if (key == "__metadata__") {
      for (auto m : entry.value().get_object()) out.bad += std::string_view(m.value().get_string()).empty();
      continue;
    }
    out.names.push_back(key);
    for (auto field : entry.value().get_object()) {
      const ondemand::raw_json_string f = field.key();
      if (f == "dtype") {
        out.bad += !parse_dtype(std::string_view(field.value().get_string()));
      } else if (f == "shape") {
        for (auto d : field.value().get_array()) out.dims.push_back(std::uint64_t(d.get_uint64()));
      } else if (f == "data_offsets") {
        for (auto d : field.value().get_array()) out.offsets.push_back(std::uint64_t(d.get_uint64()));
      }
    }
  }
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 10000;
  int rounds = 3;
  fs::path dir;
  bool keep = false;
  std::string python = "/usr/bin/python3";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--count") count = std::stoul(next());
    else if (a == "--dir") dir = next();
    else if (a == "--keep") keep = true;
    else if (a == "--python") python = next();
    else if (a == "--rounds") rounds = std::stoi(next());
    else {
      std::cerr << "usage: detect_bench [--count N] [--dir DIR] [--keep] [--python PATH] [--rounds R]\n";
      return 2;
    }
  }
  if (dir.empty()) dir = fs::temp_directory_path() / fmt::format("inferconf-detect-bench-{}", ::getpid());
  fs::create_directories(dir);

  // Generate.
  const auto ks = kinds();
  double t0 = now();
  std::uint64_t header_bytes = 0;
  double sparse = 0;
  std::vector<fs::path> files;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& k = ks[i % ks.size()];
    const auto path = dir / fmt::format("{:05}_{}.safetensors", i, k.name);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(k.bytes.data(), 1, k.bytes.size(), f) != k.bytes.size() || std::fclose(f) != 0) {
      std::cerr << "cannot write " << path << "\n";
      return 1;
    }
    fs::resize_file(path, k.bytes.size() + k.data);
    header_bytes += k.bytes.size();
    sparse += static_cast<double>(k.data);
    files.push_back(path);
  }
  fmt::print("generated {} checkpoint headers ({} layouts, {:.1f} MB of headers, {:.1f} TB of sparse data) in {} in {:.1f} s\n",
             count, ks.size(), static_cast<double>(header_bytes) / 1e6,
             sparse / 1e12, dir.string(), now() - t0);

  const auto rules = load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  auto run_ours = [&](std::map<std::string, int>* bases) {
    std::size_t errors = 0;
    for (const auto& p : files) {
      try {
        const auto h = read_header(p);
        const auto c = classify(*rules, h, {p.filename().string()});
        if (bases) ++(*bases)[c.base_model];
      } catch (const ReadError&) {
        ++errors;
      }
    }
    return errors;
  };
  // Warm the page cache and the allocator.
  std::map<std::string, int> bases;
  if (run_ours(&bases) != 0) {
    std::cerr << "unexpected read errors\n";
    if (!keep) fs::remove_all(dir);
    return 1;
  }
  double best = 1e9, best_cpu = 1e9;
  for (int r = 0; r < rounds; ++r) {
    const double s = now(), c = cpu_now();
    run_ours(nullptr);
    best = std::min(best, now() - s);
    best_cpu = std::min(best_cpu, cpu_now() - c);
  }
  const double ours = static_cast<double>(count) / best;
  const double ours_cpu = static_cast<double>(count) / best_cpu;
  fmt::print("inferconf reader+classifier: {:>10.0f} headers/s wall, {:>10.0f} /s CPU  ({:.3f} s for {} files, {:.0f} MB/s of JSON; best of {})\n",
             ours, ours_cpu, best, count, static_cast<double>(header_bytes) / best / 1e6, rounds);
  for (const auto& [b, n] : bases) fmt::print("    {:<14} {}\n", b, n);

  // The same files through detect_files() with one worker per core: what
  // `inferconf detect DIR` does by default (results delivered in input order).
  const unsigned jobs = default_jobs();
  double par_best = 1e9, par_best_cpu = 1e9, par_cpu_of_best = 0;
  std::size_t par_errors = 0, par_count = 0;
  for (int r = 0; r < rounds; ++r) {
    std::size_t errors = 0, delivered = 0;
    const double s = now(), c = cpu_now();
    detect_files(
        *rules, files,
        [&](std::size_t, FileResult&& res) {
          ++delivered;
          errors += !res.ok();
        },
        {jobs, 0});
    const double wall = now() - s, cpu = cpu_now() - c;
    if (wall < par_best) {
      par_best = wall;
      par_cpu_of_best = cpu;
    }
    par_best_cpu = std::min(par_best_cpu, cpu);
    par_errors = std::max(par_errors, errors);
    par_count = delivered;
  }
  if (par_errors != 0 || par_count != count) {
    std::cerr << "detect_files: " << par_errors << " read errors, " << par_count << " results for " << count << " files\n";
    if (!keep) fs::remove_all(dir);
    return 1;
  }
  const double par = static_cast<double>(count) / par_best;
  // CPU seconds per wall second of the best round: how many cores the run
  // actually got (the machine is shared; 2 jobs on 2 idle cores would show ~2).
  fmt::print("inferconf detect_files, {} jobs: {:>10.0f} headers/s wall, {:>10.0f} /s CPU (all threads)  ({:.3f} s; best of {}; "
             "{:.2f} cores busy on average)\n",
             jobs, par, static_cast<double>(count) / par_best_cpu, par_best, rounds, par_cpu_of_best / par_best);

  // Where our time goes: the first 100 files (10 of each layout), per header,
  // best of 10 rounds: read_header alone, and classify() on headers in memory.
  {
    const std::size_t m = std::min<std::size_t>(files.size(), 100);
    double read_best = 1e9, class_best = 1e9;
    std::vector<SafetensorsHeader> headers;
    for (std::size_t i = 0; i < m; ++i) headers.push_back(read_header(files[i]));
    for (int r = 0; r < 10; ++r) {
      double s = cpu_now();
      for (std::size_t i = 0; i < m; ++i) (void)read_header(files[i]);
      read_best = std::min(read_best, (cpu_now() - s) / static_cast<double>(m));
      s = cpu_now();
      for (std::size_t i = 0; i < m; ++i) (void)classify(*rules, headers[i], {files[i].filename().string()});
      class_best = std::min(class_best, (cpu_now() - s) / static_cast<double>(m));
    }
    fmt::print("  per header (CPU, first {} files, best of 10): read_header (read+parse+validate) {:.0f} us, classify {:.0f} us\n",
               m, read_best * 1e6, class_best * 1e6);

    // The JSON parsers alone on the same headers in memory: ours (parse_header:
    // UTF-8, parse, every check, name index) and simdjson's two APIs.
    std::vector<std::string> whole, json;
    std::vector<std::uint64_t> sizes;
    for (std::size_t i = 0; i < m; ++i) {
      FILE* f = std::fopen(files[i].c_str(), "rb");
      std::string b(8 + headers[i].header_length, '\0');
      if (!f || std::fread(b.data(), 1, b.size(), f) != b.size()) {
        std::cerr << "cannot read " << files[i] << "\n";
        return 1;
      }
      std::fclose(f);
      std::string j;
      j.reserve(b.size() + 64);  // >= SIMDJSON_PADDING readable bytes past the end
      j.assign(b, 8);
      whole.push_back(std::move(b));
      json.push_back(std::move(j));
      sizes.push_back(headers[i].file_size);
    }
    headers.clear();
    double ours_best = 1e9;
    for (int r = 0; r < 10; ++r) {
      const double s = cpu_now();
      for (std::size_t i = 0; i < m; ++i) (void)parse_header(whole[i], sizes[i], "mem");
      ours_best = std::min(ours_best, (cpu_now() - s) / static_cast<double>(m));
    }
#if DETECT_BENCH_SIMDJSON
    double dom_best = 1e9, od_best = 1e9;
    simdjson::dom::parser dom;
    simdjson::ondemand::parser od;
    Extracted x;
    std::size_t tensors = 0, bad = 0;
    for (int r = 0; r < 10; ++r) {
      double s = cpu_now();
      for (std::size_t i = 0; i < m; ++i) extract_dom(dom, json[i], x);
      dom_best = std::min(dom_best, (cpu_now() - s) / static_cast<double>(m));
      s = cpu_now();
      for (std::size_t i = 0; i < m; ++i) {
        extract_on_demand(od, json[i], x);
        if (r == 0) tensors += x.names.size(), bad += x.bad;
      }
      od_best = std::min(od_best, (cpu_now() - s) / static_cast<double>(m));
    }
    fmt::print("  JSON in memory, per header (CPU, same files, best of 10): inferconf parse_header (UTF-8 + parse + every check + index) {:.0f} us;\n"
               "    simdjson {} ({}) parse + extract names/dtypes/shapes/offsets, no checks: DOM {:.0f} us, On-Demand {:.0f} us ({} tensors, {} bad)\n",
               ours_best * 1e6, fmt::format("{}.{}.{}", int(simdjson::SIMDJSON_VERSION_MAJOR), int(simdjson::SIMDJSON_VERSION_MINOR), int(simdjson::SIMDJSON_VERSION_REVISION)),
               simdjson::get_active_implementation()->name(), dom_best * 1e6, od_best * 1e6,
               tensors, bad);
#else
    fmt::print("  JSON in memory, per header (CPU, same files, best of 10): inferconf parse_header {:.0f} us (simdjson comparison not built)\n",
               ours_best * 1e6);
#endif
  }

  // Python, same files, same run (its own timer excludes interpreter start-up).
  double py_best = 1e9, py_best_cpu = 1e9;
  nlohmann::json py;
  for (int r = 0; r < std::max(1, rounds - 1); ++r) {
    const std::string cmd = fmt::format("'{}' '{}' '{}'", python, DETECT_BENCH_READER_PY, dir.string());
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
    std::string out;
    char buf[4096];
    while (pipe && std::fgets(buf, sizeof buf, pipe.get())) out += buf;
    try {
      py = nlohmann::json::parse(out);
    } catch (const std::exception& e) {
      std::cerr << "python reader failed: " << out << "\n";
      if (!keep) fs::remove_all(dir);  // (1.3 GB of headers)
      return 1;
    }
    py_best = std::min(py_best, py["seconds"].get<double>());
    py_best_cpu = std::min(py_best_cpu, py["cpu_seconds"].get<double>());
  }
  const double theirs = static_cast<double>(count) / py_best;
  const double theirs_cpu = static_cast<double>(count) / py_best_cpu;
  fmt::print("python json+struct reader:   {:>10.0f} headers/s wall, {:>10.0f} /s CPU  ({:.3f} s, {} errors) bases {}\n", theirs,
             theirs_cpu, py_best, py["errors"].get<int>(), py["bases"].dump());
  const double ratio = ours / theirs;
  fmt::print("ratio per core (one thread vs the Python reader): {:.1f}x wall, {:.1f}x CPU  (target >= 20x: {})\n", ratio,
             ours_cpu / theirs_cpu, ratio >= 20 ? "met" : "NOT met");
  const double par_ratio = par / theirs;
  fmt::print("ratio with {} jobs (detect_files wall vs the single-process Python reader's wall): {:.1f}x  (target >= 20x: {}); "
             "speed-up over one thread {:.2f}x\n",
             jobs, par_ratio, par_ratio >= 20 ? "met" : "NOT met", par / ours);

  if (!keep) fs::remove_all(dir);
  return 0;
}
