// Conformance: schema, create, get, create_many, create_missing, update,
// replace, remove.
#include "store/store_conformance.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "store/store_test_support.hpp"

namespace inferconf::testing {

// A backend's binary may not instantiate the suite (e.g. MongoDB without a server).
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreConformance);

void StoreConformance::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
}

namespace {

using std::chrono::milliseconds;

// Timestamps have millisecond precision: waiting makes "updated_at moves" observable.
void let_the_clock_tick() { std::this_thread::sleep_for(milliseconds(5)); }

nlohmann::json read_cases(const std::string& name) {
  std::ifstream in(std::string(INFERCONF_SOURCE_DIR) + "/tests/store/cases/" + name);
  EXPECT_TRUE(in) << "cannot read the case file " << name;
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

}  // namespace

TEST_P(StoreConformance, EnsureSchemaIsIdempotentAndCheckSchemaFindsNothing) {
  EXPECT_EQ(store().check_schema(), std::vector<std::string>{});
  store().create(make_dto("m1"));
  store().ensure_schema();
  store().ensure_schema();
  EXPECT_EQ(store().check_schema(), std::vector<std::string>{});
  EXPECT_EQ(store().count({}), 1) << "ensure_schema must keep the data";
  EXPECT_FALSE(store().describe().empty());
}

TEST_P(StoreConformance, CreateAssignsIdTimestampsAndRevisionOne) {
  const Timestamp before = now_utc();
  const auto dto = make_dto("juggernaut-xl");
  const InferenceConfiguration c = store().create(dto);
  const Timestamp after = now_utc();

  EXPECT_TRUE(is_uuid(c.id)) << c.id;
  EXPECT_EQ(c.revision, 1);
  EXPECT_EQ(c.created_at, c.updated_at);
  EXPECT_GE(c.created_at, before);
  EXPECT_LE(c.created_at, after);
  EXPECT_EQ(to_create_dto(c), dto);
}

TEST_P(StoreConformance, GetReturnsExactlyWhatCreateStored) {
  auto dto = make_dto("flux-dev-fp8", "quality", "flux_dev", 28);
  dto.cfg_scale = 1.0;
  dto.model_specific_params = {{"guidance", 3.5},
                               {"max_shift", 1.15},
                               {"denoise", 0.1 + 0.2},  // not representable in short decimal form
                               {"text_encoder", "t5xxl_fp16 – ünïcode"},
                               {"lora", {{"name", "detail"}, {"strength", 0.8}, {"tags", {"a", "b"}}}},
                               {"requires_vae", true}};
  const auto created = store().create(dto);
  const auto got = store().get(created.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, created);
}

TEST_P(StoreConformance, GetOfAnUnknownIdIsNullopt) {
  store().create(make_dto("m1"));
  EXPECT_FALSE(store().get("00000000-0000-4000-8000-000000000000").has_value());
  EXPECT_FALSE(store().get("not even a uuid").has_value());
  EXPECT_FALSE(store().get("").has_value());
}

TEST_P(StoreConformance, DuplicateModelAndTypeIsConflictNamingTheExistingId) {
  const auto first = store().create(make_dto("m1", "quality"));
  const Error e = expect_error(ErrorCode::kConflict, [&] { store().create(make_dto("m1", "quality", "pony", 40)); });
  EXPECT_EQ(e.existing_id(), first.id);
  EXPECT_FALSE(e.is_revision_mismatch());
  EXPECT_NE(std::string(e.what()).find("m1"), std::string::npos) << e.what();
  EXPECT_EQ(store().count({}), 1);
  EXPECT_EQ(*store().get(first.id), first);
}

TEST_P(StoreConformance, SameTypeForAnotherModelAndAnotherTypeForTheSameModelAreAllowed) {
  store().create(make_dto("m1", "quality"));
  store().create(make_dto("m1", "speed"));
  store().create(make_dto("m2", "quality"));
  EXPECT_EQ(store().count({}), 3);
}

TEST_P(StoreConformance, CreateManyCreatesAllInOrder) {
  std::vector<CreateDTO> dtos;
  for (int i = 0; i < 20; ++i) dtos.push_back(make_dto("model-" + std::to_string(i), i % 2 ? "speed" : "quality"));
  const auto created = store().create_many(dtos);
  ASSERT_EQ(created.size(), dtos.size());
  for (std::size_t i = 0; i < dtos.size(); ++i) {
    EXPECT_EQ(to_create_dto(created[i]), dtos[i]);
    EXPECT_EQ(created[i].revision, 1);
    EXPECT_EQ(*store().get(created[i].id), created[i]);
  }
  EXPECT_EQ(store().count({}), 20);
  EXPECT_TRUE(store().create_many({}).empty());
}

TEST_P(StoreConformance, CreateManyWithADuplicateOfAStoredOneCreatesNothing) {
  const auto existing = store().create(make_dto("m5", "speed"));
  std::vector<CreateDTO> dtos;
  for (int i = 0; i < 10; ++i) dtos.push_back(make_dto("m" + std::to_string(i), "speed"));
  const Error e = expect_error(ErrorCode::kConflict, [&] { store().create_many(dtos); });
  EXPECT_EQ(e.existing_id(), existing.id);
  EXPECT_EQ(store().count({}), 1) << "all or nothing";
  EXPECT_FALSE(store().find_by_model_and_type("m0", "speed").has_value());
}

TEST_P(StoreConformance, CreateManyWithADuplicateInsideTheBatchCreatesNothing) {
  const std::vector<CreateDTO> dtos = {make_dto("a"), make_dto("b"), make_dto("c"), make_dto("b", "quality", "pony")};
  expect_error(ErrorCode::kConflict, [&] { store().create_many(dtos); });
  EXPECT_EQ(store().count({}), 0);
}

TEST_P(StoreConformance, CreateMissingSkipsExistingOnes) {
  const auto existing = store().create(make_dto("m1", "quality", "sdxl", 33));
  const std::vector<CreateDTO> dtos = {make_dto("m1", "quality"), make_dto("m1", "speed"), make_dto("m2", "quality")};
  EXPECT_EQ(store().create_missing(dtos, false), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(*store().find_by_model_and_type("m1", "quality"), existing) << "an existing one is left untouched";
  EXPECT_EQ(store().count({}), 3);
  EXPECT_EQ(store().create_missing(dtos, false), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(store().count({}), 3);
  EXPECT_TRUE(store().create_missing({}, false).empty());
}

TEST_P(StoreConformance, CreateMissingWithReplaceOverwritesExistingOnes) {
  const auto existing = store().create(make_dto("m1", "quality", "sdxl", 33));
  let_the_clock_tick();
  auto replacement = make_dto("m1", "quality", "sdxl", 25);
  replacement.model_specific_params = {{"width", 832}};
  const auto created = store().create_missing({replacement, make_dto("m2")}, true);
  EXPECT_EQ(created, (std::vector<bool>{false, true}));
  const auto now = *store().find_by_model_and_type("m1", "quality");
  EXPECT_EQ(now.id, existing.id);
  EXPECT_EQ(now.revision, 2);
  EXPECT_EQ(now.steps, 25);
  EXPECT_EQ(now.model_specific_params, replacement.model_specific_params);
  EXPECT_EQ(now.created_at, existing.created_at);
  EXPECT_GT(now.updated_at, existing.updated_at);
  EXPECT_EQ(store().find_by_model_and_type("m2", "quality")->revision, 1);
}

TEST_P(StoreConformance, CreateMissingForModelsGivesEachModelItsGroupsPreset) {
  const auto existing = store().create(make_dto("m2", "quality", "sdxl", 33));
  auto quality = make_dto("ignored", "quality", "sdxl", 30);
  quality.model_specific_params = {{"width", 1024}, {"clip_skip", -1}};
  const auto speed = make_dto("ignored", "speed", "flux_dev", 8);
  const std::string m1 = "m1", m2 = "m2", m3 = "m3";
  const std::vector<PresetForModels> groups = {
      {&quality, {std::cref(m1), std::cref(m2), std::cref(m3)}},
      {nullptr, {}},  // a group without models: skipped, its preset never read
      {&speed, {std::cref(m3), std::cref(m1)}},
  };
  EXPECT_EQ(store().create_missing_for_models(groups, false), (std::vector<bool>{true, false, true, true, true}))
      << "group after group, model after model";
  EXPECT_EQ(*store().find_by_model_and_type("m2", "quality"), existing) << "an existing one is left untouched";
  EXPECT_EQ(store().count({}), 5);
  for (const auto& id : {m1, m3}) {
    const auto q = *store().find_by_model_and_type(id, "quality");
    EXPECT_EQ(q.model_id, id);
    EXPECT_EQ(q.base_model, "sdxl");
    EXPECT_EQ(q.steps, 30);
    EXPECT_EQ(q.model_specific_params, quality.model_specific_params);
    const auto s = *store().find_by_model_and_type(id, "speed");
    EXPECT_EQ(s.base_model, "flux_dev");
    EXPECT_EQ(s.steps, 8);
    EXPECT_NE(q.id, s.id);
  }
  EXPECT_EQ(store().create_missing_for_models(groups, false), std::vector<bool>(5, false));
  EXPECT_EQ(store().count({}), 5);
  EXPECT_TRUE(store().create_missing_for_models({}, false).empty());
  EXPECT_TRUE(store().create_missing_for_models({{nullptr, {}}}, false).empty());
  const std::string m9 = "m9";
  const Error e = expect_error(ErrorCode::kInvalid, [&] {
    store().create_missing_for_models({{&speed, {std::cref(m9)}}, {nullptr, {std::cref(m9)}}}, false);
  });
  EXPECT_NE(std::string(e.what()).find("Group 1 of the batch names 1 model(s) (the first \"m9\") but no preset"),
            std::string::npos)
      << e.what();
  EXPECT_FALSE(store().find_by_model_and_type("m9", "speed").has_value()) << "nothing written";

  let_the_clock_tick();
  auto replacement = make_dto("ignored", "quality", "sdxl", 25);
  const std::string m4 = "m4";
  EXPECT_EQ(store().create_missing_for_models({{&replacement, {std::cref(m2), std::cref(m4)}}}, true),
            (std::vector<bool>{false, true}));
  const auto replaced = *store().find_by_model_and_type("m2", "quality");
  EXPECT_EQ(replaced.id, existing.id);
  EXPECT_EQ(replaced.revision, 2);
  EXPECT_EQ(replaced.steps, 25);
  EXPECT_EQ(replaced.created_at, existing.created_at);
  EXPECT_EQ(store().find_by_model_and_type("m4", "quality")->revision, 1);
}

// RFC 7396 merge patch on model_specific_params, case by case (tests/store/cases/update_merge_patch.json).
TEST_P(StoreConformance, UpdateMergesModelSpecificParamsPerRfc7396) {
  const nlohmann::json cases = read_cases("update_merge_patch.json");
  ASSERT_FALSE(cases.empty());
  int n = 0;
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.at("name").get<std::string>());
    auto dto = make_dto("merge-" + std::to_string(n++));
    dto.model_specific_params = tc.at("before");
    const auto created = store().create(dto);
    UpdateDTO u;
    u.model_specific_params = tc.at("patch");
    const auto updated = store().update(created.id, u, std::nullopt);
    EXPECT_EQ(updated.model_specific_params, tc.at("after"));
    EXPECT_EQ(store().get(created.id)->model_specific_params, tc.at("after"));
    EXPECT_EQ(updated.steps, dto.steps) << "fields absent from the update keep their value";
  }
}

TEST_P(StoreConformance, UpdateChangesOnlyGivenFieldsBumpsRevisionAndUpdatedAt) {
  const auto created = store().create(make_dto("m1"));
  let_the_clock_tick();
  UpdateDTO u;
  u.steps = 42;
  u.sampler = "euler";
  const auto updated = store().update(created.id, u, std::nullopt);
  EXPECT_EQ(updated.steps, 42);
  EXPECT_EQ(updated.sampler, "euler");
  EXPECT_EQ(updated.scheduler, created.scheduler);
  EXPECT_EQ(updated.cfg_scale, created.cfg_scale);
  EXPECT_EQ(updated.model_specific_params, created.model_specific_params);
  EXPECT_EQ(updated.revision, 2);
  EXPECT_EQ(updated.created_at, created.created_at);
  EXPECT_GT(updated.updated_at, created.updated_at);
  EXPECT_EQ(*store().get(created.id), updated);

  const auto again = store().update(created.id, u, 2);
  EXPECT_EQ(again.revision, 3) << "a matching expected revision succeeds";
}

TEST_P(StoreConformance, UpdateWithAStaleRevisionIsARevisionConflictAndChangesNothing) {
  const auto created = store().create(make_dto("m1"));
  UpdateDTO u;
  u.steps = 12;
  store().update(created.id, u, 1);
  u.steps = 99;
  const Error e = expect_error(ErrorCode::kConflict, [&] { store().update(created.id, u, 1); });
  EXPECT_TRUE(e.is_revision_mismatch());
  const auto now = *store().get(created.id);
  EXPECT_EQ(now.steps, 12);
  EXPECT_EQ(now.revision, 2);
  expect_error(ErrorCode::kConflict, [&] { store().update(created.id, u, 3); });
}

TEST_P(StoreConformance, UpdateOfAnUnknownIdIsNotFound) {
  UpdateDTO u;
  u.steps = 20;
  expect_error(ErrorCode::kNotFound, [&] { store().update("00000000-0000-4000-8000-000000000000", u, std::nullopt); });
  expect_error(ErrorCode::kNotFound, [&] { store().update("00000000-0000-4000-8000-000000000000", u, 1); });
  EXPECT_EQ(store().count({}), 0);
}

TEST_P(StoreConformance, UpdateIntoATakenTypeIsConflictAndChangesNothing) {
  const auto quality = store().create(make_dto("m1", "quality"));
  const auto speed = store().create(make_dto("m1", "speed"));
  UpdateDTO u;
  u.configuration_type = "quality";
  u.steps = 5;
  const Error e = expect_error(ErrorCode::kConflict, [&] { store().update(speed.id, u, std::nullopt); });
  EXPECT_FALSE(e.is_revision_mismatch());
  EXPECT_EQ(e.existing_id(), quality.id);
  EXPECT_EQ(*store().get(speed.id), speed);
  EXPECT_EQ(*store().get(quality.id), quality);
}

TEST_P(StoreConformance, UpdateIntoAFreeTypeMovesTheConfiguration) {
  const auto c = store().create(make_dto("m1", "quality"));
  UpdateDTO u;
  u.configuration_type = "speed";
  u.base_model = "pony";
  store().update(c.id, u, std::nullopt);
  EXPECT_FALSE(store().find_by_model_and_type("m1", "quality").has_value());
  const auto moved = store().find_by_model_and_type("m1", "speed");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->id, c.id);
  EXPECT_EQ(moved->base_model, "pony");
  EXPECT_EQ(store().find_by_base_model("sdxl").size(), 0U);
  store().create(make_dto("m1", "quality"));  // the old slot is free again
  EXPECT_EQ(store().count({}), 2);
}

