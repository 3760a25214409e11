// `populate` and `resolve` answer the same question for a registry model that
// has no stored configuration: which base model (and variant) its presets
// come from. Both go through decide_base_model(); these tests feed the same
// registry records to both paths, on a real SQLite store, and compare.
//
// Before there was one decision, resolve read only the record's base_model
// label, while populate also weighed its metadata, its file header and its
// name: a Pony checkpoint labelled "SDXL 1.0" was populated with Pony's
// presets and resolved with SDXL's, and a record without a label was
// populated yet could not be resolved at all.
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "detect/layouts.hpp"
#include "inferconf/base_model_decision.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/detect/safetensors_writer.hpp"
#include "inferconf/error.hpp"
#include "inferconf/populate.hpp"
#include "inferconf/service.hpp"
#include "inferconf/store.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf {
namespace {

namespace fs = std::filesystem;

// What a path answered for one model: its base model and variant, or
// "unknown" when it could not decide (populate: failed; resolve: threw).
struct Answer {
  std::string base_model = "unknown";
  std::string variant;
  friend bool operator==(const Answer&, const Answer&) = default;
};

std::ostream& operator<<(std::ostream& os, const Answer& a) {
  return os << a.base_model << (a.variant.empty() ? "" : "/" + a.variant);
}

class ResolveAgreesWithPopulate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferconf-decision-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = open_store("sqlite:" + (dir_ / "inferconf.db").string());
    store_->ensure_schema();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string checkpoint(const std::string& name, const detect::testing::Layout& layout) {
    const fs::path file = dir_ / name;
    detect::write_sparse_safetensors(file, layout);
    return file.string();
  }

  // resolve, before any configuration is stored: the registry path.
  Answer resolved(const std::string& model_id) {
    const Resolver resolver(*store_, catalog_, *rules_);
    try {
      const auto r = resolver.resolve({model_id, "quality", std::nullopt, std::nullopt, nlohmann::json::object()});
      return {r.base_model, r.variant};
    } catch (const Error&) {
      return {};
    }
  }

  // populate's decision for every model, by id (it writes the presets).
  std::map<std::string, Answer> populated() {
    populate::PopulateOptions options;
    options.keep_models = true;
    populate::Observer quiet;
    const auto report = populate::populate(*store_, catalog_, *rules_, options, quiet);
    std::map<std::string, Answer> out;
    for (const auto& m : report.models) out[m.model_id] = {m.base_model, m.variant.value_or("")};
    return out;
  }

  // Both paths over the same records; returns populate's answers.
  std::map<std::string, Answer> expect_same_answers(const std::vector<ModelRecord>& records) {
    store_->upsert_models(records);
    std::map<std::string, Answer> before;
    for (const auto& r : records) before[r.id] = resolved(r.id);
    const auto after = populated();
    for (const auto& r : records) {
      if (!after.count(r.id)) {
        ADD_FAILURE() << "populate did not report " << r.id;
        continue;
      }
      EXPECT_EQ(before.at(r.id), after.at(r.id)) << "record " << r.id << " (" << r.name << "): resolve said "
                                                 << before.at(r.id) << ", populate " << after.at(r.id);
      // Once populated, resolve reads the stored configuration: still the same.
      if (after.at(r.id).base_model != "unknown") {
        EXPECT_EQ(resolved(r.id), after.at(r.id)) << r.id;
      }
    }
    return after;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  const Catalog catalog_ = Catalog::load(fs::path(INFERCONF_SOURCE_DIR) / "catalog");
  const std::shared_ptr<const detect::Rules> rules_ = inferconf::testing::shipped_rules();
};

ModelRecord record(std::string id, std::string name, std::optional<std::string> base_model,
                   nlohmann::json metadata = nlohmann::json::object(), std::optional<std::string> file = std::nullopt) {
  return {std::move(id), std::move(name), true, std::move(base_model), std::move(metadata), std::move(file)};
}

TEST_F(ResolveAgreesWithPopulate, APonyCheckpointLabelledSdxlGetsPonyFromBoth) {
  // The label says SDXL; the name refines it to Pony (same architecture).
  const auto answers = expect_same_answers({record("pony-labelled-sdxl", "Pony Diffusion V6 XL", "SDXL 1.0")});
  EXPECT_EQ(answers.at("pony-labelled-sdxl"), (Answer{"pony", ""}));
}

TEST_F(ResolveAgreesWithPopulate, ARecordWithoutALabelIsResolvedFromItsMetadataFileOrName) {
  const auto answers = expect_same_answers({
      record("metadata-only", "house style", std::nullopt, {{"baseModel", "Flux.1 D"}}),
      record("name-only", "flux1-schnell", std::nullopt),
      record("file-only", "house checkpoint", std::nullopt, nlohmann::json::object(),
             checkpoint("house.safetensors", detect::testing::sd15_checkpoint())),
  });
  EXPECT_EQ(answers.at("metadata-only").base_model, "flux_dev");
  EXPECT_EQ(answers.at("name-only").base_model, "flux_schnell");
  EXPECT_EQ(answers.at("file-only").base_model, "sd_1_5");
}

TEST_F(ResolveAgreesWithPopulate, EveryKindOfRegistryRecordGetsOneAnswer) {
  expect_same_answers({
      record("sdxl-label", "Juggernaut XL", "SDXL 1.0"),
      record("catalogue-id", "Some model", "flux_dev"),
      record("variant-label", "Wan 2.2 5B", "Wan Video 2.2 TI2V-5B"),
      record("metadata-variant", "HiDream", "hidream", {{"variant", "fast"}}),
      record("label-and-file-disagree", "odd one", "SDXL 1.0", nlohmann::json::object(),
             checkpoint("odd.safetensors", detect::testing::flux_dit(false))),
      record("krea-by-metadata", "krea", std::nullopt, {{"modelspec.architecture", "flux-1-dev"}, {"name", "FLUX.1 Krea [dev]"}}),
      record("other-architecture", "SD 3.5", "SD 3.5 Large"),
      record("mystery", "mystery", std::nullopt),
  });
}

TEST(DecideBaseModel, AVariantTheCatalogueDoesNotHaveIsANoteAndTheBasePresetsApply) {
  const Catalog catalog = Catalog::load(fs::path(INFERCONF_SOURCE_DIR) / "catalog");
  const auto d = decide_base_model(catalog, *inferconf::testing::shipped_rules(),
                                   record("x", "x", "sdxl", {{"variant", "turbo"}}));
  ASSERT_TRUE(d.decided());
  EXPECT_EQ(d.spec->id, "sdxl");
  EXPECT_EQ(d.variant, "");
  EXPECT_NE(d.note.find("\"turbo\""), std::string::npos) << d.note;
  EXPECT_EQ(d.inference.source, detect::Source::kExplicit);
}

TEST(DecideBaseModel, AnUndecidableRecordSaysWhy) {
  const Catalog catalog = Catalog::load(fs::path(INFERCONF_SOURCE_DIR) / "catalog");
  const auto d = decide_base_model(catalog, *inferconf::testing::shipped_rules(), record("x", "", std::nullopt));
  EXPECT_FALSE(d.decided());
  EXPECT_NE(d.reason.find("no source names a base model"), std::string::npos) << d.reason;
}

}  // namespace
}  // namespace inferconf
