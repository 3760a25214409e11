// The population job: registry stream -> base-model inference -> presets ->
// one create_missing() transaction per batch.
#include <algorithm>
#include <chrono>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "inferconf/detect.hpp"
#include "inferconf/error.hpp"
#include "inferconf/populate.hpp"

namespace inferconf::populate {
namespace {

constexpr std::size_t kMaxBatch = 100'000;

std::vector<std::string> requested_types(const Catalog& catalog, const std::vector<std::string>& asked) {
  std::vector<std::string> all;
  for (const auto& t : catalog.configuration_types()) all.push_back(t.id);
  if (asked.empty()) return all;
  std::vector<std::string> types;
  for (const auto& t : asked) {
    if (!catalog.has_type(t))
      throw invalid(fmt::format("--types names \"{}\", which is not a configuration type of the catalogue; allowed: {}.",
                                t, fmt::join(all, ", ")),
                    {{"types", fmt::format("received \"{}\"; allowed: {}", t, fmt::join(all, ", "))}});
    if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
  }
  return types;
}

// The configuration to store for (base, variant, type), built once: a
// registry of a million models has a handful of distinct presets.
class PresetTemplates {
 public:
  explicit PresetTemplates(const Catalog& catalog) : catalog_(catalog) {}

  // nullptr when the catalogue has no preset of this type for the base model.
  const CreateDTO* get(const std::string& base, const std::string& variant, const std::string& type) {
    auto key = std::make_tuple(base, variant, type);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second ? &*it->second : nullptr;
    std::optional<CreateDTO> dto;
    if (const auto* spec = catalog_.find(base)) {
      if (const Preset* p = spec->preset(type, variant)) {
        dto.emplace();
        dto->base_model = base;
        dto->configuration_type = type;
        dto->steps = p->steps;
        dto->cfg_scale = p->cfg_scale;
        dto->sampler = p->sampler;
        dto->scheduler = p->scheduler;
        dto->model_specific_params = p->model_specific_params;
        // The resolver reads a configuration's variant from here.
        if (!variant.empty()) dto->model_specific_params["variant"] = variant;
      }
    }
    auto [pos, _] = cache_.emplace(std::move(key), std::move(dto));
    return pos->second ? &*pos->second : nullptr;
  }

 private:
  const Catalog& catalog_;
  std::map<std::tuple<std::string, std::string, std::string>, std::optional<CreateDTO>> cache_;
};

// One model of the current batch: its outcome so far, and for each type the
// index of its CreateDTO in the batch (or -1 when nothing is written).
struct Pending {
  ModelOutcome outcome;
  std::vector<std::ptrdiff_t> dto_index;
};

class Job {
 public:
  Job(Store& store, const Catalog& catalog, const detect::Rules& rules, const PopulateOptions& options,
      Observer& observer)
      : store_(store), catalog_(catalog), rules_(rules), options_(options), observer_(observer), templates_(catalog) {
    if (options.batch_size == 0 || options.batch_size > kMaxBatch)
      throw invalid(fmt::format("The batch size is {}; allowed: 1 to {} models per transaction.", options.batch_size,
                                kMaxBatch),
                    {{"batch_size", fmt::format("received {}; allowed: 1…{}", options.batch_size, kMaxBatch)}});
    report_.dry_run = options.dry_run;
    report_.types = requested_types(catalog, options.types);
    // Reused batch after batch: a batch allocates nothing for its containers.
    batch_.reserve(options.batch_size);
    dtos_.reserve(options.batch_size * report_.types.size());
    outcomes_.reserve(options.batch_size);
  }

  PopulationReport run() {
    const auto started = std::chrono::steady_clock::now();
    if (options_.only_model) {
      auto record = store_.get_model(*options_.only_model);
      if (!record)
        throw not_found(fmt::format("The model \"{}\" (--only-model) is not in the registry of {}; import it first "
                                    "(inferconf models import, or populate --registry FILE).",
                                    *options_.only_model, store_.describe()));
      report_.models_found = 1;
      observer_.on_start(1);
      add(*record);
      flush();
    } else {
      report_.models_found = store_.count_models(true);
      observer_.on_start(report_.models_found);
      store_.for_each_model(true, [&](const ModelRecord& m) {
        add(m);
        if (batch_.size() < options_.batch_size) return true;
        flush();
        return !cancelled();
      });
      if (!report_.interrupted) flush();
    }
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(report_);
  }

 private:
  bool cancelled() {
    if (options_.cancel && options_.cancel->load()) report_.interrupted = true;
    return report_.interrupted;
  }

