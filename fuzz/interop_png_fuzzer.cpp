// libFuzzer target: the bounded PNG text-chunk reader and the import dispatch
// (infotext, ComfyUI prompt graphs) on arbitrary bytes. Inputs that do not
// start with the PNG signature get one, so the fuzzer spends its time on chunks;
// for odd-sized inputs every chunk's CRC is recomputed, so mutations reach the
// text-chunk parsing, inflation and ComfyUI graph import behind the CRC check.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <zlib.h>

#include "inferconf/detect/rules.hpp"
#include "inferconf/interop.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  static const Catalog catalog = Catalog::load(INFERCONF_SOURCE_DIR "/catalog");
  static const EngineVocabulary vocabulary =
      EngineVocabulary::load(INFERCONF_SOURCE_DIR "/catalog/engine_vocabulary.json", catalog);
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!looks_like_png(bytes)) bytes.insert(0, std::string("\x89PNG\r\n\x1a\n", 8));
  if (size % 2) {
    for (std::size_t pos = 8; pos + 12 <= bytes.size();) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
      const std::size_t length = (std::size_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
      if (length > bytes.size() - pos - 12) break;
      const auto crc = crc32(crc32(0L, Z_NULL, 0), p + 4, static_cast<uInt>(length + 4));
      for (int i = 0; i < 4; ++i) bytes[pos + 8 + length + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
      pos += 12 + length;
    }
  }
  PngLimits limits;
  limits.max_text_bytes = 1 << 20;
  limits.max_chunks = 4096;
  try {
    for (const auto& c : read_png_text_chunks(bytes, "fuzz input", limits))
      if (c.text.size() > limits.max_text_bytes) __builtin_trap();
  } catch (const Error&) {
  }
  PresetImportOptions options;
  static const auto rules = detect::load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  options.rules = rules.get();
  options.model_id = "fuzz";
  options.base_model = size % 2 ? "wan_2_2" : "sdxl";
  try {
    import_preset(bytes, "fuzz input", options, catalog, vocabulary);
  } catch (const Error&) {
  }
  return 0;
}
