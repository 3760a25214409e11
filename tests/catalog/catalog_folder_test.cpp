// One catalogue folder for the whole program: a folder given with --catalog
// (or INFERCONF_CATALOG) is what `detect`, `populate`, `resolve`, `export` and
// `serve` all read — its presets, its label aliases and its detection rules —
// from the build tree's binary and from an installed prefix alike.
//
// The folder is the shipped catalogue with three changes a user might make:
// the SDXL quality preset takes 41 steps, "Acme One" is a registry label for
// SDXL, and the SD 1.5 UNet detection rule has another id. Before the program
// loaded its folder once into one bundle, the resolver (and so `resolve`,
// `export` and `serve`) looked labels up in the rules of the source tree
// whatever the folder, and answered that "Acme One" is not in the catalogue.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "detect/layouts.hpp"
#include "http/http_client.hpp"
#include "inferconf/detect/safetensors_writer.hpp"
#include "support/run_process.hpp"

extern char** environ;

namespace inferconf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using inferconf::testing::run_process;

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

void write_json(const fs::path& file, const json& j) { std::ofstream(file) << j.dump(1) << '\n'; }

// The shipped catalogue, changed as described above.
void make_custom_catalogue(const fs::path& dir) {
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(fs::path(INFERCONF_SOURCE_DIR) / "catalog"))
    if (entry.is_regular_file()) fs::copy_file(entry.path(), dir / entry.path().filename());
  json base = read_json(dir / "base_models.json");
  for (auto& b : base["base_models"])
    if (b["id"] == "sdxl") b["presets"]["quality"]["steps"] = 41;
  write_json(dir / "base_models.json", base);
  json labels = read_json(dir / "base_model_labels.json");
  labels["labels"].push_back({{"label", "Acme One"}, {"base_model", "sdxl"}, {"source", "civitai"}});
  write_json(dir / "base_model_labels.json", labels);
  json rules = read_json(dir / "detection_rules.json");
  for (auto& r : rules["rules"])
    if (r["id"] == "sd15_unet") r["id"] = "sd15_unet_acme";
  write_json(dir / "detection_rules.json", rules);
}

// `inferconf serve` in the background; its port is read from what it prints.
class Serve {
 public:
  Serve(const std::string& binary, std::vector<std::string> args, const fs::path& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  ~Serve() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  // 0 when it has not said "listening on" within a minute.
  unsigned short port() const {
    const std::regex listening("listening on http://[^:]+:([0-9]+)");
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, listening)) return static_cast<unsigned short>(std::stoi(m[1]));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

class CatalogueFolder : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() / ("inferconf-catalog-folder-" + std::to_string(::getpid())));
    fs::remove_all(*root_);
    make_custom_catalogue(*root_ / "catalog");
    // An installed prefix, as `make install PREFIX=...` makes it.
    installed_ = new testing::ProcessResult(
        run_process(CMAKE_COMMAND, {"--install", INFERCONF_BINARY_DIR, "--prefix", (*root_ / "prefix").string()}, {},
                    {}, 300));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
    delete installed_;
  }

  void SetUp() override {
    if (std::string(GetParam()) == "installed") {
      ASSERT_EQ(installed_->exit_code, 0) << installed_->out << installed_->err;
      binary_ = (*root_ / "prefix" / "bin" / "inferconf").string();
    } else {
      binary_ = testing::inferconf_binary();
    }
    ASSERT_TRUE(fs::exists(binary_)) << binary_;
    dir_ = *root_ / GetParam();
    fs::create_directories(dir_);
    db_ = "sqlite:" + (dir_ / "inferconf.db").string();
    sd15_file_ = (dir_ / "house_sd15.safetensors").string();
    detect::write_sparse_safetensors(sd15_file_, detect::testing::sd15_checkpoint());
  }

  // The binary with the custom folder, by --catalog or by INFERCONF_CATALOG.
  testing::ProcessResult run(std::vector<std::string> args, bool by_environment = false) {
    std::map<std::string, std::string> env;
    if (by_environment) {
      env["INFERCONF_CATALOG"] = catalogue().string();
    } else {
      args.insert(args.begin(), {"--catalog", catalogue().string()});
    }
    args.insert(args.begin(), {"--db", db_});
    return run_process(binary_, args, {}, env, 120);
  }
  static fs::path catalogue() { return *root_ / "catalog"; }

  static fs::path* root_;
  static testing::ProcessResult* installed_;
  std::string binary_;
  fs::path dir_;
  std::string db_;
  std::string sd15_file_;
};

fs::path* CatalogueFolder::root_ = nullptr;
testing::ProcessResult* CatalogueFolder::installed_ = nullptr;

