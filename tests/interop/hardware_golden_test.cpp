// Exports with a hardware plan applied (golden/hardware/): for each case the
// plan the planner makes for the preset on the profile, carried into the
// ComfyUI graph (which passes the structural checker) and the diffusers
// description and Python snippet, notes included. INFERCONF_UPDATE_GOLDEN=1
// rewrites the files.
#include <cstdlib>

#include <gtest/gtest.h>

#include "interop/comfyui_checker.hpp"
#include "interop/interop_fixture.hpp"
#include "inferconf/hardware_plan.hpp"

namespace inferconf::testing {
namespace {

struct PlannedCase {
  std::string name, base, variant, type;
  HardwareProfile profile;
};
void PrintTo(const PlannedCase& c, std::ostream* os) { *os << c.name; }

const HardwareCatalog& shipped_hardware() {
  static const HardwareCatalog h = HardwareCatalog::load(
      std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" / "hardware.json", shipped_catalog());
  return h;
}

HardwareProfile shipped(const std::string& id) { return *shipped_hardware().find_profile(id); }

HardwareProfile nine_gigabytes() {
  HardwareProfile p;
  p.id = "inline";
  p.vram_gb = 9;
  p.system_ram_gb = 32;
  p.compute_capability = 8.6;
  return p;
}

std::vector<PlannedCase> cases() {
  return {{"flux_dev_on_consumer_24gb", "flux_dev", "", "quality", shipped("consumer_24gb")},
          {"sdxl_on_consumer_8gb", "sdxl", "", "quality", shipped("consumer_8gb")},
          {"sdxl_on_9gb", "sdxl", "", "quality", nine_gigabytes()},
          {"wan_2_1_t2v_1_3b_on_consumer_8gb", "wan_2_1", "t2v_1_3b", "speed", shipped("consumer_8gb")},
          {"wan_2_2_t2v_a14b_on_consumer_16gb", "wan_2_2", "t2v_a14b", "quality", shipped("consumer_16gb")}};
}

std::string document(const ExportResult& r) {
  return nlohmann::json{{"body", r.body}, {"notes", r.notes}}.dump(2) + "\n";
}

void compare_or_update(const std::string& name, const std::string& actual) {
  const auto path = interop_test_dir() / "golden" / "hardware" / name;
  const char* update = std::getenv("INFERCONF_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    write_file(path, actual);
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing; run with INFERCONF_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(read_file(path), actual) << "golden file " << name << " differs";
}

class PlannedExport : public ::testing::TestWithParam<PlannedCase> {};

TEST_P(PlannedExport, CarriesThePlanIntoTheEngineRequest) {
  const auto& c = GetParam();
  auto resolved = resolved_from_preset(c.base, c.type, c.variant);
  const HardwarePlanner planner(shipped_hardware());
  const auto& p = resolved.parameters;
  const Workload w{p["width"].get<int>(), p["height"].get<int>(), p.contains("video_frames") ? p["video_frames"].get<int>() : 1};
  resolved.hardware = planner.plan(*shipped_catalog().find(c.base), c.variant, c.profile, w);
  ASSERT_TRUE(resolved.hardware->adjustments.empty()) << "these cases plan the preset's size unchanged";
  ExportOptions options;
  options.prompt = "a lighthouse on a cliff at dusk, dramatic sky";
  options.seed = 123456789;

  const auto comfyui = export_request(resolved, ExportFormat::kComfyUI, options, shipped_catalog(), shipped_engine_vocabulary());
  const auto problems = ComfyUIChecker::load(shipped_catalog().vocabulary()).check(comfyui.body);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  compare_or_update(c.name + ".comfyui.json", document(comfyui));
  const auto diffusers = export_request(resolved, ExportFormat::kDiffusers, options, shipped_catalog(), shipped_engine_vocabulary());
  compare_or_update(c.name + ".diffusers.json", document(diffusers));
  compare_or_update(c.name + ".diffusers.py", render_diffusers_python(diffusers.body));
}

INSTANTIATE_TEST_SUITE_P(Plans, PlannedExport, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<PlannedCase>& i) { return i.param.name; });

}  // namespace
}  // namespace inferconf::testing
