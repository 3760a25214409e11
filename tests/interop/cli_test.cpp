// End to end through the real binary and a real SQLite store: `export` gives
// what the library gives, refusals exit 2 with the reason, and infotext
// exported by one command imports back through `import-infotext`.
#include <unistd.h>

#include <gtest/gtest.h>

#include "interop/interop_fixture.hpp"
#include "interop/png_builder.hpp"
#include "support/run_process.hpp"

namespace inferconf::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class ExportCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferconf_export_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(cli({"init"}).exit_code, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessResult cli(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {"--db", "sqlite:" + (dir_ / "db.sqlite").string(), "--catalog",
                               std::string(INFERCONF_SOURCE_DIR "/catalog")});
    return run_process(inferconf_binary(), args, input);
  }

  fs::path dir_;
};

TEST_F(ExportCli, ComfyUIExportIsTheLibrarysGraph) {
  const auto r = cli({"export", "--model-id", "m1", "--base-model", "wan_2_2", "--format", "comfyui", "--seed", "9",
                      "--prompt", "a red kite over the sea", "--negative-prompt", "static"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExportOptions o;
  o.seed = 9;
  o.prompt = "a red kite over the sea";
  o.negative_prompt = "static";
  const auto expected = export_request(resolved_from_preset("wan_2_2", "quality"), ExportFormat::kComfyUI, o,
                                       shipped_catalog(), shipped_engine_vocabulary());
  EXPECT_EQ(json::parse(r.out), expected.body);
}

TEST_F(ExportCli, A1111RefusesVideoWithExitCode2) {
  const auto r = cli({"export", "--model-id", "m1", "--base-model", "wan_2_1", "--format", "a1111"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("render still images only"), std::string::npos) << r.err;
}

TEST_F(ExportCli, UntranslatableSamplerNeedsAllowSubstitute) {
  const json dto = {{"model_id", "m2"}, {"base_model", "sdxl"}, {"configuration_type", "quality"}, {"steps", 30},
                    {"cfg_scale", 6.0}, {"sampler", "res_multistep"}, {"scheduler", "karras"},
                    {"model_specific_params", {{"width", 1024}, {"height", 1024}}}};
  ASSERT_EQ(cli({"create", "-"}, dto.dump()).exit_code, 0);
  auto r = cli({"export", "--model-id", "m2", "--format", "a1111"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("\"res_multistep\" has no equivalent in AUTOMATIC1111/Forge"), std::string::npos) << r.err;
  r = cli({"export", "--model-id", "m2", "--format", "a1111", "--allow-substitute"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["sampler_name"], "DPM++ 2M");
  EXPECT_NE(r.err.find("substituted: sampler \"res_multistep\" -> \"dpmpp_2m\""), std::string::npos) << r.err;
}

TEST_F(ExportCli, ExportedInfotextImportsAndApplies) {
  auto r = cli({"export", "--model-id", "m3", "--base-model", "pony", "--format", "infotext", "--prompt", "1girl"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Clip skip: 2"), std::string::npos);
  const auto png = dir_ / "pony.png";
  write_file(png, png_with({text_chunk("parameters", r.out)}));
  auto imported = cli({"import-infotext", "--model-id", "m3", "--base-model", "pony", png.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const auto dto = json::parse(imported.out);
  EXPECT_EQ(dto["sampler"], "euler_ancestral");
  EXPECT_EQ(dto["model_specific_params"]["clip_skip"], -2);
  EXPECT_EQ(dto["model_specific_params"]["prompt_prefix"], "score_9, score_8_up, score_7_up, ");
  // From standard input, and stored with --apply.
  auto applied = cli({"import-infotext", "--model-id", "m3", "--base-model", "pony", "--apply", "-"}, r.out);
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(applied.out.find("created"), std::string::npos) << applied.out;
  auto resolved = cli({"--json", "resolve", "--model-id", "m3"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  EXPECT_TRUE(json::parse(resolved.out).contains("configuration_id")) << resolved.out;
}

TEST_F(ExportCli, MalformedPngIsAClearError) {
  auto bytes = png_with({text_chunk("parameters", "x\nSteps: 1, Sampler: Euler, CFG scale: 1")});
  bytes[bytes.find("tEXt") + 6] ^= 1;
  const auto png = dir_ / "broken.png";
  write_file(png, bytes);
  const auto r = cli({"import-infotext", "--base-model", "sdxl", png.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("broken.png: the tEXt chunk at byte 33 has CRC"), std::string::npos) << r.err;
}

TEST_F(ExportCli, DiffusersPythonSnippet) {
  const auto r = cli({"export", "--model-id", "m4", "--base-model", "flux_schnell", "--format", "diffusers", "--python"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("# Generated by inferconf", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("from diffusers import FluxPipeline, FlowMatchEulerDiscreteScheduler"), std::string::npos);
  EXPECT_NE(r.out.find("num_inference_steps=4,"), std::string::npos);
  EXPECT_NE(r.out.find("max_sequence_length=256,"), std::string::npos);
}

TEST_F(ExportCli, WanTwoExpertsTakeFileAndFile2AndSayWhatIsMissing) {
  auto r = cli({"export", "--model-id", "m5", "--base-model", "wan_2_2", "--format", "diffusers", "--python", "--file",
                "high.safetensors", "--file-2", "low.safetensors"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("transformer = WanTransformer3DModel.from_single_file(\n    \"high.safetensors\","),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("transformer_2 = WanTransformer3DModel.from_single_file(\n    \"low.safetensors\","),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("pipe = WanPipeline.from_pretrained(\n    \"Wan-AI/Wan2.2-T2V-A14B-Diffusers\",\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("WanPipeline.from_single_file"), std::string::npos) << r.out;

  r = cli({"export", "--model-id", "m5", "--base-model", "wan_2_2", "--format", "diffusers", "--checkpoint",
           "high.safetensors"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("the file of low_noise (transformer_2) is missing"), std::string::npos) << r.err;

  r = cli({"export", "--model-id", "m5", "--base-model", "wan_2_2", "--format", "comfyui", "--file-2", "low.safetensors"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--file-2 \"low.safetensors\""), std::string::npos) << r.err;
}

TEST_F(ExportCli, RegistryRecordSuppliesBothExpertFiles) {
  const auto registry = dir_ / "models.jsonl";
  write_file(registry,
             json{{"id", "wan22-a14b"}, {"name", "Wan 2.2 A14B"}, {"is_active", true}, {"base_model", "wan_2_2"},
                  {"file_path", "/models/wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors"},
                  {"metadata", {{"expert", "high_noise"},
                                {"expert_files", {{"low_noise", "/models/wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors"}}}}}}
                     .dump() +
                 "\n" +
                 json{{"id", "wan22-high-only"}, {"name", "Wan 2.2 high only"}, {"is_active", true},
                      {"base_model", "wan_2_2"}, {"file_path", "/models/wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors"},
                      {"metadata", json::object()}}
                     .dump() +
                 "\n");
  ASSERT_EQ(cli({"models", "import", registry.string()}).exit_code, 0);
  auto r = cli({"export", "--model-id", "wan22-a14b", "--format", "diffusers"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto body = json::parse(r.out);
  EXPECT_EQ(body["components"]["transformer"]["file"], "wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors");
  EXPECT_EQ(body["components"]["transformer_2"]["file"], "wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors");
  r = cli({"export", "--model-id", "wan22-high-only", "--format", "diffusers"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("the file of low_noise (transformer_2) is missing (1 given: high_noise)"), std::string::npos)
      << r.err;
  r = cli({"export", "--model-id", "wan22-high-only", "--format", "diffusers", "--file-2", "low.safetensors"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["components"]["transformer_2"]["file"], "low.safetensors");
}

}  // namespace
}  // namespace inferconf::testing
