#include "interop/comfyui_checker.hpp"

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

namespace inferconf::testing {

using json = nlohmann::json;

ComfyUIChecker::ComfyUIChecker(json definitions, const Vocabulary& vocabulary)
    : defs_(std::move(definitions)), vocabulary_(vocabulary) {}

ComfyUIChecker ComfyUIChecker::load(const Vocabulary& vocabulary) {
  std::ifstream in(INFERCONF_SOURCE_DIR "/tests/interop/comfyui_nodes.json");
  return ComfyUIChecker(json::parse(in), vocabulary);
}

namespace {

bool is_link(const json& v) { return v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_number_integer(); }

}  // namespace

std::vector<std::string> ComfyUIChecker::check(const json& prompt) const {
  std::vector<std::string> problems;
  const json& nodes = prompt.contains("prompt") ? prompt["prompt"] : prompt;
  if (!nodes.is_object() || nodes.empty()) return {"the prompt is not a non-empty object of nodes"};
  const auto& definitions = defs_.at("nodes");
  std::map<std::string, std::set<std::string>> edges;  // node -> nodes it reads from
  bool has_output = false;
  for (const auto& [id, node] : nodes.items()) {
    const auto where = fmt::format("node {}", id);
    if (!node.is_object() || !node.contains("class_type") || !node["class_type"].is_string() || !node.contains("inputs") ||
        !node["inputs"].is_object()) {
      problems.push_back(where + ": needs class_type (string) and inputs (object)");
      continue;
    }
    const auto type = node["class_type"].get<std::string>();
    if (!definitions.contains(type)) {
      problems.push_back(fmt::format("{}: unknown class_type {}", where, type));
      continue;
    }
    const auto& def = definitions[type];
    has_output = has_output || def.value("output_node", false);
    const auto& inputs = node["inputs"];
    for (const auto& [name, spec] : def["inputs"].items())
      if (!inputs.contains(name) && !spec.value("optional", false))
        problems.push_back(fmt::format("{} ({}): required input {} is missing", where, type, name));
    for (const auto& [name, value] : inputs.items()) {
      const auto at = fmt::format("{} ({}).{}", where, type, name);
      if (!def["inputs"].contains(name)) {
        problems.push_back(at + ": no such input");
        continue;
      }
      const auto& spec = def["inputs"][name];
      const auto kind = spec["kind"].get<std::string>();
      const bool link_kind = kind != "INT" && kind != "FLOAT" && kind != "STRING" && kind != "BOOLEAN" &&
                             kind != "COMBO" && kind != "FILE";
      if (link_kind) {
        if (!is_link(value)) {
          problems.push_back(fmt::format("{}: must be a link to a {} output, got {}", at, kind, value.dump()));
          continue;
        }
        const auto src = value[0].get<std::string>();
        const auto index = value[1].get<long long>();
        edges[id].insert(src);
        if (!nodes.contains(src)) {
          problems.push_back(fmt::format("{}: links to node {}, which does not exist", at, src));
          continue;
        }
        const auto src_type = nodes[src].value("class_type", "");
        if (!definitions.contains(src_type)) continue;  // reported at that node
        const auto& outputs = definitions[src_type]["outputs"];
        if (index < 0 || index >= static_cast<long long>(outputs.size()))
          problems.push_back(fmt::format("{}: output {} of node {} ({}) does not exist; it has {}", at, index, src,
                                         src_type, outputs.size()));
        else if (outputs[index] != kind)
          problems.push_back(fmt::format("{}: output {} of node {} ({}) is {}, but the input takes {}", at, index, src,
                                         src_type, outputs[index].get<std::string>(), kind));
        continue;
      }
      if (is_link(value)) continue;  // a widget converted to an input; the source is checked by type elsewhere
      if (kind == "INT") {
        if (!value.is_number_integer()) {
          problems.push_back(fmt::format("{}: must be an integer, got {}", at, value.dump()));
          continue;
        }
        const bool negative = value.is_number_integer() && !value.is_number_unsigned() && value.get<long long>() < 0;
        const double v = negative ? static_cast<double>(value.get<long long>()) : static_cast<double>(value.get<unsigned long long>());
        const double lo = spec["min"].get<double>(), hi = spec["max"].get<double>();
        if (v < lo || v > hi) {
          problems.push_back(fmt::format("{}: {} is outside {} .. {}", at, value.dump(), spec["min"].dump(), spec["max"].dump()));
          continue;
        }
        const long long step = spec.value("step", 1LL);
        if (step > 1 && !negative && (value.get<long long>() - spec["min"].get<long long>()) % step != 0)
          problems.push_back(fmt::format("{}: {} is not on the widget's grid {} + k*{}", at, value.dump(), spec["min"].dump(), step));
      } else if (kind == "FLOAT") {
        if (!value.is_number()) {
          problems.push_back(fmt::format("{}: must be a number, got {}", at, value.dump()));
          continue;
        }
        const double v = value.get<double>();
        if (!std::isfinite(v) || v < spec["min"].get<double>() || v > spec["max"].get<double>())
          problems.push_back(fmt::format("{}: {} is outside {} .. {}", at, value.dump(), spec["min"].dump(), spec["max"].dump()));
      } else if (kind == "STRING") {
        if (!value.is_string()) problems.push_back(fmt::format("{}: must be a string, got {}", at, value.dump()));
      } else if (kind == "BOOLEAN") {
        if (!value.is_boolean()) problems.push_back(fmt::format("{}: must be true or false, got {}", at, value.dump()));
      } else if (kind == "FILE") {
        if (!value.is_string() || value.get<std::string>().empty() ||
            value.get<std::string>().find('.') == std::string::npos)
          problems.push_back(fmt::format("{}: must be a model file name, got {}", at, value.dump()));
      } else if (kind == "COMBO") {
        std::vector<std::string> options;
        if (spec.contains("options_from"))
          options = spec["options_from"] == "samplers" ? vocabulary_.samplers() : vocabulary_.schedulers();
        else
          options = spec["options"].get<std::vector<std::string>>();
        if (!value.is_string() || std::find(options.begin(), options.end(), value.get<std::string>()) == options.end())
          problems.push_back(fmt::format("{}: {} is not one of the node's options", at, value.dump()));
      }
    }
  }
  if (!has_output) problems.push_back("the graph has no output node (SaveImage, SaveAnimatedWEBP): ComfyUI would refuse it");
  // Acyclic: depth-first search over the read-from edges.
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::function<bool(const std::string&)> cyclic = [&](const std::string& n) {
    if (state[n] == 1) return true;
    if (state[n] == 2) return false;
    state[n] = 1;
    for (const auto& m : edges[n])
      if (cyclic(m)) return true;
    state[n] = 2;
    return false;
  };
  for (const auto& [id, _] : nodes.items())
    if (cyclic(id)) {
      problems.push_back(fmt::format("the graph has a cycle through node {}", id));
      break;
    }
  return problems;
}

}  // namespace inferconf::testing
