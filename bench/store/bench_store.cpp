// bench_store: the SQLite store at its target size — 100 000
// models × 2 presets — on a temporary file.
//
// Prints the bulk creation rate of create_many (target: 200 000 in < 3 s) and
// the latency of find_by_model_and_type over random ids (target: a few µs),
// each next to a baseline measured in the same run on the same machine: raw
// SQLite (SQLiteCpp, prepared statements, same indexes, no change log, no
// JSON) doing the same work. The ratio is the cost of the store's guarantees.
//
// Usage: bench_store [--models N] [--batch N] [--lookups N] [--keep]
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>

#include "store/latency.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/service.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using inferconf::CreateDTO;
using inferconf::Store;
using inferconf::Catalog;
using inferconf::Resolver;
using inferconf::ResolveRequest;
using namespace inferconf::bench;
namespace fs = std::filesystem;

struct Options {
  std::size_t models = 100000;
  std::size_t batch = 10000;
  std::size_t lookups = 200000;
  bool keep = false;  // keep the database files for inspection
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::size_t {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a number\n", a);
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--models") {
      o.models = next();
    } else if (a == "--batch") {
      o.batch = next();
    } else if (a == "--lookups") {
      o.lookups = next();
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      fmt::print(stderr, "usage: bench_store [--models N] [--batch N] [--lookups N] [--keep]\n");
      std::exit(2);
    }
  }
  if (o.models == 0 || o.batch == 0 || o.lookups == 0) {
    fmt::print(stderr, "--models, --batch and --lookups must be positive\n");
    std::exit(2);
  }
  return o;
}

std::string load_average() {
  double loads[1] = {0};
  return ::getloadavg(loads, 1) == 1 ? fmt::format("{:.1f}", loads[0]) : "unknown";
}

std::string model_id(std::size_t i) { return fmt::format("model-{:06}", i); }

// The presets population would write: two per model, over the nine base models.
std::vector<CreateDTO> make_presets(std::size_t models) {
  static const char* kBases[] = {"sdxl",    "flux_dev", "flux_schnell", "flux_krea", "pony",
                                 "wan_2_1", "wan_2_2",  "hidream",      "sd_1_5"};
  std::vector<CreateDTO> out;
  out.reserve(models * 2);
  for (std::size_t i = 0; i < models; ++i) {
    const char* base = kBases[i % 9];
    out.push_back({model_id(i), base, "quality", 30, 7.0, "dpmpp_2m", "karras",
                   {{"width", 1024}, {"height", 1024}, {"clip_skip", -1}}});
    out.push_back({model_id(i), base, "speed", 12, 6.0, "euler_ancestral", "normal",
                   {{"width", 1024}, {"height", 1024}, {"denoise", 1.0}}});
  }
  return out;
}

// Baseline: the same rows into a same-shaped table with the same indexes, with raw prepared statements.
Duration raw_bulk_insert(const fs::path& file, const std::vector<CreateDTO>& dtos, std::size_t batch) {
  SQLite::Database db(file, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;"
          "CREATE TABLE c (id TEXT NOT NULL, model_id TEXT NOT NULL, base_model TEXT NOT NULL,"
          " configuration_type TEXT NOT NULL, steps INTEGER NOT NULL, cfg_scale REAL NOT NULL, sampler TEXT NOT NULL,"
          " scheduler TEXT NOT NULL, model_specific_params TEXT NOT NULL, created_at INTEGER NOT NULL,"
          " updated_at INTEGER NOT NULL, revision INTEGER NOT NULL);"
          "CREATE UNIQUE INDEX c_id ON c (id); CREATE INDEX c_model ON c (model_id);"
          "CREATE INDEX c_base ON c (base_model);"
          "CREATE UNIQUE INDEX c_model_type ON c (model_id, configuration_type)");
  // Ids and JSON text made up front: the baseline times SQLite alone.
  std::vector<std::string> ids, params;
  for (std::size_t i = 0; i < dtos.size(); ++i) {
    ids.push_back(fmt::format("{:08x}-0000-4000-8000-{:012x}", i * 2654435761U % 0xffffffffU, i));
    params.push_back(dtos[i].model_specific_params.dump());
  }
  SQLite::Statement insert(db, "INSERT INTO c VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 1)");
  return time_of([&] {
    for (std::size_t start = 0; start < dtos.size(); start += batch) {
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      for (std::size_t i = start; i < std::min(dtos.size(), start + batch); ++i) {
        const auto& d = dtos[i];
        insert.bindNoCopy(1, ids[i]);
        insert.bindNoCopy(2, d.model_id);
        insert.bindNoCopy(3, d.base_model);
        insert.bindNoCopy(4, d.configuration_type);
        insert.bind(5, d.steps);
        insert.bind(6, d.cfg_scale);
        insert.bindNoCopy(7, d.sampler);
        insert.bindNoCopy(8, d.scheduler);
        insert.bindNoCopy(9, params[i]);
        insert.bind(10, static_cast<std::int64_t>(1700000000000));
        insert.exec();
        insert.reset();
      }
      tx.commit();
    }
  });
}

