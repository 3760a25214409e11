// Infotext samples as data: infotext/<case>.txt holds what an image carried,
// infotext/<case>.json what parsing and importing it must give (or the error).
// Every case that imports is also wrapped in a PNG iTXt "parameters" chunk and
// must import the same from there.
#include <algorithm>

#include <gtest/gtest.h>

#include "interop/interop_fixture.hpp"
#include "interop/png_builder.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::testing {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(interop_test_dir() / "infotext"))
    if (e.path().extension() == ".txt") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class InfotextCase : public ::testing::TestWithParam<std::string> {};

TEST_P(InfotextCase, ParsesAndImportsAsExpected) {
  const auto dir = interop_test_dir() / "infotext";
  const auto text = read_file(dir / (GetParam() + ".txt"));
  const auto expect = json::parse(read_file(dir / (GetParam() + ".json")));
  SCOPED_TRACE(expect.value("description", ""));
  const auto parsed = parse_infotext(text);
  if (expect.contains("parsed")) {
    const auto& p = expect["parsed"];
    if (p.contains("prompt")) {
      EXPECT_EQ(parsed.prompt, p["prompt"].get<std::string>());
    }
    if (p.contains("negative_prompt")) {
      EXPECT_EQ(parsed.negative_prompt, p["negative_prompt"].get<std::string>());
    }
    if (p.contains("has_parameters")) {
      EXPECT_EQ(parsed.has_parameters, p["has_parameters"].get<bool>());
    }
    const auto params = p.value("params", json::object());
    for (const auto& [k, v] : params.items()) {
      const auto* got = parsed.find(k);
      if (v.is_null()) {
        EXPECT_EQ(got, nullptr) << k << " should be absent";
      } else {
        ASSERT_NE(got, nullptr) << k << " is missing";
        EXPECT_EQ(*got, v.get<std::string>()) << k;
      }
    }
  }
  if (!expect.contains("import")) return;
  const auto& imp = expect["import"];
  PresetImportOptions options;
  options.rules = inferconf::testing::shipped_rules().get();
  options.base_model = imp.value("base_model", "");
  options.configuration_type = imp.value("type", "quality");
  options.model_id = imp.value("model_id", "");
  options.allow_substitute = imp.value("allow_substitute", false);
  // "registry": the models an import without base_model or model_id looks the infotext's Model up in.
  std::vector<ModelRecord> registry;
  for (const auto& r : imp.value("registry", json::array())) registry.push_back(parse_model_record(r));
  if (imp.contains("registry"))
    options.registry = [&registry](const std::function<bool(const ModelRecord&)>& fn) {
      for (const auto& m : registry)
        if (!fn(m)) return;
    };
  if (imp.contains("error")) {
    try {
      preset_from_infotext(parsed, options, shipped_catalog(), shipped_engine_vocabulary());
      FAIL() << "expected the error: " << imp["error"];
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalid);
      EXPECT_NE(std::string(e.what()).find(imp["error"].get<std::string>()), std::string::npos) << e.what();
    }
    return;
  }
  const auto result = preset_from_infotext(parsed, options, shipped_catalog(), shipped_engine_vocabulary());
  const json dto = result.dto;
  const auto expected = imp.value("expect", json::object());
  for (const auto& [k, v] : expected.items()) EXPECT_EQ(dto[k], v) << k;
  if (imp.contains("prompt")) {
    EXPECT_EQ(result.prompt, imp["prompt"].get<std::string>());
  }
  // "decided": how a base model the options did not give was decided (fields compared when present).
  if (imp.contains("decided")) {
    ASSERT_TRUE(result.decided.has_value()) << "the base model was not decided by the import";
    const json decided = *result.decided;
    for (const auto& [k, v] : imp["decided"].items()) {
      if (k == "evidence_contains") {
        EXPECT_NE(decided["evidence"].get<std::string>().find(v.get<std::string>()), std::string::npos)
            << decided["evidence"];
      } else {
        EXPECT_EQ(decided[k], v) << k;
      }
    }
  } else {
    EXPECT_FALSE(result.decided.has_value()) << json(*result.decided).dump();
  }
  for (const auto& n : imp.value("notes", json::array())) {
    const bool found = std::any_of(result.notes.begin(), result.notes.end(), [&](const ImportNote& x) {
      return x.key == n["key"].get<std::string>() && x.kind == n["kind"].get<std::string>();
    });
    EXPECT_TRUE(found) << "no " << n["kind"] << " note for " << n["key"] << "; notes: " << json(result.notes).dump(1);
  }
  // The same text inside a PNG (as A1111 stores non-Latin-1 text: iTXt).
  const auto png = png_with({itxt_chunk("parameters", text, false)});
  const auto from_png = import_preset(png, "case.png", options, shipped_catalog(), shipped_engine_vocabulary());
  EXPECT_EQ(json(from_png.dto), dto);
  // And as a plain text file.
  EXPECT_EQ(json(import_preset(text, "case.txt", options, shipped_catalog(), shipped_engine_vocabulary()).dto), dto);
}

INSTANTIATE_TEST_SUITE_P(Samples, InfotextCase, ::testing::ValuesIn(case_names()),
                         [](const auto& info) { return info.param; });

TEST(InfotextSamples, AtLeastTwentyFiveAreCheckedIn) { EXPECT_GE(case_names().size(), 25u); }

TEST(InfotextWriter, QuotesOnlyValuesWithCommaColonOrNewline) {
  const auto text = write_infotext("a cat", "", {{"Steps", "20"}, {"Lora hashes", "a: 1, b: 2"}, {"Note", "x\ny"}});
  EXPECT_EQ(text, "a cat\nSteps: 20, Lora hashes: \"a: 1, b: 2\", Note: \"x\\ny\"");
  const auto back = parse_infotext(text);
  EXPECT_EQ(*back.find("Lora hashes"), "a: 1, b: 2");
  EXPECT_EQ(*back.find("Note"), "x\ny");
}

// Found by fuzz_interop_infotext: a value starting with an unmatched quote,
// written raw, swallowed the pairs after it when read back.
TEST(InfotextWriter, ValueStartingWithAQuoteReadsBack) {
  const std::vector<std::pair<std::string, std::string>> params = {
      {"Godel", "x"}, {"hes", "\"easynegative; c74b4e810b03"}, {"hand", "1234\""}};
  const auto back = parse_infotext(write_infotext("p", "", params));
  ASSERT_TRUE(back.has_parameters);
  EXPECT_EQ(back.params, params);
}

}  // namespace
}  // namespace inferconf::testing
