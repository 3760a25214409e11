// Change history through the real binary: who changed what, diff, rollback
// (validated against today's catalogue), restore, prune, resolve --as-of, and
// a SIGKILL in the middle of a stream of updates and rollbacks.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace inferconf {
namespace {

const std::string kCreate = R"({"model_id":"juggernaut-xl","base_model":"sdxl","configuration_type":"quality",
  "steps":30,"cfg_scale":7.0,"sampler":"dpmpp_2m","scheduler":"karras",
  "model_specific_params":{"width":1024,"height":1024}})";

class HistoryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferconf-history-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = "sqlite:" + (dir_ / "store.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> with_db(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--db", db_});
    return args;
  }

  testing::ProcessResult run(const std::vector<std::string>& args, const std::string& stdin_text = {},
                             const std::string& catalog = std::string(INFERCONF_SOURCE_DIR) + "/catalog") {
    return testing::run_process(testing::inferconf_binary(), with_db(args), stdin_text,
                                {{"INFERCONF_CATALOG", catalog}, {"USER", "tester"}});
  }

  json run_json(const std::vector<std::string>& args, const std::string& stdin_text = {}) {
    std::vector<std::string> a = args;
    a.insert(a.begin(), "--json");
    const auto r = run(a, stdin_text);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  std::string create(const std::string& document = kCreate, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"create", "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_json(args, document)["id"].get<std::string>();
  }

  json history(const std::string& id) { return run_json({"history", id, "--all"})["items"]; }

  fs::path dir_;
  std::string db_;
};

TEST_F(HistoryCli, WritesRecordActorReasonAndTheDocumentAndDiffIsAJsonPatch) {
  const std::string id = create(kCreate, {"--actor", "alice", "--reason", "first preset"});
  ASSERT_EQ(run({"update", id, "-", "--reason", "faster"}, R"({"steps":12,"model_specific_params":{"width":832}})")
                .exit_code,
            0);
  const json h = history(id);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0]["revision"], 2);
  EXPECT_EQ(h[0]["actor"], "tester") << "the actor defaults to $USER";
  EXPECT_EQ(h[0]["reason"], "faster");
  EXPECT_EQ(h[0]["document"]["steps"], 12);
  EXPECT_EQ(h[1]["actor"], "alice");
  EXPECT_EQ(h[1]["reason"], "first preset");
  EXPECT_EQ(h[1]["operation"], "create");

  const json shown = run_json({"show", id + "@1"});
  EXPECT_EQ(shown["document"]["steps"], 30);
  const auto bad = run({"show", id});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("ID@REVISION"), std::string::npos) << bad.err;
  EXPECT_EQ(run({"show", id + "@9"}).exit_code, 3);

  const json diff = run_json({"diff", id, "1", "2"});
  EXPECT_EQ(diff["patch"], json::parse(R"([{"op":"replace","path":"/model_specific_params/width","value":832},
                                           {"op":"replace","path":"/steps","value":12}])"));
  const auto readable = run({"diff", id, "1"});
  EXPECT_EQ(readable.exit_code, 0);
  EXPECT_NE(readable.out.find("steps"), std::string::npos) << readable.out;
  EXPECT_NE(readable.out.find("832"), std::string::npos) << readable.out;

  const json by_model = run_json({"history", "--model-id", "juggernaut-xl", "--type", "quality"});
  EXPECT_EQ(by_model["items"].size(), 2u);
  EXPECT_EQ(run({"history"}).exit_code, 2);
}

