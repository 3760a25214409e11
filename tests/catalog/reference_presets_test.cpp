// The shipped presets against the reference's table (cases/reference_presets.tsv).
#include <set>

#include <gtest/gtest.h>

#include "catalog/tsv.hpp"

namespace inferconf {
namespace {

using testing::read_tsv;
using testing::shipped_catalog;

TEST(ReferencePresets, EveryRowMatchesTheCatalogue) {
  const auto rows = read_tsv(testing::cases_dir() / "reference_presets.tsv");
  ASSERT_GE(rows.size(), 18u);
  for (const auto& row : rows) {
    SCOPED_TRACE("reference_presets.tsv line " + std::to_string(row.line));
    ASSERT_EQ(row.cells.size(), 8u);
    const auto* base = shipped_catalog().find(row.cells[0]);
    ASSERT_NE(base, nullptr) << row.cells[0];
    const std::string variant = row.cells[1] == "-" ? "" : row.cells[1];
    if (!variant.empty()) {
      const auto* v = base->find_variant(variant);
      ASSERT_NE(v, nullptr) << variant;
      // A variant row is the variant's own preset, not the base's fallback.
      EXPECT_TRUE(v->presets.count(row.cells[2])) << "variant " << variant << " has no own " << row.cells[2];
    }
    const auto* p = base->preset(row.cells[2], variant);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->steps, std::stoi(row.cells[3]));
    EXPECT_DOUBLE_EQ(p->cfg_scale, std::stod(row.cells[4]));
    EXPECT_EQ(p->sampler, row.cells[5]);
    EXPECT_EQ(p->scheduler, row.cells[6]);
    EXPECT_EQ(p->model_specific_params, nlohmann::json::parse(row.cells[7]))
        << "catalogue: " << p->model_specific_params.dump();
    EXPECT_FALSE(p->source.empty());
  }
}

TEST(ReferencePresets, EveryCataloguePresetHasARow) {
  std::set<std::string> rows;
  for (const auto& row : read_tsv(testing::cases_dir() / "reference_presets.tsv"))
    rows.insert(row.cells[0] + "/" + row.cells[1] + "/" + row.cells[2]);
  for (const auto& base : shipped_catalog().base_models()) {
    for (const auto& [type, preset] : base.presets) EXPECT_TRUE(rows.count(base.id + "/-/" + type)) << base.id << " " << type;
    for (const auto& v : base.variants)
      for (const auto& [type, preset] : v.presets)
        EXPECT_TRUE(rows.count(base.id + "/" + v.id + "/" + type)) << base.id << "/" << v.id << " " << type;
  }
}

TEST(ReferencePresets, TheSeedsNineBaseModelsComeFirstAndTheNewOnesFollow) {
  std::vector<std::string> ids;
  for (const auto& b : shipped_catalog().base_models()) ids.push_back(b.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"sd_1_5", "sdxl", "pony", "flux_dev", "flux_schnell", "flux_krea", "wan_2_1",
                                           "wan_2_2", "hidream", "sd3_5", "flux_kontext", "chroma", "qwen_image",
                                           "lumina_2", "hunyuan_video", "ltx_video", "illustrious", "noobai"}));
}

// The seed's two types stay what population creates; draft and balanced are
// declared for every base model but created only when asked for.
TEST(ReferencePresets, FourTypesAreDeclaredAndTheSeedsTwoArePopulated) {
  std::vector<std::pair<std::string, bool>> types;
  for (const auto& t : shipped_catalog().configuration_types()) types.emplace_back(t.id, t.populate);
  EXPECT_EQ(types, (std::vector<std::pair<std::string, bool>>{
                       {"quality", true}, {"speed", true}, {"draft", false}, {"balanced", false}}));
  for (const auto& b : shipped_catalog().base_models()) {
    const auto& q = b.presets.at("quality");
    const auto& s = b.presets.at("speed");
    const auto& d = b.presets.at("draft");
    const auto& m = b.presets.at("balanced");
    EXPECT_LE(d.steps, s.steps) << b.id;  // a draft is never slower than speed
    EXPECT_GE(m.steps, s.steps) << b.id;  // balanced sits between speed and quality
    EXPECT_LE(m.steps, q.steps) << b.id;
  }
}

// Not only the rows of the table: every preset the catalogue ships, variants
// included, says where its values come from.
TEST(ReferencePresets, EveryShippedPresetNamesItsSource) {
  int presets = 0;
  auto has_source = [&](const Preset& p, const std::string& who) {
    ++presets;
    EXPECT_NE(p.source.find_first_not_of(" \t\r\n"), std::string::npos) << who << " has no source";
  };
  for (const auto& base : shipped_catalog().base_models()) {
    for (const auto& [type, preset] : base.presets) has_source(preset, base.id + " " + type);
    for (const auto& v : base.variants)
      for (const auto& [type, preset] : v.presets) has_source(preset, base.id + "/" + v.id + " " + type);
  }
  EXPECT_GE(presets, 57);
}

