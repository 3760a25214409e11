// The memory model of each base model and the shipped hardware profiles
// (catalog/hardware.json): data that says how much memory a generation needs
// and what a card offers, validated at load against the base-model catalogue.
// Memory is in GiB (2^30 bytes), as PyTorch and nvidia-smi report it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"
#include "inferconf/error.hpp"

namespace inferconf {

// The formats weights are published or converted in, widest first.
enum class WeightDtype { kFp32, kBf16, kFp16, kFp8E4m3fn, kFp8E5m2, kGgufQ8_0, kGgufQ4K };

// "fp32", "bf16", "fp16", "fp8_e4m3fn", "fp8_e5m2", "gguf_q8_0", "gguf_q4_k".
std::string_view to_string(WeightDtype d) noexcept;
std::optional<WeightDtype> parse_weight_dtype(std::string_view name) noexcept;
// Bytes a parameter takes in the format, block scales included (GGUF Q8_0
// stores 8.5 bits a weight, Q4_K 4.5).
double bytes_per_parameter(WeightDtype d) noexcept;
// Every format's name, for messages.
const std::string& weight_dtype_names();

struct ComponentMemory {
  std::string id;  // text encoders only: "t5xxl", "clip_l"...
  double params_billion = 0;
  std::vector<WeightDtype> dtypes;  // best first
  std::string source;
};

// What one base model (or variant) needs. Activation and decode growth are
// per megapixel of output for images, per megapixel-frame for video.
struct MemoryModel {
  std::string base_model;
  std::string variant;  // empty: the base model and every variant without its own entry
  ComponentMemory diffusion_model;
  std::vector<ComponentMemory> text_encoders;  // image encoders too (Wan 2.1 I2V's CLIP vision)
  ComponentMemory vae;
  bool video = false;  // from the catalogue's modality
  double activation_gb = 0;
  double vae_decode_gb = 0;
  double vae_tiled_decode_gb = 0;  // the decode's ceiling with tiling
  std::string source;
};

struct HardwareProfile {
  std::string id;  // "consumer_12gb"; "inline" for a profile given in a request
  std::string display_name;
  double vram_gb = 0;  // per card
  double system_ram_gb = 0;
  std::string gpu_family;  // "ampere", "ada_lovelace", "hopper"...
  double compute_capability = 0;
  int count = 1;  // cards in the machine
  std::string source;
};
nlohmann::json to_json(const HardwareProfile& p);

// The constants of the estimate that belong to no model (hardware.json "estimate").
struct EstimateConstants {
  double overhead_gb = 1.0;          // CUDA context and allocator slack
  double system_ram_base_gb = 2.0;   // the inference process itself
  double sequential_resident_fraction = 0.05;  // diffusion weights on the GPU at once under sequential offload
};

// A request's "hardware": a shipped profile's id, or a profile of its own.
struct HardwareRequest {
  std::string name;                        // the shipped id when `profile` is empty
  std::optional<HardwareProfile> profile;  // inline
};

// Reads a profile object (hardware.json's "profiles" items, or an inline
// profile in a request): vram_gb and system_ram_gb (numbers > 0),
// compute_capability (3.0-12.0), count (integer 1-64, default 1), gpu_family,
// display_name, source (strings, optional) and id (required when
// `require_id`; refused otherwise: such a profile's id is "inline"). Appends a FieldError per problem, its field under `prefix`;
// nullopt when there was any. Pure.
std::optional<HardwareProfile> read_hardware_profile(const nlohmann::json& j, const std::string& prefix,
                                                     bool require_id, std::vector<FieldError>& errors);

class HardwareCatalog {
 public:
  // hardware.json in a catalogue folder.
  static std::filesystem::path file_in(const std::filesystem::path& dir);
  // Loads and validates `file` against `catalog`. Throws Error(kInvalid)
  // listing every problem (file, JSON path, value, what is allowed), or
  // Error(kUnavailable) when the file cannot be read.
  static HardwareCatalog load(const std::filesystem::path& file, const Catalog& catalog);
  static HardwareCatalog from_json(const nlohmann::json& j, const Catalog& catalog, std::string_view origin);

  // The model of (base, variant): the variant's own entry, else the base
  // model's; null when the catalogue has none (a base model added without
  // one). Thread-safe (immutable).
  const MemoryModel* memory_model(std::string_view base_model, std::string_view variant) const;
  // A shipped profile by id; null when unknown.
  const HardwareProfile* find_profile(std::string_view id) const;
  // Shipped profiles, smallest first (VRAM, then system RAM).
  const std::vector<HardwareProfile>& profiles() const { return profiles_; }
  const std::vector<MemoryModel>& memory_models() const { return models_; }
  const EstimateConstants& constants() const { return constants_; }
  // "consumer_8gb, consumer_12gb, ...", for messages.
  std::string profile_ids() const;
  // Distinct for every catalogue read (copies share it): what a cache of
  // answers computed from this catalogue keys on, rather than an address.
  std::uint64_t identity() const { return identity_; }

 private:
  const MemoryModel* memory_model_exact(std::string_view base_model, std::string_view variant) const;

  std::vector<MemoryModel> models_;
  std::vector<HardwareProfile> profiles_;
  EstimateConstants constants_;
  std::uint64_t identity_ = 0;
};

}  // namespace inferconf
