// Runs the scenarios of tests/populate/cases/*.json against the real binary
// and a real SQLite store. Each scenario gets a fresh folder:
//
//   "files":    {"ckpt/x.safetensors": {"layout": "flux_dev"} | {"text": ".."} | {"gguf": true}}
//   "registry": [records]            written to ${dir}/registry.jsonl
//   "registry_lines": ["raw", ...]   ditto, verbatim (malformed input)
//   "steps": [{
//     "run": [args],  "stdin": {...} | "stdin_text": "...",
//     "db": "sqlite:..."                 another store URI than the scenario's
//     "exit": 0,                         expected exit code (default 0)
//     "stdout_lines": [...],             the whole stdout, line by line
//     "stdout_same_as_step": K,          the whole stdout equals that of step K (0-based)
//     "stdout": [...], "not_stdout": [...], "stderr": [...]   substrings
//     "json": {"/pointer": value},       stdout is one JSON document
//     "json_models": {"ID": {"/pointer": value}}   entries of its "models" array
//     "store": {"ID/type": {"/pointer": value} | null},  stored configurations (null: absent)
//     "store_count": N,                  number of stored configurations
//     "unchanged": true}]                the stored configurations did not change
//
// ${dir} is the scenario folder.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "populate/populate_support.hpp"

namespace inferconf {
namespace {

using nlohmann::json;
using namespace populate_testing;

struct Scenario {
  std::string name;
  json spec;
};
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> load_scenarios() {
  std::vector<Scenario> all;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(INFERCONF_SOURCE_DIR) / "tests/populate/cases"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    for (auto& sc : json::parse(s.str())) all.push_back({f.stem().string() + "_" + sc["name"].get<std::string>(), sc});
  }
  return all;
}

std::string substitute(std::string s, const std::string& dir) {
  const std::string key = "${dir}";
  for (std::size_t p; (p = s.find(key)) != std::string::npos;) s.replace(p, key.size(), dir);
  return s;
}

json substitute(const json& j, const std::string& dir) {
  if (j.is_string()) return substitute(j.get<std::string>(), dir);
  if (j.is_array() || j.is_object()) {
    json out = j;
    for (auto& [k, v] : out.items()) v = substitute(v, dir);
    return out;
  }
  return j;
}

void expect_pointers(const json& actual, const json& expected, const std::string& what) {
  for (const auto& [pointer, value] : expected.items()) {
    const json::json_pointer p(pointer);
    if (!actual.contains(p)) {
      ADD_FAILURE() << what << ": " << pointer << " is missing in " << actual.dump();
      continue;
    }
    EXPECT_EQ(actual.at(p), value) << what << ": " << pointer << " in " << actual.dump();
  }
}

std::string joined_lines(const json& lines) {
  std::string out;
  for (const auto& l : lines) out += l.get<std::string>() + "\n";
  return out;
}

class PopulateScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(PopulateScenario, Runs) {
  const auto& spec = GetParam().spec;
  ScratchDir scratch("scenario");
  const std::string dir = scratch.path().string();
  const std::string db = scratch.db_uri();
  if (spec.contains("files"))
    for (const auto& [rel, f] : spec["files"].items()) write_fixture(scratch.path() / rel, f);
  if (spec.contains("registry")) {
    std::vector<json> records;
    for (const auto& r : spec["registry"]) records.push_back(substitute(r, dir));
    write_jsonl(scratch.path() / "registry.jsonl", records);
  }
  if (spec.contains("registry_lines")) {
    std::ofstream out(scratch.path() / "registry.jsonl", std::ios::binary);
    for (const auto& l : spec["registry_lines"]) out << substitute(l.get<std::string>(), dir) << '\n';
  }

  int index = 0;
  std::vector<std::string> outputs;  // stdout of each step, for stdout_same_as_step
  for (const auto& step : spec["steps"]) {
    SCOPED_TRACE("step " + std::to_string(index++) + ": " + step["run"].dump());
    std::vector<std::string> args;
    for (const auto& a : step["run"]) args.push_back(substitute(a.get<std::string>(), dir));
    std::string input;
    if (step.contains("stdin")) input = substitute(step["stdin"], dir).dump();
    if (step.contains("stdin_text")) input = substitute(step["stdin_text"].get<std::string>(), dir);
    const auto before = step.value("unchanged", false) ? stored_configurations(db) : std::map<std::string, json>{};

    const auto r = run_inferconf(step.contains("db") ? substitute(step["db"].get<std::string>(), dir) : db, args, input);
    EXPECT_EQ(r.exit_code, step.value("exit", 0)) << "stdout:\n" << r.out << "\nstderr:\n" << r.err;
    if (step.contains("stdout_lines")) {
      EXPECT_EQ(r.out, substitute(joined_lines(step["stdout_lines"]), dir));
    }
    if (step.contains("stdout_same_as_step")) {
      const auto k = step["stdout_same_as_step"].get<std::size_t>();
      ASSERT_LT(k, outputs.size()) << "stdout_same_as_step names a later step";
      EXPECT_EQ(r.out, outputs[k]);
    }
    outputs.push_back(r.out);
    for (const auto& s : step.value("stdout", json::array()))
      EXPECT_NE(r.out.find(substitute(s.get<std::string>(), dir)), std::string::npos) << s << " not in:\n" << r.out;
    for (const auto& s : step.value("not_stdout", json::array()))
      EXPECT_EQ(r.out.find(substitute(s.get<std::string>(), dir)), std::string::npos) << s << " in:\n" << r.out;
    for (const auto& s : step.value("stderr", json::array()))
      EXPECT_NE(r.err.find(substitute(s.get<std::string>(), dir)), std::string::npos) << s << " not in:\n" << r.err;
    if (step.contains("json") || step.contains("json_models")) {
      const json doc = json::parse(r.out, nullptr, false);
      ASSERT_FALSE(doc.is_discarded()) << "stdout is not one JSON document:\n" << r.out;
      if (step.contains("json")) expect_pointers(doc, substitute(step["json"], dir), "report");
      const json models_expected = step.value("json_models", json::object());
      for (const auto& entry : models_expected.items()) {
        // Named copies, not structured bindings: clang 14 (the sanitizer build) cannot capture a binding.
        const std::string id = entry.key();
        const json& expected = entry.value();
        const auto& models = doc.at("models");
        auto it = std::find_if(models.begin(), models.end(), [&](const json& m) { return m.at("model_id") == id; });
        if (it == models.end()) {
          ADD_FAILURE() << "model " << id << " is not in the report's models";
          continue;
        }
        expect_pointers(*it, substitute(expected, dir), "model " + id);
      }
    }
    if (step.contains("store") || step.contains("store_count") || step.contains("unchanged")) {
      const auto stored = stored_configurations(db);
      const json store_expected = step.value("store", json::object());
      for (const auto& [key, expected] : store_expected.items()) {
        auto it = stored.find(key);
        if (expected.is_null()) {
          EXPECT_EQ(it, stored.end()) << key << " should not be stored";
        } else if (it == stored.end()) {
          ADD_FAILURE() << key << " is not stored";
        } else {
          expect_pointers(it->second, expected, "stored " + key);
        }
      }
      if (step.contains("store_count")) {
        EXPECT_EQ(stored.size(), step["store_count"].get<std::size_t>());
      }
      if (step.value("unchanged", false)) {
        EXPECT_EQ(stored, before) << "the step changed the store";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PopulateScenario, ::testing::ValuesIn(load_scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

}  // namespace
}  // namespace inferconf
