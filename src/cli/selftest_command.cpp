// `inferconf selftest --db URI`: the seed's test_inference_config_repo.py for
// operators. Creates a uniquely named configuration, reads it back through
// every repository query, updates it, deletes it, and reports each step with
// its latency. The test configuration is removed even when a step fails.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/cli_support.hpp"

namespace inferconf::cli {

namespace {

struct Step {
  std::string name;
  bool ok = false;
  double ms = 0;
  std::string detail;
};

class SelfTest {
 public:
  explicit SelfTest(const GlobalOptions& opts) : opts_(opts) {}

  // Runs one step; a thrown Error or a false check fails it. Returns success.
  bool step(const std::string& name, const std::function<std::string()>& body) {
    Step s;
    s.name = name;
    const auto start = std::chrono::steady_clock::now();
    try {
      s.detail = body();
      s.ok = true;
    } catch (const std::exception& e) {
      s.detail = e.what();
    }
    s.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!opts_.json)
      *opts_.out << fmt::format("  {:<4} {:<32} {:>9.2f} ms  {}\n", s.ok ? "ok" : "FAIL", s.name, s.ms, s.detail);
    steps_.push_back(s);
    return s.ok;
  }

  const std::vector<Step>& steps() const { return steps_; }

 private:
  const GlobalOptions& opts_;
  std::vector<Step> steps_;
};

void check(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error(what);
}

CreateDTO test_dto(const std::string& model_id) {
  CreateDTO d;
  d.model_id = model_id;
  // A base model of its own, so find_by_base_model reads only this document
  // even on a store holding a whole platform's presets.
  d.base_model = "inferconf_selftest";
  d.configuration_type = "quality";
  d.steps = 30;
  d.cfg_scale = 7.0;
  d.sampler = "dpmpp_2m";
  d.scheduler = "karras";
  d.model_specific_params = {{"width", 1024}, {"height", 1024}, {"clip_skip", -1}};
  return d;
}

// The self-test reads back at once what it has just written. On MongoDB a
// secondary may not have it yet (inferconf uses no causally consistent
// sessions), so the test reads from the primary whatever the connection
// string prefers: the connection string without its read-preference options
// (readPreference, maxStalenessSeconds, readPreferenceTags; any case), and
// those options, for the note. Other connection strings are returned as given.
std::pair<std::string, std::vector<std::string>> with_primary_reads(const std::string& uri) {
  const bool mongo = uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://");
  const auto query = uri.find('?');
  if (!mongo || query == std::string::npos) return {uri, {}};
  std::string kept = uri.substr(0, query + 1);
  std::vector<std::string> dropped;
  bool first = true;
  for (std::size_t start = query + 1; start <= uri.size();) {
    const auto end = std::min(uri.find('&', start), uri.size());
    const std::string option = uri.substr(start, end - start);
    std::string key = option.substr(0, option.find('='));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "readpreference" || key == "maxstalenessseconds" || key == "readpreferencetags") {
      dropped.push_back(option);
    } else if (!option.empty()) {
      kept += (first ? "" : "&") + option;
      first = false;
    }
    start = end + 1;
  }
  if (first) kept.pop_back();  // no option left: no '?'
  return {kept, dropped};
}

