#include "populate/model_plan.hpp"

#include <fmt/format.h>

#include "inferconf/base_model_decision.hpp"
#include "inferconf/detect/inference.hpp"

namespace inferconf::populate {

const PresetTemplates::Template* PresetTemplates::get(const std::string& base, const std::string& variant,
                                                     const std::string& type) {
  auto key = std::make_tuple(base, variant, type);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second ? &*it->second : nullptr;
  std::optional<Template> dto;
  if (const auto* spec = catalog_.find(base)) {
    if (const Preset* p = spec->preset(type, variant)) {
      dto.emplace();
      dto->ordinal = count_++;
      CreateDTO& d = dto->dto;
      d.base_model = base;
      d.configuration_type = type;
      d.steps = p->steps;
      d.cfg_scale = p->cfg_scale;
      d.sampler = p->sampler;
      d.scheduler = p->scheduler;
      d.model_specific_params = p->model_specific_params;
      // The resolver reads a configuration's variant from here.
      if (!variant.empty()) d.model_specific_params["variant"] = variant;
    }
  }
  auto [pos, _] = cache_.emplace(std::move(key), std::move(dto));
  return pos->second ? &*pos->second : nullptr;
}

ModelPlan plan_model(const Catalog& catalog, const detect::Rules& rules, PresetTemplates& templates,
                     const std::vector<std::string>& types, const ModelRecord& m) {
  ModelPlan plan;
  ModelOutcome& o = plan.outcome;
  o.types.reserve(types.size());
  plan.presets.reserve(types.size());
  o.model_id = m.id;
  o.name = m.name;
  o.active = m.is_active;
  const DecidedBaseModel decided = decide_base_model(catalog, rules, m);
  const detect::Inference& inf = decided.inference;
  o.source = std::string(detect::to_string(inf.source));
  o.confidence = std::string(detect::to_string(inf.confidence));
  o.detail = inf.detail;
  o.conflict = inf.conflict;
  o.file_error = inf.file_error;
  if (!decided.decided()) {
    o.reason = decided.reason;
    for (const auto& t : types) {
      o.types.push_back({t, Action::kFailed, "unknown base model"});
      plan.presets.push_back(nullptr);
    }
    return plan;
  }
  const BaseModelSpec* spec = decided.spec;
  o.base_model = spec->id;
  if (!decided.variant.empty()) o.variant = decided.variant;
  o.note = decided.note;
  for (const auto& t : types) {
    const PresetTemplates::Template* preset = templates.get(spec->id, decided.variant, t);
    if (preset) {
      o.types.push_back({t, Action::kCreated, {}});
    } else {
      o.types.push_back({t, Action::kSkipped, fmt::format("no {} preset for {}", t, spec->id)});
    }
    plan.presets.push_back(preset);
  }
  return plan;
}

void settle(TypeOutcome& outcome, bool created, bool overwrite) {
  if (created) {
    outcome.action = Action::kCreated;
  } else if (overwrite) {
    outcome.action = Action::kReplaced;
    outcome.reason = "already existed; replaced with the preset (--overwrite)";
  } else {
    outcome.action = Action::kSkipped;
    outcome.reason = "already exists";
  }
}

void tally(PopulationReport& report, const ModelOutcome& o) {
  for (const TypeOutcome& t : o.types) {
    switch (t.action) {
      case Action::kCreated: ++report.created; break;
      case Action::kSkipped: ++report.skipped; break;
      case Action::kReplaced: ++report.replaced; break;
      case Action::kFailed: ++report.failed; break;
    }
  }
  if (o.base_model == "unknown") ++report.unknown_models;
  if (!o.conflict.empty()) ++report.conflicting_models;
  if (o.file_error) ++report.file_errors;
  ++report.by_source[o.source];
  ++report.by_base_model[o.base_model];
}

}  // namespace inferconf::populate
