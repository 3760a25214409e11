// Checks a ComfyUI API-format prompt against node definitions kept as data
// (comfyui_nodes.json): every class_type is known, every required input is
// present and no unknown one is, links point at existing nodes and at an
// output of the type the input takes, widget values have the right type and
// lie in range (INT values on the min + k*step grid, as ComfyUI's widgets
// produce them), combos hold one of their options, the graph is acyclic and
// ends in an output node. Returns every problem, empty when the graph passes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"

namespace inferconf::testing {

class ComfyUIChecker {
 public:
  ComfyUIChecker(nlohmann::json definitions, const Vocabulary& vocabulary);
  static ComfyUIChecker load(const Vocabulary& vocabulary);  // tests/interop/comfyui_nodes.json
  std::vector<std::string> check(const nlohmann::json& prompt) const;  // {"prompt": {...}} or the node map

 private:
  nlohmann::json defs_;
  const Vocabulary& vocabulary_;
};

}  // namespace inferconf::testing