// ---------------------------------------------------------------------------
// Hook for more latency figures on the same populated store (the lead adds
// the Resolver's here: build it over `store`, then
//   print_latency("resolve (quality|speed)", measure_latency(lookups, [&](std::size_t i) { ... }), &raw);
// with the ids in `probe_models`).
void more_latency_figures(Store& store, const std::vector<std::string>& probe_models, std::size_t lookups,
                          const LatencyStats& raw) {
  // The Resolver over the same store: the stored configuration layered over
  // the catalogue preset, with the source of every value.
  const auto catalog = Catalog::load(Catalog::default_dir());
  const auto rules = inferconf::detect::load_rules(Catalog::default_dir());
  Resolver resolver(store, catalog, *rules);
  std::size_t resolved = 0;
  const LatencyStats resolve = measure_latency(lookups, [&](std::size_t i) {
    ResolveRequest request{probe_models[i % probe_models.size()], i % 2 ? "speed" : "quality", std::nullopt,
                           std::nullopt, nlohmann::json::object()};
    resolved += resolver.resolve(request).parameters.size();
  });
  const LatencyStats resolve_preset = measure_latency(lookups, [&](std::size_t i) {
    ResolveRequest request{"not-stored-" + std::to_string(i % 4096), "quality", std::string("flux_dev"),
                           std::nullopt, nlohmann::json::object()};
    resolved += resolver.resolve(request).parameters.size();
  });
  print_latency("resolve (stored configuration over preset)", resolve, &raw);
  print_latency("resolve (catalogue preset, model not stored)", resolve_preset, &raw);
  fmt::print("  (target: resolve median under 20 µs; {} parameters resolved)\n", resolved);
}
// ---------------------------------------------------------------------------

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  const fs::path dir = fs::temp_directory_path() / fmt::format("inferconf-bench-store-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);

  const auto dtos = make_presets(o.models);
  fmt::print("bench_store: SQLite store, {} models × 2 presets = {} configurations, batches of {}\n", o.models,
             dtos.size(), o.batch);
  fmt::print("files in {}\n\n", dir.string());

  // --- bulk creation ---
  const Duration raw_s = raw_bulk_insert(dir / "baseline.db", dtos, o.batch);
  auto store = inferconf::open_sqlite_store(dir / "store.db");
  store->ensure_schema();
  std::vector<std::vector<CreateDTO>> batches;  // split before timing: the copies are not the store's work
  for (std::size_t start = 0; start < dtos.size(); start += o.batch)
    batches.emplace_back(dtos.begin() + static_cast<std::ptrdiff_t>(start),
                         dtos.begin() + static_cast<std::ptrdiff_t>(std::min(dtos.size(), start + o.batch)));
  const Duration store_s = time_of([&] {
    for (const auto& batch : batches) store->create_many(batch);
  });
  const auto rate = [](std::size_t n, double s) { return static_cast<double>(n) / s; };
  fmt::print("bulk create                                        wall s    CPU s   configurations/s (CPU)\n");
  fmt::print("  {:<44} {:8.3f} {:8.3f}   {:>10.0f}   ×{:.2f} of baseline CPU   target < 3 s: {}\n",
             "store create_many", store_s.wall_s, store_s.cpu_s, rate(dtos.size(), store_s.cpu_s),
             store_s.cpu_s / raw_s.cpu_s,
             store_s.wall_s < 3.0 ? "met" : store_s.cpu_s < 3.0 ? "met in CPU time" : "MISSED");
  fmt::print("  {:<44} {:8.3f} {:8.3f}   {:>10.0f}\n", "baseline: raw SQLite INSERT, same indexes", raw_s.wall_s,
             raw_s.cpu_s, rate(dtos.size(), raw_s.cpu_s));
  fmt::print("  (load average now {}: wall time counts the time other processes had the CPUs)\n", load_average());
  if (store->count({}) != static_cast<std::int64_t>(dtos.size())) {
    fmt::print(stderr, "the store holds {} configurations, expected {}\n", store->count({}), dtos.size());
    return 1;
  }

  // --- lookups over random (model, type) ---
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::size_t> pick(0, o.models - 1);
  std::vector<std::string> probe_models(4096);
  for (auto& m : probe_models) m = model_id(pick(rng));
  const auto type_of = [](std::size_t i) { return i % 2 ? "speed" : "quality"; };
  const auto probe = [&](std::size_t i) -> const std::string& { return probe_models[i % probe_models.size()]; };

  SQLite::Database raw_db(dir / "store.db", SQLite::OPEN_READONLY);
  SQLite::Statement raw_find(raw_db,
                             "SELECT id, model_id, base_model, configuration_type, steps, cfg_scale, sampler, "
                             "scheduler, model_specific_params, created_at, updated_at, revision FROM "
                             "inference_configurations WHERE model_id = ?1 AND configuration_type = ?2");
  std::size_t found = 0;
  const LatencyStats raw = measure_latency(o.lookups, [&](std::size_t i) {
    raw_find.bindNoCopy(1, probe(i));
    raw_find.bindNoCopy(2, type_of(i));
    if (raw_find.executeStep()) {
      std::string id = raw_find.getColumn(0).getString();
      std::string params = raw_find.getColumn(8).getString();
      found += !id.empty() && !params.empty();
    }
    raw_find.reset();
  });
  const LatencyStats find = measure_latency(o.lookups, [&](std::size_t i) {
    found += store->find_by_model_and_type(probe(i), type_of(i)).has_value();
  });
  const std::string some_id = store->find_by_model_and_type(probe(0), "quality")->id;
  const LatencyStats get = measure_latency(o.lookups, [&](std::size_t) { found += store->get(some_id).has_value(); });
  const LatencyStats miss = measure_latency(o.lookups, [&](std::size_t i) {
    found += store->find_by_model_and_type(probe(i), "no-such-type").has_value();
  });

  const LatencyStats cursor =
      measure_latency(o.lookups / 10, [&](std::size_t) { found += !store->change_cursor().empty(); });

  fmt::print("\nlatency over random model ids (one thread)\n");
  print_latency("store find_by_model_and_type", find, &raw);
  print_latency("store find_by_model_and_type, no match", miss, &raw);
  print_latency("store get(id)", get, &raw);
  print_latency("store change_cursor", cursor, &raw);
  print_latency("baseline: raw SQLite SELECT, same row", raw);
  more_latency_figures(*store, probe_models, o.lookups, raw);
  fmt::print("\n(lookups that found a row: {}; store file {:.1f} MB)\n", found,
             static_cast<double>(fs::file_size(dir / "store.db")) / 1e6);

  store.reset();
  if (!o.keep) fs::remove_all(dir);
  return 0;
}
