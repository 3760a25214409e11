// Conformance: the store shared by threads. The database, not the caller,
// decides races: exactly one creator wins, a stale writer loses, nothing is lost.
#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "store/store_conformance.hpp"
#include "store/store_test_support.hpp"

namespace inferconf::testing {
namespace {

// Runs fn(i) on n threads released together.
template <class Fn>
void race(int n, Fn fn) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace

TEST_P(StoreConformance, EightThreadsCreatingTheSameModelAndTypeOneWins) {
  std::atomic<int> created{0}, conflicts{0}, other{0};
  std::vector<std::string> ids(8), existing(8);
  race(8, [&](int i) {
    try {
      ids[static_cast<std::size_t>(i)] = store().create(make_dto("contested", "quality", "sdxl", 20 + i)).id;
      ++created;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kConflict) {
        existing[static_cast<std::size_t>(i)] = e.existing_id();
        ++conflicts;
      } else {
        ++other;
      }
    }
  });
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(store().count({}), 1);
  const auto winner = store().find_by_model_and_type("contested", "quality");
  ASSERT_TRUE(winner.has_value());
  for (int i = 0; i < 8; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (!ids[k].empty()) {
      EXPECT_EQ(ids[k], winner->id);
    }
    if (!existing[k].empty()) {
      EXPECT_EQ(existing[k], winner->id) << "the conflict names the winner";
    }
  }
}

TEST_P(StoreConformance, TwoUpdatesWithTheSameExpectedRevisionOneWinsNothingLost) {
  const auto c = store().create(make_dto("m1"));
  std::atomic<int> won{0}, stale{0};
  std::vector<int> lost;
  std::mutex mu;
  race(2, [&](int i) {
    UpdateDTO u;
    u.model_specific_params = nlohmann::json{{"writer_" + std::to_string(i), true}};
    try {
      store().update(c.id, u, 1);
      ++won;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kConflict);
      EXPECT_TRUE(e.is_revision_mismatch());
      ++stale;
      std::lock_guard lock(mu);
      lost.push_back(i);
    }
  });
  ASSERT_EQ(won.load(), 1);
  ASSERT_EQ(stale.load(), 1);
  const auto after_race = *store().get(c.id);
  EXPECT_EQ(after_race.revision, 2);
  const std::string loser = "writer_" + std::to_string(lost.at(0));
  const std::string winner = "writer_" + std::to_string(1 - lost.at(0));
  EXPECT_TRUE(after_race.model_specific_params.contains(winner));
  EXPECT_FALSE(after_race.model_specific_params.contains(loser));

  // The loser reads again and retries: both writes are kept.
  UpdateDTO retry;
  retry.model_specific_params = nlohmann::json{{loser, true}};
  const auto final_state = store().update(c.id, retry, after_race.revision);
  EXPECT_EQ(final_state.revision, 3);
  EXPECT_TRUE(final_state.model_specific_params.contains(winner));
  EXPECT_TRUE(final_state.model_specific_params.contains(loser));
  EXPECT_EQ(final_state.model_specific_params.at("width"), 1024);
}

// The retry pattern of a client: read, change, update(expected revision), again on Conflict.
TEST_P(StoreConformance, EightThreadsTimesHundredReadModifyWriteUpdatesLoseNothing) {
  const auto c = store().create(make_dto("counter"));
  constexpr int kThreads = 8;
  constexpr int kUpdates = 100;
  std::atomic<int> retries{0}, failures{0};
  race(kThreads, [&](int i) {
    const std::string key = "count_" + std::to_string(i);
    for (int n = 0; n < kUpdates; ++n) {
      for (int attempt = 0;; ++attempt) {
        const auto current = store().get(c.id);
        if (!current || attempt > 10000) {
          ++failures;
          return;
        }
        UpdateDTO u;
        u.model_specific_params = nlohmann::json{{key, current->model_specific_params.value(key, 0) + 1}};
        try {
          store().update(c.id, u, current->revision);
          break;
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kConflict || !e.is_revision_mismatch()) {
            ++failures;
            return;
          }
          ++retries;
        }
      }
    }
  });
  EXPECT_EQ(failures.load(), 0);
  const auto final_state = *store().get(c.id);
  EXPECT_EQ(final_state.revision, 1 + kThreads * kUpdates);
  for (int i = 0; i < kThreads; ++i)
    EXPECT_EQ(final_state.model_specific_params.value("count_" + std::to_string(i), -1), kUpdates);
  RecordProperty("revision_conflict_retries", retries.load());
}

TEST_P(StoreConformance, CreateMissingFromTwoThreadsCreatesEachOnce) {
  std::vector<CreateDTO> dtos;
  for (int i = 0; i < 50; ++i) {
    dtos.push_back(make_dto("shared-" + std::to_string(i), "quality"));
    dtos.push_back(make_dto("shared-" + std::to_string(i), "speed"));
  }
  std::vector<std::vector<bool>> results(2);
  race(2, [&](int i) { results[static_cast<std::size_t>(i)] = store().create_missing(dtos, false); });
  ASSERT_EQ(results[0].size(), dtos.size());
  ASSERT_EQ(results[1].size(), dtos.size());
  for (std::size_t k = 0; k < dtos.size(); ++k)
    EXPECT_NE(results[0][k], results[1][k]) << "item " << k << " must be created by exactly one caller";
  EXPECT_EQ(store().count({}), 100);
}

TEST_P(StoreConformance, ReadersAndWritersOnManyThreadsSeeConsistentRows) {
  std::vector<CreateDTO> dtos;
  for (int i = 0; i < 40; ++i) dtos.push_back(make_dto("rw-" + std::to_string(i)));
  const auto created = store().create_many(dtos);
  std::atomic<int> bad{0};
  race(6, [&](int t) {
    for (int n = 0; n < 60; ++n) {
      const auto& c = created[static_cast<std::size_t>((t * 7 + n) % 40)];
      if (t % 2 == 0) {
        UpdateDTO u;
        u.steps = 10 + n % 30;
        u.model_specific_params = nlohmann::json{{"steps_copy", 10 + n % 30}};
        store().update(c.id, u, std::nullopt);
      } else {
        const auto got = store().find_by_model_and_type(c.model_id, "quality");
        // steps and its copy are written in one update: a reader never sees half of it.
        if (!got || (got->revision > 1 && got->model_specific_params.value("steps_copy", -1) != got->steps)) ++bad;
      }
    }
  });
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace inferconf::testing
