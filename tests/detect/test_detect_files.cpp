// detect_files(): many files on worker threads, results in input order on the
// calling thread, identical to the sequential loop for any number of jobs and
// any window; an exception stops the run after the files before it.
#include <set>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "detect/corpus.hpp"
#include "detect/test_support.hpp"
#include "inferconf/detect.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::detect {
namespace {

using testing::scratch_dir;
using testing::write_mixed_corpus;

// One line per result, everything the CLI prints from it.
std::string describe(const FileResult& r) {
  return r.file.string() + "\t" + (r.ok() ? r.classification().to_json().dump() : "error " + r.error().to_json().dump());
}

class DetectFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(scratch_dir("detect-files"));
    files_ = new std::vector<std::filesystem::path>(write_mixed_corpus(*dir_, 400));
    files_->push_back(*dir_ / "missing.safetensors");  // an io error
    files_->push_back(*dir_);                          // a directory: not a regular file
    expected_ = new std::vector<std::string>();
    for (const auto& f : *files_) expected_->push_back(describe(detect_file(*inferconf::testing::shipped_rules(), f)));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
    delete files_;
    delete expected_;
  }

  // Runs detect_files and checks the order, the thread and every result.
  static void expect_sequential_results(DetectFilesOptions o, const std::string& label) {
    std::vector<std::string> got;
    std::size_t out_of_order = 0, other_thread = 0;
    const auto caller = std::this_thread::get_id();
    detect_files(
        *inferconf::testing::shipped_rules(), *files_,
        [&](std::size_t index, FileResult&& r) {
          out_of_order += index != got.size();
          other_thread += std::this_thread::get_id() != caller;
          got.push_back(describe(r));
        },
        o);
    EXPECT_EQ(out_of_order, 0u) << label;
    EXPECT_EQ(other_thread, 0u) << label;
    ASSERT_EQ(got.size(), expected_->size()) << label;
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], (*expected_)[i]) << label << ", file " << i;
  }

  static std::filesystem::path* dir_;
  static std::vector<std::filesystem::path>* files_;
  static std::vector<std::string>* expected_;
};
std::filesystem::path* DetectFiles::dir_ = nullptr;
std::vector<std::filesystem::path>* DetectFiles::files_ = nullptr;
std::vector<std::string>* DetectFiles::expected_ = nullptr;

TEST_F(DetectFiles, TheCorpusMixesVerdictsAndReadErrors) {
  std::set<std::string> bases, rules;
  for (const auto& f : *files_) {
    const auto r = detect_file(*inferconf::testing::shipped_rules(), f);
    if (r.ok()) {
      bases.insert(r.classification().base_model);
    } else {
      rules.insert(r.error().rule());
    }
  }
  EXPECT_GE(bases.size(), 6u);
  EXPECT_GE(rules.size(), 25u);  // the malformed table's rules, io included
  EXPECT_TRUE(rules.count("io"));
}

TEST_F(DetectFiles, InputOrderAndSequentialResultsForAnyNumberOfJobs) {
  for (unsigned jobs : {1u, 2u, 3u, 8u, 16u}) expect_sequential_results({jobs, 0}, "jobs " + std::to_string(jobs));
  expect_sequential_results({}, "default jobs");
}

// A small window makes workers wait for the caller all the time; a window
// smaller than the number of jobs is raised to it.
TEST_F(DetectFiles, InputOrderWithASmallWindow) {
  for (std::size_t window : {1u, 2u, 7u}) {
    for (unsigned jobs : {2u, 4u, 8u}) {
      expect_sequential_results({jobs, window}, "jobs " + std::to_string(jobs) + ", window " + std::to_string(window));
    }
  }
}

// Run under ASan in CI; repeated so that a race in the hand-over has many
// chances to show as a wrong order, a lost result or a hang.
TEST_F(DetectFiles, RepeatedParallelRunsGiveTheSameResults) {
  for (int round = 0; round < 15; ++round) {
    expect_sequential_results({8, round % 2 == 0 ? std::size_t{8} : std::size_t{0}}, "round " + std::to_string(round));
  }
}

TEST_F(DetectFiles, AnExceptionFromTheCallbackStopsAfterItsFileAndPropagates) {
  for (unsigned jobs : {1u, 2u, 8u}) {
    std::vector<std::size_t> seen;
    try {
      detect_files(
          *inferconf::testing::shipped_rules(), *files_,
          [&](std::size_t index, FileResult&&) {
            seen.push_back(index);
            if (index == 37) throw std::runtime_error("stop at 37");
          },
          {jobs, 4});
      ADD_FAILURE() << "jobs " << jobs << ": the exception was not propagated";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "stop at 37");
    }
    ASSERT_EQ(seen.size(), 38u) << "jobs " << jobs;
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i);
  }
}

// A file whose reading throws something that is not a ReadError (a reader
// meeting std::bad_alloc, say) on a worker thread: before the guard the
// exception stopped the whole run (and, had it left the thread, the process).
// Now it is that file's error, naming the file and the exception, and every
// other file is still read and delivered in order.
TEST_F(DetectFiles, AReaderThrowingANonReadErrorOnAWorkerBecomesThatFilesErrorAndTheRunGoesOn) {
  const auto& failing = (*files_)[37];
  for (unsigned jobs : {1u, 2u, 8u}) {
    DetectFilesOptions options{jobs, 4};
    options.detect = [&](const Rules& rules, const std::filesystem::path& file) {
      if (file == failing) throw std::runtime_error("the allocator gave up");
      return detect_file(rules, file);
    };
    std::vector<std::string> got;
    detect_files(*inferconf::testing::shipped_rules(), *files_, [&](std::size_t, FileResult&& r) { got.push_back(describe(r)); }, options);
    ASSERT_EQ(got.size(), files_->size()) << "jobs " << jobs;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (i == 37) continue;
      EXPECT_EQ(got[i], (*expected_)[i]) << "jobs " << jobs << ", file " << i;
    }
    EXPECT_NE(got[37].find(failing.string()), std::string::npos) << got[37];
    EXPECT_NE(got[37].find("\"rule\":\"unexpected\""), std::string::npos) << got[37];
    EXPECT_NE(got[37].find("the allocator gave up"), std::string::npos) << got[37];
  }
}

TEST_F(DetectFiles, NoFilesMeansNoCallAndFewFilesManyJobsIsFine) {
  std::size_t calls = 0;
  detect_files(*inferconf::testing::shipped_rules(), {}, [&](std::size_t, FileResult&&) { ++calls; }, {8, 0});
  EXPECT_EQ(calls, 0u);
  const std::vector<std::filesystem::path> three(files_->begin(), files_->begin() + 3);
  std::vector<std::string> got;
  detect_files(*inferconf::testing::shipped_rules(), three, [&](std::size_t, FileResult&& r) { got.push_back(describe(r)); }, {64, 0});
  EXPECT_EQ(got, std::vector<std::string>(expected_->begin(), expected_->begin() + 3));
}

TEST(DetectFilesJobs, DefaultIsTheHardwareConcurrencyAndAtLeastOne) {
  EXPECT_EQ(default_jobs(), std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace inferconf::detect
