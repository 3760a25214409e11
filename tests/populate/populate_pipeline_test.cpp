// populate() writes each batch on the job's writer thread while the calling
// thread reports the batch before and infers the next one. These tests pin
// what that must not change: the report in registry order whatever the batch
// size, a failed write stopping the run with exactly the earlier batches
// committed and reported, and a cancelled run committing exactly what it
// reported.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "inferconf/catalog.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/error.hpp"
#include "inferconf/populate.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/forwarding_store.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf {
namespace {

namespace fs = std::filesystem;

// Forwards to a real store; the n-th create_missing() call (1-based) throws
// kUnavailable instead of writing. populate() reaches it through Store's
// default create_missing_for_models(). Records the thread of each write.
// What the failing call throws: the store's own kUnavailable, or an exception
// no store should throw (a library's std::runtime_error, a non-std value).
enum class Throws { kUnavailable, kRuntimeError, kNonStd };

class FailingWriteStore final : public testing::ForwardingStore {
 public:
  FailingWriteStore(Store& inner, int fail_on_call, Throws throws = Throws::kUnavailable)
      : testing::ForwardingStore(inner), fail_on_call_(fail_on_call), throws_(throws) {}

  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                   const WriteContext& context = {}) override {
    write_threads.push_back(std::this_thread::get_id());
    // Thread ids are reused once a thread is joined; a per-thread count is not.
    thread_local int writes_on_this_thread = 0;
    writes_on_thread.push_back(++writes_on_this_thread);
    if (++calls_ == fail_on_call_) {
      if (throws_ == Throws::kRuntimeError) throw std::runtime_error("a library failed inside the test store");
      if (throws_ == Throws::kNonStd) throw 42;
      throw unavailable("the test store refuses this batch");
    }
    return testing::ForwardingStore::create_missing(dtos, replace, context);
  }

  std::vector<std::thread::id> write_threads;
  std::vector<int> writes_on_thread;  // per write: how many writes its thread had made, this one included

 private:
  int fail_on_call_;
  Throws throws_;
  int calls_ = 0;
};

// Remembers every reported model, in order, and can raise the cancel flag
// when the n-th batch is reported.
class RecordingObserver final : public populate::Observer {
 public:
  void on_batch(const std::vector<populate::ModelOutcome>& batch, std::int64_t done, std::int64_t) override {
    for (const auto& m : batch) reported.push_back(m.model_id);
    batch_ends.push_back(done);
    if (cancel_after_batch > 0 && static_cast<int>(batch_ends.size()) == cancel_after_batch) cancel->store(true);
  }
  std::vector<std::string> reported;
  std::vector<std::int64_t> batch_ends;
  int cancel_after_batch = 0;
  std::atomic<bool>* cancel = nullptr;
};

class PopulatePipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("inferconf-populate-pipeline-{}-{}", getpid(), ::testing::UnitTest::GetInstance()->random_seed());
    fs::create_directories(dir_);
    store_ = open_sqlite_store(dir_ / "store.db");
    store_->ensure_schema();
    // Every eleventh model inactive, every seventh unknown to every source.
    const char* bases[] = {"sdxl", "flux_dev", "pony", "sd_1_5", "wan_2_2", "hidream"};
    for (int i = 1; i <= kModels; ++i) {
      ModelRecord m;
      m.id = fmt::format("m{:05}", i);
      m.name = fmt::format("model {}", i);
      m.is_active = i % 11 != 0;
      if (i % 7 != 0) m.base_model = bases[i % 6];
      registry_.push_back(std::move(m));
    }
    for (const auto& m : registry_)
      if (m.is_active) active_.push_back(m.id);
    store_->upsert_models(registry_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // model_id -> configuration types stored for it.
  std::map<std::string, std::vector<std::string>> stored() {
    std::map<std::string, std::vector<std::string>> out;
    store_->for_each_configuration([&](const InferenceConfiguration& c) {
      out[c.model_id].push_back(c.configuration_type);
      return true;
    });
    return out;
  }

  // The models stored configurations are expected for: every seventh model
  // has no base model in any source, so nothing is written for it.
  static std::vector<std::string> with_presets(const std::vector<std::string>& ids) {
    std::vector<std::string> out;
    for (const auto& id : ids)
      if (std::stoi(id.substr(1)) % 7 != 0) out.push_back(id);
    return out;
  }
  std::vector<std::string> committed() {
    std::vector<std::string> out;
    for (const auto& [model, types] : stored()) out.push_back(model);
    return out;
  }

  static constexpr int kModels = 300;
  const Catalog catalog_ = Catalog::load(fs::path(INFERCONF_SOURCE_DIR) / "catalog");
  const std::shared_ptr<const detect::Rules> rules_ = inferconf::testing::shipped_rules();
  fs::path dir_;
  std::unique_ptr<Store> store_;
  std::vector<ModelRecord> registry_;
  std::vector<std::string> active_;  // in id order
};