TEST_F(HistoryCli, AuditFiltersAcrossConfigurations) {
  const std::string a = create(kCreate, {"--actor", "ops"});
  std::string other = kCreate;
  other.replace(other.find("juggernaut-xl"), 13, "another-model");
  create(other, {"--actor", "alice"});
  ASSERT_EQ(run({"delete", a, "--actor", "ops", "--reason", "retired"}).exit_code, 0);
  EXPECT_EQ(run_json({"audit"})["items"].size(), 3u);
  EXPECT_EQ(run_json({"audit", "--actor", "ops"})["items"].size(), 2u);
  EXPECT_EQ(run_json({"audit", "--model-id", "another-model"})["items"].size(), 1u);
  EXPECT_EQ(run_json({"audit", "--base-model", "sdxl", "--operation", "delete"})["items"].size(), 1u);
  EXPECT_EQ(run_json({"audit", "--since", "2000-01-01", "--until", "2999-01-01"})["items"].size(), 3u);
  EXPECT_EQ(run_json({"audit", "--until", "2000-01-01"})["items"].size(), 0u);
  const auto wrong = run({"audit", "--operation", "explode"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("rollback"), std::string::npos) << "the allowed operations are listed: " << wrong.err;
  EXPECT_EQ(run({"audit", "--since", "yesterday"}).exit_code, 2);
}

TEST_F(HistoryCli, RollbackToADocumentTheCatalogueNowRejectsNamesTheProblemAndWritesNothing) {
  // An older catalogue allowed 300 steps for SDXL; today's does not.
  const fs::path old_catalog = dir_ / "old-catalog";
  fs::copy(fs::path(INFERCONF_SOURCE_DIR) / "catalog", old_catalog, fs::copy_options::recursive);
  json models = json::parse(std::ifstream(old_catalog / "base_models.json"));
  for (auto& m : models["base_models"])
    if (m["id"] == "sdxl") m["constraints"]["steps"]["max"] = 300;
  std::ofstream(old_catalog / "base_models.json") << models.dump(2);

  std::string doc = kCreate;
  doc.replace(doc.find("\"steps\":30"), 10, "\"steps\":250");
  const auto created = run({"--json", "create", "-"}, doc, old_catalog.string());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = json::parse(created.out)["id"];
  ASSERT_EQ(run({"update", id, "-"}, R"({"steps":40})").exit_code, 0);
  const std::string before = run({"--json", "get", id}).out;

  const auto refused = run({"rollback", id, "--to", "1", "--reason", "back to 250"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("steps"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("250"), std::string::npos) << refused.err;
  EXPECT_EQ(run({"--json", "get", id}).out, before) << "nothing written";
  EXPECT_EQ(history(id).size(), 2u) << "no revision either";

  // Under the catalogue that allowed it, the same rollback goes through.
  const auto allowed = run({"rollback", id, "--to", "1"}, {}, old_catalog.string());
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_EQ(history(id)[0]["operation"], "rollback");
}

TEST_F(HistoryCli, TwoClientsRollingBackWithTheSameIfRevisionOneWins) {
  const std::string id = create();
  ASSERT_EQ(run({"update", id, "-"}, R"({"steps":12})").exit_code, 0);
  testing::ProcessResult first, second;
  std::thread a([&] { first = run({"rollback", id, "--to", "1", "--if-revision", "2", "--actor", "a"}); });
  std::thread b([&] { second = run({"rollback", id, "--to", "1", "--if-revision", "2", "--actor", "b"}); });
  a.join();
  b.join();
  std::vector<int> codes{first.exit_code, second.exit_code};
  std::sort(codes.begin(), codes.end());
  EXPECT_EQ(codes, (std::vector<int>{0, 4})) << first.err << second.err;
  EXPECT_EQ(history(id).size(), 3u);
}

TEST_F(HistoryCli, RestoreBringsBackADeletedConfigurationAndHonoursIfRevision) {
  const std::string id = create();
  EXPECT_EQ(run({"restore", id}).exit_code, 4) << "not deleted";
  ASSERT_EQ(run({"delete", id}).exit_code, 0);
  EXPECT_EQ(run({"get", id}).exit_code, 3);
  EXPECT_EQ(run({"restore", id, "--if-revision", "1"}).exit_code, 4);
  const json restored = run_json({"restore", id, "--if-revision", "2", "--reason", "deleted by mistake"});
  EXPECT_EQ(restored["id"], id);
  EXPECT_EQ(restored["revision"], 3);
  EXPECT_EQ(run_json({"get", id})["steps"], 30);
  EXPECT_EQ(run({"restore", "01a24f4b-0000-7000-8000-000000000000"}).exit_code, 3);
}

TEST_F(HistoryCli, PruneNeverRemovesTheCurrentRevisionAndIsAudited) {
  const std::string id = create();
  for (int steps : {20, 21, 22}) ASSERT_EQ(run({"update", id, "-"}, json{{"steps", steps}}.dump()).exit_code, 0);
  EXPECT_EQ(run({"history", "prune"}).exit_code, 2) << "a rule is required";
  EXPECT_EQ(run({"history", "prune", "--keep", "0"}).exit_code, 2);
  EXPECT_EQ(run({"history", "prune", "--older-than", "soon"}).exit_code, 2);
  const json pruned = run_json({"history", "prune", "--older-than", "0s", "--reason", "disk"});
  EXPECT_EQ(pruned["removed"], 3);
  const json h = history(id);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0]["revision"], 4);
  json current = run_json({"get", id});
  EXPECT_EQ(h[0]["document"], current) << "the current revision stays, equal to the stored document";
  const json audit = run_json({"audit", "--operation", "prune"})["items"];
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["reason"], "disk");
  EXPECT_EQ(audit[0]["details"]["removed"], 3);
}

