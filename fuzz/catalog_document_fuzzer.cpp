// libFuzzer target: a base_models.json document (the catalogue a deployment
// may replace with --catalog), read through the JSON policy and checked with
// the shipped vocabulary; a catalogue that loads must serialise.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz_support.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/dto.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  static const nlohmann::json vocabulary = [] {
    std::ifstream in(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" / "vocabulary.json");
    std::stringstream s;
    s << in.rdbuf();
    return parse_json_text(s.str(), "vocabulary.json");
  }();
  fuzz::only_inferconf_errors([&] {
    const Catalog catalog =
        Catalog::from_json(parse_json_text(fuzz::text_of(data, size), "base_models.json"), vocabulary, "fuzz");
    (void)catalog.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  return 0;
}
