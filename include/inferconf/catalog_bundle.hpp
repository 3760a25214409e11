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
#include <mutex>

#include "inferconf/catalog.hpp"

namespace inferconf {

class EngineVocabulary;  // inferconf/interop.hpp
class HardwareCatalog;   // inferconf/hardware.hpp
namespace detect {
class Rules;  // inferconf/detect/rules.hpp
}

class CatalogBundle {
 public:
  // The folder a program uses when it is not told one: $INFERCONF_CATALOG,
  // else the source tree's catalog/ (a build tree), else the installed
  // share/inferconf/catalog (Catalog::default_dir(), the one search).
  static std::filesystem::path default_dir();

  // Loads the catalogue of `dir` (base_models.json, vocabulary.json). Throws
  // Error(kInvalid) listing every problem (file, JSON path, value, what is
  // allowed), or Error(kUnavailable) when a file cannot be read.
  //
  // The detection rules and the engine vocabulary are read from the same
  // folder the first time they are asked for, once (later calls return the
  // same objects): a command that never decides a base model or exports
  // neither pays for them nor fails on a problem of their files. A front end
  // that wants every problem at start-up (serve) asks for them at once.
  // Thread-safe: what a bundle returns never changes.
  static std::shared_ptr<const CatalogBundle> load(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const noexcept { return dir_; }
  const Catalog& catalog() const noexcept { return catalog_; }

  // detection_rules.json and base_model_labels.json. Throws detect::ReadError
  // (rule "rules_file") naming the file and the JSON path of a problem.
  const detect::Rules& rules() const { return *shared_rules(); }
  const std::shared_ptr<const detect::Rules>& shared_rules() const;

  // engine_vocabulary.json, checked against this catalogue; null when the
  // folder has none. Throws Error(kInvalid) listing its problems.
  const std::shared_ptr<const EngineVocabulary>& engine_vocabulary() const;
  // The same, or Error(kUnavailable) naming the file when the folder has none.
  const EngineVocabulary& require_engine_vocabulary() const;

  // hardware.json (memory models and hardware profiles), checked against
  // this catalogue, read once on first use; null when the folder has none.
  // Throws Error(kInvalid) listing its problems.
  const std::shared_ptr<const HardwareCatalog>& hardware() const;

 private:
  CatalogBundle() = default;

  std::filesystem::path dir_;
  Catalog catalog_;
  mutable std::once_flag rules_once_, engine_vocabulary_once_, hardware_once_;
  mutable std::shared_ptr<const detect::Rules> rules_;
  mutable std::shared_ptr<const EngineVocabulary> engine_vocabulary_;
  mutable std::shared_ptr<const HardwareCatalog> hardware_;
};

}  // namespace inferconf
