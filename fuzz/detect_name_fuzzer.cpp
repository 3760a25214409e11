// libFuzzer target: name, label and metadata inference on arbitrary text.
// The first byte picks the entry point; the rest is the text.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "inferconf/detect.hpp"

namespace {
bool ours(const std::string& b) {
  for (const char* id : {"unknown", "sdxl", "flux_dev", "flux_schnell", "flux_krea", "pony", "wan_2_1", "wan_2_2", "hidream", "sd_1_5"}) {
    if (b == id) return true;
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf::detect;
  static const auto rules = load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  NameVerdict v;
  switch (data[0] % 4) {
    case 0: v = infer_from_name(*rules, text); break;
    case 1: v = infer_from_label(*rules, text); break;
    case 2: {
      v = infer_from_metadata(*rules, std::map<std::string, std::string>{{"modelspec.architecture", text}, {"model_type", text}}).verdict;
      break;
    }
    default: {
      ModelEvidence r{"id", text, text, nlohmann::json::object(), std::nullopt};
      const auto inf = infer_base_model(*rules, r);
      if (!ours(inf.base_model)) __builtin_trap();
      (void)inf.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return 0;
    }
  }
  if (!ours(v.base_model)) __builtin_trap();
  // Never silent: every verdict carries a reason; a base is one of ours.
  if (v.reason.empty()) __builtin_trap();
  if (v.matched() && v.known_other) __builtin_trap();
  return 0;
}
