// RFC 7396 semantics of UpdateDTO.model_specific_params, through apply_update.
#include <gtest/gtest.h>

#include "inferconf/dto.hpp"

namespace inferconf {
namespace {

InferenceConfiguration base() {
  return make_configuration({"m1", "flux_dev", "quality", 25, 1.0, "euler", "simple",
                             {{"width", 1024}, {"height", 1024}, {"guidance", 3.5}, {"extra", {{"a", 1}, {"b", 2}}}}});
}

TEST(ApplyUpdate, NullDeletesAKeyAndOthersStay) {
  auto c = base();
  apply_update(c, parse_update_dto(nlohmann::json::parse(R"({"model_specific_params": {"guidance": null, "width": 832}})")));
  EXPECT_FALSE(c.model_specific_params.contains("guidance"));
  EXPECT_EQ(c.model_specific_params["width"], 832);
  EXPECT_EQ(c.model_specific_params["height"], 1024);
}

TEST(ApplyUpdate, NestedObjectsMerge) {
  auto c = base();
  apply_update(c, parse_update_dto(nlohmann::json::parse(R"({"model_specific_params": {"extra": {"b": null, "c": 3}}})")));
  EXPECT_EQ(c.model_specific_params["extra"], (nlohmann::json{{"a", 1}, {"c", 3}}));
}

TEST(ApplyUpdate, ScalarFieldsChangeAndNothingElse) {
  auto c = base();
  const auto before = c;
  apply_update(c, parse_update_dto(nlohmann::json::parse(R"({"steps": 12, "scheduler": "beta"})")));
  EXPECT_EQ(c.steps, 12);
  EXPECT_EQ(c.scheduler, "beta");
  EXPECT_EQ(c.model_specific_params, before.model_specific_params);
  EXPECT_EQ(c.model_id, before.model_id);
  EXPECT_EQ(c.cfg_scale, before.cfg_scale);
}

}  // namespace
}  // namespace inferconf
