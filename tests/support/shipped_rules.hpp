// The detection rules of the catalogue folder in this checkout, loaded once
// per test executable (the program itself loads them with its CatalogBundle).
#pragma once

#include <filesystem>
#include <memory>

#include "inferconf/detect/rules.hpp"

namespace inferconf::testing {

inline const std::shared_ptr<const detect::Rules>& shipped_rules() {
  static const std::shared_ptr<const detect::Rules> rules =
      detect::load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  return rules;
}

}  // namespace inferconf::testing
