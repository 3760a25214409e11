// Loading the shipped catalogue, its invariants, its JSON form and where it is found.
#include <cstdlib>

#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"

namespace inferconf {
namespace {

using testing::shipped_catalog;

CreateDTO dto_of(const BaseModelSpec& base, const std::string& type, const Preset& p) {
  return CreateDTO{"model-1", base.id, type, p.steps, p.cfg_scale, p.sampler, p.scheduler, p.model_specific_params};
}

TEST(CatalogLoad, EveryShippedPresetPassesItsOwnConstraints) {
  const Validator validator(shipped_catalog());
  int checked = 0;
  for (const auto& base : shipped_catalog().base_models()) {
    for (const auto& [type, preset] : base.presets) {
      auto dto = dto_of(base, type, preset);
      const auto report = validator.validate(dto);
      EXPECT_TRUE(report.ok()) << base.id << " " << type << ": " << (report.ok() ? "" : report.errors[0].message);
      EXPECT_TRUE(report.unknown_params.empty()) << base.id << " " << type;
      EXPECT_TRUE(report.normalised.empty()) << base.id << " " << type;
      ++checked;
    }
    for (const auto& variant : base.variants) {
      for (const auto& t : shipped_catalog().configuration_types()) {
        const auto& type = t.id;
        const auto* preset = base.preset(type, variant.id);
        ASSERT_NE(preset, nullptr);
        auto dto = dto_of(base, type, *preset);
        // Valid for the variant, and for the base model alone: stored documents
        // do not record their variant, so `validate` of the store must pass them.
        EXPECT_TRUE(validator.validate(dto, variant.id).ok()) << base.id << "/" << variant.id << " " << type;
        EXPECT_TRUE(validator.validate(dto).ok()) << base.id << "/" << variant.id << " " << type << " on the base";
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 4 * 18 + 4 * 21);  // 18 bases x 4 types, 21 variants x 4 types
}

TEST(CatalogLoad, EveryBaseModelIsDescribed) {
  for (const auto& base : shipped_catalog().base_models()) {
    SCOPED_TRACE(base.id);
    EXPECT_FALSE(base.display_name.empty());
    EXPECT_FALSE(base.family.empty());
    EXPECT_TRUE(base.modality == "image" || base.modality == "video");
    EXPECT_FALSE(base.native_resolutions.empty());
    EXPECT_FALSE(base.notes.empty());
    EXPECT_TRUE(base.constraints.params.count("width"));
    EXPECT_TRUE(base.constraints.params.count("height"));
    if (base.modality == "video") {
      EXPECT_TRUE(base.constraints.params.count("video_frames"));
      EXPECT_TRUE(base.constraints.params.count("video_fps"));
    }
  }
}

TEST(CatalogLoad, ToJsonIsTheFileItself) {
  auto file = testing::read_json(testing::source_catalog_dir() / "base_models.json");
  file.erase("description");
  EXPECT_EQ(shipped_catalog().to_json(), file);
}

TEST(CatalogLoad, FromJsonOfToJsonGivesTheSameCatalogue) {
  const auto vocabulary = testing::read_json(testing::source_catalog_dir() / "vocabulary.json");
  const auto again = Catalog::from_json(shipped_catalog().to_json(), vocabulary);
  EXPECT_EQ(again.to_json(), shipped_catalog().to_json());
  EXPECT_EQ(again.vocabulary().samplers(), shipped_catalog().vocabulary().samplers());
}

TEST(CatalogLoad, VariantPresetsFallBackToTheBaseAndUnknownVariantsGiveNothing) {
  const auto* wan = shipped_catalog().find("wan_2_1");
  ASSERT_NE(wan, nullptr);
  // i2v_14b overrides quality only.
  EXPECT_EQ(wan->preset("quality", "i2v_14b")->steps, 40);
  EXPECT_EQ(wan->preset("speed", "i2v_14b"), wan->preset("speed"));
  EXPECT_EQ(wan->preset("quality", "t2v_99b"), nullptr);
  EXPECT_EQ(wan->preset("creative"), nullptr);  // a type the catalogue does not declare
  // i2v_14b's own balanced preset sits between its own quality and the base's speed.
  EXPECT_EQ(wan->preset("balanced", "i2v_14b")->steps, 30);
  EXPECT_EQ(wan->preset("draft", "i2v_14b"), wan->preset("draft"));
  EXPECT_EQ(&wan->constraints_for("t2v_14b"), &wan->constraints);
  EXPECT_EQ(&wan->constraints_for("no_such_variant"), &wan->constraints);
  EXPECT_NE(&wan->constraints_for("t2v_1_3b"), &wan->constraints);
  EXPECT_EQ(shipped_catalog().find("sdxl2"), nullptr);
  EXPECT_EQ(shipped_catalog().find("SDXL"), nullptr);
}

TEST(CatalogLoad, DefaultDirPrefersTheEnvironment) {
  const char* saved = std::getenv("INFERCONF_CATALOG");
  const std::string saved_value = saved ? saved : "";
  ::setenv("INFERCONF_CATALOG", "/somewhere/else", 1);
  EXPECT_EQ(Catalog::default_dir(), std::filesystem::path("/somewhere/else"));
  ::unsetenv("INFERCONF_CATALOG");
  EXPECT_EQ(Catalog::default_dir(), testing::source_catalog_dir());
  EXPECT_NO_THROW(Catalog::load(Catalog::default_dir()));
  if (saved) ::setenv("INFERCONF_CATALOG", saved_value.c_str(), 1);
}

TEST(CatalogLoad, AMissingDirectoryIsUnavailableAndNamesTheFile) {
  testing::TempDir dir;
  try {
    Catalog::load(dir.path() / "nope");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("base_models.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("INFERCONF_CATALOG"), std::string::npos) << e.what();
  }
}

TEST(CatalogLoad, AMissingVocabularyIsUnavailable) {
  testing::TempDir dir;
  dir.write("base_models.json", testing::read_text(testing::source_catalog_dir() / "base_models.json"));
  try {
    Catalog::load(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("vocabulary.json"), std::string::npos) << e.what();
  }
}

TEST(CatalogLoad, ACopyOfTheFilesLoadsFromAnyDirectory) {
  testing::TempDir dir;
  for (const char* name : {"base_models.json", "vocabulary.json"})
    dir.write(name, testing::read_text(testing::source_catalog_dir() / name));
  const auto copy = Catalog::load(dir.path());
  EXPECT_EQ(copy.to_json(), shipped_catalog().to_json());
}

}  // namespace
}  // namespace inferconf
