// Look-ups on the loaded catalogue. Nine base models and a handful of variants:
// linear scans are faster than any index at this size.
#include <algorithm>

#include "inferconf/catalog.hpp"

namespace inferconf {

const Variant* BaseModelSpec::find_variant(std::string_view variant_id) const {
  for (const auto& v : variants)
    if (v.id == variant_id) return &v;
  return nullptr;
}

// An unknown variant gives nullptr rather than the base's preset, so a typo in
// a variant name is noticed instead of silently resolving to other values.
const Preset* BaseModelSpec::preset(std::string_view type, std::string_view variant) const {
  if (!variant.empty()) {
    const auto* v = find_variant(variant);
    if (!v) return nullptr;
    if (auto it = v->presets.find(std::string(type)); it != v->presets.end()) return &it->second;
  }
  auto it = presets.find(std::string(type));
  return it == presets.end() ? nullptr : &it->second;
}

const Constraints& BaseModelSpec::constraints_for(std::string_view variant) const {
  if (const auto* v = variant.empty() ? nullptr : find_variant(variant); v && v->constraints) return *v->constraints;
  return constraints;
}

const std::vector<std::string>& BaseModelSpec::experts_for(std::string_view variant) const {
  if (const auto* v = variant.empty() ? nullptr : find_variant(variant); v && v->experts) return *v->experts;
  return experts;
}

const BaseModelSpec* Catalog::find(std::string_view base_model) const {
  for (const auto& b : base_models_)
    if (b.id == base_model) return &b;
  return nullptr;
}

bool Catalog::has_type(std::string_view type) const {
  return std::any_of(types_.begin(), types_.end(), [&](const auto& t) { return t.id == type; });
}

}  // namespace inferconf
