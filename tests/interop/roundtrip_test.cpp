// Round trips: export -> infotext -> import gives back the preset for every
// SD-family preset; export -> ComfyUI graph -> import for every preset ComfyUI
// renders; legacy sampler names import as canonical names.
#include <gtest/gtest.h>

#include "interop/interop_fixture.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::testing {
namespace {

CreateDTO preset_dto(const std::string& base, const std::string& type, const std::string& variant = {}) {
  const auto* p = shipped_catalog().find(base)->preset(type, variant);
  CreateDTO dto;
  dto.model_id = "roundtrip-model";
  dto.base_model = base;
  dto.configuration_type = type;
  dto.steps = p->steps;
  dto.cfg_scale = p->cfg_scale;
  dto.sampler = p->sampler;
  dto.scheduler = p->scheduler;
  dto.model_specific_params = p->model_specific_params;
  return dto;
}

PresetImportOptions import_options(const std::string& base, const std::string& type) {
  PresetImportOptions o;
  o.rules = inferconf::testing::shipped_rules().get();
  o.model_id = "roundtrip-model";
  o.base_model = base;
  o.configuration_type = type;
  return o;
}

ExportOptions export_options() {
  ExportOptions o;
  o.prompt = "portrait of an old sailor,\nweathered face";  // a multi-line prompt survives too
  o.negative_prompt = "lowres, bad hands";
  o.seed = 42;
  o.checkpoint = "juggernautXL_v9.safetensors";
  return o;
}

class InfotextRoundTrip : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(InfotextRoundTrip, ImportGivesBackTheExportedPreset) {
  const auto& [base, type] = GetParam();
  const auto exported = export_request(resolved_from_preset(base, type), ExportFormat::kInfotext, export_options(),
                                       shipped_catalog(), shipped_engine_vocabulary());
  const auto parsed = parse_infotext(exported.text);
  ASSERT_TRUE(parsed.has_parameters) << exported.text;
  const auto imported = preset_from_infotext(parsed, import_options(base, type), shipped_catalog(), shipped_engine_vocabulary());
  EXPECT_EQ(nlohmann::json(imported.dto), nlohmann::json(preset_dto(base, type))) << exported.text;
  EXPECT_EQ(imported.prompt, export_options().prompt);
  EXPECT_EQ(imported.negative_prompt, export_options().negative_prompt);
  for (const auto& n : imported.notes)  // nothing was guessed: every value came from the infotext
    EXPECT_NE(n.kind, "defaulted") << n.key << ": " << n.message;
}

INSTANTIATE_TEST_SUITE_P(SdFamily, InfotextRoundTrip,
                         ::testing::Values(std::pair{"sd_1_5", "quality"}, std::pair{"sd_1_5", "speed"},
                                           std::pair{"sdxl", "quality"}, std::pair{"sdxl", "speed"},
                                           std::pair{"pony", "quality"}, std::pair{"pony", "speed"}),
                         [](const auto& info) { return std::string(info.param.first) + "_" + info.param.second; });

TEST(ComfyUIRoundTrip, EveryRenderablePresetImportsBackFromItsGraph) {
  int checked = 0;
  for (const auto& b : shipped_catalog().base_models()) {
    std::vector<std::string> variants{""};
    for (const auto& v : b.variants) variants.push_back(v.id);
    for (const auto& variant : variants)
      for (const auto& t : shipped_catalog().configuration_types()) {
        const auto* arch = shipped_engine_vocabulary().architecture(b.id, variant);
        if (arch->comfyui_graph == "unsupported" || !b.preset(t.id, variant)) continue;
        const auto graph = export_request(resolved_from_preset(b.id, t.id, variant), ExportFormat::kComfyUI,
                                          export_options(), shipped_catalog(), shipped_engine_vocabulary());
        auto options = import_options(b.id, t.id);
        options.variant = variant;
        const auto imported = preset_from_comfyui(graph.body, options, shipped_catalog(),
                                                  shipped_engine_vocabulary());
        auto expected = preset_dto(b.id, t.id, variant);
        EXPECT_EQ(nlohmann::json(imported.dto), nlohmann::json(expected)) << b.id << "/" << variant << " " << t.id;
        for (const auto& n : imported.notes) {
          if (n.kind != "defaulted") continue;
          EXPECT_TRUE(n.key == "boundary" || n.key == "end_at_step" || n.key == "max_sequence_length") << b.id << " " << n.key;
        }
        ++checked;
      }
  }
  EXPECT_GE(checked, 18);
}

TEST(LegacyNames, CombinedAndOldNamesImportCanonical) {
  struct Case {
    const char* sampler_field;
    const char* sampler;
    const char* scheduler;
  };
  for (const auto& c : {Case{"Sampler: DPM++ 2M Karras", "dpmpp_2m", "karras"},
                        Case{"Sampler: k_euler_a", "euler_ancestral", "normal"},
                        Case{"Sampler: DPM++ 2M SDE Exponential", "dpmpp_2m_sde", "exponential"},
                        Case{"Sampler: k_dpmpp_2m, Schedule type: Karras", "dpmpp_2m", "karras"},
                        Case{"Sampler: Euler a, Schedule type: Automatic", "euler_ancestral", "normal"}}) {
    const auto text = std::string("a cat\nSteps: 20, ") + c.sampler_field + ", CFG scale: 7, Size: 512x512";
    const auto r = preset_from_infotext(parse_infotext(text), import_options("sd_1_5", "quality"), shipped_catalog(),
                                        shipped_engine_vocabulary());
    EXPECT_EQ(r.dto.sampler, c.sampler) << text;
    EXPECT_EQ(r.dto.scheduler, c.scheduler) << text;
  }
}

}  // namespace
}  // namespace inferconf::testing
