// libFuzzer target: a CreateDTO body as POST /v1/configurations and
// `inferconf create` read it: the JSON policy, the DTO parser, then the
// catalogue's Validator. A valid document must survive a JSON round trip.
#include <filesystem>

#include "fuzz_support.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/dto.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  static const Catalog catalog = Catalog::load(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  fuzz::only_inferconf_errors([&] {
    CreateDTO dto = parse_create_dto(parse_json_text(fuzz::text_of(data, size), "the request body"));
    const nlohmann::json j = dto;
    if (!(parse_create_dto(parse_json_text(j.dump(), "the round trip")) == dto)) __builtin_trap();
    Validator validator(catalog);
    (void)validator.validate(dto);
  });
  return 0;
}
