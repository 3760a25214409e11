// Sampler / scheduler names as users write them (cases/vocabulary.tsv).
#include <gtest/gtest.h>

#include "catalog/tsv.hpp"

namespace inferconf {
namespace {

TEST(Vocabulary, CaseFile) {
  const auto& v = testing::shipped_catalog().vocabulary();
  const auto rows = testing::read_tsv(testing::cases_dir() / "vocabulary.tsv");
  ASSERT_GE(rows.size(), 60u);
  for (const auto& row : rows) {
    SCOPED_TRACE("vocabulary.tsv line " + std::to_string(row.line) + ": \"" + row.cells.at(1) + "\"");
    ASSERT_EQ(row.cells.size(), 3u);
    const auto& kind = row.cells[0];
    const auto& given = row.cells[1];
    const auto& expected = row.cells[2];
    if (kind == "sampler") {
      EXPECT_EQ(v.canonical_sampler(given), expected);
    } else if (kind == "scheduler") {
      EXPECT_EQ(v.canonical_scheduler(given), expected);
    } else if (kind == "combined") {
      EXPECT_EQ(v.canonical_sampler(given), std::nullopt);  // it is not a sampler on its own
      const auto split = v.split_combined(given);
      ASSERT_TRUE(split.has_value());
      EXPECT_EQ(split->first + "+" + split->second, expected);
    } else if (kind == "unknown_sampler") {
      EXPECT_EQ(v.canonical_sampler(given), std::nullopt);
      EXPECT_EQ(v.split_combined(given), std::nullopt);
    } else if (kind == "unknown_scheduler") {
      EXPECT_EQ(v.canonical_scheduler(given), std::nullopt);
    } else {
      ADD_FAILURE() << "unknown kind " << kind;
    }
  }
}

TEST(Vocabulary, HoldsComfyUIsListsInOrder) {
  const auto& v = testing::shipped_catalog().vocabulary();
  EXPECT_EQ(v.samplers().size(), 42u);
  EXPECT_EQ(v.samplers().front(), "euler");
  EXPECT_EQ(v.samplers().back(), "uni_pc_bh2");
  EXPECT_EQ(v.schedulers(), (std::vector<std::string>{"simple", "sgm_uniform", "karras", "exponential", "ddim_uniform",
                                                      "beta", "normal", "linear_quadratic", "kl_optimal"}));
}

TEST(Vocabulary, EveryCanonicalNameIsItsOwnCanonicalForm) {
  const auto& v = testing::shipped_catalog().vocabulary();
  for (const auto& s : v.samplers()) EXPECT_EQ(v.canonical_sampler(s), s);
  for (const auto& s : v.schedulers()) EXPECT_EQ(v.canonical_scheduler(s), s);
}

TEST(Vocabulary, GrowsByDataAlone) {
  // A newer ComfyUI adds names: the list is data, so adding one is enough.
  auto j = testing::read_json(testing::source_catalog_dir() / "vocabulary.json");
  j["samplers"].push_back("exp_heun_2_x0");
  j["sampler_aliases"]["Exp Heun"] = "exp_heun_2_x0";
  const auto v = Vocabulary::from_json(j, "test");
  EXPECT_EQ(v.canonical_sampler("exp_heun_2_x0"), "exp_heun_2_x0");
  EXPECT_EQ(v.canonical_sampler("exp heun"), "exp_heun_2_x0");
  EXPECT_EQ(v.split_combined("Exp Heun Karras"), (std::pair<std::string, std::string>{"exp_heun_2_x0", "karras"}));
}

}  // namespace
}  // namespace inferconf
