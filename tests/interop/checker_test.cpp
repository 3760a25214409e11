// The structural checker must catch what ComfyUI would reject: each case
// breaks one thing in a real exported graph and expects the checker to say so.
#include <gtest/gtest.h>

#include "interop/comfyui_checker.hpp"
#include "interop/interop_fixture.hpp"

namespace inferconf::testing {
namespace {

using json = nlohmann::json;

json sdxl_graph() {
  ExportOptions o;
  o.seed = 1;
  auto r = resolved_from_preset("sdxl", "quality");
  return export_request(r, ExportFormat::kComfyUI, o, shipped_catalog(), shipped_engine_vocabulary()).body;
}

std::string node_of(const json& graph, const std::string& type) {
  for (const auto& [id, n] : graph["prompt"].items())
    if (n["class_type"] == type) return id;
  return {};
}

std::string first_problem(const json& graph) {
  const auto problems = ComfyUIChecker::load(shipped_catalog().vocabulary()).check(graph);
  return problems.empty() ? std::string() : problems.front();
}

TEST(ComfyUIChecker, AcceptsTheExportedGraph) { EXPECT_EQ(first_problem(sdxl_graph()), ""); }

TEST(ComfyUIChecker, RejectsATypoInAnInputName) {
  auto g = sdxl_graph();
  auto& inputs = g["prompt"][node_of(g, "KSampler")]["inputs"];
  inputs["sampler"] = inputs["sampler_name"];
  inputs.erase("sampler_name");
  const auto problems = ComfyUIChecker::load(shipped_catalog().vocabulary()).check(g);
  ASSERT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("required input sampler_name is missing"), std::string::npos);
  EXPECT_NE(problems[1].find(".sampler: no such input"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsAnUnknownClassType) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "VAEDecode")]["class_type"] = "VAEDecoder";
  EXPECT_NE(first_problem(g).find("unknown class_type VAEDecoder"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsALinkToAMissingOutput) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "VAEDecode")]["inputs"]["vae"][1] = 3;  // the checkpoint has outputs 0..2
  EXPECT_NE(first_problem(g).find("output 3 of node"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsALinkToAnOutputOfTheWrongType) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "VAEDecode")]["inputs"]["vae"][1] = 1;  // CLIP, not VAE
  EXPECT_NE(first_problem(g).find("is CLIP, but the input takes VAE"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsADanglingLink) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "SaveImage")]["inputs"]["images"][0] = "99";
  EXPECT_NE(first_problem(g).find("links to node 99, which does not exist"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsValuesOutOfRangeOrOffTheGrid) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "KSampler")]["inputs"]["steps"] = 0;
  EXPECT_NE(first_problem(g).find("0 is outside 1 .. 10000"), std::string::npos);
  g = sdxl_graph();
  g["prompt"][node_of(g, "EmptyLatentImage")]["inputs"]["width"] = 1020;
  EXPECT_NE(first_problem(g).find("not on the widget's grid"), std::string::npos);
  g = sdxl_graph();
  g["prompt"][node_of(g, "KSampler")]["inputs"]["cfg"] = 120.0;
  EXPECT_NE(first_problem(g).find("outside"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsANameNotInTheSamplerList) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "KSampler")]["inputs"]["sampler_name"] = "euler_a";
  EXPECT_NE(first_problem(g).find("\"euler_a\" is not one of the node's options"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsAWidgetGivenAsTheWrongType) {
  auto g = sdxl_graph();
  g["prompt"][node_of(g, "KSampler")]["inputs"]["steps"] = "30";
  EXPECT_NE(first_problem(g).find("must be an integer"), std::string::npos);
}

TEST(ComfyUIChecker, RejectsAGraphWithoutOutputOrWithACycle) {
  auto g = sdxl_graph();
  g["prompt"].erase(node_of(g, "SaveImage"));
  EXPECT_NE(first_problem(g).find("no output node"), std::string::npos);
  g = sdxl_graph();
  const auto ks = node_of(g, "KSampler");
  g["prompt"][node_of(g, "CheckpointLoaderSimple")]["class_type"] = "LoraLoaderModelOnly";
  g["prompt"][node_of(g, "LoraLoaderModelOnly")]["inputs"] = {
      {"model", json::array({ks, 0})}, {"lora_name", "x.safetensors"}, {"strength_model", 1.0}};
  const auto problems = ComfyUIChecker::load(shipped_catalog().vocabulary()).check(g);
  EXPECT_FALSE(problems.empty());
  bool cycle = false;
  for (const auto& p : problems) cycle = cycle || p.find("cycle") != std::string::npos;
  EXPECT_TRUE(cycle) << ::testing::PrintToString(problems);
}

}  // namespace
}  // namespace inferconf::testing
