// libFuzzer targets service_resolve_body and (built with
// INFERCONF_FUZZ_EXPORT) service_export_body: a POST /v1/resolve body, or an
// export body of POST /v1/resolve?format=... (the first byte picks the
// format): the JSON policy, the request parser, the resolver over a real
// SQLite store holding one configuration and one registry record (and the
// hardware planner, for a body with "hardware"), and for an export the engine
// request. Answers are values or inferconf::Error only.
#include <unistd.h>

#include <filesystem>

#include "fuzz_support.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/hardware.hpp"
#include "inferconf/interop/export_request.hpp"
#include "inferconf/interop.hpp"
#include "inferconf/resolve_request.hpp"
#include "inferconf/service.hpp"
#include "inferconf/store.hpp"

namespace {

struct World {
  inferconf::Catalog catalog = inferconf::Catalog::load(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  inferconf::EngineVocabulary vocabulary = inferconf::EngineVocabulary::load(
      std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" / "engine_vocabulary.json", catalog);
  std::shared_ptr<const inferconf::detect::Rules> rules =
      inferconf::detect::load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  // The planner runs on whatever inline profile or size the body holds.
  inferconf::HardwareCatalog hardware = inferconf::HardwareCatalog::load(
      std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" / "hardware.json", catalog);
  std::unique_ptr<inferconf::Store> store;
  World() {
    const auto dir = std::filesystem::temp_directory_path() / ("inferconf-fuzz-resolve-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = inferconf::open_store((dir / "store.db").string());
    store->ensure_schema();
    store->create({"seed-model", "sdxl", "quality", 30, 7.0, "dpmpp_2m", "karras", {{"width", 1024}, {"height", 1024}}});
    store->upsert_models({{"flux1-dev", "Flux.1-dev", true, "Flux.1 D", nlohmann::json::object(), std::nullopt}});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf;
  static World world;
  if (size == 0) return 0;
#ifdef INFERCONF_FUZZ_EXPORT
  const bool exporting = true;
#else
  const bool exporting = false;
#endif
  const auto format = static_cast<ExportFormat>(data[0] % 4);
  fuzz::only_inferconf_errors([&] {
    const nlohmann::json body = parse_json_text(fuzz::text_of(data + 1, size - 1), "the request body");
    ExportOptions options;
    const ResolveRequest req = exporting ? parse_export_request(body, options) : parse_resolve_request(body);
    Resolver resolver(*world.store, world.catalog, *world.rules, &world.hardware);
    const ResolvedParameters resolved = resolver.resolve(req);
    const nlohmann::json answer = resolved;
    (void)answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (exporting && resolved.problems.empty()) {
      const ExportResult result = export_request(resolved, format, options, world.catalog, world.vocabulary);
      (void)result.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  });
  return 0;
}