TEST_P(CatalogueFolder, EveryCommandReadsTheFolderItIsGiven) {
  // detect: the folder's detection rules.
  for (bool by_environment : {false, true}) {
    const auto detected = run({"--json", "detect", sd15_file_}, by_environment);
    ASSERT_EQ(detected.exit_code, 0) << detected.err;
    EXPECT_NE(detected.out.find("sd15_unet_acme"), std::string::npos) << detected.out;
  }

  // The registry: a model under the folder's own label, and one known by its file.
  const fs::path registry = dir_ / "registry.jsonl";
  std::ofstream(registry) << json{{"id", "acme-1"}, {"name", "House model"}, {"is_active", true}, {"base_model", "Acme One"}}.dump()
                          << '\n'
                          << json{{"id", "sd15-file"}, {"name", "house"}, {"is_active", true}, {"file_path", sd15_file_}}.dump()
                          << '\n';
  const auto imported = run({"models", "import", registry.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  // resolve, before any configuration is stored: the label and the preset of the folder.
  for (bool by_environment : {false, true}) {
    const auto resolved = run({"--json", "resolve", "--model-id", "acme-1", "--type", "quality"}, by_environment);
    ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
    const auto r = json::parse(resolved.out);
    EXPECT_EQ(r["base_model"], "sdxl");
    EXPECT_EQ(r["parameters"]["steps"], 41) << resolved.out;
  }

  // export: the same resolution, in an engine's terms.
  const auto exported = run({"--json", "export", "--model-id", "acme-1", "--type", "quality", "--format", "a1111"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_EQ(json::parse(exported.out)["body"]["steps"], 41) << exported.out;

  // serve: the API answers from the same folder.
  {
    Serve serve(binary_, {"--db", db_, "--catalog", catalogue().string(), "serve", "--listen", "127.0.0.1:0",
                          "--threads", "1"},
                dir_ / "serve.log");
    const auto port = serve.port();
    ASSERT_NE(port, 0) << serve.log();
    testing::HttpClient client(port);
    const auto reply = client.request("POST", "/v1/resolve", {{"Content-Type", "application/json"}},
                                      json{{"model_id", "acme-1"}, {"configuration_type", "quality"}}.dump());
    ASSERT_EQ(reply.status, 200u) << reply.body;
    EXPECT_EQ(reply.json()["base_model"], "sdxl");
    EXPECT_EQ(reply.json()["parameters"]["steps"], 41) << reply.body;
    const auto sdxl = client.get("/v1/base-models/sdxl");
    ASSERT_EQ(sdxl.status, 200u) << sdxl.body;
    EXPECT_NE(sdxl.body.find("41"), std::string::npos) << sdxl.body;
  }

  // populate: the label, the rule and the preset of the folder; then resolve
  // reads the stored configuration populate wrote.
  const auto populated = run({"--json", "populate"});
  ASSERT_EQ(populated.exit_code, 0) << populated.out << populated.err;
  EXPECT_NE(populated.out.find("sd15_unet_acme"), std::string::npos) << populated.out;
  const auto stored = run({"--json", "resolve", "--model-id", "acme-1", "--type", "quality"});
  ASSERT_EQ(stored.exit_code, 0) << stored.err;
  const auto s = json::parse(stored.out);
  EXPECT_EQ(s["sources"]["steps"], "model") << stored.out;
  EXPECT_EQ(s["parameters"]["steps"], 41) << stored.out;
}

TEST_P(CatalogueFolder, WithoutTheFolderTheShippedCatalogueAnswers) {
  // The control: the same binary and registry with the shipped catalogue do
  // not know the label, so the answers above came from the folder.
  const fs::path registry = dir_ / "registry.jsonl";
  std::ofstream(registry) << json{{"id", "acme-1"}, {"name", "House model"}, {"is_active", true}, {"base_model", "Acme One"}}.dump()
                          << '\n';
  ASSERT_EQ(run_process(binary_, {"--db", db_, "models", "import", registry.string()}).exit_code, 0);
  const auto resolved = run_process(binary_, {"--db", db_, "resolve", "--model-id", "acme-1", "--type", "quality"});
  EXPECT_EQ(resolved.exit_code, 2) << resolved.out << resolved.err;
  EXPECT_NE(resolved.err.find("\"Acme One\" is not in the catalogue"), std::string::npos) << resolved.err;
}

TEST_P(CatalogueFolder, ABrokenRulesFileFailsTheCommandsThatUseItAndOnlyThose) {
  // The rules are read from the folder when a command needs them: `catalog`
  // and `create` do not, `resolve` (which decides registry labels with them)
  // and `detect` do, and say which file is wrong rather than falling back to
  // another folder's rules.
  const fs::path broken = dir_ / "broken-catalog";
  fs::create_directories(broken);
  for (const auto& entry : fs::directory_iterator(catalogue()))
    if (entry.is_regular_file()) fs::copy_file(entry.path(), broken / entry.path().filename());
  std::ofstream(broken / "detection_rules.json", std::ios::trunc) << "{\"schema\": \"inferconf.detection_rules/1\"}\n";
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", db_, "--catalog", broken.string()});
    return run_process(binary_, args, {}, {}, 120);
  };
  const auto listed = with({"catalog", "sdxl"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("41"), std::string::npos) << listed.out;
  const auto detected = with({"detect", sd15_file_});
  EXPECT_EQ(detected.exit_code, 1) << detected.out;
  EXPECT_NE(detected.err.find("detection_rules.json"), std::string::npos) << detected.err;
  const auto resolved = with({"resolve", "--model-id", "m", "--type", "quality", "--base-model", "Acme One"});
  EXPECT_EQ(resolved.exit_code, 1) << resolved.out;
  EXPECT_NE(resolved.err.find("detection_rules.json"), std::string::npos) << resolved.err;
}

INSTANTIATE_TEST_SUITE_P(BuildTreeAndInstalledPrefix, CatalogueFolder, ::testing::Values("build", "installed"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace inferconf
