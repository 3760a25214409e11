// Loading the catalogue folder once.
#include "inferconf/catalog_bundle.hpp"

#include <system_error>

#include <fmt/format.h>

#include "inferconf/detect/rules.hpp"
#include "inferconf/error.hpp"
#include "inferconf/interop.hpp"

namespace inferconf {

std::filesystem::path CatalogBundle::default_dir() { return Catalog::default_dir(); }

std::shared_ptr<const CatalogBundle> CatalogBundle::load(const std::filesystem::path& dir) {
  std::shared_ptr<CatalogBundle> b(new CatalogBundle());
  b->dir_ = dir;
  b->catalog_ = Catalog::load(dir);
  b->rules_ = detect::load_rules(dir);
  // Checked against the catalogue just loaded: every base model of this folder
  // must have an engine translation.
  std::error_code ec;
  if (const auto file = EngineVocabulary::file_in(dir); std::filesystem::exists(file, ec))
    b->engine_vocabulary_ = std::make_shared<const EngineVocabulary>(EngineVocabulary::load(file, b->catalog_));
  return b;
}

const EngineVocabulary& CatalogBundle::require_engine_vocabulary() const {
  if (engine_vocabulary_) return *engine_vocabulary_;
  throw unavailable(fmt::format("Cannot read the engine vocabulary {}: the file does not exist or is not readable.",
                                EngineVocabulary::file_in(dir_).string()));
}

}  // namespace inferconf
