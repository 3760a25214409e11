// The diffusers export against the diffusers facts of the engine vocabulary
// (diffusers_library): every class, loading method, method argument, component,
// __init__ and __call__ parameter an export names, for every base model and
// variant, both types, loaded from the repository or from checkpoint files,
// as JSON and as Python, is one the data lists — so a wrong assumption about
// diffusers has one place to be corrected. And the loader refuses data that
// contradicts itself.
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "inferconf/registry.hpp"
#include "interop/interop_fixture.hpp"

namespace inferconf::testing {
namespace {

using json = nlohmann::json;

const DiffusersLibrary& library() { return shipped_engine_vocabulary().diffusers_library(); }

struct Case {
  std::string base, variant, type;
  bool from_files = false;
  std::string name() const {
    return base + (variant.empty() ? "" : "/" + variant) + " " + type + (from_files ? " (files)" : " (repository)");
  }
};

std::vector<Case> every_case() {
  std::vector<Case> out;
  for (const auto& b : shipped_catalog().base_models()) {
    std::vector<std::string> variants = {""};
    for (const auto& v : b.variants) variants.push_back(v.id);
    for (const auto& v : variants) {
      // A refused architecture writes no call (golden_test checks the refusal).
      if (!shipped_engine_vocabulary().architecture(b.id, v)->diffusers_supported) continue;
      for (const auto& t : shipped_catalog().configuration_types())
        for (bool files : {false, true}) out.push_back({b.id, v, t.id, files});
    }
  }
  return out;
}

// Files named after the architecture's usual ComfyUI files, one per expert.
ExportOptions options_for(const Case& c) {
  ExportOptions o;
  o.prompt = "a lighthouse";
  o.negative_prompt = "blurry";
  o.seed = 7;
  o.allow_substitute = true;
  if (c.from_files) {
    const auto& experts = shipped_catalog().find(c.base)->experts_for(c.variant);
    o.checkpoint = "first.safetensors";
    if (experts.size() > 1) o.checkpoint_2 = "second.safetensors";
  }
  return o;
}

void expect_listed(const std::set<std::string>& allowed, const std::string& name, const std::string& what,
                   const std::string& who) {
  EXPECT_TRUE(allowed.count(name)) << who << ": " << what << " \"" << name
                                   << "\" is not listed in catalog/engine_vocabulary.json diffusers_library";
}

void expect_method_args(const std::string& cls, const std::string& method, const std::set<std::string>& args,
                        const std::string& who) {
  const auto accepted = library().method(cls, method);
  ASSERT_TRUE(accepted.has_value()) << who << ": " << cls << "." << method << " is not provided by any base of "
                                    << cls << " that diffusers_library lists";
  for (const auto& a : args) expect_listed(*accepted, a, cls + "." + method + " argument", who);
}

std::set<std::string> keys(const json& obj) {
  std::set<std::string> out;
  for (const auto& [k, v] : obj.items()) out.insert(k);
  return out;
}

// Every Class.method( and pipe.method( the snippet calls.
void expect_python_calls_exist(const std::string& python, const std::string& pipeline, const std::string& who) {
  static const std::regex call(R"(\b([A-Za-z_]\w*)\.([a-z_]\w*)\()");
  for (auto it = std::sregex_iterator(python.begin(), python.end(), call); it != std::sregex_iterator(); ++it) {
    std::string object = (*it)[1], method = (*it)[2];
    if (object == "torch" || object == "result" || method == "save") continue;  // torch.Generator(...).manual_seed
    if (object == "pipe") {
      if (method == "to") continue;  // torch.nn.Module's; not a loading method
      object = pipeline;
    }
    EXPECT_TRUE(library().method(object, method).has_value())
        << who << ": the snippet calls " << (*it)[0] << " but diffusers_library gives " << object << " no " << method;
  }
}

TEST(DiffusersLibrary, EveryExportNamesOnlyClassesMethodsAndParametersTheDataLists) {
  int checked = 0;
  for (const auto& c : every_case()) {
    const auto who = c.name();
    const auto result = export_request(resolved_from_preset(c.base, c.type, c.variant), ExportFormat::kDiffusers,
                                       options_for(c), shipped_catalog(), shipped_engine_vocabulary());
    const auto& body = result.body;
    const auto pipeline = body.at("pipeline").get<std::string>();
    const auto* p = library().find(pipeline);
    ASSERT_NE(p, nullptr) << who << ": pipeline " << pipeline << " is not listed";
    ASSERT_EQ(p->kind, "pipeline") << who;

    // How the pipeline loads.
    const auto components = body.value("components", json::object());
    const auto pipeline_kwargs = body.value("pipeline_kwargs", json::object());
    std::set<std::string> load_args = {"torch_dtype"};
    for (const auto& [k, v] : components.items()) load_args.insert(k);
    for (const auto& [k, v] : pipeline_kwargs.items()) {
      load_args.insert(k);
      expect_listed(p->init, k, pipeline + ".__init__ parameter", who);
    }
    if (body.contains("from_single_file")) {
      load_args.insert("config");
      expect_method_args(pipeline, "from_single_file", load_args, who);
    } else {
      ASSERT_TRUE(body.contains("from_pretrained")) << who;
      expect_method_args(pipeline, "from_pretrained", load_args, who);
    }

    // Each component: a component of the pipeline, loaded by a method its class has.
    for (const auto& [name, comp] : components.items()) {
      expect_listed(p->components, name, pipeline + " component", who);
      const auto cls = comp.at("class").get<std::string>();
      const auto method = comp.at("method").get<std::string>();
      std::set<std::string> args = keys(comp.value("kwargs", json::object()));
      if (method == "from_single_file") {
        EXPECT_EQ(comp.at("library"), "diffusers") << who;
        for (const char* k : {"config", "subfolder", "torch_dtype"}) {
          EXPECT_TRUE(comp.contains(k)) << who << ": " << name << " lacks " << k;
          args.insert(k);
        }
        EXPECT_EQ(comp.at("subfolder"), name) << who << ": a diffusers repository keeps each component in its folder";
      } else {
        EXPECT_EQ(comp.at("library"), "transformers") << who;
      }
      expect_method_args(cls, method, args, who);
    }

    // The scheduler, its from_config and config keys.
    const auto scheduler = body.at("scheduler").at("class").get<std::string>();
    const auto* s = library().find(scheduler);
    ASSERT_NE(s, nullptr) << who << ": scheduler " << scheduler << " is not listed";
    expect_method_args(scheduler, "from_config", {}, who);
    for (const auto& k : keys(body.at("scheduler").value("config", json::object())))
      expect_listed(s->config, k, scheduler + " config key", who);

    // The call.
    for (const auto& k : keys(body.at("call"))) expect_listed(p->call, k, pipeline + ".__call__ parameter", who);
    expect_listed(p->call, "generator", pipeline + ".__call__ parameter", who);
    if (shipped_engine_vocabulary().architecture(c.base, c.variant)->diffusers.value("needs_image", false))
      expect_listed(p->call, "image", pipeline + ".__call__ parameter", who);
    if (body.contains("lora")) expect_method_args(pipeline, "load_lora_weights", {}, who);

    expect_python_calls_exist(render_diffusers_python(body), pipeline, who);
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

// WanPipeline and HiDreamImagePipeline have no from_single_file: a checkpoint
// file used to be exported as Pipeline.from_single_file(...), which fails with
// AttributeError. The file goes into the transformer; the repo gives the rest.
TEST(DiffusersLibrary, WanAndHiDreamCheckpointsLoadIntoTheTransformerNotThePipeline) {
  for (const auto& [base, cls] : std::vector<std::pair<std::string, std::string>>{
           {"wan_2_1", "WanTransformer3DModel"}, {"hidream", "HiDreamImageTransformer2DModel"}}) {
    ExportOptions o;
    o.checkpoint = "my_finetune.safetensors";
    const auto body = export_request(resolved_from_preset(base, "quality"), ExportFormat::kDiffusers, o,
                                     shipped_catalog(), shipped_engine_vocabulary())
                          .body;
    EXPECT_FALSE(body.contains("from_single_file")) << body.dump(2);
    const auto& repo = shipped_engine_vocabulary().architecture(base)->diffusers.at("repo");
    EXPECT_EQ(body.at("from_pretrained"), repo);
    const auto& t = body.at("components").at("transformer");
    EXPECT_EQ(t.at("class"), cls);
    EXPECT_EQ(t.at("method"), "from_single_file");
    EXPECT_EQ(t.at("file"), "my_finetune.safetensors");
    EXPECT_EQ(t.at("config"), repo);
    EXPECT_EQ(t.at("subfolder"), "transformer");
    EXPECT_EQ(t.at("torch_dtype"), "bfloat16");
    const auto python = render_diffusers_python(body);
    EXPECT_NE(python.find("transformer = " + cls + ".from_single_file(\n    \"my_finetune.safetensors\",\n    config=" +
                          repo.dump() + ",\n    subfolder=\"transformer\",\n    torch_dtype=torch.bfloat16,\n)\n"),
              std::string::npos)
        << python;
    EXPECT_NE(python.find("    transformer=transformer,\n"), std::string::npos) << python;
    EXPECT_EQ(python.find(body.at("pipeline").get<std::string>() + ".from_single_file"), std::string::npos) << python;
  }
}

TEST(DiffusersLibrary, PipelinesThatLoadSingleFilesKeepTheShortForm) {
  ExportOptions o;
  o.checkpoint = "juggernautXL_v9.safetensors";
  const auto body = export_request(resolved_from_preset("sdxl", "quality"), ExportFormat::kDiffusers, o,
                                   shipped_catalog(), shipped_engine_vocabulary())
                        .body;
  EXPECT_EQ(body.at("from_single_file"), "juggernautXL_v9.safetensors");
  EXPECT_EQ(body.at("config"), "stabilityai/stable-diffusion-xl-base-1.0");
  EXPECT_FALSE(body.contains("components"));
}

TEST(DiffusersLibrary, TwoExpertModelLoadsEachExpertIntoItsTransformer) {
  ExportOptions o;
  o.checkpoint = "high.safetensors";
  o.checkpoint_2 = "low.safetensors";
  const auto body = export_request(resolved_from_preset("wan_2_2", "quality", "i2v_a14b"), ExportFormat::kDiffusers,
                                   o, shipped_catalog(), shipped_engine_vocabulary())
                        .body;
  EXPECT_EQ(body.at("pipeline"), "WanImageToVideoPipeline");
  const auto& c = body.at("components");
  EXPECT_EQ(c.at("transformer").at("file"), "high.safetensors");
  EXPECT_EQ(c.at("transformer").at("expert"), "high_noise");
  EXPECT_EQ(c.at("transformer_2").at("file"), "low.safetensors");
  EXPECT_EQ(c.at("transformer_2").at("expert"), "low_noise");
  EXPECT_EQ(c.at("transformer_2").at("subfolder"), "transformer_2");
  EXPECT_EQ(body.at("pipeline_kwargs").at("boundary_ratio"), 0.9);
}

TEST(DiffusersLibrary, TwoExpertModelWithOneFileNamesTheMissingExpert) {
  ExportOptions o;
  o.checkpoint = "high.safetensors";
  try {
    export_request(resolved_from_preset("wan_2_2", "quality"), ExportFormat::kDiffusers, o, shipped_catalog(),
                   shipped_engine_vocabulary());
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    EXPECT_NE(m.find("the file of low_noise (transformer_2) is missing"), std::string::npos) << m;
    EXPECT_NE(m.find("--file-2"), std::string::npos) << m;
  }
  o.checkpoint.clear();
  o.checkpoint_2 = "low.safetensors";
  try {
    export_request(resolved_from_preset("wan_2_2", "quality"), ExportFormat::kDiffusers, o, shipped_catalog(),
                   shipped_engine_vocabulary());
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the file of high_noise (transformer) is missing"), std::string::npos)
        << e.what();
  }
}

TEST(DiffusersLibrary, ASecondFileForASingleModelIsRefused) {
  for (const auto& [base, variant] : std::vector<std::pair<std::string, std::string>>{{"wan_2_2", "ti2v_5b"},
                                                                                    {"sdxl", ""}}) {
    ExportOptions o;
    o.checkpoint = "one.safetensors";
    o.checkpoint_2 = "two.safetensors";
    try {
      export_request(resolved_from_preset(base, "quality", variant), ExportFormat::kDiffusers, o, shipped_catalog(),
                     shipped_engine_vocabulary());
      ADD_FAILURE() << base << ": expected a refusal";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("A second file (two.safetensors) was given"), std::string::npos) << e.what();
    }
  }
}

TEST(DiffusersLibrary, RegistryRecordGivesTheExpertFiles) {
  ModelRecord record;
  record.id = "wan22";
  record.file_path = "/models/diffusion_models/wan2.2_t2v_low_noise.safetensors";
  record.metadata = {{"expert", "low_noise"},
                     {"expert_files", {{"high_noise", "/models/diffusion_models/wan2.2_t2v_high_noise.safetensors"}}}};
  ExportOptions o;
  export_files_from_registry(record, resolved_from_preset("wan_2_2", "quality"), shipped_catalog(), o);
  EXPECT_EQ(o.checkpoint, "wan2.2_t2v_high_noise.safetensors");
  EXPECT_EQ(o.checkpoint_2, "wan2.2_t2v_low_noise.safetensors");
  // A file given explicitly wins; a single model takes file_path.
  ExportOptions given;
  given.checkpoint = "mine.safetensors";
  export_files_from_registry(record, resolved_from_preset("wan_2_2", "quality"), shipped_catalog(), given);
  EXPECT_EQ(given.checkpoint, "mine.safetensors");
  EXPECT_EQ(given.checkpoint_2, "wan2.2_t2v_low_noise.safetensors");
  ExportOptions single;
  export_files_from_registry(record, resolved_from_preset("wan_2_2", "quality", "ti2v_5b"), shipped_catalog(), single);
  EXPECT_EQ(single.checkpoint, "wan2.2_t2v_low_noise.safetensors");
  EXPECT_EQ(single.checkpoint_2, "");
}

TEST(DiffusersLibrary, RecordsWhatItWasCheckedAgainst) {
  const auto& checked = library().checked_against;
  EXPECT_EQ(checked.at("repository"), "huggingface/diffusers");
  EXPECT_FALSE(checked.at("version").get<std::string>().empty());
  for (const auto& f : checked.at("files")) {
    EXPECT_TRUE(f.at("path").is_string());
    EXPECT_TRUE(f.at("commit").is_string());
  }
}

// ---------------------------------------------------------------------------
// The loader refuses data that contradicts itself.

json shipped_vocabulary_json() {
  return json::parse(read_file(INFERCONF_SOURCE_DIR "/catalog/engine_vocabulary.json"));
}

std::string load_error(const json& j) {
  try {
    EngineVocabulary::from_json(j, shipped_catalog());
  } catch (const Error& e) {
    std::string all = e.what();
    for (const auto& f : e.field_errors()) all += "\n" + f.field + " " + f.message;
    return all;
  }
  return "";
}

TEST(DiffusersLibraryLoader, APipelineWithoutSingleFileSupportNeedsFiles) {
  auto j = shipped_vocabulary_json();
  j["architectures"]["wan_2_1"]["diffusers"].erase("files");
  const auto m = load_error(j);
  EXPECT_NE(m.find("architectures.wan_2_1.diffusers.files is missing, but WanPipeline cannot load a single file"),
            std::string::npos)
      << m;
}

TEST(DiffusersLibraryLoader, AModelOutsideTheSingleFileMappingIsRefused) {
  auto j = shipped_vocabulary_json();
  j["diffusers_library"]["models"]["WanTransformer3DModel"]["single_file_loadable"] = false;
  const auto m = load_error(j);
  EXPECT_NE(m.find("architectures.wan_2_1.diffusers.files.transformer.class is \"WanTransformer3DModel\", which "
                   "diffusers_library.models does not list as loading a single file"),
            std::string::npos)
      << m;
}

TEST(DiffusersLibraryLoader, EveryCatalogueExpertNeedsAComponent) {
  auto j = shipped_vocabulary_json();
  j["architectures"]["wan_2_2"]["diffusers"]["files"].erase("transformer_2");
  const auto m = load_error(j);
  EXPECT_NE(m.find("architectures.wan_2_2.diffusers.files names no component for the catalogue's expert \"low_noise\""),
            std::string::npos)
      << m;
}

TEST(DiffusersLibraryLoader, UnknownComponentsBasesAndSchedulerKeysAreRefused) {
  auto j = shipped_vocabulary_json();
  j["architectures"]["hidream"]["diffusers"]["components"]["text_encoder_5"] = {{"class", "LlamaForCausalLM"},
                                                                               {"repo", "x/y"}};
  j["diffusers_library"]["pipelines"]["WanPipeline"]["bases"].push_back("FromSingleFileMixinTypo");
  j["diffusers_library"]["schedulers"]["UniPCMultistepScheduler"]["config"] = json::array({"solver_type"});
  const auto m = load_error(j);
  EXPECT_NE(m.find("architectures.hidream.diffusers.components.text_encoder_5 \"text_encoder_5\" is not a component of "
                   "HiDreamImagePipeline"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("diffusers_library.pipelines.WanPipeline.bases[2] is \"FromSingleFileMixinTypo\""),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("samplers.uni_pc.diffusers_flow.config uses the config key prediction_type, which "
                   "diffusers_library.schedulers.UniPCMultistepScheduler.config does not list"),
            std::string::npos)
      << m;
}

TEST(DiffusersLibraryLoader, CatalogueExpertsAreValidated) {
  auto base_models = json::parse(read_file(INFERCONF_SOURCE_DIR "/catalog/base_models.json"));
  const auto vocabulary = json::parse(read_file(INFERCONF_SOURCE_DIR "/catalog/vocabulary.json"));
  for (auto& b : base_models["base_models"])
    if (b["id"] == "wan_2_2") b["experts"] = json::array({"high_noise"});
  try {
    Catalog::from_json(base_models, vocabulary);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    std::string all = e.what();
    for (const auto& f : e.field_errors()) all += "\n" + f.field + " " + f.message;
    EXPECT_NE(all.find("lists one expert (\"high_noise\")"), std::string::npos) << all;
  }
  EXPECT_EQ(shipped_catalog().find("wan_2_2")->experts_for(""), (std::vector<std::string>{"high_noise", "low_noise"}));
  EXPECT_TRUE(shipped_catalog().find("wan_2_2")->experts_for("ti2v_5b").empty());
  EXPECT_EQ(shipped_catalog().find("wan_2_2")->experts_for("i2v_a14b").size(), 2u);
  EXPECT_TRUE(shipped_catalog().find("wan_2_1")->experts_for("").empty());
}

}  // namespace
}  // namespace inferconf::testing
