// The population job: registry stream -> base-model inference -> presets ->
// one create_missing() transaction per batch.
#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <tuple>
#include <utility>

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

  struct Template {
    CreateDTO dto;
    std::size_t ordinal = 0;  // 0, 1, 2… in order of first use: where its rows go in a batch
  };

  // nullptr when the catalogue has no preset of this type for the base model.
  const Template* get(const std::string& base, const std::string& variant, const std::string& type) {
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

 private:
  const Catalog& catalog_;
  std::map<std::tuple<std::string, std::string, std::string>, std::optional<Template>> cache_;
  std::size_t count_ = 0;
};

// The rows of a batch, laid out grouped by template (all the rows of one
// preset next to each other) in slots that are kept from batch to batch. A
// slot that held a row of the same template in the previous batch only gets
// its model_id replaced: no copy of the preset's parameters (a JSON object of
// up to a dozen members) per row, and the store, which reuses the JSON text
// of identical consecutive parameters, finds them next to each other. The
// order of rows inside a batch does not matter: the batch is one transaction.
class BatchRows {
 public:
  using Template = PresetTemplates::Template;

  // Adds a row for the model_index-th model of the batch and returns the
  // row's number; its slot is known after layout().
  std::size_t add(const Template* t, std::size_t model_index) {
    rows_.push_back({t, model_index});
    if (t->ordinal >= counts_.size()) counts_.resize(t->ordinal + 1, 0);
    ++counts_[t->ordinal];
    return rows_.size() - 1;
  }

  // Places the rows added since the last clear() in the slots; slot_of(i) is
  // then the slot (index in dtos()) of row i. model_id(k) is the id of the
  // k-th model of the batch.
  template <class ModelId>
  void layout(const ModelId& model_id) {
    std::vector<std::size_t>& start = counts_;  // counts become start offsets
    std::size_t total = 0;
    for (auto& c : start) total += std::exchange(c, total);
    // Grows only until the batches reach their usual size; shrinks only for
    // a smaller (the last) batch.
    dtos_.resize(total);
    template_of_.resize(total, nullptr);
    slot_of_.resize(rows_.size());
    for (std::size_t i = 0; i < rows_.size(); ++i) {
      const Row& r = rows_[i];
      const std::size_t slot = start[r.t->ordinal]++;
      slot_of_[i] = slot;
      if (template_of_[slot] != r.t) {
        dtos_[slot] = r.t->dto;
        template_of_[slot] = r.t;
      }
      dtos_[slot].model_id = model_id(r.model_index);
    }
  }

  const std::vector<CreateDTO>& dtos() const { return dtos_; }
  std::size_t slot_of(std::size_t row) const { return slot_of_[row]; }

  void clear() {
    rows_.clear();
    counts_.assign(counts_.size(), 0);
  }

 private:
  struct Row {
    const Template* t;
    std::size_t model_index;
  };
  std::vector<Row> rows_;
  std::vector<std::size_t> counts_;  // rows per template ordinal
  std::vector<std::size_t> slot_of_;
  std::vector<CreateDTO> dtos_;                // slots, kept across batches
  std::vector<const Template*> template_of_;  // what each slot holds
};

// One model of a batch: its outcome so far, and for each type its row in the
// batch's BatchRows (or -1 when nothing is written).
struct Pending {
  ModelOutcome outcome;
  std::vector<std::ptrdiff_t> dto_index;
};

struct Batch {
  std::vector<Pending> models;
  BatchRows rows;              // the configurations to write for models
  std::vector<bool> created;   // per slot of rows, once written
};

// Two batches in turn: while a writer thread writes one (one transaction),
// the calling thread reads the registry and infers the base models of the
// next. Everything else — the counts, the report, the observer — stays on the
// calling thread, batch after batch in registry order, so the output is the
// same as a sequential run's. A batch is written only after the previous
// one's transaction ended, so the store sees the same writes in the same
// order. The writer is the critical path: at 200 000 models a batch took
// ~20 ms to write and ~9 ms to prepare.
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
    for (auto& b : batches_) b.models.reserve(options.batch_size);
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
      submit();
    } else {
      report_.models_found = store_.count_models(true);
      observer_.on_start(report_.models_found);
      store_.for_each_model(true, [&](const ModelRecord& m) {
        add(m);
        if (filling_->models.size() < options_.batch_size) return true;
        submit();
        return !cancelled();
      });
      if (!report_.interrupted) submit();
    }
    finish();
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(report_);
  }

 private:
  bool cancelled() {
    if (options_.cancel && options_.cancel->load()) report_.interrupted = true;
    return report_.interrupted;
  }

  void add(const ModelRecord& m) {
    Batch& batch = *filling_;
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
      batch.models.push_back(std::move(p));
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
      const PresetTemplates::Template* tmpl = templates_.get(spec->id, variant, t);
      if (!tmpl) {
        o.types.push_back({t, Action::kSkipped, fmt::format("no {} preset for {}", t, spec->id)});
        p.dto_index.push_back(-1);
        continue;
      }
      o.types.push_back({t, Action::kCreated, {}});
      p.dto_index.push_back(static_cast<std::ptrdiff_t>(batch.rows.add(tmpl, batch.models.size())));
    }
    batch.models.push_back(std::move(p));
  }

  // On the writer thread: touches only the batch, the templates it points to
  // (never changed once made) and the store, which is thread-safe.
  void write(Batch& batch) const {
    batch.rows.layout([&](std::size_t k) -> const std::string& { return batch.models[k].outcome.model_id; });
    const std::vector<CreateDTO>& dtos = batch.rows.dtos();
    if (!options_.dry_run) {
      batch.created = store_.create_missing(dtos, options_.overwrite);
      return;
    }
    batch.created.clear();
    for (const auto& d : dtos) batch.created.push_back(!store_.find_by_model_and_type(d.model_id, d.configuration_type));
  }

  // Reports the batch being written, then hands the batch being filled to a
  // writer thread and fills the other one next.
  void submit() {
    if (filling_->models.empty()) return;
    finish();
    Batch* batch = filling_;
    writing_ = std::async(std::launch::async, [this, batch] { write(*batch); });
    in_flight_ = batch;
    filling_ = batch == &batches_[0] ? &batches_[1] : &batches_[0];
  }

  // Waits for the batch being written (rethrowing what its write threw) and
  // reports it.
  void finish() {
    if (in_flight_ == nullptr) return;
    Batch& batch = *std::exchange(in_flight_, nullptr);
    writing_.get();
    std::vector<ModelOutcome>& outcomes = outcomes_;
    outcomes.clear();
    for (auto& p : batch.models) {
      ModelOutcome& o = p.outcome;
      for (std::size_t i = 0; i < o.types.size(); ++i) {
        TypeOutcome& t = o.types[i];
        if (p.dto_index[i] >= 0) {
          if (batch.created[batch.rows.slot_of(static_cast<std::size_t>(p.dto_index[i]))]) {
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
    batch.models.clear();
    batch.rows.clear();
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
  Batch batches_[2];
  Batch* filling_ = &batches_[0];
  Batch* in_flight_ = nullptr;
  std::vector<ModelOutcome> outcomes_;  // the batch being reported
  // Last, so that it is destroyed first: when run() leaves by an exception,
  // this waits for a write still running before the batches go.
  std::future<void> writing_;
};

}  // namespace

PopulationReport populate(Store& store, const Catalog& catalog, const detect::Rules& rules,
                          const PopulateOptions& options, Observer& observer) {
  return Job(store, catalog, rules, options, observer).run();
}

}  // namespace inferconf::populate
