// bench_history: what change history costs and how fast it reads, in one run.
//   - an update with its revision against today's update on a file of the
//     release before history (16 KiB pages, no revisions table) and against
//     one without revisions on this store's pages — raw SQLite, the statements
//     of the store's update transaction — and the store's own update() for
//     the absolute figure;
//   - the first page of the history of a configuration with 10 000 revisions;
//   - revision_as_of() on a store of --models configurations × 10 revisions;
//   - the resident memory of `inferconf serve` on that store and on one with
//     the same configurations and no history beyond their creation.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include "inferconf/store.hpp"
#include "store/latency.hpp"
#include "store/sqlite/checkpointer.hpp"
#include "store/sqlite/connection.hpp"
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

// The update transaction of the store, by hand (read, write every mutable
// column, change log, and the revision where history is kept) on one open
// file. Files are stepped in turn in one loop, so that all of them see the same
// machine, WAL sizes and checkpoints.
// Each file is opened as the store opens it (its pragmas, and its WAL
// checkpointed on a thread of its own), so that the writer's latencies are
// those the store's writers see.
class RawUpdater {
 public:
  RawUpdater(const fs::path& file, bool with_revision)
      : checkpointer_(context(file), SqliteStoreOptions{}.wal_checkpoint_bytes, sqlite::kWalFallbackBytes),
        connection_(context(file), false, &checkpointer_),
        db_(connection_.db()),
        begin_(db_, "BEGIN IMMEDIATE"),
        commit_(db_, "COMMIT"),
        read_(db_, "SELECT revision FROM inference_configurations WHERE id = ?1"),
        write_(db_,
               "UPDATE inference_configurations SET base_model = 'sdxl', configuration_type = 'quality', "
               "steps = ?2, cfg_scale = 7.0, sampler = 'dpmpp_2m', scheduler = 'karras', "
               "model_specific_params = '{\"height\":1024,\"width\":1024}', updated_at = ?3, "
               "revision = revision + 1 WHERE id = ?1"),
        log_(db_, "INSERT INTO configuration_changes (id, op) VALUES (?1, 'update')") {
    if (with_revision)
      record_.emplace(db_,
                      "INSERT INTO inference_configuration_revisions (configuration_id, revision, operation, "
                      "actor, reason, changed_at, model_id, base_model, configuration_type, steps, cfg_scale, "
                      "sampler, scheduler, model_specific_params, created_at, updated_at) SELECT id, revision, "
                      "'update', 'bench', NULL, max(updated_at, coalesce((SELECT changed_at FROM "
                      "inference_configuration_revisions ORDER BY seq DESC LIMIT 1), 0)), model_id, base_model, "
                      "configuration_type, steps, cfg_scale, sampler, scheduler, model_specific_params, created_at, "
                      "updated_at FROM inference_configurations WHERE id = ?1");
  }

