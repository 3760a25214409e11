// The planner's choices on the shipped catalogue: the widest weights and the
// least offload that fit, bf16 avoided below compute capability 8.0, values
// lowered only when nothing else fits (and said so), refusals that name what
// needs how much and the smallest shipped profile that would do.
#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"
#include "inferconf/hardware_plan.hpp"

namespace inferconf {
namespace {

class Planner : public ::testing::Test {
 protected:
  static const HardwareCatalog& hardware() {
    static const HardwareCatalog h =
        HardwareCatalog::load(HardwareCatalog::file_in(testing::source_catalog_dir()), testing::shipped_catalog());
    return h;
  }
  HardwarePlan plan(const std::string& base, const std::string& variant, const HardwareProfile& profile,
                    Workload w) const {
    const auto* spec = testing::shipped_catalog().find(base);
    EXPECT_NE(spec, nullptr) << base;
    return planner_.plan(*spec, variant, profile, w);
  }
  HardwarePlan plan(const std::string& base, const std::string& variant, const std::string& profile, Workload w) const {
    const auto* p = hardware().find_profile(profile);
    EXPECT_NE(p, nullptr) << profile;
    return plan(base, variant, *p, w);
  }
  static std::string dtype_of(const HardwarePlan& p, const std::string& component) {
    for (const auto& d : p.estimate.dtypes)
      if (d.component == component) return std::string(to_string(d.dtype));
    return "absent";
  }
  static HardwareProfile inline_profile(double vram, double ram, double cc = 8.6, int count = 1) {
    HardwareProfile p;
    p.id = "inline";
    p.vram_gb = vram;
    p.system_ram_gb = ram;
    p.compute_capability = cc;
    p.count = count;
    return p;
  }
  HardwarePlanner planner_{hardware()};
};

TEST_F(Planner, AnEightyGigabyteCardRunsFluxDevAsPublished) {
  const auto p = plan("flux_dev", "", "h100_80gb", {1024, 1024});
  EXPECT_EQ(p.settings.offload, Offload::kNone);
  EXPECT_FALSE(p.settings.text_encoders_on_cpu);
  EXPECT_FALSE(p.settings.vae_tiling);
  EXPECT_EQ(dtype_of(p, "diffusion_model"), "bf16");
  EXPECT_EQ(dtype_of(p, "t5xxl"), "bf16");
  EXPECT_TRUE(p.adjustments.empty());
  EXPECT_NEAR(p.estimate.peak_vram_gb, 36.1, 0.2);
}

TEST_F(Planner, ATwentyFourGigabyteCardTakesFp8WeightsBeforeAnyOffload) {
  const auto p = plan("flux_dev", "", "consumer_24gb", {1024, 1024});
  EXPECT_EQ(dtype_of(p, "diffusion_model"), "fp8_e4m3fn");
  EXPECT_EQ(dtype_of(p, "t5xxl"), "fp8_e4m3fn");
  EXPECT_EQ(dtype_of(p, "clip_l"), "fp16") << "CLIP has no fp8 form; it keeps its narrowest";
  EXPECT_EQ(p.settings.offload, Offload::kNone);
  EXPECT_LE(p.estimate.peak_vram_gb, 24);
}

TEST_F(Planner, SdxlOnEightGigabytesOffloadsRatherThanNarrowingItsWeights) {
  const auto p = plan("sdxl", "", "consumer_8gb", {1024, 1024});
  EXPECT_EQ(dtype_of(p, "diffusion_model"), "fp16");
  EXPECT_EQ(p.settings.offload, Offload::kModel);
  EXPECT_LE(p.estimate.peak_vram_gb, 8);
  EXPECT_TRUE(p.adjustments.empty());
}

TEST_F(Planner, SdxlOnNineGigabytesMovesTheTextEncodersAndTilesTheDecode) {
  const auto p = plan("sdxl", "", inline_profile(9, 32), {1024, 1024});
  EXPECT_EQ(dtype_of(p, "diffusion_model"), "fp16");
  EXPECT_EQ(p.settings.offload, Offload::kNone);
  EXPECT_TRUE(p.settings.text_encoders_on_cpu);
  EXPECT_TRUE(p.settings.vae_tiling);
  EXPECT_LE(p.estimate.peak_vram_gb, 9);
  EXPECT_GT(p.estimate.system_ram_gb, hardware().constants().system_ram_base_gb) << "the encoders' weights are in RAM";
}

TEST_F(Planner, BelowAmpereBf16GivesWayToFp16) {
  const auto p = plan("flux_dev", "", inline_profile(48, 128, 7.5), {1024, 1024});
  for (const auto& d : p.estimate.dtypes) EXPECT_NE(d.dtype, WeightDtype::kBf16) << d.component;
  EXPECT_EQ(dtype_of(p, "diffusion_model"), "fp16");
}

TEST_F(Planner, SeveralCardsArePlannedPerCardAndSaySo) {
  const auto p = plan("sd_1_5", "", inline_profile(24, 64, 8.9, 4), {512, 512});
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("one of the 4 cards"), std::string::npos) << p.notes[0];
}

TEST_F(Planner, Wan22OnTwelveGigabytesLowersResolutionAndFramesAndSaysWhy) {
  const auto p = plan("wan_2_2", "t2v_a14b", "consumer_12gb", {1280, 720, 81});
  ASSERT_FALSE(p.adjustments.empty());
  for (const auto& a : p.adjustments) {
    EXPECT_LT(a.to, a.from) << a.parameter;
    EXPECT_NE(a.note.find("consumer_12gb"), std::string::npos) << a.note;
    EXPECT_NE(a.note.find("at 1280x720x81 frames even the leanest plan needs"), std::string::npos) << a.note;
  }
  EXPECT_EQ(p.workload.width % 16, 0);
  EXPECT_EQ(p.workload.height % 16, 0);
  EXPECT_EQ(p.workload.frames % 4, 1) << "Wan frames stay 4n+1";
  EXPECT_LE(p.estimate.peak_vram_gb, 12);
  EXPECT_LE(p.estimate.system_ram_gb, 32);
}

TEST_F(Planner, AFixedResolutionIsNeverScaledOnlyFramesAre) {
  // Wan 2.1 1.3B generates 832x480 only (the catalogue's allowed list).
  const auto p = plan("wan_2_1", "t2v_1_3b", inline_profile(5, 64), {832, 480, 161});
  ASSERT_EQ(p.adjustments.size(), 1u);
  EXPECT_EQ(p.adjustments[0].parameter, "video_frames");
  EXPECT_EQ(p.workload.width, 832);
  EXPECT_EQ(p.workload.height, 480);
}

TEST_F(Planner, TooLittleSystemRamIsRefusedWithTheNumbersAndTheSmallestProfile) {
  try {
    // Without offload the weights alone pass 12 GB; with it they need system RAM.
    plan("wan_2_2", "t2v_a14b", inline_profile(12, 8), {1280, 720, 81});
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    const std::string what = e.what();
    EXPECT_NE(what.find("wan_2_2/t2v_a14b does not fit inline even at 256x256x5 frames"), std::string::npos) << what;
    EXPECT_NE(what.find("against its 8 GB"), std::string::npos) << what;
    EXPECT_NE(what.find("The smallest shipped profile that runs it as asked is consumer_16gb"), std::string::npos)
        << what;
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "hardware");
  }
}

