// Everything a program reads from its catalogue folder, loaded once into one
// immutable bundle: the base-model catalogue and sampler vocabulary
// (base_models.json, vocabulary.json), the detection rules and label aliases
// (detection_rules.json, base_model_labels.json) and the engine vocabulary
// (engine_vocabulary.json). The front ends (the command line, `serve`) load
// it once and hand its parts down explicitly to detection, population,
// resolution, export and import: no part of the program reads a catalogue
// file on its own, so `--catalog` / INFERCONF_CATALOG means the same folder
// everywhere.
#pragma once

#include <filesystem>
#include <memory>

#include "inferconf/catalog.hpp"

namespace inferconf {

class EngineVocabulary;  // inferconf/interop.hpp
namespace detect {
class Rules;  // inferconf/detect/rules.hpp
}

class CatalogBundle {
 public:
  // The folder a program uses when it is not told one: $INFERCONF_CATALOG,
  // else the source tree's catalog/ (a build tree), else the installed
  // share/inferconf/catalog (Catalog::default_dir(), the one search).
  static std::filesystem::path default_dir();

  // Loads every file of `dir`. Throws Error(kInvalid) listing every problem of
  // the catalogue or the engine vocabulary (file, JSON path, value, what is
  // allowed), Error(kUnavailable) when a required file cannot be read, and
  // detect::ReadError (rule "rules_file") for a problem of the detection rules
  // or label files. engine_vocabulary.json is optional: without it,
  // engine_vocabulary() is null and require_engine_vocabulary() says why.
  // Thread-safe: the bundle is immutable once loaded.
  static std::shared_ptr<const CatalogBundle> load(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const noexcept { return dir_; }
  const Catalog& catalog() const noexcept { return catalog_; }
  const detect::Rules& rules() const noexcept { return *rules_; }
  const std::shared_ptr<const detect::Rules>& shared_rules() const noexcept { return rules_; }
  // Null when the folder has no engine_vocabulary.json.
  const std::shared_ptr<const EngineVocabulary>& engine_vocabulary() const noexcept { return engine_vocabulary_; }
  // The engine vocabulary, or Error(kUnavailable) naming the file that is missing.
  const EngineVocabulary& require_engine_vocabulary() const;

 private:
  CatalogBundle() = default;

  std::filesystem::path dir_;
  Catalog catalog_;
  std::shared_ptr<const detect::Rules> rules_;
  std::shared_ptr<const EngineVocabulary> engine_vocabulary_;
};

}  // namespace inferconf
