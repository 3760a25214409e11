// Golden files: for every base model x type, the ComfyUI graph, A1111 body,
// diffusers JSON (and its Python rendering, from the repository and from the
// architecture's usual checkpoint files) and infotext, compared with the
// checked-in files under golden/. INFERCONF_UPDATE_GOLDEN=1 rewrites them.
// Every ComfyUI graph also passes the structural checker.
#include <cstdlib>

#include <gtest/gtest.h>

#include "interop/comfyui_checker.hpp"
#include "interop/interop_fixture.hpp"

namespace inferconf::testing {
namespace {

ExportOptions golden_options() {
  ExportOptions o;
  o.prompt = "a lighthouse on a cliff at dusk, dramatic sky";
  o.negative_prompt = "blurry, low quality";
  o.seed = 123456789;
  return o;
}

bool updating() {
  const char* v = std::getenv("INFERCONF_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

// golden_options with the architecture's usual files as the model's files
// (a multi-expert model's first and second expert), as a registry gives them.
ExportOptions golden_file_options(const ResolvedParameters& r) {
  auto o = golden_options();
  const auto& files = shipped_engine_vocabulary().architecture(r.base_model, r.variant)->comfyui_files;
  for (const char* role : {"checkpoint", "unet", "unet_high_noise"})
    if (auto it = files.find(role); it != files.end() && o.checkpoint.empty()) o.checkpoint = it->second;
  if (auto it = files.find("unet_low_noise"); it != files.end()) o.checkpoint_2 = it->second;
  return o;
}

// The export's file text: the body, or the refusal as {"error": ...}.
std::string render(const ResolvedParameters& r, ExportFormat f, std::string* python = nullptr,
                   const ExportOptions& options = golden_options()) {
  try {
    auto result = export_request(r, f, options, shipped_catalog(), shipped_engine_vocabulary());
    if (f == ExportFormat::kInfotext) return result.text + "\n";
    if (python) *python = render_diffusers_python(result.body);
    return result.body.dump(2) + "\n";
  } catch (const Error& e) {
    if (f == ExportFormat::kInfotext) return std::string("error: ") + e.what() + "\n";
    return nlohmann::json{{"error", e.what()}}.dump(2) + "\n";
  }
}

void compare_or_update(const std::string& name, const std::string& actual) {
  const auto path = interop_test_dir() / "golden" / name;
  if (updating()) {
    write_file(path, actual);
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing; run with INFERCONF_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(read_file(path), actual) << "golden file " << name << " differs; if the change is intended, rerun with "
                                        "INFERCONF_UPDATE_GOLDEN=1 and review the diff";
}

class Golden : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(Golden, ExportsMatchTheCheckedInFiles) {
  const auto& [base, type] = GetParam();
  const auto r = resolved_from_preset(base, type);
  const auto stem = base + "_" + type;
  compare_or_update(stem + ".comfyui.json", render(r, ExportFormat::kComfyUI));
  compare_or_update(stem + ".a1111.json", render(r, ExportFormat::kA1111));
  std::string python;
  compare_or_update(stem + ".diffusers.json", render(r, ExportFormat::kDiffusers, &python));
  compare_or_update(stem + ".diffusers.py", python);
  std::string python_files;
  compare_or_update(stem + ".diffusers_files.json",
                    render(r, ExportFormat::kDiffusers, &python_files, golden_file_options(r)));
  compare_or_update(stem + ".diffusers_files.py", python_files);
  compare_or_update(stem + ".infotext.txt", render(r, ExportFormat::kInfotext));
}

TEST_P(Golden, ComfyUIGraphPassesTheStructuralChecker) {
  const auto& [base, type] = GetParam();
  if (shipped_engine_vocabulary().architecture(base, "")->comfyui_graph == "unsupported")
    GTEST_SKIP() << base << " has no ComfyUI graph; NotExportableArchitectures checks its refusal";
  const auto result = export_request(resolved_from_preset(base, type), ExportFormat::kComfyUI, golden_options(),
                                     shipped_catalog(), shipped_engine_vocabulary());
  const auto problems = ComfyUIChecker::load(shipped_catalog().vocabulary()).check(result.body);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
}

std::vector<std::pair<std::string, std::string>> every_base_and_type() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& b : shipped_catalog().base_models())
    for (const auto& t : shipped_catalog().configuration_types()) out.emplace_back(b.id, t.id);
  return out;
}

INSTANTIATE_TEST_SUITE_P(EveryPreset, Golden, ::testing::ValuesIn(every_base_and_type()),
                         [](const auto& info) { return info.param.first + "_" + info.param.second; });

// An architecture an engine cannot take gets the catalogue's reason, not a
// half-built request: for every base model and variant, each refused engine.
TEST(NotExportableArchitectures, EachRefusalSaysWhyAndWhatToDo) {
  int refusals = 0;
  for (const auto& b : shipped_catalog().base_models()) {
    std::vector<std::string> variants{""};
    for (const auto& v : b.variants) variants.push_back(v.id);
    for (const auto& variant : variants) {
      const auto* arch = shipped_engine_vocabulary().architecture(b.id, variant);
      ASSERT_NE(arch, nullptr) << b.id;
      const std::vector<std::pair<ExportFormat, std::string>> refused = [&] {
        std::vector<std::pair<ExportFormat, std::string>> out;
        if (arch->comfyui_graph == "unsupported") out.emplace_back(ExportFormat::kComfyUI, arch->comfyui_reason);
        if (!arch->a1111_supported) out.emplace_back(ExportFormat::kA1111, arch->a1111_reason);
        if (!arch->diffusers_supported) out.emplace_back(ExportFormat::kDiffusers, arch->diffusers_reason);
        return out;
      }();
      for (const auto& [format, reason] : refused) {
        const auto who = b.id + "/" + variant + " " + std::string(to_string(format));
        ASSERT_FALSE(reason.empty()) << who;
        try {
          export_request(resolved_from_preset(b.id, "quality", variant), format, golden_options(), shipped_catalog(),
                         shipped_engine_vocabulary());
          ADD_FAILURE() << who << " exported although the vocabulary refuses it";
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::kInvalid) << who;
          EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << who << ": " << e.what();
        }
        ++refusals;
      }
    }
  }
  // The seven new architectures without engine support refuse all three engines.
  EXPECT_GE(refusals, 3 * 7);
}

// Variants whose graphs differ from their base's: checked structurally.
TEST(GoldenVariants, VariantGraphsPassTheStructuralChecker) {
  const auto checker = ComfyUIChecker::load(shipped_catalog().vocabulary());
  for (const auto& b : shipped_catalog().base_models())
    for (const auto& v : b.variants)
      for (const auto& t : shipped_catalog().configuration_types()) {
        const auto* arch = shipped_engine_vocabulary().architecture(b.id, v.id);
        ASSERT_NE(arch, nullptr);
        if (arch->comfyui_graph == "unsupported") continue;
        const auto result = export_request(resolved_from_preset(b.id, t.id, v.id), ExportFormat::kComfyUI,
                                           golden_options(), shipped_catalog(), shipped_engine_vocabulary());
        const auto problems = checker.check(result.body);
        EXPECT_TRUE(problems.empty()) << b.id << "/" << v.id << " " << t.id << ": " << ::testing::PrintToString(problems);
      }
}

}  // namespace
}  // namespace inferconf::testing
