// The Validator's other entry points: updates, stored documents, the thrown error.
#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"

namespace inferconf {
namespace {

const Validator& validator() {
  static const Validator v(testing::shipped_catalog());
  return v;
}

InferenceConfiguration stored(std::string sampler, std::string scheduler) {
  InferenceConfiguration c;
  c.id = new_uuid_v7();
  c.model_id = "model-1";
  c.base_model = "sdxl";
  c.configuration_type = "quality";
  c.steps = 30;
  c.cfg_scale = 7.5;
  c.sampler = std::move(sampler);
  c.scheduler = std::move(scheduler);
  c.model_specific_params = {{"width", 1024}, {"height", 1024}};
  c.created_at = c.updated_at = now_utc();
  return c;
}

TEST(Validator, ACombinedNameSuppliesAMissingScheduler) {
  CreateDTO dto{"m", "pony", "quality", 28, 7.0, "Euler a Karras", "", {}};
  const auto report = validator().validate(dto);
  EXPECT_TRUE(report.ok()) << testing::describe(report);
  EXPECT_EQ(dto.sampler, "euler_ancestral");
  EXPECT_EQ(dto.scheduler, "karras");
  ASSERT_EQ(report.normalised.size(), 2u);
  EXPECT_EQ(report.normalised[1].field, "scheduler");
}

TEST(Validator, TheScheduleNamedByACombinedSamplerMustAgree) {
  CreateDTO dto{"m", "sdxl", "quality", 30, 7.5, "DPM++ 2M Karras", "Automatic", {}};
  const auto report = validator().validate(dto);
  ASSERT_EQ(report.errors.size(), 1u) << testing::describe(report);
  EXPECT_EQ(report.errors[0].field, "scheduler");
  EXPECT_NE(report.errors[0].message.find("names the karras schedule"), std::string::npos) << report.errors[0].message;
}

TEST(Validator, UnknownNamesListWhatIsAllowed) {
  CreateDTO dto{"m", "sdxl2", "quality", 30, 7.5, "euler_b", "cosine", {}};
  const auto report = validator().validate(dto);
  ASSERT_EQ(report.errors.size(), 3u);
  EXPECT_EQ(report.errors[0].field, "base_model");
  EXPECT_EQ(report.errors[0].message,
            "is \"sdxl2\", which is not a known base model; allowed: sd_1_5, sdxl, pony, flux_dev, flux_schnell, "
            "flux_krea, wan_2_1, wan_2_2, hidream, sd3_5, flux_kontext, chroma, qwen_image, lumina_2, hunyuan_video, "
            "ltx_video, illustrious, noobai.");
  EXPECT_EQ(report.errors[1].field, "sampler");
  EXPECT_NE(report.errors[1].message.find("euler, euler_cfg_pp, euler_ancestral"), std::string::npos);
  EXPECT_NE(report.errors[1].message.find("\"Euler a\""), std::string::npos);
  EXPECT_EQ(report.errors[2].field, "scheduler");
  EXPECT_NE(report.errors[2].message.find("simple, sgm_uniform, karras"), std::string::npos);
}

TEST(Validator, VariantErrorsNameTheVariants) {
  CreateDTO dto{"m", "hidream", "quality", 28, 1.0, "lcm", "simple", {}};
  auto report = validator().validate(dto, "turbo");
  ASSERT_EQ(report.errors.size(), 1u) << testing::describe(report);
  EXPECT_EQ(report.errors[0].message, "is \"turbo\", which is not a variant of hidream; allowed: full, dev, fast.");
  report = validator().validate(dto, "dev");
  EXPECT_TRUE(report.ok());
}

TEST(Validator, VariantRangesNameTheVariant) {
  CreateDTO dto{"m", "wan_2_2", "quality", 50, 5.0, "uni_pc", "simple", {{"video_fps", 16}}};
  const auto report = validator().validate(dto, "ti2v_5b");
  ASSERT_EQ(report.errors.size(), 1u) << testing::describe(report);
  EXPECT_EQ(report.errors[0].message,
            "is 16, but wan_2_2/ti2v_5b allows only 24 (TI2V-5B generates 24 frames per second).");
}

TEST(Validator, UpdatesAreNormalisedAndTheirNamesChecked) {
  UpdateDTO u;
  u.sampler = "DPM++ 2M Karras";
  auto report = validator().validate(u);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(u.sampler, "dpmpp_2m");
  EXPECT_EQ(u.scheduler, "karras");

  UpdateDTO v;
  v.scheduler = "Exponential";
  v.steps = 5000;  // range depends on the document: checked after merging, not here
  report = validator().validate(v);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(v.scheduler, "exponential");
  ASSERT_EQ(report.normalised.size(), 1u);

  UpdateDTO w;
  w.base_model = "flux";
  w.configuration_type = "fast";
  w.sampler = "Restart";
  report = validator().validate(w);
  ASSERT_EQ(report.errors.size(), 3u);
  EXPECT_EQ(report.errors[0].field, "base_model");
  EXPECT_EQ(report.errors[1].field, "configuration_type");
  EXPECT_EQ(report.errors[2].field, "sampler");
}

TEST(Validator, StoredDocumentsMustHoldCanonicalNames) {
  EXPECT_TRUE(validator().validate(stored("dpmpp_2m", "karras")).ok());

  auto report = validator().validate(stored("euler_a", "Karras"));
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].message,
            "is the alias \"euler_a\"; stored documents hold the canonical name euler_ancestral (an update through "
            "inferconf normalises it).");
  EXPECT_EQ(report.errors[1].field, "scheduler");
  EXPECT_TRUE(report.normalised.empty());

  report = validator().validate(stored("DPM++ 2M Karras", "karras"));
  ASSERT_EQ(report.errors.size(), 1u) << testing::describe(report);
  EXPECT_NE(report.errors[0].message.find("legacy combined name"), std::string::npos);
}

TEST(Validator, StoredDocumentsAreCheckedWhole) {
  auto c = stored("dpmpp_2m", "karras");
  c.id = "not-a-uuid";
  c.revision = 0;
  c.steps = 151;
  c.model_specific_params["width"] = 4096;
  c.model_specific_params["custom_lora"] = "x.safetensors";
  c.updated_at = c.created_at - std::chrono::milliseconds(1);
  const auto report = validator().validate(c);
  std::vector<std::string> fields;
  for (const auto& e : report.errors) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"id", "revision", "updated_at", "steps", "model_specific_params.width"}));
  EXPECT_EQ(report.unknown_params, std::vector<std::string>{"custom_lora"});
}

TEST(Validator, ThrowIfInvalidCarriesEveryProblem) {
  CreateDTO dto{"m", "sdxl", "quality", 200, 40, "euler", "normal", {{"width", 1001}}};
  const auto report = validator().validate(dto);
  try {
    Validator::throw_if_invalid(report, "the configuration to create");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    EXPECT_EQ(e.field_errors(), report.errors);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("The configuration to create is invalid: steps is 200, but sdxl allows 1 to 150.", 0), 0u)
        << what;
    EXPECT_NE(what.find("cfg_scale is 40"), std::string::npos);
    EXPECT_NE(what.find("model_specific_params.width is 1001, but sdxl needs a multiple of 8; 1000 or 1008 would do."),
              std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace inferconf
