// libFuzzer target: an UpdateDTO (JSON Merge Patch on model_specific_params)
// as PATCH /v1/configurations/{id} and `inferconf update` read it, applied to
// a stored configuration and validated as the service does.
#include <filesystem>

#include "fuzz_support.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/dto.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  static const Catalog catalog = Catalog::load(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  fuzz::only_inferconf_errors([&] {
    const UpdateDTO update = parse_update_dto(parse_json_text(fuzz::text_of(data, size), "the request body"));
    InferenceConfiguration c = make_configuration(
        {"m", "wan_2_2", "quality", 30, 5.0, "uni_pc", "simple", {{"width", 1280}, {"height", 704}, {"shift", 8.0}}});
    apply_update(c, update);
    if (!c.model_specific_params.is_object()) __builtin_trap();
    CreateDTO dto = to_create_dto(c);
    Validator validator(catalog);
    (void)validator.validate(dto);
    const nlohmann::json j = update;
    (void)parse_update_dto(parse_json_text(j.dump(), "the round trip"));
  });
  return 0;
}