void run_selftest(GlobalOptions& opts) {
  const std::string model_id = "inferconf-selftest-" + new_uuid_v7();
  const CreateDTO dto = test_dto(model_id);
  const auto started = std::chrono::steady_clock::now();
  GlobalOptions primary = opts;
  std::vector<std::string> dropped;
  std::tie(primary.db_uri, dropped) = with_primary_reads(opts.db_uri);
  if (!dropped.empty())
    *opts.err << fmt::format("note: the self-test reads back what it has just written, so it reads from the primary; "
                             "ignored for this test: {}\n",
                             fmt::join(dropped, "&"));
  // A store that cannot be opened throws here: nothing was written, nothing to clean up.
  std::unique_ptr<Store> store = open_store_for(primary);
  const std::string where = store->describe();
  if (!opts.json) *opts.out << fmt::format("Self-test of {} (model_id {}):\n", where, model_id);
  SelfTest test(opts);
  test.step("connect", [&] {
    return fmt::format("opened in {:.2f} ms",
                       std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  });
  test.step("check_schema", [&] {
    const auto problems = store->check_schema();
    check(problems.empty(), problems.empty() ? "" : problems.front());
    return std::string("indexes as ensure_schema makes them");
  });

  std::optional<InferenceConfiguration> created;
  bool all_ok = test.step("create", [&] {
    created = store->create(dto);
    return fmt::format("id {}", created->id);
  });
  if (all_ok) {
    const std::string id = created->id;
    auto only_ours = [&](const std::vector<InferenceConfiguration>& found) {
      check(found.size() == 1 && found.front().id == id,
            fmt::format("expected exactly the test configuration, got {} result(s)", found.size()));
      return std::string("found it");
    };
    all_ok &= test.step("get", [&] {
      auto c = store->get(id);
      check(c && *c == *created, "the configuration read back differs from the one created");
      return std::string("identical to what was created");
    });
    all_ok &= test.step("find_by_model_id", [&] { return only_ours(store->find_by_model_id(model_id)); });
    all_ok &= test.step("find_by_model_id(quality)", [&] { return only_ours(store->find_by_model_id(model_id, "quality")); });
    all_ok &= test.step("find_by_base_model", [&] { return only_ours(store->find_by_base_model(dto.base_model)); });
    all_ok &= test.step("find_by_model_and_type", [&] {
      auto c = store->find_by_model_and_type(model_id, "quality");
      check(c && c->id == id, "not found");
      return std::string("found it");
    });
    all_ok &= test.step("find_by_base_model_and_type", [&] {
      auto c = store->find_by_base_model_and_type(dto.base_model, "quality");
      check(c && c->id == id, "not found");
      return std::string("found it");
    });
    all_ok &= test.step("list", [&] {
      ConfigurationFilter f;
      f.model_id = model_id;
      return only_ours(store->list(f, 10, std::nullopt).items);
    });
    all_ok &= test.step("count", [&] {
      ConfigurationFilter f;
      f.model_id = model_id;
      const auto n = store->count(f);
      check(n == 1, fmt::format("counted {}", n));
      return std::string("1");
    });
    all_ok &= test.step("update", [&] {
      UpdateDTO u;
      u.steps = 31;
      auto c = store->update(id, u, created->revision);
      check(c.steps == 31 && c.revision == created->revision + 1, "the update was not applied");
      return fmt::format("steps 31, revision {}", c.revision);
    });
    all_ok &= test.step("update with a stale revision", [&] {
      UpdateDTO u;
      u.steps = 32;
      try {
        store->update(id, u, created->revision);
      } catch (const Error& e) {
        check(e.code() == ErrorCode::kConflict, e.what());
        return std::string("refused as expected");
      }
      throw std::runtime_error("a stale revision was accepted: optimistic concurrency is broken");
    });
  }
  // Cleanup runs whatever failed above, including a create whose outcome is
  // unknown (a dropped connection): remove whatever carries our model id.
  const bool removed = test.step("delete", [&] {
    std::size_t n = 0;
    for (const auto& c : store->find_by_model_id(model_id)) {
      store->remove(c.id, std::nullopt);
      ++n;
    }
    check(n > 0 || !created, "the test configuration was not found to delete");
    return fmt::format("removed {}", n);
  });
  all_ok &= removed;
  if (created)
    all_ok &= test.step("get after delete", [&] {
      check(!store->get(created->id), "the configuration is still there");
      return std::string("gone");
    });

  for (const auto& s : test.steps()) all_ok &= s.ok;
  if (opts.json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : test.steps())
      steps.push_back({{"step", s.name}, {"ok", s.ok}, {"ms", s.ms}, {"detail", s.detail}});
    print_json(*opts.out, {{"store", where}, {"model_id", model_id}, {"ok", all_ok}, {"steps", steps}});
  } else {
    *opts.out << (all_ok ? fmt::format("Self-test passed: {} steps.\n", test.steps().size())
                         : std::string("Self-test FAILED: see the steps marked FAIL above.\n"));
  }
  if (!all_ok) opts.exit_code = kExitFailure;
}

}  // namespace

void register_selftest_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand(
      "selftest",
      "Create, read back by every query, update and delete a test configuration, timing each step; leaves nothing "
      "behind. On MongoDB it reads from the primary, whatever the connection string's readPreference");
  cmd->callback([&opts] { run_selftest(opts); });
}

}  // namespace inferconf::cli
