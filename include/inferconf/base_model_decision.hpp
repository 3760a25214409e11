// Which base model (and variant) a model of the registry has, and on what
// evidence. One decision for every path that needs it: `populate` stores the
// presets it names, `resolve` answers with it for a model that has no stored
// configuration, `demo` prints it. Two deciders would drift apart (a registry
// label refined by the model's name or metadata, a record with no label at
// all), and a model would then be given one architecture's presets when
// populated and another's when resolved.
#pragma once

#include <string>

#include "inferconf/catalog.hpp"
#include "inferconf/detect/inference.hpp"
#include "inferconf/registry.hpp"

namespace inferconf {

struct DecidedBaseModel {
  // The catalogue entry decided; nullptr when no source names a base model
  // that the catalogue defines.
  const BaseModelSpec* spec = nullptr;
  // The catalogue variant whose presets apply; empty for the base model's own.
  std::string variant;
  // The evidence: which source decided (explicit label, metadata, file header,
  // name), how sure it is, what the other sources said.
  detect::Inference inference;
  // Set when spec is null: why no base model of the catalogue was decided.
  std::string reason;
  // Set when a source named a variant the catalogue does not have for spec:
  // the base model's presets apply, and this says so.
  std::string note;

  bool decided() const noexcept { return spec != nullptr; }
};

// Decides from the record alone, in this order: the explicit base_model label,
// the metadata fields named in base_model_labels.json, the header of
// file_path (read from disk when set), the name; a later source may refine an
// earlier one (sdxl -> pony) but never overrule it, and disagreements are kept
// in inference.conflict. A variant comes from the deciding sources, else from
// a "variant" string in the record's metadata. Never throws for a record it
// cannot decide (spec is null and reason says why); thread-safe (catalog and
// rules are immutable).
DecidedBaseModel decide_base_model(const Catalog& catalog, const detect::Rules& rules, const ModelRecord& record);

}  // namespace inferconf
