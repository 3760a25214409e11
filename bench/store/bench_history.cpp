// bench_history: what change history costs and how fast it reads, in one run.
//   - an update with its revision vs the same update without it (raw SQLite,
//     the statements of the store's update transaction, on the same schema),
//     and the store's own update() for the absolute figure;
//   - the first page of the history of a configuration with 10 000 revisions;
//   - revision_as_of() on a store of --models configurations × 10 revisions.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include "inferconf/store.hpp"
#include "store/latency.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace fs = std::filesystem;
using namespace inferconf;

std::int64_t to_millis_now();

namespace {

CreateDTO dto(const std::string& model_id) {
  CreateDTO d;
  d.model_id = model_id;
  d.base_model = "sdxl";
  d.configuration_type = "quality";
  d.steps = 30;
  d.cfg_scale = 7.0;
  d.sampler = "dpmpp_2m";
  d.scheduler = "karras";
  d.model_specific_params = {{"width", 1024}, {"height", 1024}};
  return d;
}

// The update transaction of the store, by hand: read, write, change log,
// and for every other call the revision row too. Alternating the two in one
// loop gives both the same WAL size, checkpoints and cache.
struct RawLatencies {
  bench::LatencyStats plain, recorded;
};

RawLatencies raw_updates(const fs::path& file, const std::vector<std::string>& ids, std::size_t n) {
  SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  SQLite::Statement begin(db, "BEGIN IMMEDIATE"), commit(db, "COMMIT");
  SQLite::Statement read(db, "SELECT revision FROM inference_configurations WHERE id = ?1");
  SQLite::Statement write(db,
                          "UPDATE inference_configurations SET steps = ?2, updated_at = ?3, revision = revision + 1 "
                          "WHERE id = ?1");
  SQLite::Statement log(db, "INSERT INTO configuration_changes (id, op) VALUES (?1, 'update')");
  SQLite::Statement record(db,
                           "INSERT INTO inference_configuration_revisions (configuration_id, revision, operation, "
                           "actor, reason, changed_at, model_id, base_model, configuration_type, steps, cfg_scale, "
                           "sampler, scheduler, model_specific_params, created_at, updated_at) SELECT id, revision, "
                           "'update', 'bench', NULL, updated_at, model_id, base_model, configuration_type, steps, "
                           "cfg_scale, sampler, scheduler, model_specific_params, created_at, updated_at FROM "
                           "inference_configurations WHERE id = ?1");
  std::vector<double> plain_us, recorded_us;
  for (std::size_t i = 0; i < 2 * n + n / 5; ++i) {
    const bool with_revision = i % 2 == 1;
    const std::string& id = ids[i % ids.size()];
    const auto start = std::chrono::steady_clock::now();
    begin.exec();
    begin.reset();
    read.bind(1, id);
    read.executeStep();
    read.reset();
    write.bind(1, id);
    write.bind(2, static_cast<int>(10 + i % 40));
    write.bind(3, to_millis_now());
    write.exec();
    write.reset();
    log.bind(1, id);
    log.exec();
    log.reset();
    if (with_revision) {
      record.bind(1, id);
      record.exec();
      record.reset();
    }
    commit.exec();
    commit.reset();
    if (i < n / 5) continue;  // warm-up
    (with_revision ? recorded_us : plain_us)
        .push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  const auto summarise = [](std::vector<double> us) {
    std::sort(us.begin(), us.end());
    bench::LatencyStats s;
    s.calls = us.size();
    if (us.empty()) return s;
    s.median_us = us[us.size() / 2];
    s.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    double total = 0;
    for (double v : us) total += v;
    s.mean_us = total / static_cast<double>(us.size());
    return s;
  };
  return {summarise(plain_us), summarise(recorded_us)};
}

}  // namespace

std::int64_t to_millis_now() { return now_utc().time_since_epoch().count(); }

int main(int argc, char** argv) {
  std::size_t models = 20000, updates = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--models") models = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--updates") updates = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      fmt::print(stderr, "usage: bench_history [--models N] [--updates N]\n");
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / fmt::format("inferconf-bench-history-{}", ::getpid());
  fs::create_directories(dir);
  std::vector<std::string> ids;
  {
    auto store = open_sqlite_store(dir / "store.db");
    store->ensure_schema();
    std::vector<CreateDTO> batch;
    for (std::size_t i = 0; i < 1000; ++i) batch.push_back(dto(fmt::format("model-{:06}", i)));
    for (const auto& c : store->create_many(batch)) ids.push_back(c.id);
  }
  fmt::print("update latency, 1000 configurations, {} updates each way:\n", updates);
  const auto raw = raw_updates(dir / "store.db", ids, updates);
  const auto& plain = raw.plain;
  const auto& recorded = raw.recorded;
  bench::print_latency("update, no revision (baseline)", plain);
  bench::print_latency("update + its revision", recorded, &plain);
  fmt::print("  ratio p99: ×{:.2f} (target <= 1.25 for median and p99)\n", recorded.p99_us / plain.p99_us);
  {
    auto store = open_sqlite_store(dir / "store.db");
    UpdateDTO u;
    const auto stats = bench::measure_latency(updates, [&](std::size_t i) {
      u.steps = static_cast<int>(10 + i % 40);
      store->update(ids[i % ids.size()], u, std::nullopt, WriteContext{"bench", std::nullopt});
    });
    bench::print_latency("Store::update (with revision)", stats, &plain);

    const std::string& hot = ids.front();
    for (int i = 0; i < 10000; ++i) {
      u.steps = 10 + i % 40;
      store->update(hot, u, std::nullopt, WriteContext{"bench", std::nullopt});
    }
    const auto page = bench::measure_latency(2000, [&](std::size_t) { store->revisions(hot, 50, std::nullopt); });
    bench::print_latency("first page (50) of 10 000+ revisions", page);
  }
  {
    auto store = open_sqlite_store(dir / "asof.db");
    store->ensure_schema();
    std::vector<CreateDTO> batch;
    for (std::size_t i = 0; i < models; ++i) batch.push_back(dto(fmt::format("model-{:07}", i)));
    const auto created = store->create_many(batch);
    const Timestamp middle = now_utc();
    UpdateDTO u;
    for (int round = 0; round < 9; ++round)
      for (const auto& c : created) {
        u.steps = 10 + round;
        store->update(c.id, u, std::nullopt, WriteContext{"bench", std::nullopt});
      }
    const auto asof = bench::measure_latency(20000, [&](std::size_t i) {
      store->revision_as_of(batch[i % batch.size()].model_id, "quality", middle);
    });
    bench::print_latency(fmt::format("revision_as_of, {} configurations × 10", models), asof);
  }
  fs::remove_all(dir);
  return 0;
}
