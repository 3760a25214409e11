// The one decision of a registry model's base model and variant.
#include <fmt/format.h>

#include "inferconf/base_model_decision.hpp"

namespace inferconf {

namespace {

// The variant a record names on its own, outside the label and header rules:
// a "variant" string in its metadata.
std::optional<std::string> metadata_variant(const ModelRecord& record) {
  if (!record.metadata.is_object()) return std::nullopt;
  const auto it = record.metadata.find("variant");
  if (it == record.metadata.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
  return it->get<std::string>();
}

// Picks the catalogue variant: the one the evidence named, else the record's
// metadata "variant"; a name the catalogue does not have for the base model
// is a note, and the base model's presets apply.
void choose_variant(DecidedBaseModel& d, const ModelRecord& record) {
  std::optional<std::string> named = d.inference.variant;
  if (!named) named = metadata_variant(record);
  if (!named) return;
  if (d.spec->find_variant(*named)) {
    d.variant = *named;
    return;
  }
  d.note = fmt::format("variant \"{}\" is not in the catalogue for {}; the base presets were used", *named, d.spec->id);
}

}  // namespace

DecidedBaseModel decide_base_model(const Catalog& catalog, const detect::Rules& rules, const ModelRecord& record) {
  DecidedBaseModel d;
  d.inference = detect::infer_base_model_for(rules, record);
  const detect::Inference& inf = d.inference;
  if (inf.base_model != "unknown") d.spec = catalog.find(inf.base_model);
  if (!d.spec) {
    d.reason = inf.base_model == "unknown"
                   ? inf.reason
                   : fmt::format("the detected base model \"{}\" is not in the catalogue", inf.base_model);
    if (d.reason.empty()) d.reason = "no source names a base model";
    return d;
  }
  choose_variant(d, record);
  return d;
}

}  // namespace inferconf
