// The repeated-id check of the streaming registry import (import_registry),
// on registries large enough that the ids seen no longer fit the check's
// in-memory cache and live in its temporary database file.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "inferconf/populate.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace inferconf {
namespace {

namespace fs = std::filesystem;

class RegistryImport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("inferconf-registry-import-{}-{}", getpid(), ::testing::UnitTest::GetInstance()->random_seed());
    fs::create_directories(dir_);
    store_ = open_sqlite_store(dir_ / "store.db");
    store_->ensure_schema();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Imports `jsonl`; returns the problems reported.
  std::vector<populate::ImportProblem> import(const std::string& jsonl, populate::ImportReport& report,
                                             bool dry_run) {
    std::istringstream in(jsonl);
    populate::RegistryImportOptions options;
    options.dry_run = dry_run;
    std::vector<populate::ImportProblem> problems;
    report = populate::import_registry(*store_, in, options,
                                       [&](const populate::ImportProblem& p) { problems.push_back(p); });
    return problems;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

std::string line(const std::string& id) {
  return fmt::format("{{\"id\": \"{}\", \"name\": \"model {}\", \"is_active\": true}}\n", id, id);
}

// 150 000 ids of ~40 characters (~8 MB of index, twice the check's cache),
// in random order, then three of them again: each repeat names the line
// where its id first appeared.
TEST_F(RegistryImport, RepeatsAreFoundWhenTheSeenIdsNoLongerFitInMemory) {
  constexpr std::size_t kIds = 150'000;
  std::mt19937_64 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::vector<std::string> ids;
  ids.reserve(kIds);
  for (std::size_t i = 0; i < kIds; ++i) ids.push_back(fmt::format("civitai-checkpoint-{:016x}-{:08}", rng(), i));
  std::shuffle(ids.begin(), ids.end(), rng);
  std::string jsonl;
  for (const auto& id : ids) jsonl += line(id);
  const std::size_t repeated[] = {0, kIds / 2, kIds - 1};  // 0-based: lines 1, 75 001, 150 000
  for (std::size_t k : repeated) jsonl += line(ids[k]);

  populate::ImportReport report;
  const auto problems = import(jsonl, report, /*dry_run=*/true);
  EXPECT_EQ(report.imported, static_cast<std::int64_t>(kIds));
  EXPECT_EQ(report.rejected, 3);
  ASSERT_EQ(problems.size(), 3U);
  for (std::size_t p = 0; p < 3; ++p) {
    EXPECT_EQ(problems[p].where, kIds + p + 1);
    EXPECT_EQ(problems[p].location, fmt::format("line {}", kIds + p + 1));
    EXPECT_NE(problems[p].message.find(fmt::format("id \"{}\" repeats the id of line {};", ids[repeated[p]],
                                                   repeated[p] + 1)),
              std::string::npos)
        << problems[p].message;
  }
}

// Ids are compared exactly: case, spaces and Unicode spellings are distinct
// ids (the old 64-bit fingerprints could, rarely, merge two distinct ids).
TEST_F(RegistryImport, IdsThatDifferInAnyByteAreNotRepeats) {
  const std::vector<std::string> ids = {"model", "Model", "model ", " model", "mod\u00e9l", "mode\u0301l"};
  std::string jsonl;
  for (const auto& id : ids) jsonl += line(id);
  jsonl += line("Model");
  populate::ImportReport report;
  const auto problems = import(jsonl, report, /*dry_run=*/false);
  EXPECT_EQ(report.imported, static_cast<std::int64_t>(ids.size()));
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0].where, ids.size() + 1);
  EXPECT_NE(problems[0].message.find("repeats the id of line 2;"), std::string::npos) << problems[0].message;
  for (const auto& id : ids) EXPECT_TRUE(store_->get_model(id).has_value()) << id;
}

}  // namespace
}  // namespace inferconf