  double update_us(const std::string& id, int steps) {
    const auto start = std::chrono::steady_clock::now();
    run(begin_);
    read_.bind(1, id);
    read_.executeStep();
    read_.reset();
    write_.bind(1, id);
    write_.bind(2, steps);
    write_.bind(3, to_millis_now());
    run(write_);
    log_.bind(1, id);
    run(log_);
    if (record_) {
      record_->bind(1, id);
      run(*record_);
    }
    run(commit_);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  static sqlite::StoreContext context(const fs::path& file) { return {file, std::chrono::milliseconds(5000)}; }
  static void run(SQLite::Statement& s) {
    s.exec();
    s.reset();
  }
  sqlite::Checkpointer checkpointer_;
  sqlite::Connection connection_;
  SQLite::Database& db_;
  SQLite::Statement begin_, commit_, read_, write_, log_;
  std::optional<SQLite::Statement> record_;
};

bench::LatencyStats summarise(std::vector<double> us) {
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
}

// Creates 1000 configurations in a new store file and returns their ids.
// page_size: 0 for the store's own choice, else the page size of the file
// before the store first opens it (as a file made by an earlier release).
std::vector<std::string> seed_store(const fs::path& file, int page_size) {
  if (page_size != 0) {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(fmt::format("PRAGMA page_size = {}; PRAGMA journal_mode = WAL; CREATE TABLE t (x); DROP TABLE t",
                        page_size));
  }
  auto store = open_sqlite_store(file);
  store->ensure_schema();
  std::vector<CreateDTO> batch;
  for (std::size_t i = 0; i < 1000; ++i) batch.push_back(dto(fmt::format("model-{:06}", i)));
  std::vector<std::string> ids;
  for (const auto& c : store->create_many(batch)) ids.push_back(c.id);
  return ids;
}

// The layout of the release before history: 16 KiB pages, no revisions.
void drop_history(const fs::path& file) {
  SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
  db.exec("DROP TABLE inference_configuration_revisions");
}

// Starts `inferconf serve` on a store, waits until it listens, sends it a few
// resolve requests and returns its resident set (VmRSS, kB). The server reads
// every configuration into its index at start; history must not be part of it.
long serve_resident_kb(const fs::path& db, const std::vector<std::string>& models) {
  int err_pipe[2];
  if (pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
  const std::string uri = "sqlite:" + db.string();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    close(err_pipe[0]);
    execl(INFERCONF_BINARY, INFERCONF_BINARY, "--db", uri.c_str(), "serve", "--listen", "127.0.0.1:0",
          "--threads", "1", "--log-format", "none", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err_pipe[1]);
  std::string err;
  char buffer[512];
  unsigned short port = 0;
  while (port == 0) {
    const ssize_t n = read(err_pipe[0], buffer, sizeof buffer);
    if (n <= 0) break;
    err.append(buffer, static_cast<std::size_t>(n));
    if (const auto at = err.find("listening on http://127.0.0.1:"); at != std::string::npos) {
      const auto end = err.find('\n', at);
      if (end != std::string::npos) port = static_cast<unsigned short>(std::stoi(err.substr(at + 30, end - at - 30)));
    }
  }
  // The read end stays open until the server is gone: a write to a closed
  // pipe would kill it with SIGPIPE.
  if (port == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(err_pipe[0]);
    throw std::runtime_error("inferconf serve did not start: " + err);
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(models.size(), 200); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const std::string body = fmt::format(R"({{"model_id":"{}","configuration_type":"quality"}})", models[i]);
      const std::string request = fmt::format(
          "POST /v1/resolve HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
          "{}\r\nConnection: close\r\n\r\n{}",
          body.size(), body);
      if (write(fd, request.data(), request.size()) > 0)
        while (read(fd, buffer, sizeof buffer) > 0) {
        }
    }
    close(fd);
  }
  long rss_kb = -1;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) rss_kb = std::stol(line.substr(6));
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  close(err_pipe[0]);
  return rss_kb;
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
  const std::vector<std::string> ids = seed_store(dir / "store.db", 0);
  const std::vector<std::string> before_ids = seed_store(dir / "before.db", 16384);
  drop_history(dir / "before.db");
  const std::vector<std::string> plain_ids = seed_store(dir / "plain.db", 0);
  drop_history(dir / "plain.db");
  {
    RawUpdater before(dir / "before.db", false), plain(dir / "plain.db", false), recorded(dir / "store.db", true);
    std::vector<double> before_us, plain_us, recorded_us;
    for (std::size_t i = 0; i < updates + updates / 5; ++i) {
      const int steps = static_cast<int>(10 + i % 40);
      const double a = before.update_us(before_ids[i % before_ids.size()], steps);
      const double b = plain.update_us(plain_ids[i % plain_ids.size()], steps);
      const double c = recorded.update_us(ids[i % ids.size()], steps);
      if (i < updates / 5) continue;  // warm-up
      before_us.push_back(a);
      plain_us.push_back(b);
      recorded_us.push_back(c);
    }
    const auto baseline = summarise(before_us), same_layout = summarise(plain_us), with_revision = summarise(recorded_us);
    fmt::print("update latency, 1000 configurations, {} updates of each file in turn:\n", updates);
    bench::print_latency("update, release before history (baseline)", baseline);
    bench::print_latency("update + its revision (this store)", with_revision, &baseline);
    fmt::print("  ratio p99: x{:.2f} (target <= 1.25 for median and p99)\n", with_revision.p99_us / baseline.p99_us);
    bench::print_latency("same pages, no revision table", same_layout, &baseline);
    fmt::print("  the revision's own cost on the same pages: median x{:.2f}, p99 x{:.2f}\n",
               with_revision.median_us / same_layout.median_us, with_revision.p99_us / same_layout.p99_us);
  }
  {
    auto store = open_sqlite_store(dir / "store.db");
    UpdateDTO u;
    const auto stats = bench::measure_latency(updates, [&](std::size_t i) {
      u.steps = static_cast<int>(10 + i % 40);
      store->update(ids[i % ids.size()], u, std::nullopt, WriteContext{"bench", std::nullopt});
    });
    bench::print_latency("Store::update (with revision)", stats);

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

    // The same configurations with one revision each: serve's memory must not
    // depend on how much history the store keeps.
    auto fresh = open_sqlite_store(dir / "fresh.db");
    fresh->ensure_schema();
    fresh->create_many(batch);
    std::vector<std::string> model_ids;
    for (const auto& d : batch) model_ids.push_back(d.model_id);
    const long with_history = serve_resident_kb(dir / "asof.db", model_ids);
    const long without = serve_resident_kb(dir / "fresh.db", model_ids);
    fmt::print("serve resident memory, {} configurations: {:.1f} MB with 10 revisions each, {:.1f} MB with 1 (x{:.2f})\n",
               models, static_cast<double>(with_history) / 1024, static_cast<double>(without) / 1024,
               static_cast<double>(with_history) / static_cast<double>(without));
  }
  fs::remove_all(dir);
  return 0;
}
