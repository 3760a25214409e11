#include "populate/populate_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "detect/layouts.hpp"
#include "inferconf/detect.hpp"

namespace inferconf::populate_testing {

namespace dt = inferconf::detect::testing;
using detect::Dtype;

ScratchDir::ScratchDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() /
          ("inferconf-populate-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

testing::ProcessResult run_inferconf(const std::string& db_uri, std::vector<std::string> args,
                                     const std::string& stdin_text, int timeout_seconds) {
  args.insert(args.begin(), {"--db", db_uri});
  return testing::run_process(testing::inferconf_binary(), args, stdin_text,
                              {{"INFERCONF_CATALOG", std::string(INFERCONF_SOURCE_DIR) + "/catalog"}},
                              timeout_seconds);
}

namespace {

dt::Layout layout_named(const std::string& name) {
  if (name == "sd15_checkpoint") return dt::sd15_checkpoint();
  if (name == "sdxl_checkpoint") return dt::sdxl_checkpoint();
  if (name == "flux_dev") return dt::flux_dit(true);
  if (name == "flux_schnell") return dt::flux_dit(false);
  if (name == "wan21_t2v_1_3b") return dt::wan_dit(1536, 8960, 30, 16, 16, false, Dtype::F16);
  if (name == "wan21_i2v_14b") return dt::wan_dit(5120, 13824, 40, 36, 16, true);
  if (name == "wan22_ti2v_5b") return dt::wan_dit(3072, 14336, 30, 48, 48, false, Dtype::F16);
  if (name == "hidream") return dt::hidream_dit();
  if (name == "sd2_unet") return dt::sd2_unet();
  if (name == "vae_sd") return dt::ldm_vae(4);
  if (name == "lora_sdxl") return dt::lora_kohya_sdxl();
  throw std::invalid_argument("unknown fixture layout " + name);
}

}  // namespace

void write_fixture(const fs::path& file, const nlohmann::json& spec) {
  fs::create_directories(file.parent_path());
  if (spec.contains("layout")) {
    std::map<std::string, std::string> metadata;
    if (spec.contains("metadata"))
      for (const auto& [k, v] : spec["metadata"].items()) metadata[k] = v.get<std::string>();
    detect::write_sparse_safetensors(file, layout_named(spec["layout"].get<std::string>()), metadata);
    return;
  }
  std::ofstream out(file, std::ios::binary);
  if (spec.contains("gguf"))
    out << std::string("GGUF\x03\x00\x00\x00", 8) << std::string(64, '\0');
  else
    out << spec.value("text", std::string());
}

void write_jsonl(const fs::path& file, const std::vector<nlohmann::json>& records) {
  std::ofstream out(file, std::ios::binary);
  for (const auto& r : records) out << r.dump() << '\n';
}

std::vector<nlohmann::json> synthetic_registry(std::size_t n) {
  static const char* const kLabels[] = {"sdxl",     "SDXL 1.0", "pony",     "flux_dev",        "Flux.1 D",
                                        "flux_schnell", "flux_krea", "wan_2_1", "wan_2_1/t2v_1_3b", "wan_2_2",
                                        "hidream/dev",  "sd_1_5",    "SD 1.5"};
  std::vector<nlohmann::json> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    char id[24];
    std::snprintf(id, sizeof id, "m%07zu", i + 1);
    nlohmann::json r{{"id", id}, {"is_active", i % 50 != 7}};
    switch (i % 4) {
      case 0:
      case 1:
        r["name"] = "model " + std::to_string(i);
        r["base_model"] = kLabels[i % std::size(kLabels)];
        break;
      case 2:
        r["name"] = "finetune " + std::to_string(i);
        r["metadata"] = {{"baseModel", kLabels[(i / 4) % std::size(kLabels)]}};
        break;
      default:
        r["name"] = (i % 8 == 3 ? "Juggernaut XL v" : "Pony Diffusion V6 XL v") + std::to_string(i);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::map<std::string, nlohmann::json> stored_configurations(const std::string& db_uri) {
  const auto r = run_inferconf(db_uri, {"--json", "list", "--all", "--limit", "1000"});
  if (r.exit_code != 0) throw std::runtime_error("inferconf list failed: " + r.err);
  std::map<std::string, nlohmann::json> out;
  nlohmann::json listed = nlohmann::json::parse(r.out);
  for (auto& c : listed.at("items")) {
    const std::string key = c.at("model_id").get<std::string>() + "/" + c.at("configuration_type").get<std::string>();
    if (out.count(key)) throw std::runtime_error("two stored configurations for " + key);
    out[key] = std::move(c);
  }
  return out;
}

}  // namespace inferconf::populate_testing
