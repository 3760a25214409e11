// libFuzzer target: name, label and metadata inference on arbitrary text.
// The first byte picks the entry point; the rest is the text.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "inferconf/detect.hpp"

namespace {
// A verdict names "unknown" or a base model of the catalogue, read from the
// catalogue itself so that a base model added there is one of ours here too.
bool ours(const std::string& b) {
  static const std::set<std::string> ids = [] {
    std::ifstream in(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" / "base_models.json");
    const auto catalogue = nlohmann::json::parse(in);
    std::set<std::string> all{"unknown"};
    for (const auto& base : catalogue.at("base_models")) all.insert(base.at("id").get<std::string>());
    return all;
  }();
  return ids.count(b) > 0;
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
