#include <sstream>

#include <gtest/gtest.h>

#include "inferconf/registry.hpp"

namespace inferconf {
namespace {

TEST(Registry, JsonLinesNumbersCountTheBlankLinesBeforeTheFirstRecord) {
  std::istringstream in("\n\n{\"id\": \"a\"}\n{bad}\n");
  std::vector<std::size_t> bad;
  read_model_records(in, {}, [](ModelRecord&&, std::size_t) {}, [&](std::size_t where, const Error&) { bad.push_back(where); });
  EXPECT_EQ(bad, (std::vector<std::size_t>{4}));
}

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

struct ReadOutcome {
  std::vector<std::string> ids;
  std::vector<std::size_t> bad;      // where of each bad record
  std::vector<std::string> file;     // messages of whole-file problems
  std::vector<std::string> messages; // of the bad records
};

ReadOutcome read_all(const std::string& text) {
  std::istringstream in(text);
  ReadOutcome out;
  read_model_records(in, {}, [&](ModelRecord&& m, std::size_t) { out.ids.push_back(m.id); },
                     [&](std::size_t where, const Error& e) {
                       if (where == kWholeRegistryFile) {
                         out.file.push_back(e.what());
                       } else {
                         out.bad.push_back(where);
                         out.messages.push_back(e.what());
                       }
                     });
  return out;
}

TEST(Registry, ArrayIsReadItemByItemAndGoesOnAfterABadItem) {
  const auto r = read_all("[{\"id\": \"a\"}, {bad}, {\"name\": \"no id\"}, {\"id\": \"d\"}]");
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(r.bad, (std::vector<std::size_t>{1, 2}));
  EXPECT_TRUE(r.file.empty());
}

TEST(Registry, ArrayItemBoundariesIgnoreBracketsCommasAndQuotesInsideStrings) {
  const auto r = read_all(R"([{"id": "a,]}\"[{", "name": "x", "metadata": {"tags": ["p", {"q": "]"}]}}, {"id": "b"}])");
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a,]}\"[{", "b"}));
  EXPECT_TRUE(r.bad.empty());
  EXPECT_TRUE(r.file.empty());
}

TEST(Registry, EmptyArraysAndBlankPaddingReadNothingAndReportNothing) {
  for (const std::string text : {"[]", "  \n[ \n ]\n\n", "\n[\n]"}) {
    const auto r = read_all(text);
    EXPECT_TRUE(r.ids.empty()) << text;
    EXPECT_TRUE(r.bad.empty() && r.file.empty()) << text;
  }
}

TEST(Registry, ArrayWithoutClosingBracketReportsTheFileOnceAfterTheItemsBefore) {
  const auto r = read_all("[\n{\"id\": \"a\"},\n{\"id\": \"b\"");
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a"}));
  ASSERT_EQ(r.file.size(), 1u);
  EXPECT_NE(r.file[0].find("closing ']' is missing"), std::string::npos) << r.file[0];
  EXPECT_NE(r.file[0].find("item 1 (which starts on line 3)"), std::string::npos) << r.file[0];
}

TEST(Registry, TextAfterTheArrayIsReportedAfterItsLastItemWasRead) {
  const auto r = read_all("[{\"id\": \"a\"}, {\"id\": \"b\"}]\n\n{\"id\": \"c\"}");
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(r.file.size(), 1u);
  EXPECT_NE(r.file[0].find("text after the end of its JSON array, on line 3"), std::string::npos) << r.file[0];
}

TEST(Registry, AnArrayItemThatIsNotJsonIsNamedWithItsIndexAndLine) {
  const auto r = read_all("\n[\n{\"id\": \"a\"},\n{\"id\": tru}\n]\n");
  EXPECT_EQ(r.ids, (std::vector<std::string>{"a"}));
  ASSERT_EQ(r.bad, (std::vector<std::size_t>{1}));
  EXPECT_NE(r.messages[0].find("Item 1 (line 4)"), std::string::npos) << r.messages[0];
}

TEST(Registry, ARecordHandlerThatThrowsStopsTheReadInsteadOfBeingReportedAsABadRecord) {
  for (const std::string text : {"{\"id\": \"a\"}\n{\"id\": \"b\"}\n", "[{\"id\": \"a\"}, {\"id\": \"b\"}]"}) {
    std::istringstream in(text);
    std::size_t bad = 0;
    EXPECT_THROW(read_model_records(
                     in, {}, [](ModelRecord&&, std::size_t) { throw unavailable("the store is down"); },
                     [&](std::size_t, const Error&) { ++bad; }),
                 Error)
        << text;
    EXPECT_EQ(bad, 0u) << text;
  }
}

}  // namespace
}  // namespace inferconf