  void add(const ModelRecord& m) {
    Pending p;
    p.dto_index.reserve(report_.types.size());
    ModelOutcome& o = p.outcome;
    o.types.reserve(report_.types.size());
    o.model_id = m.id;
    o.name = m.name;
    o.active = m.is_active;
    const detect::Inference inf = detect::infer_base_model_for(rules_, m);
    o.source = std::string(detect::to_string(inf.source));
    o.confidence = std::string(detect::to_string(inf.confidence));
    o.detail = inf.detail;
    o.conflict = inf.conflict;
    o.file_error = inf.file_error;
    const BaseModelSpec* spec = inf.base_model == "unknown" ? nullptr : catalog_.find(inf.base_model);
    if (!spec) {
      o.reason = inf.base_model == "unknown"
                     ? inf.reason
                     : fmt::format("the detected base model \"{}\" is not in the catalogue", inf.base_model);
      if (o.reason.empty()) o.reason = "no source names a base model";
      for (const auto& t : report_.types) {
        o.types.push_back({t, Action::kFailed, "unknown base model"});
        p.dto_index.push_back(-1);
      }
      batch_.push_back(std::move(p));
      return;
    }
    o.base_model = spec->id;
    std::string variant;
    if (inf.variant) {
      if (spec->find_variant(*inf.variant)) {
        variant = *inf.variant;
        o.variant = variant;
      } else {
        o.note = fmt::format("variant \"{}\" is not in the catalogue for {}; the base presets were used", *inf.variant,
                             spec->id);
      }
    }
    for (const auto& t : report_.types) {
      const CreateDTO* tmpl = templates_.get(spec->id, variant, t);
      if (!tmpl) {
        o.types.push_back({t, Action::kSkipped, fmt::format("no {} preset for {}", t, spec->id)});
        p.dto_index.push_back(-1);
        continue;
      }
      o.types.push_back({t, Action::kCreated, {}});
      p.dto_index.push_back(static_cast<std::ptrdiff_t>(dtos_.size()));
      dtos_.push_back(*tmpl);
      dtos_.back().model_id = m.id;
    }
    batch_.push_back(std::move(p));
  }

  std::vector<bool> write() {
    if (!options_.dry_run) return store_.create_missing(dtos_, options_.overwrite);
    std::vector<bool> created;
    created.reserve(dtos_.size());
    for (const auto& d : dtos_) created.push_back(!store_.find_by_model_and_type(d.model_id, d.configuration_type));
    return created;
  }

  void flush() {
    if (batch_.empty()) return;
    const std::vector<bool> created = write();
    std::vector<ModelOutcome>& outcomes = outcomes_;
    outcomes.clear();
    for (auto& p : batch_) {
      ModelOutcome& o = p.outcome;
      for (std::size_t i = 0; i < o.types.size(); ++i) {
        TypeOutcome& t = o.types[i];
        if (p.dto_index[i] >= 0) {
          if (created[static_cast<std::size_t>(p.dto_index[i])]) {
            t.action = Action::kCreated;
          } else if (options_.overwrite) {
            t.action = Action::kReplaced;
            t.reason = "already existed; replaced with the preset (--overwrite)";
          } else {
            t.action = Action::kSkipped;
            t.reason = "already exists";
          }
        }
        switch (t.action) {
          case Action::kCreated: ++report_.created; break;
          case Action::kSkipped: ++report_.skipped; break;
          case Action::kReplaced: ++report_.replaced; break;
          case Action::kFailed: ++report_.failed; break;
        }
      }
      if (o.base_model == "unknown") ++report_.unknown_models;
      if (!o.conflict.empty()) ++report_.conflicting_models;
      if (o.file_error) ++report_.file_errors;
      ++report_.by_source[o.source];
      ++report_.by_base_model[o.base_model];
      outcomes.push_back(std::move(o));
    }
    report_.models_processed += static_cast<std::int64_t>(outcomes.size());
    report_.last_model_id = outcomes.back().model_id;
    batch_.clear();
    dtos_.clear();
    observer_.on_batch(outcomes, report_.models_processed, report_.models_found);
    if (options_.keep_models)
      report_.models.insert(report_.models.end(), std::make_move_iterator(outcomes.begin()),
                            std::make_move_iterator(outcomes.end()));
    outcomes.clear();
  }

  Store& store_;
  const Catalog& catalog_;
  const detect::Rules& rules_;
  const PopulateOptions& options_;
  Observer& observer_;
  PresetTemplates templates_;
  PopulationReport report_;
  std::vector<Pending> batch_;
  std::vector<CreateDTO> dtos_;
  std::vector<ModelOutcome> outcomes_;  // the batch being reported
};

}  // namespace

PopulationReport populate(Store& store, const Catalog& catalog, const detect::Rules& rules,
                          const PopulateOptions& options, Observer& observer) {
  return Job(store, catalog, rules, options, observer).run();
}

}  // namespace inferconf::populate
