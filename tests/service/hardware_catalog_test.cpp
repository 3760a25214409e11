// hardware.json: the shipped file loads and describes what the planner
// needs; a broken one is refused with every problem named
// (cases/broken_hardware.json); inline profiles are read field by field.
#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"
#include "inferconf/catalog_bundle.hpp"
#include "inferconf/hardware.hpp"

namespace inferconf {
namespace {

const std::filesystem::path kShipped = HardwareCatalog::file_in(testing::source_catalog_dir());

TEST(HardwareCatalogue, ShipsTheNamedProfilesSmallestFirst) {
  const auto h = HardwareCatalog::load(kShipped, testing::shipped_catalog());
  std::vector<std::string> ids;
  for (const auto& p : h.profiles()) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"consumer_8gb", "consumer_12gb", "consumer_16gb", "l4", "consumer_24gb",
                                           "a100_40gb", "a100_80gb", "h100_80gb"}));
  const auto* a100 = h.find_profile("a100_40gb");
  ASSERT_NE(a100, nullptr);
  EXPECT_EQ(a100->vram_gb, 40);
  EXPECT_EQ(a100->compute_capability, 8.0);
  EXPECT_EQ(h.find_profile("rtx_9090"), nullptr);
}

TEST(HardwareCatalogue, AVariantWithoutItsOwnModelTakesTheBaseModels) {
  const auto h = HardwareCatalog::load(kShipped, testing::shipped_catalog());
  const auto* small = h.memory_model("wan_2_1", "t2v_1_3b");
  const auto* base = h.memory_model("wan_2_1", "");
  ASSERT_TRUE(small && base);
  EXPECT_EQ(small->diffusion_model.params_billion, 1.3);
  EXPECT_EQ(base->diffusion_model.params_billion, 14.0);
  EXPECT_TRUE(small->video);
  const auto* hidream_dev = h.memory_model("hidream", "dev");
  ASSERT_NE(hidream_dev, nullptr);
  EXPECT_EQ(hidream_dev->variant, "") << "hidream/dev has no entry of its own";
  EXPECT_EQ(h.memory_model("no_such_model", ""), nullptr);
}

TEST(HardwareCatalogue, EveryComponentNamesItsSource) {
  const auto h = HardwareCatalog::load(kShipped, testing::shipped_catalog());
  for (const auto& m : h.memory_models()) {
    SCOPED_TRACE(m.base_model + "/" + m.variant);
    EXPECT_FALSE(m.source.empty());
    EXPECT_FALSE(m.diffusion_model.source.empty());
    EXPECT_FALSE(m.vae.source.empty());
    for (const auto& t : m.text_encoders) EXPECT_FALSE(t.source.empty()) << t.id;
  }
}

TEST(HardwareCatalogue, TheBundleLoadsItOnceAndAFolderWithoutItHasNone) {
  const auto bundle = CatalogBundle::load(testing::source_catalog_dir());
  ASSERT_NE(bundle->hardware(), nullptr);
  EXPECT_EQ(bundle->hardware().get(), bundle->hardware().get());
  testing::TempDir dir;
  for (const char* name : {"base_models.json", "vocabulary.json"})
    dir.write(name, testing::read_text(testing::source_catalog_dir() / name));
  EXPECT_EQ(CatalogBundle::load(dir.path())->hardware(), nullptr);
}

// {"$copy": "/pointer"} in a patch value stands for that part of the file.
nlohmann::json expand_copies(nlohmann::json patch, const nlohmann::json& doc) {
  for (auto& op : patch)
    if (op.contains("value") && op["value"].is_object() && op["value"].contains("$copy"))
      op["value"] = doc.at(nlohmann::json::json_pointer(op["value"]["$copy"].get<std::string>()));
  return patch;
}

TEST(BrokenHardwareCatalogue, CaseFile) {
  const auto cases = testing::read_json(std::filesystem::path(INFERCONF_SOURCE_DIR) /
                                        "tests/service/cases/broken_hardware.json")["cases"];
  ASSERT_GE(cases.size(), 10u);
  const auto shipped = testing::read_json(kShipped);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    testing::TempDir dir;
    dir.write("hardware.json", shipped.patch(expand_copies(c.at("patch"), shipped)).dump(2));
    const auto file = dir.path() / "hardware.json";
    try {
      HardwareCatalog::load(file, testing::shipped_catalog());
      ADD_FAILURE() << "the broken hardware catalogue loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalid);
      const std::string what = e.what();
      for (const auto& fragment : c.at("expect"))
        EXPECT_NE(what.find(fragment.get<std::string>()), std::string::npos)
            << "missing: " << fragment.get<std::string>() << "\nin: " << what;
      EXPECT_EQ(e.field_errors().size(), c.at("count").get<std::size_t>()) << what;
      for (const auto& fe : e.field_errors())
        EXPECT_EQ(fe.field.rfind(file.string(), 0), 0u) << "every problem names its file: " << fe.field;
    }
  }
}

TEST(BrokenHardwareCatalogue, ATextThatIsNotJsonNamesTheFile) {
  testing::TempDir dir;
  dir.write("hardware.json", "{\"profiles\": [");
  try {
    HardwareCatalog::load(dir.path() / "hardware.json", testing::shipped_catalog());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    EXPECT_NE(std::string(e.what()).find("hardware.json"), std::string::npos) << e.what();
  }
}

TEST(InlineHardwareProfile, ReadsItsFieldsAndDefaultsToOneCard) {
  std::vector<FieldError> errors;
  const auto p = read_hardware_profile(
      nlohmann::json{{"vram_gb", 10}, {"system_ram_gb", 48}, {"compute_capability", 7.5}}, "hardware", false, errors);
  ASSERT_TRUE(p) << (errors.empty() ? "" : errors[0].message);
  EXPECT_EQ(p->id, "inline");
  EXPECT_EQ(p->count, 1);
  EXPECT_EQ(p->vram_gb, 10);
}

TEST(InlineHardwareProfile, NamesEveryBadField) {
  std::vector<FieldError> errors;
  const auto p = read_hardware_profile(
      nlohmann::json{{"vram_gb", "lots"}, {"compute_capability", 2}, {"count", 100}, {"tflops", 80}}, "hardware", false,
      errors);
  EXPECT_FALSE(p);
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"hardware.tflops", "hardware.vram_gb", "hardware.system_ram_gb",
                                              "hardware.compute_capability", "hardware.count"}));
  EXPECT_EQ(errors[1].message, "must be a number, but it is a string (\"lots\").");
}

}  // namespace
}  // namespace inferconf
