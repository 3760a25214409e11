// Runs the scenarios of tests/cli/cases/*.json against the real binary. Each
// scenario gets a fresh folder and store; each step runs one command:
//
//   {"run": ["create", "-"],        arguments (--db is added unless "no_db")
//    "stdin": {...} | "stdin_text": "...",
//    "files": {"name": "content"},  written into the scenario folder first
//    "exit": 2,                     expected exit code (default 0)
//    "stdout": ["..."], "stderr": ["..."],      substrings that must appear
//    "not_stdout": ["..."], "not_stderr": ["..."],
//    "json": true,                  stdout must be JSON
//    "capture": {"var": "/json/pointer"},       for later ${var} substitution
//    "unchanged": true}             the store's full dump is the same after the step
//
// ${dir} is the scenario folder, ${db} the store URI, ${src} the source tree.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace inferconf {
namespace {

struct Scenario {
  std::string name;
  json spec;
};
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> load_scenarios() {
  std::vector<Scenario> all;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(INFERCONF_SOURCE_DIR) / "tests/cli/cases"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    for (auto& sc : json::parse(s.str()))
      all.push_back({f.stem().string() + "_" + sc["name"].get<std::string>(), sc});
  }
  return all;
}

std::string substitute(std::string s, const std::map<std::string, std::string>& vars) {
  for (const auto& [k, v] : vars) {
    const std::string key = "${" + k + "}";
    for (std::size_t p; (p = s.find(key)) != std::string::npos;) s.replace(p, key.size(), v);
  }
  return s;
}

class CliScenario : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inferconf-cli-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    vars_["dir"] = dir_.string();
    vars_["db"] = "sqlite:" + (dir_ / "store.db").string();
    vars_["src"] = INFERCONF_SOURCE_DIR;
  }
  void TearDown() override { fs::remove_all(dir_); }

  testing::ProcessResult run(std::vector<std::string> args, const std::string& stdin_text = {}, bool with_db = true) {
    if (with_db) args.insert(args.begin(), {"--db", vars_["db"]});
    return testing::run_process(testing::inferconf_binary(), args, stdin_text,
                                {{"INFERCONF_CATALOG", std::string(INFERCONF_SOURCE_DIR) + "/catalog"}});
  }

  // Everything the store holds, for "unchanged" checks (empty when it does not exist yet).
  std::string dump() {
    if (!fs::exists(dir_ / "store.db")) return "(no store)";
    auto configs = run({"--json", "list", "--all", "--limit", "1000"});
    auto models = run({"--json", "models", "list"});
    return configs.out + models.out;
  }

  void run_step(const json& step);

  fs::path dir_;
  std::map<std::string, std::string> vars_;
};

TEST_P(CliScenario, Runs) {
  const auto& steps = GetParam().spec["steps"];
  int index = 0;
  for (const auto& step : steps) {
    ++index;
    SCOPED_TRACE("step " + std::to_string(index) + ": " + step["run"].dump());
    try {
      run_step(step);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "step " << index << " " << step["run"].dump() << " threw: " << e.what();
      return;
    }
  }
}

void CliScenario::run_step(const json& step) {
  {
    if (step.contains("files")) {
      for (const auto& [name, content] : step["files"].items()) {
        std::ofstream f(dir_ / name, std::ios::binary);
        f << (content.is_string() ? substitute(content.get<std::string>(), vars_) : content.dump());
      }
    }
    std::vector<std::string> args;
    for (const auto& a : step["run"]) args.push_back(substitute(a.get<std::string>(), vars_));
    std::string stdin_text;
    if (step.contains("stdin")) stdin_text = substitute(step["stdin"].dump(), vars_);
    if (step.contains("stdin_text")) stdin_text = substitute(step["stdin_text"].get<std::string>(), vars_);
    const bool check_unchanged = step.value("unchanged", false);
    const std::string before = check_unchanged ? dump() : "";
    const auto r = run(args, stdin_text, !step.value("no_db", false));
    const std::string context = "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
    EXPECT_EQ(r.exit_code, step.value("exit", 0)) << context;
    const json want_out = step.value("stdout", json::array()), not_out = step.value("not_stdout", json::array()),
               want_err = step.value("stderr", json::array()), not_err = step.value("not_stderr", json::array());
    for (const auto& s : want_out)
      EXPECT_NE(r.out.find(substitute(s.get<std::string>(), vars_)), std::string::npos) << "missing in stdout: " << s << context;
    for (const auto& s : not_out)
      EXPECT_EQ(r.out.find(substitute(s.get<std::string>(), vars_)), std::string::npos) << "unexpected in stdout: " << s << context;
    for (const auto& s : want_err)
      EXPECT_NE(r.err.find(substitute(s.get<std::string>(), vars_)), std::string::npos) << "missing in stderr: " << s << context;
    for (const auto& s : not_err)
      EXPECT_EQ(r.err.find(substitute(s.get<std::string>(), vars_)), std::string::npos) << "unexpected in stderr: " << s << context;
    if (step.value("json", false) || step.contains("capture")) {
      const auto j = json::parse(r.out, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << "stdout is not JSON" << context;
      const json captures = step.value("capture", json::object());
      const json expectations = step.value("expect_json", json::object());
      for (const auto& [var, pointer] : captures.items()) {
        const auto& v = j.at(json::json_pointer(pointer.get<std::string>()));
        vars_[var] = v.is_string() ? v.get<std::string>() : v.dump();
      }
      for (const auto& [pointer, expected] : expectations.items())
        EXPECT_EQ(j.at(json::json_pointer(pointer)), expected) << pointer << context;
    }
    if (check_unchanged) {
      EXPECT_EQ(dump(), before) << "the store changed after a rejected command";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, CliScenario, ::testing::ValuesIn(load_scenarios()),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (auto& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace inferconf
