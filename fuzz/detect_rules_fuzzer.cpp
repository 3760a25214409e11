// libFuzzer target: the detection rules documents (detection_rules.json and
// base_model_labels.json; the first byte picks which one is replaced) loaded
// from a catalogue folder as `--catalog` does. Problems are ReadError (rule
// "rules_file"); anything else is a finding. Rules that load must classify.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "inferconf/detect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  using namespace inferconf::detect;
  if (size == 0) return 0;
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("inferconf-fuzz-rules-" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  const fs::path shipped = fs::path(INFERCONF_SOURCE_DIR) / "catalog";
  const bool labels = data[0] & 1;
  for (const char* name : {"detection_rules.json", "base_model_labels.json"})
    fs::copy_file(shipped / name, dir / name, fs::copy_options::overwrite_existing);
  {
    std::ofstream out(dir / (labels ? "base_model_labels.json" : "detection_rules.json"), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  try {
    const auto rules = load_rules(dir);
    const auto v = infer_from_label(*rules, "SDXL 1.0");
    if (v.reason.empty()) __builtin_trap();
  } catch (const ReadError& e) {
    if (std::string(e.what()).empty()) __builtin_trap();
  } catch (...) {
    __builtin_trap();
  }
  return 0;
}