// The base models added after the seed declare how they are guided and what
// they predict, so an engine or a user can tell what cfg_scale means for them.
TEST(ReferencePresets, NewBaseModelsDeclareGuidanceAndPrediction) {
  const auto& cat = shipped_catalog();
  for (const char* id : {"sd3_5", "flux_kontext", "chroma", "qwen_image", "lumina_2", "hunyuan_video", "ltx_video",
                         "illustrious", "noobai"}) {
    const auto* b = cat.find(id);
    ASSERT_NE(b, nullptr) << id;
    EXPECT_FALSE(b->constraints.guidance_kind.empty()) << id;
    EXPECT_FALSE(b->constraints.prediction_type.empty()) << id;
  }
  // The seed's nine are untouched: nothing is declared for them.
  EXPECT_TRUE(cat.find("flux_dev")->constraints.guidance_kind.empty());
  EXPECT_FALSE(cat.find("sdxl")->constraints.shift.has_value());

  const auto* sd35 = cat.find("sd3_5");
  EXPECT_EQ(sd35->constraints.shift, 3.0);
  EXPECT_EQ(sd35->constraints_for("large_turbo").guidance_kind, "none");
  EXPECT_EQ(sd35->constraints_for("large_turbo").cfg_scale.max, 1);
  EXPECT_EQ(sd35->constraints_for("medium").guidance_kind, "cfg");
  EXPECT_EQ(cat.find("flux_kontext")->constraints.guidance_kind, "distilled");
  EXPECT_EQ(cat.find("qwen_image")->constraints.guidance_kind, "true_cfg");
  EXPECT_TRUE(cat.find("chroma")->constraints.negative_prompt);
  const auto* hunyuan = cat.find("hunyuan_video");
  EXPECT_EQ(hunyuan->constraints.guidance_kind, "embedded");
  EXPECT_EQ(hunyuan->constraints_for("v1_5").guidance_kind, "cfg");
  EXPECT_FALSE(hunyuan->constraints_for("v1_5").params.count("guidance"));
  const auto& ltx = cat.find("ltx_video")->constraints;
  EXPECT_EQ(ltx.params.at("video_frames").modulo, 8);
  EXPECT_EQ(ltx.params.at("video_frames").remainder, 1);
  EXPECT_EQ(ltx.params.at("width").multiple_of, 32);
  EXPECT_EQ(cat.find("ltx_video")->constraints_for("distilled").guidance_kind, "none");
  const auto* noob = cat.find("noobai");
  EXPECT_EQ(noob->constraints.prediction_type, "epsilon");
  EXPECT_EQ(noob->constraints_for("v_pred").prediction_type, "v_prediction");
  EXPECT_EQ(noob->family, cat.find("pony")->family);  // an SDXL derivative, like Pony
}

// The reference's constraint table, spot-checked where it is most specific.
TEST(ReferencePresets, ConstraintsFollowTheReferenceTable) {
  const auto& cat = shipped_catalog();
  const auto& schnell = cat.find("flux_schnell")->constraints;
  EXPECT_EQ(schnell.cfg_scale.min, 1);
  EXPECT_EQ(schnell.cfg_scale.max, 1);
  EXPECT_EQ(schnell.steps.max, 4);
  EXPECT_FALSE(schnell.params.count("guidance"));
  EXPECT_FALSE(schnell.negative_prompt);
  EXPECT_EQ(cat.find("flux_dev")->constraints.params.at("guidance").range->max, 10);
  EXPECT_EQ(cat.find("sd_1_5")->constraints.params.at("width").multiple_of, 8);
  EXPECT_EQ(cat.find("sd_1_5")->constraints.params.at("width").range->max, 1024);
  EXPECT_EQ(cat.find("sdxl")->constraints.params.at("clip_skip").range->min, -12);
  const auto& frames = cat.find("wan_2_1")->constraints.params.at("video_frames");
  EXPECT_EQ(frames.modulo, 4);
  EXPECT_EQ(frames.remainder, 1);
  EXPECT_EQ(frames.range->min, 5);
  EXPECT_EQ(frames.range->max, 161);
  const auto* wan22 = cat.find("wan_2_2");
  EXPECT_EQ(wan22->constraints_for("ti2v_5b").params.at("width").multiple_of, 32);
  EXPECT_EQ(wan22->constraints_for("ti2v_5b").params.at("video_fps").allowed, std::vector<nlohmann::json>{24});
  EXPECT_EQ(wan22->constraints_for("t2v_a14b").params.at("video_fps").allowed, std::vector<nlohmann::json>{16});
  EXPECT_FALSE(cat.find("hidream")->constraints_for("dev").negative_prompt);
  EXPECT_TRUE(cat.find("hidream")->constraints_for("full").negative_prompt);
  EXPECT_EQ(cat.find("hidream")->constraints.params.at("shift").range->max, 20);
}

}  // namespace
}  // namespace inferconf
