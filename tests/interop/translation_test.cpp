// Name translation and refusals: what an engine lacks fails with a clear
// error unless substitution is allowed, and a substitution is always reported.
#include <gtest/gtest.h>

#include "interop/interop_fixture.hpp"

namespace inferconf::testing {
namespace {

using json = nlohmann::json;

ExportResult run(const ResolvedParameters& r, ExportFormat f, bool allow = false) {
  ExportOptions o;
  o.allow_substitute = allow;
  o.seed = 7;
  return export_request(r, f, o, shipped_catalog(), shipped_engine_vocabulary());
}

std::string error_of(const ResolvedParameters& r, ExportFormat f, bool allow = false) {
  try {
    run(r, f, allow);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    return e.what();
  }
  return {};
}

TEST(Translation, A1111RefusesVideoArchitecturesWithAClearError) {
  for (const char* base : {"wan_2_1", "wan_2_2"})
    for (auto f : {ExportFormat::kA1111, ExportFormat::kInfotext}) {
      const auto msg = error_of(resolved_from_preset(base, "quality"), f);
      EXPECT_NE(msg.find("render still images only"), std::string::npos) << msg;
      EXPECT_NE(msg.find("Export it as comfyui or diffusers"), std::string::npos) << msg;
    }
}

TEST(Translation, ComfyUIRefusesImageToVideoVariants) {
  const auto msg = error_of(resolved_from_preset("wan_2_2", "quality", "i2v_a14b"), ExportFormat::kComfyUI);
  EXPECT_NE(msg.find("needs a start image"), std::string::npos) << msg;
}

TEST(Translation, ComfyOnlySamplerFailsWithoutAllowSubstituteAndNamesTheSubstitute) {
  auto r = resolved_from_preset("sdxl", "quality");
  r.parameters["sampler"] = "res_multistep";
  const auto msg = error_of(r, ExportFormat::kA1111);
  EXPECT_NE(msg.find("The sampler \"res_multistep\" has no equivalent in AUTOMATIC1111/Forge"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--allow-substitute"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"dpmpp_2m\""), std::string::npos) << msg;

  const auto result = run(r, ExportFormat::kA1111, true);
  EXPECT_EQ(result.body["sampler_name"], "DPM++ 2M");
  ASSERT_EQ(result.substitutions.size(), 1u);
  EXPECT_EQ(result.substitutions[0].field, "sampler");
  EXPECT_EQ(result.substitutions[0].given, "res_multistep");
  EXPECT_EQ(result.substitutions[0].used, "dpmpp_2m");
  // ComfyUI has it: no substitution there.
  EXPECT_TRUE(run(r, ExportFormat::kComfyUI).substitutions.empty());
}

TEST(Translation, SubstituteChainsEndInANameTheEngineHas) {
  auto r = resolved_from_preset("sdxl", "quality");
  r.parameters["sampler"] = "dpmpp_2s_ancestral_cfg_pp";  // -> dpmpp_2s_ancestral (A1111) -> dpmpp_sde (diffusers)
  EXPECT_EQ(run(r, ExportFormat::kA1111, true).body["sampler_name"], "DPM++ 2S a");
  const auto d = run(r, ExportFormat::kDiffusers, true);
  EXPECT_EQ(d.body["scheduler"]["class"], "DPMSolverSinglestepScheduler");
  EXPECT_EQ(d.body["scheduler"]["config"]["use_karras_sigmas"], true);
  EXPECT_EQ(d.substitutions.at(0).used, "dpmpp_sde");
}

TEST(Translation, DiffusersSchedulerTheClassCannotExpressIsRefusedOrSubstituted) {
  auto r = resolved_from_preset("sd_1_5", "speed");
  r.parameters["scheduler"] = "karras";  // Euler a has no Karras sigmas in diffusers
  const auto msg = error_of(r, ExportFormat::kDiffusers);
  EXPECT_NE(msg.find("EulerAncestralDiscreteScheduler cannot use the \"karras\" schedule"), std::string::npos) << msg;
  const auto d = run(r, ExportFormat::kDiffusers, true);
  EXPECT_EQ(d.body["scheduler"]["config"], json::object());
  EXPECT_EQ(d.substitutions.at(0).field, "scheduler");
  EXPECT_EQ(d.substitutions.at(0).used, "normal");
}

TEST(Translation, ComfyOnlySchedulerIsRefusedByA1111) {
  auto r = resolved_from_preset("sdxl", "quality");
  r.parameters["scheduler"] = "linear_quadratic";
  EXPECT_NE(error_of(r, ExportFormat::kInfotext).find("The scheduler \"linear_quadratic\" has no equivalent"),
            std::string::npos);
  EXPECT_NE(run(r, ExportFormat::kInfotext, true).text.find("Schedule type: Normal"), std::string::npos);
}

TEST(Translation, FlowModelsUseFlowSchedulersWithTheirShift) {
  const auto wan = run(resolved_from_preset("wan_2_1", "quality"), ExportFormat::kDiffusers);
  EXPECT_EQ(wan.body["scheduler"]["class"], "UniPCMultistepScheduler");
  EXPECT_EQ(wan.body["scheduler"]["config"]["flow_shift"], 5.0);
  EXPECT_EQ(wan.body["scheduler"]["config"]["prediction_type"], "flow_prediction");
  const auto flux = run(resolved_from_preset("flux_dev", "quality"), ExportFormat::kDiffusers);
  EXPECT_EQ(flux.body["scheduler"]["class"], "FlowMatchEulerDiscreteScheduler");
  EXPECT_EQ(flux.body["scheduler"]["config"]["use_dynamic_shifting"], true);
  EXPECT_EQ(flux.body["call"]["guidance_scale"], 3.5);
  // A sampler without a flow form is refused, or replaced by Euler when allowed.
  auto r = resolved_from_preset("hidream", "quality");
  r.parameters["sampler"] = "dpm_2";
  EXPECT_NE(error_of(r, ExportFormat::kDiffusers).find("flow-matching"), std::string::npos);
  EXPECT_EQ(run(r, ExportFormat::kDiffusers, true).body["scheduler"]["class"], "FlowMatchEulerDiscreteScheduler");
}

TEST(Translation, ClipSkipIsTranslatedPerEngineConvention) {
  const auto pony = resolved_from_preset("pony", "quality");  // clip_skip -2
  EXPECT_EQ(run(pony, ExportFormat::kA1111).body["override_settings"]["CLIP_stop_at_last_layers"], 2);
  EXPECT_EQ(run(pony, ExportFormat::kDiffusers).body["call"]["clip_skip"], 1);
  EXPECT_NE(run(pony, ExportFormat::kInfotext).text.find("Clip skip: 2"), std::string::npos);
  const auto sdxl = resolved_from_preset("sdxl", "quality");  // clip_skip -1: A1111 writes nothing
  EXPECT_EQ(run(sdxl, ExportFormat::kInfotext).text.find("Clip skip"), std::string::npos);
  EXPECT_FALSE(run(sdxl, ExportFormat::kDiffusers).body["call"].contains("clip_skip"));
}

TEST(Translation, WanExpertSwitchFollowsTheShiftedBoundary) {
  // 12*s/(1+11*s) >= 0.875  <=>  s >= 0.3684: steps 0..25 of 40 (s = 1 - i/40).
  EXPECT_EQ(wan_expert_switch_step(40, 12.0, 0.875), 26);
  EXPECT_EQ(wan_expert_switch_step(20, 12.0, 0.875), 13);
  EXPECT_EQ(wan_expert_switch_step(40, 1.0, 0.875), 6);  // unshifted: s >= 0.875 -> i <= 5
  EXPECT_EQ(wan_expert_switch_step(10, 5.0, 0.9), 4);    // 5s/(1+4s) >= 0.9 <=> s >= 0.6429 -> i <= 3
}

TEST(Translation, ExportFormatNames) {
  for (auto f : {ExportFormat::kComfyUI, ExportFormat::kA1111, ExportFormat::kDiffusers, ExportFormat::kInfotext})
    EXPECT_EQ(parse_export_format(to_string(f)), f);
  EXPECT_FALSE(parse_export_format("forge").has_value());
}

TEST(EngineVocabularyFile, ReportsEveryProblemWithItsPath) {
  auto j = json::parse(read_file(INFERCONF_SOURCE_DIR "/catalog/engine_vocabulary.json"));
  j["samplers"]["euler"]["a1111"] = "Euler a";            // reads back as euler_ancestral
  j["samplers"].erase("heun");                            // coverage
  j["samplers"]["dpm_fast"]["substitute"] = "dpm_faster"; // unknown name
  j["schedulers"]["karras"]["a1111"] = "Karras-ish";
  j["architectures"].erase("hidream");
  j["architectures"]["sdxl"]["comfyui"]["graph"] = "sdxl_graph";
  try {
    EngineVocabulary::from_json(j, shipped_catalog(), "test.json");
    FAIL() << "the broken vocabulary was accepted";
  } catch (const Error& e) {
    std::string all;
    for (const auto& f : e.field_errors()) all += f.field + " " + f.message + "\n";
    EXPECT_NE(all.find("test.json:samplers.euler.a1111 is \"Euler a\", which the catalogue's vocabulary reads as "
                       "\"euler_ancestral\", not euler"), std::string::npos) << all;
    EXPECT_NE(all.find("test.json:samplers.heun is missing"), std::string::npos) << all;
    EXPECT_NE(all.find("test.json:samplers.dpm_fast.substitute is \"dpm_faster\""), std::string::npos) << all;
    EXPECT_NE(all.find("test.json:schedulers.karras.a1111"), std::string::npos) << all;
    EXPECT_NE(all.find("test.json:architectures.hidream is missing"), std::string::npos) << all;
    EXPECT_NE(all.find("test.json:architectures.sdxl.comfyui.graph is \"sdxl_graph\""), std::string::npos) << all;
  }
}

// The message once said "has 0 problems": the errors had moved into the
// exception before the count was taken.
TEST(EngineVocabularyFile, TheMessageCountsTheProblemsItLists) {
  auto j = json::parse(read_file(INFERCONF_SOURCE_DIR "/catalog/engine_vocabulary.json"));
  j["architectures"]["sd3_5"]["diffusers"] = {{"supported", false}};  // a refusal without its reason
  j["architectures"]["chroma"]["diffusers"]["supported"] = "no";
  try {
    EngineVocabulary::from_json(j, shipped_catalog(), "test.json");
    FAIL() << "the broken vocabulary was accepted";
  } catch (const Error& e) {
    ASSERT_EQ(e.field_errors().size(), 2u);
    EXPECT_NE(std::string(e.what()).find("has 2 problems"), std::string::npos) << e.what();
    EXPECT_EQ(e.field_errors()[0].field, "test.json:architectures.chroma.diffusers.supported");
    EXPECT_EQ(e.field_errors()[0].message, "is \"no\", but must be true or false.");
    EXPECT_EQ(e.field_errors()[1].field, "test.json:architectures.sd3_5.diffusers.reason");
  }
}

TEST(EngineVocabularyFile, MissingFileIsUnavailable) {
  try {
    EngineVocabulary::load("/nonexistent/engine_vocabulary.json", shipped_catalog());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/engine_vocabulary.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace inferconf::testing
