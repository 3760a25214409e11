// Name/label/metadata inference (cases/names.tsv), infer_base_model's chain,
// and the validation of the rule files.
#include <fstream>

#include <gtest/gtest.h>

#include "detect/layouts.hpp"
#include "detect/test_support.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/registry.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::detect {
namespace {

using testing::case_file;
using testing::read_tsv;
using testing::scratch_dir;

struct NameCase {
  std::string via, input, base, variant, expert;
};

const std::vector<NameCase>& name_cases() {
  static std::vector<NameCase> out;
  if (!out.empty()) return out;
  for (const auto& r : read_tsv(case_file("names.tsv"))) {
    if (r.size() != 5) throw std::runtime_error("names.tsv: row with wrong column count: " + r[0]);
    out.push_back({r[0], r[1], r[2], r[3] == "-" ? "" : r[3], r[4] == "-" ? "" : r[4]});
  }
  return out;
}

class DetectNames : public ::testing::TestWithParam<std::size_t> {};

TEST_P(DetectNames, InferredAsExpected) {
  const auto& c = name_cases()[GetParam()];
  const auto& rules = *inferconf::testing::shipped_rules();
  NameVerdict v;
  if (c.via == "name") {
    v = infer_from_name(rules, c.input);
  } else if (c.via == "label") {
    v = infer_from_label(rules, c.input);
  } else {
    v = infer_from_metadata(rules, nlohmann::json::parse(c.input)).verdict;
  }
  EXPECT_EQ(v.base_model, c.base) << c.via << " \"" << c.input << "\": " << v.reason << " [" << v.rule << "]";
  EXPECT_EQ(v.variant.value_or(""), c.variant) << c.input;
  EXPECT_EQ(v.expert.value_or(""), c.expert) << c.input;
  EXPECT_FALSE(v.reason.empty()) << c.input;  // never silent
  if (c.base == "unknown") {
    EXPECT_EQ(v.confidence == Confidence::kNone, !v.known_other) << c.input;
  }
}

INSTANTIATE_TEST_SUITE_P(detect, DetectNames, ::testing::Range<std::size_t>(0, name_cases().size()), [](const auto& info) {
  const auto& c = name_cases()[info.param];
  std::string n = c.via + "_" + std::to_string(info.param) + "_";
  for (char ch : c.input.substr(0, 40)) n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
});

TEST(DetectNameRules, CoverageOfTheCaseFile) {
  const auto cases = name_cases();
  EXPECT_GE(cases.size(), 60u);
  std::set<std::string> bases;
  int negatives = 0;
  for (const auto& c : cases) {
    bases.insert(c.base);
    if (c.base == "unknown") ++negatives;
  }
  EXPECT_EQ(bases.size(), 19u);  // the eighteen bases and unknown
  EXPECT_GE(negatives, 20);
}

TEST(DetectNameRules, Tokenizer) {
  EXPECT_EQ(tokenize_name("ponyDiffusionV6XL_v6StartWithThisOne"),
            (std::vector<std::string>{"pony", "diffusion", "v", "6", "xl", "v", "6", "start", "with", "this", "one"}));
  EXPECT_EQ(tokenize_name("SDXLRefiner"), (std::vector<std::string>{"sdxl", "refiner"}));
  EXPECT_EQ(tokenize_name("wan2.2_ti2v_5B"), (std::vector<std::string>{"wan", "2", "2", "ti", "2", "v", "5", "b"}));
  EXPECT_EQ(tokenize_name("Flux.1 D"), (std::vector<std::string>{"flux", "1", "d"}));
  EXPECT_TRUE(tokenize_name("").empty());
  EXPECT_TRUE(tokenize_name("---").empty());
}

ModelEvidence record(std::string name, std::optional<std::string> base = std::nullopt, nlohmann::json meta = nlohmann::json::object(),
                     std::optional<std::string> file = std::nullopt) {
  return ModelEvidence{"id-1", std::move(name), std::move(base), std::move(meta), std::move(file)};
}

TEST(DetectInferBaseModel, ExplicitLabelDecides) {
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("anything", "Flux.1 D"));
  EXPECT_EQ(r.base_model, "flux_dev");
  EXPECT_EQ(r.source, Source::kExplicit);
  EXPECT_EQ(r.confidence, Confidence::kHigh);
  EXPECT_TRUE(r.conflict.empty());
}

