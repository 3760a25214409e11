#include <sstream>

#include <gtest/gtest.h>

#include "inferconf/registry.hpp"

namespace inferconf {
namespace {

TEST(Registry, ReadsJsonLinesAndArraysAlike) {
  const std::string lines = R"({"id": "a", "name": "A", "is_active": true, "base_model": "sdxl"}
{"id": "b", "name": "B", "is_active": false}
)";
  const std::string array = R"([{"id": "a", "name": "A", "is_active": true, "base_model": "sdxl"},
                                {"id": "b", "name": "B", "is_active": false}])";
  const auto x = parse_model_records(lines), y = parse_model_records(array);
  ASSERT_EQ(x.size(), 2u);
  EXPECT_EQ(x, y);
  EXPECT_EQ(x[0].base_model, "sdxl");
  EXPECT_FALSE(x[1].is_active);
}

TEST(Registry, MissingActiveFieldMeansInactiveAsTheSeedQueriesIt) {
  const auto r = parse_model_records(R"({"id": "a"})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].is_active);
  EXPECT_EQ(r[0].name, "a");
}

TEST(Registry, FieldMapReadsAnotherPlatformsNames) {
  RegistryFieldMap map;
  map.id = "_id";
  map.name = "title";
  map.active = "status";
  map.active_value = "published";
  map.base_model = "arch";
  const auto r = parse_model_records(R"({"_id": {"$oid": "65a1"}, "title": "T", "status": "published", "arch": "pony"}
{"_id": "x", "title": "U", "status": "draft"})",
                                     map);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].id, "65a1");
  EXPECT_TRUE(r[0].is_active);
  EXPECT_EQ(r[0].base_model, "pony");
  EXPECT_FALSE(r[1].is_active);
}

TEST(Registry, ReportsEveryBadLineWithItsNumberAndImportsNothing) {
  const std::string text = "{\"id\": \"a\", \"is_active\": true}\n"
                           "not json\n"
                           "\n"
                           "{\"name\": \"no id\"}\n"
                           "{\"id\": \"a\", \"is_active\": true}\n";
  try {
    parse_model_records(text);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    ASSERT_EQ(e.field_errors().size(), 3u) << e.what();
    EXPECT_EQ(e.field_errors()[0].field, "line 2");
    EXPECT_EQ(e.field_errors()[1].field, "line 4: id");
    EXPECT_EQ(e.field_errors()[2].field, "line 5");
    EXPECT_NE(e.field_errors()[2].message.find("repeats the id \"a\" of line 1"), std::string::npos);
  }
}

TEST(Registry, StreamingReaderGoesOnAfterABadLine) {
  std::istringstream in("{\"id\": \"a\"}\n{bad}\n{\"id\": \"c\"}\n");
  std::vector<std::string> ids;
  std::vector<std::size_t> bad;
  read_model_records(in, {}, [&](ModelRecord&& m, std::size_t) { ids.push_back(m.id); },
                     [&](std::size_t where, const Error&) { bad.push_back(where); });
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(bad, (std::vector<std::size_t>{2}));
}

}  // namespace
}  // namespace inferconf