TEST_F(Planner, TooLittleVramIsRefusedNamingThePhaseThatNeedsIt) {
  try {
    plan("sd_1_5", "", inline_profile(1, 64), {512, 512});
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("of VRAM against the 1 GB of inline"), std::string::npos) << what;
    EXPECT_NE(what.find("The smallest shipped profile that runs it as asked is consumer_8gb"), std::string::npos)
        << what;
  }
}

TEST_F(Planner, NoShippedProfileIsSaidWhenNoneRunsIt) {
  try {
    plan("sdxl", "", inline_profile(1, 1), {2048, 2048, 1, 16});
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("No shipped profile runs it as asked."), std::string::npos) << e.what();
  }
}

TEST_F(Planner, ABaseModelWithoutAMemoryModelIsRefusedByName) {
  auto doc = testing::read_json(HardwareCatalog::file_in(testing::source_catalog_dir()));
  doc["memory_models"].erase(0);  // sd_1_5
  const auto without = HardwareCatalog::from_json(doc, testing::shipped_catalog(), "test");
  const HardwarePlanner planner(without);
  try {
    planner.plan(*testing::shipped_catalog().find("sd_1_5"), "", *without.find_profile("consumer_8gb"), {512, 512});
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    EXPECT_NE(std::string(e.what()).find("sd_1_5 has no memory model in the hardware catalogue"), std::string::npos)
        << e.what();
  }
}

TEST_F(Planner, TheEstimateGrowsWithEveryFrameAndPixel) {
  const auto* model = hardware().memory_model("wan_2_1", "");
  const RunSettings s{WeightDtype::kBf16, Offload::kModel, true, false};
  const auto small = estimate_memory(*model, hardware().constants(), 1, {832, 480, 41}, s, 8.9);
  const auto more_frames = estimate_memory(*model, hardware().constants(), 1, {832, 480, 81}, s, 8.9);
  const auto more_pixels = estimate_memory(*model, hardware().constants(), 1, {1280, 720, 41}, s, 8.9);
  EXPECT_LT(small.peak_vram_gb, more_frames.peak_vram_gb);
  EXPECT_LT(small.peak_vram_gb, more_pixels.peak_vram_gb);
  EXPECT_EQ(small.system_ram_gb, more_frames.system_ram_gb) << "system RAM holds weights, not activations";
}

}  // namespace
}  // namespace inferconf
