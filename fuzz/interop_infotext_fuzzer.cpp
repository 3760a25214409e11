// libFuzzer target: the A1111 infotext parser and the infotext importer on
// arbitrary text. Only inferconf::Error may escape the importer; the parser
// never throws.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "inferconf/detect/rules.hpp"
#include "inferconf/interop.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  static const Catalog catalog = Catalog::load(INFERCONF_SOURCE_DIR "/catalog");
  static const EngineVocabulary vocabulary =
      EngineVocabulary::load(INFERCONF_SOURCE_DIR "/catalog/engine_vocabulary.json", catalog);
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_infotext(text);
  // A parameters line is one with at least 3 pairs; a WxH value adds one more.
  if (parsed.has_parameters && parsed.params.size() < 3) __builtin_trap();
  // What the writer produces must parse back to a parameters line.
  if (parsed.has_parameters && !parse_infotext(write_infotext("p", "", parsed.params)).has_parameters) __builtin_trap();
  PresetImportOptions options;
  static const auto rules = detect::load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  options.rules = rules.get();
  options.model_id = "fuzz";
  options.base_model = size % 2 ? "sdxl" : "flux_dev";
  options.allow_substitute = size % 3 == 0;
  try {
    preset_from_infotext(parsed, options, catalog, vocabulary);
  } catch (const Error&) {
  }
  return 0;
}
