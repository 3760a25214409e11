// bench_http_seed DB_URI MODELS CATALOG_DIR: creates MODELS models x the
// configuration types `populate` creates (quality, speed) in the store, in batches
// through Store::create_many, each from its base model's catalogue preset
// (base models taken in turn), so the documents look like real ones.
// Prints the first model id.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "inferconf/catalog.hpp"
#include "inferconf/store.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: bench_http_seed DB_URI MODELS CATALOG_DIR\n";
    return 2;
  }
  try {
    auto store = inferconf::open_store(argv[1]);
    store->ensure_schema();
    const long models = std::atol(argv[2]);
    const auto catalog = inferconf::Catalog::load(argv[3]);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<inferconf::CreateDTO> batch;
    long created = 0;
    for (long i = 0; i < models; ++i) {
      const auto& base = catalog.base_models()[static_cast<std::size_t>(i) % catalog.base_models().size()];
      for (const auto& type : catalog.configuration_types()) {
        if (!type.populate) continue;  // the store a platform runs: what populate made
        const inferconf::Preset* preset = base.preset(type.id);
        if (!preset) continue;
        inferconf::CreateDTO d;
        d.model_id = fmt::format("bench-model-{:06d}", i);
        d.base_model = base.id;
        d.configuration_type = type.id;
        d.steps = preset->steps;
        d.cfg_scale = preset->cfg_scale;
        d.sampler = preset->sampler;
        d.scheduler = preset->scheduler;
        d.model_specific_params = preset->model_specific_params;
        batch.push_back(std::move(d));
      }
      if (batch.size() >= 10000) {
        created += static_cast<long>(store->create_many(batch).size());
        batch.clear();
      }
    }
    if (!batch.empty()) created += static_cast<long>(store->create_many(batch).size());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cerr << fmt::format("created {} configurations of {} models in {:.1f} s\n", created, models, seconds);
    std::cout << "bench-model-000000\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_http_seed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