TEST_F(PopulatePipeline, ReportIsInRegistryOrderForEveryBatchSize) {
  std::map<std::string, std::vector<std::string>> first_state;
  for (std::size_t batch_size : {1, 2, 7, 64, 299, 5000}) {
    SCOPED_TRACE(fmt::format("batch size {}", batch_size));
    store_ = open_sqlite_store(dir_ / fmt::format("store-{}.db", batch_size));
    store_->ensure_schema();
    store_->upsert_models(registry_);

    populate::PopulateOptions options;
    options.batch_size = batch_size;
    RecordingObserver observer;
    const auto report = populate::populate(*store_, catalog_, *rules_, options, observer);
    EXPECT_EQ(observer.reported, active_);
    ASSERT_FALSE(observer.batch_ends.empty());
    EXPECT_EQ(observer.batch_ends.back(), static_cast<std::int64_t>(active_.size()));
    EXPECT_EQ(report.models_processed, static_cast<std::int64_t>(active_.size()));
    EXPECT_EQ(report.last_model_id, active_.back());
    EXPECT_FALSE(report.interrupted);
    EXPECT_GT(report.unknown_models, 0);
    EXPECT_EQ(report.created + report.failed + report.skipped, 2 * static_cast<std::int64_t>(active_.size()));
    const auto state = stored();
    EXPECT_EQ(committed(), with_presets(active_));
    for (const auto& [model, types] : state) EXPECT_EQ(types.size(), 2u) << model;
    if (first_state.empty()) first_state = state;
    EXPECT_EQ(state, first_state) << "the store differs from the run with batch size 1";
  }
}

TEST_F(PopulatePipeline, AFailedWriteStopsTheRunWithTheEarlierBatchesCommittedAndReported) {
  FailingWriteStore failing(*store_, 3);
  populate::PopulateOptions options;
  options.batch_size = 10;
  RecordingObserver observer;
  try {
    populate::populate(failing, catalog_, *rules_, options, observer);
    FAIL() << "populate returned although the third batch could not be written";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("refuses this batch"), std::string::npos) << e.what();
  }
  // Batches 1 and 2 (20 models) were written and reported; nothing after.
  const std::vector<std::string> first_twenty(active_.begin(), active_.begin() + 20);
  EXPECT_EQ(observer.reported, first_twenty);
  EXPECT_EQ(committed(), with_presets(first_twenty));
  // Three writes (none after the failed one), all off the calling thread.
  ASSERT_EQ(failing.write_threads.size(), 3u);
  // One writer thread for the job, not one per batch (which spread the
  // writer's page cache over several malloc arenas: 72 MB peak at 1M models).
  for (const auto& t : failing.write_threads) EXPECT_NE(t, std::this_thread::get_id());
  EXPECT_EQ(failing.writes_on_thread, (std::vector<int>{1, 2, 3}));
}

// The writer thread's guard: an exception that is not an inferconf::Error
// (std::runtime_error, or not even a std::exception) thrown by the store on
// the writer thread ends the job as a kInternal Error naming the batch, with
// exactly the earlier batches committed, instead of escaping the thread.
TEST_F(PopulatePipeline, AWriterThreadThrowingANonInferconfExceptionFailsTheJobCleanly) {
  for (Throws throws : {Throws::kRuntimeError, Throws::kNonStd}) {
    SCOPED_TRACE(throws == Throws::kRuntimeError ? "std::runtime_error" : "int");
    store_ = open_sqlite_store(dir_ / fmt::format("store-throws-{}.db", static_cast<int>(throws)));
    store_->ensure_schema();
    store_->upsert_models(registry_);
    FailingWriteStore failing(*store_, 2, throws);
    populate::PopulateOptions options;
    options.batch_size = 10;
    RecordingObserver observer;
    try {
      populate::populate(failing, catalog_, *rules_, options, observer);
      FAIL() << "populate returned although the second batch could not be written";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInternal);
      const std::string what = e.what();
      EXPECT_NE(what.find("writer thread failed unexpectedly"), std::string::npos) << what;
      EXPECT_NE(what.find(fmt::format("models {} to {}", active_[10], active_[19])), std::string::npos) << what;
      if (throws == Throws::kRuntimeError)
        EXPECT_NE(what.find("a library failed inside the test store"), std::string::npos) << what;
      else
        EXPECT_NE(what.find("not a std::exception"), std::string::npos) << what;
    }
    const std::vector<std::string> first_ten(active_.begin(), active_.begin() + 10);
    EXPECT_EQ(observer.reported, first_ten);
    EXPECT_EQ(committed(), with_presets(first_ten));
  }
}

TEST_F(PopulatePipeline, CancelCommitsExactlyWhatItReports) {
  std::atomic<bool> cancel{false};
  populate::PopulateOptions options;
  options.batch_size = 10;
  options.cancel = &cancel;
  RecordingObserver observer;
  observer.cancel = &cancel;
  observer.cancel_after_batch = 2;
  const auto report = populate::populate(*store_, catalog_, *rules_, options, observer);
  EXPECT_TRUE(report.interrupted);
  EXPECT_LT(report.models_processed, static_cast<std::int64_t>(active_.size()));
  EXPECT_EQ(report.models_processed, static_cast<std::int64_t>(observer.reported.size()));
  ASSERT_FALSE(observer.reported.empty());
  EXPECT_EQ(report.last_model_id, observer.reported.back());
  EXPECT_EQ(committed(), with_presets(observer.reported));

  // A re-run continues: everything reported is skipped, the rest created.
  RecordingObserver again;
  const auto rest = populate::populate(*store_, catalog_, *rules_, populate::PopulateOptions{}, again);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(again.reported, active_);
  EXPECT_EQ(committed(), with_presets(active_));
}

}  // namespace
}  // namespace inferconf
