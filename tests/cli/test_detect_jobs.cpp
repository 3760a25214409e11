// `inferconf detect --jobs N` through the real binary: over a directory of many
// generated files (valid checkpoints, LoRAs, VAEs... and every malformed case),
// stdout, stderr and the exit code are byte-identical for any number of jobs,
// in the human table and in JSON Lines.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "detect/corpus.hpp"
#include "support/run_process.hpp"

namespace fs = std::filesystem;

namespace inferconf {
namespace {

testing::ProcessResult detect(std::vector<std::string> args) {
  args.insert(args.begin(), "detect");
  return testing::run_process(testing::inferconf_binary(), args, {},
                              {{"INFERCONF_CATALOG", std::string(INFERCONF_SOURCE_DIR) + "/catalog"}}, 300);
}

class DetectJobs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = detect::testing::scratch_dir("cli-jobs");
    files = detect::testing::write_mixed_corpus(dir, 300);
    fs::create_directories(dir / "nested");
    detect::testing::write_mixed_corpus(dir / "nested", 40);
    std::ofstream(dir / "readme.txt") << "not a model";
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
  std::vector<fs::path> files;
};

TEST_F(DetectJobs, OutputAndExitCodeAreTheSameForAnyNumberOfJobs) {
  for (const std::vector<std::string>& mode : {std::vector<std::string>{}, {"--json"}, {"--json", "--recursive"}}) {
    std::string label;
    for (const auto& m : mode) label += m + " ";
    auto args = mode;
    args.push_back(dir.string());
    args.insert(args.end(), {"--jobs", "1"});
    const auto sequential = detect(args);
    EXPECT_EQ(sequential.exit_code, 1) << label << sequential.err;  // malformed files are present
    // Every file is printed: the header line + one line per file, or one JSON object per file.
    const std::size_t expected_lines = (mode.empty() ? 1 : 0) + files.size() + (mode.size() == 2 ? 40 : 0);
    std::size_t lines = 0, errors = 0;
    std::istringstream in(sequential.out);
    for (std::string l; std::getline(in, l); ++lines) {
      if (!mode.empty()) {
        errors += nlohmann::json::parse(l).contains("error");
      }
    }
    EXPECT_EQ(lines, expected_lines) << label;
    if (!mode.empty()) {
      EXPECT_EQ(errors, files.size() / 4 + (mode.size() == 2 ? 10 : 0)) << label;
    }

    for (const char* jobs : {"2", "8", ""}) {
      auto a = mode;
      a.push_back(dir.string());
      if (*jobs) a.insert(a.end(), {"--jobs", jobs});
      const auto r = detect(a);
      EXPECT_EQ(r.exit_code, sequential.exit_code) << label << "--jobs " << jobs;
      EXPECT_EQ(r.err, sequential.err) << label << "--jobs " << jobs;
      EXPECT_TRUE(r.out == sequential.out) << label << "--jobs " << jobs << ": stdout differs from --jobs 1";
    }
  }
}

TEST_F(DetectJobs, OnlyValidFilesExitZeroForAnyNumberOfJobs) {
  std::vector<std::string> valid;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i % 4 != 3) valid.push_back(files[i].string());  // write_mixed_corpus: one in four is malformed
  }
  std::string first;
  for (const char* jobs : {"1", "2", "8"}) {
    auto args = valid;
    args.insert(args.begin(), {"--json", "-j", jobs});
    const auto r = detect(args);
    EXPECT_EQ(r.exit_code, 0) << "--jobs " << jobs << ": " << r.err;
    EXPECT_EQ(r.out.find("\"error\""), std::string::npos) << "--jobs " << jobs;
    if (first.empty()) first = r.out;
    EXPECT_TRUE(r.out == first) << "--jobs " << jobs << ": stdout differs from --jobs 1";
  }
}

}  // namespace
}  // namespace inferconf
