// Conformance: the seed's find_* queries, list/count with filters and keyset
// pagination, for_each_configuration, the change cursor, the model registry.
#include <algorithm>
#include <set>

#include "store/store_conformance.hpp"
#include "store/store_test_support.hpp"

namespace inferconf::testing {
namespace {

std::vector<std::string> ids_of(const std::vector<InferenceConfiguration>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.id);
  return out;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Walks every page of list(filter) with this limit; checks the page sizes.
std::vector<std::string> walk(Store& store, const ConfigurationFilter& filter, std::size_t limit) {
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  for (int pages = 0; pages < 10000; ++pages) {
    const auto page = store.list(filter, limit, cursor);
    EXPECT_LE(page.items.size(), limit);
    if (page.next_cursor) {
      EXPECT_EQ(page.items.size(), limit) << "only the last page may be short";
    }
    for (const auto& c : page.items) seen.push_back(c.id);
    if (!page.next_cursor) return seen;
    cursor = page.next_cursor;
  }
  ADD_FAILURE() << "list() never returned a last page";
  return seen;
}

// 125 models × 2 types over three base models.
std::vector<InferenceConfiguration> create_250(Store& store) {
  static const char* kBases[] = {"sdxl", "flux_dev", "wan_2_2"};
  std::vector<CreateDTO> dtos;
  for (int m = 0; m < 125; ++m) {
    for (const char* type : {"quality", "speed"})
      dtos.push_back(make_dto("model-" + std::to_string(m), type, kBases[m % 3]));
  }
  return store.create_many(dtos);
}

}  // namespace

TEST_P(StoreConformance, FindByModelIdOrdersByTypeAndFiltersByType) {
  const auto speed = store().create(make_dto("m1", "speed"));
  const auto quality = store().create(make_dto("m1", "quality"));
  store().create(make_dto("m2", "quality"));

  EXPECT_EQ(store().find_by_model_id("m1"), (std::vector<InferenceConfiguration>{quality, speed}));
  EXPECT_EQ(store().find_by_model_id("m1", "speed"), std::vector<InferenceConfiguration>{speed});
  EXPECT_TRUE(store().find_by_model_id("m1", "ultra").empty());
  EXPECT_TRUE(store().find_by_model_id("nobody").empty());
}

TEST_P(StoreConformance, FindByBaseModelOrdersByModelThenType) {
  const auto b_speed = store().create(make_dto("b", "speed"));
  const auto a_quality = store().create(make_dto("a", "quality"));
  const auto c_quality = store().create(make_dto("c", "quality"));
  const auto b_quality = store().create(make_dto("b", "quality"));
  store().create(make_dto("a0", "quality", "flux_dev"));

  EXPECT_EQ(store().find_by_base_model("sdxl"),
            (std::vector<InferenceConfiguration>{a_quality, b_quality, b_speed, c_quality}));
  EXPECT_EQ(store().find_by_base_model("sdxl", "quality"),
            (std::vector<InferenceConfiguration>{a_quality, b_quality, c_quality}));
  EXPECT_TRUE(store().find_by_base_model("hidream").empty());
}

TEST_P(StoreConformance, FindByModelAndTypeReturnsTheOneOrNullopt) {
  const auto q = store().create(make_dto("m1", "quality"));
  store().create(make_dto("m1", "speed"));
  EXPECT_EQ(store().find_by_model_and_type("m1", "quality"), q);
  EXPECT_FALSE(store().find_by_model_and_type("m2", "quality").has_value());
  EXPECT_FALSE(store().find_by_model_and_type("m1", "ultra").has_value());
}

TEST_P(StoreConformance, FindByBaseModelAndTypeReturnsTheFirstModel) {
  store().create(make_dto("zeta", "quality"));
  const auto alpha = store().create(make_dto("alpha", "quality"));
  store().create(make_dto("aaa", "speed"));
  EXPECT_EQ(store().find_by_base_model_and_type("sdxl", "quality"), alpha);
  EXPECT_FALSE(store().find_by_base_model_and_type("pony", "quality").has_value());
}

TEST_P(StoreConformance, ListWalksEveryItemExactlyOnceInIdOrder) {
  const auto all = create_250(store());
  const auto seen = walk(store(), {}, 7);
  EXPECT_EQ(seen, sorted(ids_of(all)));

  const auto one_page = store().list({}, 1000, std::nullopt);
  EXPECT_EQ(one_page.items.size(), 250U);
  EXPECT_FALSE(one_page.next_cursor.has_value());
  EXPECT_EQ(walk(store(), {}, 250), seen) << "a full last page has no next cursor";
}

TEST_P(StoreConformance, ListAndCountApplyEveryFilterCombination) {
  const auto all = create_250(store());
  const std::vector<ConfigurationFilter> filters = {
      {},
      {"model-7", std::nullopt, std::nullopt},
      {std::nullopt, "flux_dev", std::nullopt},
      {std::nullopt, std::nullopt, "speed"},
      {std::nullopt, "wan_2_2", "quality"},
      {"model-8", "wan_2_2", "speed"},
      {"model-8", "sdxl", std::nullopt},  // model-8 is on wan_2_2: nothing
      {"no-such-model", std::nullopt, std::nullopt},
  };
  for (const auto& f : filters) {
    std::vector<std::string> expected;
    for (const auto& c : all) {
      if ((!f.model_id || c.model_id == *f.model_id) && (!f.base_model || c.base_model == *f.base_model) &&
          (!f.configuration_type || c.configuration_type == *f.configuration_type))
        expected.push_back(c.id);
    }
    SCOPED_TRACE(f.model_id.value_or("*") + " / " + f.base_model.value_or("*") + " / " +
                 f.configuration_type.value_or("*"));
    EXPECT_EQ(walk(store(), f, 3), sorted(expected));
    EXPECT_EQ(store().count(f), static_cast<std::int64_t>(expected.size()));
  }
}

TEST_P(StoreConformance, ListIsStableWhileItemsAreInsertedAndDeletedBetweenPages) {
  std::vector<CreateDTO> dtos;
  for (int i = 0; i < 100; ++i) dtos.push_back(make_dto("stable-" + std::to_string(i)));
  const auto initial = store().create_many(dtos);
  std::set<std::string> deleted;
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  int round = 0;
  do {
    const auto page = store().list({}, 10, cursor);
    for (const auto& c : page.items) seen.push_back(c.id);
    cursor = page.next_cursor;
    // Between pages: one new item, and one initial item deleted (ahead of or behind the cursor).
    store().create(make_dto("inserted-" + std::to_string(round)));
    const auto& victim = initial[static_cast<std::size_t>(round * 37 % 100)];
    if (deleted.insert(victim.id).second) store().remove(victim.id, std::nullopt);
    ++round;
  } while (cursor && round < 1000);

  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "an item was repeated";
  const std::set<std::string> seen_set(seen.begin(), seen.end());
  for (const auto& c : initial) {
    if (!deleted.count(c.id)) {
      EXPECT_TRUE(seen_set.count(c.id)) << "skipped an item that existed throughout";
    }
  }
}

TEST_P(StoreConformance, ListRejectsCursorsItDidNotIssue) {
  create_250(store());
  const std::string change_cursor = store().change_cursor();
  for (const std::string bad : {"not-a-cursor", "", "@@@@", "\xff\xfe", change_cursor.c_str()}) {
    SCOPED_TRACE("cursor: " + bad);
    expect_error(ErrorCode::kInvalid, [&] { store().list({}, 10, bad); });
  }
}

TEST_P(StoreConformance, ListRejectsALimitOutside1To1000) {
  store().create(make_dto("m1"));
  expect_error(ErrorCode::kInvalid, [&] { store().list({}, 0, std::nullopt); });
  expect_error(ErrorCode::kInvalid, [&] { store().list({}, 1001, std::nullopt); });
  EXPECT_EQ(store().list({}, 1, std::nullopt).items.size(), 1U);
  EXPECT_EQ(store().list({}, 1000, std::nullopt).items.size(), 1U);
}

TEST_P(StoreConformance, ListOfAnEmptyStoreIsOneEmptyPage) {
  const auto page = store().list({}, 10, std::nullopt);
  EXPECT_TRUE(page.items.empty());
  EXPECT_FALSE(page.next_cursor.has_value());
  EXPECT_EQ(store().count({}), 0);
}

TEST_P(StoreConformance, ForEachConfigurationVisitsAllInIdOrderAndStopsEarly) {
  const auto all = create_250(store());
  std::vector<std::string> seen;
  store().for_each_configuration([&](const InferenceConfiguration& c) {
    seen.push_back(c.id);
    return true;
  });
  EXPECT_EQ(seen, sorted(ids_of(all)));

  int calls = 0;
  store().for_each_configuration([&](const InferenceConfiguration&) { return ++calls < 3; });
  EXPECT_EQ(calls, 3);
}

TEST_P(StoreConformance, ForEachConfigurationAllowsWritesFromTheCallback) {
  store().create_many({make_dto("a"), make_dto("b"), make_dto("c")});
  store().for_each_configuration([&](const InferenceConfiguration& c) {
    UpdateDTO u;
    u.steps = c.steps + 1;
    store().update(c.id, u, c.revision);
    return true;
  });
  for (const auto& c : store().find_by_base_model("sdxl")) EXPECT_EQ(c.revision, 2);
}

TEST_P(StoreConformance, ChangesSinceANewCursorIsEmpty) {
  store().create(make_dto("m1"));
  const std::string cursor = store().change_cursor();
  const ChangeSet changes = store().changes_since(cursor);
  EXPECT_TRUE(changes.upserted.empty());
  EXPECT_TRUE(changes.deleted_ids.empty());
  EXPECT_FALSE(changes.reload_required);
  EXPECT_FALSE(changes.cursor.empty());
  EXPECT_TRUE(store().changes_since(changes.cursor).upserted.empty());
}

TEST_P(StoreConformance, ChangesSinceSeesCreatesUpdatesAndDeletes) {
  const auto untouched = store().create(make_dto("untouched"));
  const auto to_update = store().create(make_dto("to-update"));
  const auto to_delete = store().create(make_dto("to-delete"));
  const std::string cursor = store().change_cursor();

  const auto created = store().create(make_dto("created"));
  UpdateDTO u;
  u.steps = 11;
  const auto updated = store().update(to_update.id, u, std::nullopt);
  store().remove(to_delete.id, std::nullopt);
  const auto short_lived = store().create(make_dto("short-lived"));
  store().remove(short_lived.id, std::nullopt);

  const ChangeSet changes = store().changes_since(cursor);
  ASSERT_FALSE(changes.reload_required);
  std::vector<InferenceConfiguration> upserted = changes.upserted;
  std::sort(upserted.begin(), upserted.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::vector<InferenceConfiguration> expected = {created, updated};
  std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  EXPECT_EQ(upserted, expected) << "current state of each created or updated configuration";
  EXPECT_EQ(sorted(changes.deleted_ids), sorted({to_delete.id, short_lived.id}));
  for (const auto& c : changes.upserted) EXPECT_NE(c.id, untouched.id);

  const ChangeSet after = store().changes_since(changes.cursor);
  EXPECT_TRUE(after.upserted.empty());
  EXPECT_TRUE(after.deleted_ids.empty());
  EXPECT_FALSE(after.reload_required);
}

TEST_P(StoreConformance, ChangesSinceSeesBatchWrites) {
  const std::string cursor = store().change_cursor();
  store().create_many({make_dto("a"), make_dto("b")});
  store().create_missing({make_dto("c"), make_dto("a")}, false);
  const ChangeSet changes = store().changes_since(cursor);
  EXPECT_EQ(changes.upserted.size(), 3U);
  EXPECT_TRUE(changes.deleted_ids.empty());
}

TEST_P(StoreConformance, ChangesSinceRejectsCursorsItDidNotIssue) {
  store().create_many({make_dto("a"), make_dto("b")});
  const auto page = store().list({}, 1, std::nullopt);
  ASSERT_TRUE(page.next_cursor.has_value());
  for (const std::string bad : {"not-a-cursor", "", "@@@@", page.next_cursor->c_str()}) {
    SCOPED_TRACE("cursor: " + bad);
    expect_error(ErrorCode::kInvalid, [&] { store().changes_since(bad); });
  }
}

TEST_P(StoreConformance, UpsertModelsInsertsThenUpdatesById) {
  ModelRecord a{"model-a", "Juggernaut XL", true, "sdxl", {{"source", "civitai"}}, "/models/jugg.safetensors"};
  ModelRecord b{"model-b", "Old Model", false, std::nullopt, nlohmann::json::object(), std::nullopt};
  ModelRecord c{"model-c", "Flux Dev", true, "flux-dev", {{"tags", {"flux", "dev"}}}, std::nullopt};
  store().upsert_models({c, a, b});
  EXPECT_EQ(store().get_model("model-a"), a);
  EXPECT_EQ(store().get_model("model-b"), b);
  EXPECT_FALSE(store().get_model("model-z").has_value());
  EXPECT_EQ(store().count_models(false), 3);
  EXPECT_EQ(store().count_models(true), 2);

  a.name = "Juggernaut XL v9";
  a.is_active = false;
  a.base_model.reset();
  a.file_path.reset();
  a.metadata = {{"version", 9}};
  store().upsert_models({a});
  EXPECT_EQ(store().get_model("model-a"), a);
  EXPECT_EQ(store().count_models(false), 3);
  EXPECT_EQ(store().count_models(true), 1);
  store().upsert_models({});
}

TEST_P(StoreConformance, UpsertModelsWithAnEmptyIdWritesNothing) {
  const ModelRecord good{"good", "Good", true, "sdxl", nlohmann::json::object(), std::nullopt};
  const ModelRecord bad{"", "No id", true, std::nullopt, nlohmann::json::object(), std::nullopt};
  expect_error(ErrorCode::kInvalid, [&] { store().upsert_models({good, bad}); });
  EXPECT_EQ(store().count_models(false), 0);
}

TEST_P(StoreConformance, ForEachModelStreamsInIdOrderWithActiveOnlyAndEarlyStop) {
  std::vector<ModelRecord> models;
  for (int i = 9; i >= 0; --i)
    models.push_back({"m" + std::to_string(i), "Model " + std::to_string(i), i % 3 != 0, "sdxl",
                      nlohmann::json::object(), std::nullopt});
  store().upsert_models(models);

  std::vector<std::string> all, active;
  store().for_each_model(false, [&](const ModelRecord& m) {
    all.push_back(m.id);
    return true;
  });
  store().for_each_model(true, [&](const ModelRecord& m) {
    EXPECT_TRUE(m.is_active);
    active.push_back(m.id);
    return true;
  });
  EXPECT_EQ(all, (std::vector<std::string>{"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}));
  EXPECT_EQ(active, (std::vector<std::string>{"m1", "m2", "m4", "m5", "m7", "m8"}));

  int calls = 0;
  store().for_each_model(false, [&](const ModelRecord&) { return ++calls < 2; });
  EXPECT_EQ(calls, 2);
}

}  // namespace inferconf::testing
