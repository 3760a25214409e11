// libFuzzer target: a registry export (JSON Lines, or a JSON array read item
// by item), as `models import` and `populate --registry` read it, with the
// seed's field names or a platform's (the first byte picks the map).
// read_model_records must report a bad line, item or array through on_error
// and never throw.
#include <sstream>

#include "fuzz_support.hpp"
#include "inferconf/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  if (size == 0) return 0;
  RegistryFieldMap map;
  if (data[0] & 1) {
    map.id = "_id";
    map.active = "status";
    map.active_value = "published";
    map.base_model = "baseModel";
  }
  const std::string text = fuzz::text_of(data + 1, size - 1);
  fuzz::only_inferconf_errors([&] {
    std::istringstream in(text);
    read_model_records(
        in, map,
        [](ModelRecord&& m, std::size_t) {
          if (m.id.empty()) __builtin_trap();
          const nlohmann::json j = m;
          (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        },
        [](std::size_t, const Error& e) {
          if (e.code() != ErrorCode::kInvalid) __builtin_trap();
        });
  });
  return 0;
}
