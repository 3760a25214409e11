// populate's per-model decision, without a store: the base model and its
// evidence, the preset of each type, and how a written preset is reported.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "inferconf/catalog.hpp"
#include "populate/model_plan.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::populate {
namespace {

class ModelPlanTest : public ::testing::Test {
 protected:
  ModelPlan plan(const ModelRecord& m, const std::vector<std::string>& types = {"quality", "speed"}) {
    return plan_model(catalog_, *inferconf::testing::shipped_rules(), templates_, types, m);
  }

  static ModelRecord record(std::string id, std::optional<std::string> base_model) {
    ModelRecord m;
    m.id = std::move(id);
    m.name = m.id;
    m.base_model = std::move(base_model);
    return m;
  }

  const Catalog catalog_ = Catalog::load(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  PresetTemplates templates_{catalog_};
};

TEST_F(ModelPlanTest, AnExplicitBaseModelGetsTheCataloguePresetOfEachType) {
  const ModelPlan p = plan(record("m1", "sdxl"));
  EXPECT_EQ(p.outcome.model_id, "m1");
  EXPECT_EQ(p.outcome.base_model, "sdxl");
  EXPECT_EQ(p.outcome.source, "explicit");
  ASSERT_EQ(p.outcome.types.size(), 2u);
  ASSERT_EQ(p.presets.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string type = i == 0 ? "quality" : "speed";
    SCOPED_TRACE(type);
    EXPECT_EQ(p.outcome.types[i].type, type);
    EXPECT_EQ(p.outcome.types[i].action, Action::kCreated);
    ASSERT_NE(p.presets[i], nullptr);
    const Preset* expected = catalog_.find("sdxl")->preset(type);
    ASSERT_NE(expected, nullptr);
    EXPECT_EQ(p.presets[i]->dto.base_model, "sdxl");
    EXPECT_EQ(p.presets[i]->dto.configuration_type, type);
    EXPECT_EQ(p.presets[i]->dto.steps, expected->steps);
    EXPECT_EQ(p.presets[i]->dto.sampler, expected->sampler);
  }
}

TEST_F(ModelPlanTest, AModelWithNoEvidenceFailsEveryTypeAndWritesNothing) {
  const ModelPlan p = plan(record("mystery", std::nullopt));
  EXPECT_EQ(p.outcome.base_model, "unknown");
  EXPECT_EQ(p.outcome.source, "none");
  EXPECT_FALSE(p.outcome.reason.empty());
  ASSERT_EQ(p.outcome.types.size(), 2u);
  for (const auto& t : p.outcome.types) {
    EXPECT_EQ(t.action, Action::kFailed);
    EXPECT_EQ(t.reason, "unknown base model");
  }
  EXPECT_EQ(p.presets, (std::vector<const PresetTemplates::Template*>{nullptr, nullptr}));
}

TEST_F(ModelPlanTest, ModelsOfOneBaseModelShareOneTemplatePerTypeNumberedInOrderOfFirstUse) {
  const ModelPlan a = plan(record("a", "sdxl"), {"speed"});
  const ModelPlan b = plan(record("b", "sd_1_5"), {"speed", "quality"});
  const ModelPlan c = plan(record("c", "sdxl"), {"quality", "speed"});
  EXPECT_EQ(c.presets[1], a.presets[0]) << "the same (base, variant, type) is built once";
  EXPECT_EQ(a.presets[0]->ordinal, 0u);
  EXPECT_EQ(b.presets[0]->ordinal, 1u);
  EXPECT_EQ(b.presets[1]->ordinal, 2u);
  EXPECT_EQ(c.presets[0]->ordinal, 3u);
}

TEST_F(ModelPlanTest, AWrittenPresetIsCreatedReplacedOrSkippedAsTheWriteFound) {
  TypeOutcome created{"quality", Action::kCreated, {}};
  settle(created, true, false);
  EXPECT_EQ(created.action, Action::kCreated);
  TypeOutcome existed{"quality", Action::kCreated, {}};
  settle(existed, false, false);
  EXPECT_EQ(existed.action, Action::kSkipped);
  EXPECT_EQ(existed.reason, "already exists");
  TypeOutcome replaced{"quality", Action::kCreated, {}};
  settle(replaced, false, true);
  EXPECT_EQ(replaced.action, Action::kReplaced);
}

TEST_F(ModelPlanTest, TallyCountsEachTypeAndTheModelsEvidence) {
  PopulationReport report;
  ModelPlan known = plan(record("k", "sdxl"));
  settle(known.outcome.types[0], true, false);
  settle(known.outcome.types[1], false, false);
  tally(report, known.outcome);
  tally(report, plan(record("u", std::nullopt)).outcome);
  EXPECT_EQ(report.created, 1);
  EXPECT_EQ(report.skipped, 1);
  EXPECT_EQ(report.failed, 2);
  EXPECT_EQ(report.unknown_models, 1);
  EXPECT_EQ(report.by_source["explicit"], 1);
  EXPECT_EQ(report.by_source["none"], 1);
  EXPECT_EQ(report.by_base_model["sdxl"], 1);
  EXPECT_EQ(report.by_base_model["unknown"], 1);
}

}  // namespace
}  // namespace inferconf::populate