TEST_F(HistoryCli, ResolveAsOfAnswersWithTheRevisionCurrentThen) {
  const std::string id = create();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string between = json::parse(run({"--json", "get", id}).out)["updated_at"];
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(run({"update", id, "-"}, R"({"steps":12})").exit_code, 0);
  const json then = run_json({"resolve", "--model-id", "juggernaut-xl", "--as-of", between});
  EXPECT_EQ(then["parameters"]["steps"], 30);
  EXPECT_EQ(then["revision"], 1);
  const json now = run_json({"resolve", "--model-id", "juggernaut-xl"});
  EXPECT_EQ(now["parameters"]["steps"], 12);
  const auto before = run({"--json", "resolve", "--model-id", "juggernaut-xl", "--as-of", "2000-01-01"});
  EXPECT_NE(before.exit_code, 0) << "no configuration then and no base model known: " << before.out;
  const json before_with_base =
      run_json({"resolve", "--model-id", "juggernaut-xl", "--as-of", "2000-01-01", "--base-model", "sdxl"});
  EXPECT_TRUE(before_with_base["configuration_id"].is_null()) << "the catalogue preset, not today's document";
  EXPECT_EQ(run({"resolve", "--model-id", "juggernaut-xl", "--as-of", "last week"}).exit_code, 2);
}

// Starts the binary with args and kills it with SIGKILL after `delay`
// (possibly after it finished, which is fine: then it completed).
void run_and_kill(const std::vector<std::string>& args, const std::string& stdin_text, std::chrono::microseconds delay) {
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::close(in[0]);
    ::close(in[1]);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<std::string> all{testing::inferconf_binary()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  [[maybe_unused]] const auto written = ::write(in[1], stdin_text.data(), stdin_text.size());
  ::close(in[1]);
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST_F(HistoryCli, SigkillDuringUpdatesAndRollbacksLeavesEveryChangeWithItsRevision) {
  std::vector<std::string> ids;
  for (const char* model : {"m-a", "m-b", "m-c"}) {
    std::string doc = kCreate;
    doc.replace(doc.find("juggernaut-xl"), 13, model);
    ids.push_back(create(doc));
  }
  std::mt19937 rng(20261207);
  std::uniform_int_distribution<int> delay_us(0, 60000), steps(10, 60), which(0, 2), kind(0, 3);
  const std::string catalog = std::string(INFERCONF_SOURCE_DIR) + "/catalog";
  ::setenv("INFERCONF_CATALOG", catalog.c_str(), 1);
  for (int i = 0; i < 60; ++i) {
    const std::string& id = ids[static_cast<std::size_t>(which(rng))];
    if (kind(rng) == 0) {
      run_and_kill(with_db({"rollback", id, "--to", "1", "--actor", "killer"}), {},
                   std::chrono::microseconds(delay_us(rng)));
    } else {
      run_and_kill(with_db({"update", id, "-", "--actor", "killer"}), json{{"steps", steps(rng)}}.dump(),
                   std::chrono::microseconds(delay_us(rng)));
    }
  }
  // Full dump comparison: each configuration's current document is the
  // after-document of its newest revision, and the revisions are exactly
  // 1…current (none lacks its change, no change lacks its revision).
  for (const auto& id : ids) {
    const json current = run_json({"get", id});
    const json h = history(id);
    ASSERT_FALSE(h.empty());
    EXPECT_EQ(h[0]["document"], current) << id;
    const std::int64_t rev = current["revision"];
    ASSERT_EQ(static_cast<std::int64_t>(h.size()), rev) << id;
    for (std::size_t i = 0; i < h.size(); ++i) EXPECT_EQ(h[i]["revision"], rev - static_cast<std::int64_t>(i));
  }
}

}  // namespace
}  // namespace inferconf