TEST_P(StoreConformance, ReplaceOverwritesEveryMutableField) {
  auto dto = make_dto("m1");
  dto.model_specific_params = {{"width", 1024}, {"clip_skip", -2}};
  const auto created = store().create(dto);
  let_the_clock_tick();
  auto replacement = make_dto("m1", "speed", "pony", 12);
  replacement.model_specific_params = {{"height", 768}};
  const auto replaced = store().replace(created.id, replacement, 1);
  EXPECT_EQ(to_create_dto(replaced), replacement) << "model_specific_params is replaced, not merged";
  EXPECT_EQ(replaced.id, created.id);
  EXPECT_EQ(replaced.created_at, created.created_at);
  EXPECT_GT(replaced.updated_at, created.updated_at);
  EXPECT_EQ(replaced.revision, 2);
  EXPECT_EQ(*store().get(created.id), replaced);
}

TEST_P(StoreConformance, ReplaceErrorsLeaveTheStoreUnchanged) {
  const auto quality = store().create(make_dto("m1", "quality"));
  const auto speed = store().create(make_dto("m1", "speed"));

  const Error stale =
      expect_error(ErrorCode::kConflict, [&] { store().replace(quality.id, make_dto("m1", "quality", "sdxl", 9), 7); });
  EXPECT_TRUE(stale.is_revision_mismatch());
  expect_error(ErrorCode::kNotFound,
               [&] { store().replace("00000000-0000-4000-8000-000000000000", make_dto("m1"), std::nullopt); });
  const Error taken =
      expect_error(ErrorCode::kConflict, [&] { store().replace(speed.id, make_dto("m1", "quality"), std::nullopt); });
  EXPECT_EQ(taken.existing_id(), quality.id);
  // model_id is not a mutable field: a replacement naming another model breaks the contract.
  expect_error(ErrorCode::kInvalid, [&] { store().replace(quality.id, make_dto("other-model"), std::nullopt); });

  EXPECT_EQ(*store().get(quality.id), quality);
  EXPECT_EQ(*store().get(speed.id), speed);
  EXPECT_EQ(store().count({}), 2);
}

TEST_P(StoreConformance, RemoveDeletesAndChecksTheRevision) {
  const auto a = store().create(make_dto("m1"));
  const auto b = store().create(make_dto("m2"));
  UpdateDTO u;
  u.steps = 10;
  store().update(b.id, u, std::nullopt);

  const Error stale = expect_error(ErrorCode::kConflict, [&] { store().remove(b.id, 1); });
  EXPECT_TRUE(stale.is_revision_mismatch());
  EXPECT_TRUE(store().get(b.id).has_value());

  store().remove(b.id, 2);
  store().remove(a.id, std::nullopt);
  EXPECT_FALSE(store().get(a.id).has_value());
  EXPECT_FALSE(store().get(b.id).has_value());
  EXPECT_EQ(store().count({}), 0);

  expect_error(ErrorCode::kNotFound, [&] { store().remove(a.id, std::nullopt); });
  expect_error(ErrorCode::kNotFound, [&] { store().remove("00000000-0000-4000-8000-000000000000", 1); });
  store().create(make_dto("m1"));  // the (model, type) slot is free again
}

}  // namespace inferconf::testing