TEST(DetectInferBaseModel, MetadataThenName) {
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("my model", std::nullopt, {{"baseModel", "SDXL 1.0"}}));
  EXPECT_EQ(r.base_model, "sdxl");
  EXPECT_EQ(r.source, Source::kMetadata);
  r = infer_base_model(*inferconf::testing::shipped_rules(), record("flux1-schnell-fp8"));
  EXPECT_EQ(r.base_model, "flux_schnell");
  EXPECT_EQ(r.source, Source::kName);
}

TEST(DetectInferBaseModel, NameRefinesSdxlToPony) {
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("ponyDiffusionV6XL", "SDXL 1.0"));
  EXPECT_EQ(r.base_model, "pony");
  EXPECT_EQ(r.source, Source::kName);
  EXPECT_NE(r.detail.find("refines sdxl to pony"), std::string::npos) << r.detail;
  EXPECT_TRUE(r.conflict.empty());
}

TEST(DetectInferBaseModel, ConflictIsReportedAndConfidenceLowered) {
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("flux1-dev", "SD 1.5"));
  EXPECT_EQ(r.base_model, "sd_1_5");
  EXPECT_EQ(r.source, Source::kExplicit);
  EXPECT_EQ(r.confidence, Confidence::kMedium);
  EXPECT_NE(r.conflict.find("name \"flux1-dev\" says flux_dev"), std::string::npos) << r.conflict;
}

TEST(DetectInferBaseModel, KnownOtherModelIsUnknownWithReason) {
  // SD 3 Medium (2024) is not SD 3.5, which the catalogue has.
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("sd3_medium_incl_clips"));
  EXPECT_EQ(r.base_model, "unknown");
  EXPECT_EQ(r.source, Source::kName);
  EXPECT_NE(r.reason.find("Stable Diffusion 3"), std::string::npos) << r.reason;
  r = infer_base_model(*inferconf::testing::shipped_rules(), record("whatever", "Pony V7"));
  EXPECT_EQ(r.base_model, "unknown");
  EXPECT_NE(r.reason.find("AuraFlow"), std::string::npos);
}

TEST(DetectInferBaseModel, NothingKnownIsUnknownWithEveryReason) {
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("dreamshaper_8", "Foo Bar", {{"format", "pt"}}));
  EXPECT_EQ(r.base_model, "unknown");
  EXPECT_EQ(r.source, Source::kNone);
  EXPECT_EQ(r.confidence, Confidence::kNone);
  EXPECT_NE(r.reason.find("base_model \"Foo Bar\" is not a known label"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("no name rule matches \"dreamshaper_8\""), std::string::npos) << r.reason;
}

TEST(DetectInferBaseModel, FileHeaderDecidesWhenLabelsAreMissing) {
  const auto dir = scratch_dir("infer-file");
  const auto path = dir / "model_7731.safetensors";
  write_sparse_safetensors(path, testing::wan_dit(3072, 14336, 30, 48, 48, false));
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("My video model", std::nullopt, nlohmann::json::object(), path.string()));
  EXPECT_EQ(r.base_model, "wan_2_2");
  EXPECT_EQ(r.variant.value_or(""), "ti2v_5b");
  EXPECT_EQ(r.source, Source::kFile);
  ASSERT_TRUE(r.file.has_value());
  EXPECT_EQ(r.file->rule, "wan22_ti2v_5b");
  // The file corrects nothing silently: an explicit label that disagrees is a conflict.
  r = infer_base_model(*inferconf::testing::shipped_rules(), record("My video model", "Wan Video 14B t2v", nlohmann::json::object(), path.string()));
  EXPECT_EQ(r.base_model, "wan_2_1");
  EXPECT_NE(r.conflict.find("says wan_2_2/ti2v_5b"), std::string::npos) << r.conflict;
  // A record's display name separates the Wan 14B T2V twins.
  const auto twin = dir / "model_9.safetensors";
  write_sparse_safetensors(twin, testing::wan_dit(5120, 13824, 40, 16, 16, false));
  r = infer_base_model(*inferconf::testing::shipped_rules(), record("Wan 2.2 T2V A14B low noise", std::nullopt, nlohmann::json::object(), twin.string()));
  EXPECT_EQ(r.base_model, "wan_2_2");
  EXPECT_EQ(r.variant.value_or(""), "t2v_a14b");
  EXPECT_EQ(r.expert.value_or(""), "low_noise");
}

