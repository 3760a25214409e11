// Shared by the population end-to-end tests: a scratch folder per test,
// running the real binary against a SQLite store in it, checkpoint fixtures
// (sparse safetensors with real tensor layouts) and registry files.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/run_process.hpp"

namespace inferconf::populate_testing {

namespace fs = std::filesystem;

// A fresh folder under the temp dir, removed when the object goes.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string db_uri() const { return "sqlite:" + (path_ / "store.db").string(); }

 private:
  fs::path path_;
};

// Runs `inferconf --db <db> args...` with the source tree's catalogue.
testing::ProcessResult run_inferconf(const std::string& db_uri, std::vector<std::string> args,
                                     const std::string& stdin_text = {}, int timeout_seconds = 120);

// Writes a checkpoint fixture. `spec` is {"layout": NAME, "metadata": {...}}
// (a sparse safetensors file with that tensor layout), {"text": "..."} (a
// file with that content), or {"gguf": true} (a GGUF header). Layout names:
// sd15_checkpoint, sdxl_checkpoint, flux_dev, flux_schnell, wan21_t2v_1_3b,
// wan21_i2v_14b, wan22_ti2v_5b, hidream, sd2_unet, vae_sd, lora_sdxl.
void write_fixture(const fs::path& file, const nlohmann::json& spec);

// Writes records as JSON Lines.
void write_jsonl(const fs::path& file, const std::vector<nlohmann::json>& records);

// Every stored configuration, from `inferconf --json list --all`, keyed
// "model_id/configuration_type".
std::map<std::string, nlohmann::json> stored_configurations(const std::string& db_uri);

// A synthetic registry of n models mixing every base model and the ways a
// platform names them (canonical ids, Civitai labels, metadata, names), one in
// 50 inactive. Ids are "m0000001"… so that id order is generation order.
std::vector<nlohmann::json> synthetic_registry(std::size_t n);

}  // namespace inferconf::populate_testing
