// The shipped catalogue and engine vocabulary, and resolved parameters built
// straight from catalogue presets (so these tests need no store).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "inferconf/catalog.hpp"
#include "inferconf/interop.hpp"
#include "inferconf/service.hpp"

namespace inferconf::testing {

inline const Catalog& shipped_catalog() {
  static const Catalog c = Catalog::load(INFERCONF_SOURCE_DIR "/catalog");
  return c;
}

inline const EngineVocabulary& shipped_engine_vocabulary() {
  static const EngineVocabulary v =
      EngineVocabulary::load(INFERCONF_SOURCE_DIR "/catalog/engine_vocabulary.json", shipped_catalog());
  return v;
}

// What the Resolver gives for a model with no stored configuration.
inline ResolvedParameters resolved_from_preset(const std::string& base, const std::string& type,
                                               const std::string& variant = {}) {
  const auto* spec = shipped_catalog().find(base);
  if (!spec) throw std::runtime_error("no base model " + base);
  const auto* preset = spec->preset(type, variant);
  if (!preset) throw std::runtime_error("no preset " + base + "/" + type);
  ResolvedParameters r;
  r.model_id = base + "-model";
  r.configuration_type = type;
  r.base_model = base;
  r.variant = variant;
  r.parameters = {{"steps", preset->steps}, {"cfg_scale", preset->cfg_scale}, {"sampler", preset->sampler},
                  {"scheduler", preset->scheduler}};
  for (const auto& [k, v] : preset->model_specific_params.items()) r.parameters[k] = v;
  return r;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

inline std::filesystem::path interop_test_dir() { return INFERCONF_SOURCE_DIR "/tests/interop"; }

}  // namespace inferconf::testing
