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

namespace {

// An optional file of the folder, read once and checked against the
// catalogue (T::load(file, catalog)); null when the folder has none.
template <typename T>
const std::shared_ptr<const T>& load_optional(std::once_flag& once, std::shared_ptr<const T>& loaded,
                                              const std::filesystem::path& dir, const Catalog& catalog) {
  std::call_once(once, [&] {
    std::error_code ec;
    if (const auto file = T::file_in(dir); std::filesystem::exists(file, ec))
      loaded = std::make_shared<const T>(T::load(file, catalog));
  });
  return loaded;
}

}  // namespace

const std::shared_ptr<const EngineVocabulary>& CatalogBundle::engine_vocabulary() const {
  // Checked against this folder's catalogue: every base model it defines
  // must have an engine translation.
  return load_optional(engine_vocabulary_once_, engine_vocabulary_, dir_, catalog_);
}

const std::shared_ptr<const HardwareCatalog>& CatalogBundle::hardware() const {
  // Checked against this folder's catalogue: every memory model names a base model (and variant) it defines.
  return load_optional(hardware_once_, hardware_, dir_, catalog_);
}

const EngineVocabulary& CatalogBundle::require_engine_vocabulary() const {
  if (const auto& v = engine_vocabulary()) return *v;
  throw unavailable(fmt::format("Cannot read the engine vocabulary {}: the file does not exist or is not readable.",
                                EngineVocabulary::file_in(dir_).string()));
}

}  // namespace inferconf