TEST(DetectInferBaseModel, UnreadableFileFallsBackToTheName) {
  auto r = infer_base_model(*inferconf::testing::shipped_rules(), record("hidream_i1_fast", std::nullopt, nlohmann::json::object(), "/nonexistent.safetensors"));
  EXPECT_EQ(r.base_model, "hidream");
  EXPECT_EQ(r.variant.value_or(""), "fast");
  EXPECT_EQ(r.source, Source::kName);
  ASSERT_TRUE(r.file_error.has_value());
  EXPECT_NE(r.file_error->find("cannot open"), std::string::npos);
  EXPECT_EQ(r.to_json()["source"], "name");
}

TEST(DetectInferBaseModel, RegistryRecordAdapter) {
  ModelRecord m;
  m.id = "x";
  m.name = "Juggernaut XL";
  auto r = infer_base_model_for(*inferconf::testing::shipped_rules(), m);
  EXPECT_EQ(r.base_model, "sdxl");
}

// The rule files are validated at load with precise errors.
void expect_rules_error(const std::string& file, const std::function<void(nlohmann::json&)>& edit, const std::string& contains) {
  const auto dir = scratch_dir("rules");
  for (const char* f : {"detection_rules.json", "base_model_labels.json"}) {
    std::ifstream in(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" / f);
    auto j = nlohmann::json::parse(in);
    if (file == f) edit(j);
    std::ofstream(dir / f) << j.dump(1);
  }
  try {
    (void)load_rules(dir);
    ADD_FAILURE() << "accepted; expected: " << contains;
  } catch (const ReadError& e) {
    EXPECT_EQ(e.rule(), "rules_file");
    EXPECT_NE(std::string(e.what()).find(contains), std::string::npos) << e.what();
    EXPECT_NE(e.file().find(file), std::string::npos);
  }
}

TEST(DetectRulesFiles, ShippedFilesLoad) {
  auto r = load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  ASSERT_NE(r, nullptr);
}

TEST(DetectRulesFiles, InvalidFilesGivePreciseErrors) {
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][0]["kind"] = "checkpoint"; },
                     "$.rules[0].kind: \"checkpoint\" is not one of");
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][12]["base_model"] = "sd15"; },
                     "$.rules[12].base_model: \"sd15\" is not one of");
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][12]["require"][0]["shape"][1] = -1; },
                     "$.rules[12].require[0].shape[1]: must be a non-negative integer or null");
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][1]["id"] = j["rules"][0]["id"]; }, "duplicate id");
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][0]["colour"] = 1; }, "unknown field \"colour\"");
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][0]["require"][0] = nlohmann::json::object(); },
                     "needs one of key, prefix");
  expect_rules_error("detection_rules.json", [](auto& j) { j["rules"][0]["extends"] = "nope"; }, "\"nope\" is not the id of a rule");
  expect_rules_error("base_model_labels.json", [](auto& j) { j["labels"][20]["variant"] = "t2v_99b"; },
                     "$.labels[20].variant: \"t2v_99b\" is not a variant");
  expect_rules_error("base_model_labels.json", [](auto& j) { j["labels"].push_back({{"label", "SD-1.5"}, {"base_model", "sdxl"}}); },
                     "is the same label as \"sd_1_5\" (both read \"sd 1 5\") but maps to another base model");
  expect_rules_error("base_model_labels.json", [](auto& j) { j["name_rules"][0]["any"] = nlohmann::json::array({"--"}); },
                     "has no tokens");
  expect_rules_error("base_model_labels.json", [](auto& j) { j["schema"] = "v2"; }, "$.schema: must be");
}

}  // namespace
}  // namespace inferconf::detect
