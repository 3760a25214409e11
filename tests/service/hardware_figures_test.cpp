// The memory model against published figures (cases/published_memory_figures.json):
// each case's estimate, run as its source ran it, is within 20 % of the
// published figure, and on every card the source says runs it the planner
// finds a plan that lowers nothing and fits the card.
#include <cmath>

#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"
#include "inferconf/hardware_plan.hpp"

namespace inferconf {
namespace {

const HardwareCatalog& shipped_hardware() {
  static const HardwareCatalog h =
      HardwareCatalog::load(HardwareCatalog::file_in(testing::source_catalog_dir()), testing::shipped_catalog());
  return h;
}

std::optional<Offload> offload_named(const std::string& name) {
  for (auto o : {Offload::kNone, Offload::kModel, Offload::kSequential})
    if (name == to_string(o)) return o;
  return std::nullopt;
}

struct Figure {
  std::string name;
  nlohmann::json spec;
};
void PrintTo(const Figure& f, std::ostream* os) { *os << f.name; }

std::vector<Figure> figures() {
  std::vector<Figure> out;
  const auto doc = testing::read_json(std::filesystem::path(INFERCONF_SOURCE_DIR) /
                                      "tests/service/cases/published_memory_figures.json");
  for (const auto& c : doc.at("cases")) out.push_back({c.at("name").get<std::string>(), c});
  return out;
}

class PublishedFigure : public ::testing::TestWithParam<Figure> {};

TEST_P(PublishedFigure, EstimateIsWithinTwentyPercentAndTheSourcesCardsRunIt) {
  const auto& c = GetParam().spec;
  ASSERT_TRUE(c.contains("source") && !c["source"].get<std::string>().empty()) << "every case names its source";
  const BaseModelSpec* spec = testing::shipped_catalog().find(c.at("base_model").get<std::string>());
  ASSERT_NE(spec, nullptr);
  const std::string variant = c.value("variant", "");
  const MemoryModel* model = shipped_hardware().memory_model(spec->id, variant);
  ASSERT_NE(model, nullptr) << "no memory model for " << spec->id << "/" << variant;
  Workload w{c.at("width").get<int>(), c.at("height").get<int>(), c.value("frames", 1), c.value("images", 1)};
  const auto level = parse_weight_dtype(c.at("level").get<std::string>());
  const auto offload = offload_named(c.at("offload").get<std::string>());
  ASSERT_TRUE(level && offload);
  const RunSettings settings{*level, *offload, c.value("text_encoders_on_cpu", false), c.value("vae_tiling", false)};
  const int experts = std::max<int>(1, static_cast<int>(spec->experts_for(variant).size()));
  const auto e = estimate_memory(*model, shipped_hardware().constants(), experts, w, settings, 9.0);

  const double published = c.at("published_gb").get<double>();
  const std::string kind = c.at("kind").get<std::string>();
  const double estimate = kind == "loaded" ? e.weights_gb : e.peak_vram_gb;
  const double error = (estimate - published) / published;
  RecordProperty("estimate_gb", std::to_string(estimate));
  if (kind == "minimum") {
    EXPECT_LE(estimate, published) << "the source's card runs it, so the estimate must fit it";
    EXPECT_GE(estimate, 0.8 * published) << "the estimate is far below the documented minimum";
  } else {
    EXPECT_LE(std::abs(error), 0.20) << "estimate " << estimate << " GiB against " << published << " GiB published ("
                                     << kind << "); peak set by " << e.peak_phase;
  }

  const HardwarePlanner planner(shipped_hardware());
  for (const auto& card : c.at("cards")) {
    SCOPED_TRACE(card.get<std::string>());
    const HardwareProfile* profile = shipped_hardware().find_profile(card.get<std::string>());
    ASSERT_NE(profile, nullptr);
    const HardwarePlan plan = planner.plan(*spec, variant, *profile, w);
    EXPECT_TRUE(plan.adjustments.empty()) << "the source runs it unchanged on " << profile->id;
    EXPECT_LE(plan.estimate.peak_vram_gb, profile->vram_gb);
    // The planner may find a lighter way than the source's, never a heavier one.
    EXPECT_LE(static_cast<int>(plan.settings.offload), static_cast<int>(*offload));
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PublishedFigure, ::testing::ValuesIn(figures()),
                         [](const ::testing::TestParamInfo<Figure>& i) { return i.param.name; });

TEST(PublishedFigures, CoverImageAndVideoArchitectures) {
  std::set<std::string> bases;
  std::size_t video = 0;
  for (const auto& f : figures()) {
    bases.insert(f.spec.at("base_model").get<std::string>());
    if (f.spec.contains("frames")) ++video;
  }
  EXPECT_GE(figures().size(), 12u);
  EXPECT_GE(bases.size(), 5u);
  EXPECT_GE(video, 4u);
}

}  // namespace
}  // namespace inferconf
