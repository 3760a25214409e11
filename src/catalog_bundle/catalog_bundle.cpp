// Loading the catalogue folder once.
#include "inferconf/catalog_bundle.hpp"

#include <system_error>

#include <fmt/format.h>

#include "inferconf/detect/rules.hpp"
#include "inferconf/error.hpp"
#include "inferconf/hardware.hpp"
#include "inferconf/interop.hpp"

namespace inferconf {

std::filesystem::path CatalogBundle::default_dir() { return Catalog::default_dir(); }

std::shared_ptr<const CatalogBundle> CatalogBundle::load(const std::filesystem::path& dir) {
  std::shared_ptr<CatalogBundle> b(new CatalogBundle());
  b->dir_ = dir;
  b->catalog_ = Catalog::load(dir);
  return b;
}

const std::shared_ptr<const detect::Rules>& CatalogBundle::shared_rules() const {
  // A load that throws leaves the flag unset: the next call tries again and
  // reports the same problem.
  std::call_once(rules_once_, [this] { rules_ = detect::load_rules(dir_); });
  return rules_;
}

const std::shared_ptr<const EngineVocabulary>& CatalogBundle::engine_vocabulary() const {
  std::call_once(engine_vocabulary_once_, [this] {
    // Checked against this folder's catalogue: every base model it defines
    // must have an engine translation.
    std::error_code ec;
    if (const auto file = EngineVocabulary::file_in(dir_); std::filesystem::exists(file, ec))
      engine_vocabulary_ = std::make_shared<const EngineVocabulary>(EngineVocabulary::load(file, catalog_));
  });
  return engine_vocabulary_;
}

const std::shared_ptr<const HardwareCatalog>& CatalogBundle::hardware() const {
  std::call_once(hardware_once_, [this] {
    std::error_code ec;
    if (const auto file = HardwareCatalog::file_in(dir_); std::filesystem::exists(file, ec))
      hardware_ = std::make_shared<const HardwareCatalog>(HardwareCatalog::load(file, catalog_));
  });
  return hardware_;
}

const EngineVocabulary& CatalogBundle::require_engine_vocabulary() const {
  if (const auto& v = engine_vocabulary()) return *v;
  throw unavailable(fmt::format("Cannot read the engine vocabulary {}: the file does not exist or is not readable.",
                                EngineVocabulary::file_in(dir_).string()));
}

}  // namespace inferconf
