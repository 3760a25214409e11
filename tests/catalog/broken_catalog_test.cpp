// Broken catalogue files (cases/broken_catalogs.json): each case changes the real
// base_models.json or vocabulary.json (an RFC 6902 patch, or replacement text),
// writes both files to a fresh directory and loads it with Catalog::load. The
// load must fail as kInvalid, its message must hold every expected fragment, and
// when `count` is given exactly that many problems are reported (no noise).
#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"

namespace inferconf {
namespace {

TEST(BrokenCatalogue, CaseFile) {
  const auto cases = testing::read_json(testing::cases_dir() / "broken_catalogs.json");
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    testing::TempDir dir;
    for (const char* name : {"base_models.json", "vocabulary.json"}) {
      std::string text = testing::read_text(testing::source_catalog_dir() / name);
      if (c.at("file") == name) {
        if (c.contains("text"))
          text = c["text"].get<std::string>();
        else
          text = nlohmann::json::parse(text).patch(c.at("patch")).dump(2);
      }
      dir.write(name, text);
    }
    try {
      Catalog::load(dir.path());
      ADD_FAILURE() << "the broken catalogue loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalid);
      const std::string what = e.what();
      for (const auto& fragment : c.at("expect")) {
        EXPECT_NE(what.find(fragment.get<std::string>()), std::string::npos)
            << "missing: " << fragment.get<std::string>() << "\nin: " << what;
      }
      if (c.contains("count")) {
        EXPECT_EQ(e.field_errors().size(), c["count"].get<std::size_t>()) << what;
      }
      for (const auto& fe : e.field_errors()) {
        EXPECT_EQ(fe.field.rfind(dir.path().string(), 0), 0u) << "every problem names its file: " << fe.field;
      }
    }
  }
}

TEST(BrokenCatalogue, FromJsonNamesTheOrigin) {
  auto base_models = testing::read_json(testing::source_catalog_dir() / "base_models.json");
  const auto vocabulary = testing::read_json(testing::source_catalog_dir() / "vocabulary.json");
  base_models["base_models"][1]["presets"]["quality"]["cfg_scale"] = 0;
  try {
    Catalog::from_json(base_models, vocabulary);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    ASSERT_EQ(e.field_errors().size(), 1u);
    EXPECT_EQ(e.field_errors()[0].field, "catalog/base_models.json:base_models[1].presets.quality.cfg_scale");
    EXPECT_EQ(e.field_errors()[0].message, "is 0, but sdxl allows 1 to 30 (1 = CFG off).");
  }
}

TEST(BrokenCatalogue, ATenthBaseModelIsADataChange) {
  auto base_models = testing::read_json(testing::source_catalog_dir() / "base_models.json");
  const auto vocabulary = testing::read_json(testing::source_catalog_dir() / "vocabulary.json");
  auto tenth = base_models["base_models"][1];  // sdxl's shape
  tenth["id"] = "acme_xl";
  tenth["display_name"] = "Acme XL";
  base_models["base_models"].push_back(tenth);
  const auto catalog = Catalog::from_json(base_models, vocabulary);
  ASSERT_NE(catalog.find("acme_xl"), nullptr);
  CreateDTO dto{"m", "acme_xl", "quality", 30, 7.5, "Euler a", "karras", {}};
  const auto report = Validator(catalog).validate(dto);
  EXPECT_TRUE(report.ok()) << testing::describe(report);
}

}  // namespace
}  // namespace inferconf
