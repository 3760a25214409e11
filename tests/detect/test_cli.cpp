// `inferconf detect` end to end, through a CLI::App that only has the detect
// command registered (the real main registers it the same way).
#include <sstream>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "detect/layouts.hpp"
#include "detect/test_support.hpp"
#include "inferconf/detect.hpp"

namespace inferconf::cli {
namespace {

using namespace inferconf::detect;
using namespace inferconf::detect::testing;

struct Run {
  int exit_code;
  std::string out, err;
};

Run run_detect(std::vector<std::string> args) {
  CLI::App app{"inferconf"};
  GlobalOptions opts;
  std::ostringstream out, err;
  opts.out = &out;
  opts.err = &err;
  app.add_flag("--json", opts.json, "JSON output");
  register_detect_command(app, opts);
  args.insert(args.begin(), "inferconf");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return {app.exit(e, out, err), out.str(), err.str()};
  }
  return {opts.exit_code, out.str(), err.str()};
}

class DetectCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = scratch_dir("cli");
    write_sparse_safetensors(dir / "flux1-schnell.safetensors", flux_dit(false));
    write_sparse_safetensors(dir / "sd_xl_base_1.0.safetensors", sdxl_checkpoint());
    std::filesystem::create_directories(dir / "loras" / "wan");
    write_sparse_safetensors(dir / "loras" / "wan" / "wan21_style.safetensors", lora_wan(1536));
    std::ofstream(dir / "notes.txt") << "not a model";
  }
  std::filesystem::path dir;
};

TEST_F(DetectCli, HumanOutputIsOneAlignedLinePerFile) {
  auto r = run_detect({"detect", dir.string()});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.out;  // header + 2 files (no recursion, .txt skipped)
  EXPECT_EQ(lines[0].rfind("FILE", 0), 0u);
  EXPECT_NE(lines[1].find("flux_schnell"), std::string::npos);
  EXPECT_NE(lines[2].find("sdxl"), std::string::npos);
  EXPECT_NE(lines[2].find("checkpoint"), std::string::npos);
  EXPECT_NE(lines[2].find("model.diffusion_model."), std::string::npos);
  // Aligned: the BASE column starts at the same offset on every line.
  const auto col = lines[0].find("BASE");
  EXPECT_EQ(lines[1].substr(col, 12), "flux_schnell");
  EXPECT_EQ(lines[2].substr(col, 4), "sdxl");
  EXPECT_EQ(lines[0].find("KIND"), lines[1].find("diffusion_model"));
}

TEST_F(DetectCli, JsonLinesWithEveryField) {
  auto r = run_detect({"detect", "--json", "--recursive", dir.string()});
  EXPECT_EQ(r.exit_code, kExitOk) << r.err;
  std::istringstream in(r.out);
  std::vector<nlohmann::json> objs;
  for (std::string l; std::getline(in, l);) objs.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(objs.size(), 3u);
  for (const auto& j : objs) {
    for (const char* k : {"file", "base_model", "variant", "kind", "prefix", "dtype", "parameters", "evidence"}) {
      EXPECT_TRUE(j.contains(k)) << k << " in " << j.dump();
    }
  }
  EXPECT_EQ(objs[0]["base_model"], "flux_schnell");
  EXPECT_EQ(objs[0]["dtype"], "BF16");
  EXPECT_GT(objs[0]["parameters"].get<std::uint64_t>(), 11'000'000'000u);
  EXPECT_EQ(objs[1]["kind"], "lora");
  EXPECT_EQ(objs[1]["base_model"], "wan_2_1");
  EXPECT_EQ(objs[1]["variant"], "t2v_1_3b");
  EXPECT_EQ(objs[2]["variant"], nullptr);
}

TEST_F(DetectCli, GlobalJsonFlagWorksToo) {
  auto r = run_detect({"--json", "detect", (dir / "flux1-schnell.safetensors").string()});
  EXPECT_EQ(r.exit_code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(r.out)["base_model"], "flux_schnell");
}

TEST_F(DetectCli, UnreadableFileGivesAnErrorAndNonZeroExit) {
  {
    std::ofstream bad(dir / "broken.safetensors", std::ios::binary);
    bad << std::string("\x08\0\0\0\0\0\0\0{\"a\":1} ", 16);
  }
  auto r = run_detect({"detect", "--json", dir.string(), (dir / "missing.safetensors").string()});
  EXPECT_EQ(r.exit_code, kExitFailure);
  std::istringstream in(r.out);
  std::vector<nlohmann::json> objs;
  for (std::string l; std::getline(in, l);) objs.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(objs.size(), 4u);
  EXPECT_EQ(objs[0]["error"]["rule"], "tensor_entry");
  EXPECT_EQ(objs[0]["error"]["tensor"], "a");
  EXPECT_EQ(objs[3]["error"]["rule"], "io");
  EXPECT_FALSE(objs[0].contains("base_model"));

  auto h = run_detect({"detect", (dir / "broken.safetensors").string(), (dir / "flux1-schnell.safetensors").string()});
  EXPECT_EQ(h.exit_code, kExitFailure);
  EXPECT_NE(h.out.find("error: tensor \"a\": entry must be an object, got a number [tensor_entry, tensor a]"), std::string::npos)
      << h.out;
  EXPECT_NE(h.out.find("flux_schnell"), std::string::npos);
}

TEST_F(DetectCli, MissingArgumentIsAUsageError) {
  auto r = run_detect({"detect"});
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace inferconf::cli
