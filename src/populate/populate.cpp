// The population job: registry stream -> each model's plan (model_plan.hpp:
// base model and presets, decided without the store) -> one
// create_missing_for_models() transaction per batch -> the report.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/messages.hpp"
#include "inferconf/base_model_decision.hpp"
#include "inferconf/detect/inference.hpp"
#include "inferconf/error.hpp"
#include "inferconf/populate.hpp"
#include "populate/model_plan.hpp"

namespace inferconf::populate {
namespace {

constexpr std::size_t kMaxBatch = 100'000;

// Without --types, the types the catalogue marks for population (the seed's
// quality and speed); a type such as draft is created only when asked for.
std::vector<std::string> requested_types(const Catalog& catalog, const std::vector<std::string>& asked) {
  std::vector<std::string> all = detail::ids_of(catalog.configuration_types());
  if (asked.empty()) {
    std::vector<std::string> marked;
    for (const auto& t : catalog.configuration_types())
      if (t.populate) marked.push_back(t.id);
    return marked;
  }
  std::vector<std::string> types;
  for (const auto& t : asked) {
    if (!catalog.has_type(t)) throw detail::unknown_configuration_type("--types", t, all);
    if (std::find(types.begin(), types.end(), t) == types.end()) types.push_back(t);
  }
  return types;
}

// The rows of a batch, grouped by template: one PresetForModels per preset,
// naming the models that get it, so the store binds each preset once and a
// row costs its id and model_id. Nothing of a preset is copied per row. The
// order of rows inside a batch does not matter: the batch is one transaction.
class BatchRows {
 public:
  using Template = PresetTemplates::Template;

  // Adds a row for the model_index-th model of the batch and returns the
  // row's number; its slot is known after layout().
  std::size_t add(const Template* t, std::size_t model_index) {
    rows_.push_back({t, model_index});
    if (t->ordinal >= groups_.size()) groups_.resize(t->ordinal + 1, {nullptr, {}});
    groups_[t->ordinal].preset = &t->dto;
    return rows_.size() - 1;
  }

  // Fills groups() with the rows added since the last clear(); slot_of(i) is
  // then the slot of row i: its place in the groups' models, group after
  // group (where the store's create_missing_for_models() reports it).
  // model_id(k) is the id of the k-th model of the batch, which must stay in
  // place until the write is over.
  template <class ModelId>
  void layout(const ModelId& model_id) {
    for (auto& g : groups_) g.model_ids.clear();
    for (const Row& r : rows_) groups_[r.t->ordinal].model_ids.push_back(std::cref(model_id(r.model_index)));
    std::vector<std::size_t> start(groups_.size(), 0);
    std::size_t total = 0;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      start[g] = total;
      total += groups_[g].model_ids.size();
    }
    slot_of_.resize(rows_.size());
    for (std::size_t i = 0; i < rows_.size(); ++i) slot_of_[i] = start[rows_[i].t->ordinal]++;
  }

  // Groups of templates that have no row in this batch have no models (and a
  // null preset when no batch used them yet).
  const std::vector<PresetForModels>& groups() const { return groups_; }
  std::size_t slot_of(std::size_t row) const { return slot_of_[row]; }

  void clear() { rows_.clear(); }

 private:
  struct Row {
    const Template* t;
    std::size_t model_index;
  };
  std::vector<Row> rows_;
  std::vector<PresetForModels> groups_;  // by template ordinal, kept across batches
  std::vector<std::size_t> slot_of_;
};

// The thread that writes the batches of a job, one at a time. One thread for
// the whole job, not one per batch: the store's writer connection then keeps
// its page cache in one malloc arena. With a thread per batch, successive
// writers allocated in two or three arenas, and a 1M-model run peaked at
// 72 MB resident for 25 MB of heap in use.
class WriterThread {
 public:
  WriterThread() : thread_([this] { loop(); }) {}
  // Finishes the write in progress, if any, then joins.
  ~WriterThread() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;

  // Runs write on the thread; the future rethrows what it threw. The previous
  // write must be over (its future waited for).
  std::future<void> run(std::function<void()> write) {
    std::packaged_task<void()> task(std::move(write));
    std::future<void> done = task.get_future();
    {
      std::lock_guard lock(mu_);
      next_ = std::move(task);
    }
    cv_.notify_one();
    return done;
  }

 private:
  void loop() {
    for (;;) {
      std::packaged_task<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return next_.valid() || stopping_; });
        if (!next_.valid()) return;
        task = std::move(next_);
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::packaged_task<void()> next_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members it uses exist
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

// Two batches in turn: while the writer thread writes one (one transaction),
// the calling thread reports the one before and reads the registry and infers
// the base models of the next. Everything else — the counts, the report, the
// observer — stays on the calling thread, batch after batch in registry order,
// so the output is the same as a sequential run's. A batch is written only
// after the previous one's transaction ended, so the store sees the same
// writes in the same order. The writer is the critical path: at 200 000
// models it had 1.5 times the calling thread's CPU time.
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

  // The model's plan, and a row of the batch for each configuration it writes.
  void add(const ModelRecord& m) {
    Batch& batch = *filling_;
    ModelPlan plan = plan_model(catalog_, rules_, templates_, report_.types, m);
    Pending p;
    p.dto_index.reserve(plan.presets.size());
    for (const PresetTemplates::Template* preset : plan.presets)
      p.dto_index.push_back(preset ? static_cast<std::ptrdiff_t>(batch.rows.add(preset, batch.models.size())) : -1);
    p.outcome = std::move(plan.outcome);
    batch.models.push_back(std::move(p));
  }

  // On the writer thread: touches only the batch, the templates it points to
  // (never changed once made) and the store, which is thread-safe.
  void write(Batch& batch) const {
    batch.rows.layout([&](std::size_t k) -> const std::string& { return batch.models[k].outcome.model_id; });
    const std::vector<PresetForModels>& groups = batch.rows.groups();
    if (!options_.dry_run) {
      batch.created = store_.create_missing_for_models(groups, options_.overwrite, WriteContext{"populate", std::nullopt});
      return;
    }
    batch.created.clear();
    for (const auto& g : groups) {
      for (const std::string& id : g.model_ids)
        batch.created.push_back(!store_.find_by_model_and_type(id, g.preset->configuration_type));
    }
  }

  // Hands the batch being filled to a writer thread once the previous write
  // has ended, then reports that previous batch while the new one is written
  // (reporting 2000 models is a few milliseconds the writer need not wait for).
  void submit() {
    if (filling_->models.empty()) return;
    Batch* written = wait_for_write();
    Batch* batch = filling_;
    writing_ = writer_.run([this, batch] { write(*batch); });
    in_flight_ = batch;
    filling_ = batch == &batches_[0] ? &batches_[1] : &batches_[0];
    if (written) report(*written);
  }

  // Waits for the batch being written, if any, and reports it.
  void finish() {
    if (Batch* written = wait_for_write()) report(*written);
  }

  // The batch whose write has just ended (what its write threw is rethrown),
  // or null when none was being written.
  Batch* wait_for_write() {
    if (in_flight_ == nullptr) return nullptr;
    Batch* batch = std::exchange(in_flight_, nullptr);
    try {
      writing_.get();
    } catch (const Error&) {
      throw;
    } catch (...) {
      // Not a failure the store describes (a bug, a library's exception): the
      // job stops here as it would on kUnavailable, and says which batch.
      const std::string first = batch->models.empty() ? "" : batch->models.front().outcome.model_id;
      const std::string last = batch->models.empty() ? "" : batch->models.back().outcome.model_id;
      throw Error(ErrorCode::kInternal,
                  fmt::format("The writer thread failed unexpectedly while writing the batch of models {} to {} ({}); "
                              "that batch was not reported as written, the batches before it were committed. Run the "
                              "same command again to continue; if it fails again, report this message.",
                              first, last, describe_current_exception()));
    }
    return batch;
  }

  void report(Batch& batch) {
    std::vector<ModelOutcome>& outcomes = outcomes_;
    outcomes.clear();
    for (auto& p : batch.models) {
      ModelOutcome& o = p.outcome;
      for (std::size_t i = 0; i < o.types.size(); ++i) {
        if (p.dto_index[i] >= 0)
          settle(o.types[i], batch.created[batch.rows.slot_of(static_cast<std::size_t>(p.dto_index[i]))],
                 options_.overwrite);
      }
      tally(report_, o);
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
  std::future<void> writing_;
  // Last, so that it is destroyed first: when run() leaves by an exception,
  // its destructor waits for a write still running before the batches go.
  WriterThread writer_;
};

}  // namespace

PopulationReport populate(Store& store, const Catalog& catalog, const detect::Rules& rules,
                          const PopulateOptions& options, Observer& observer) {
  return Job(store, catalog, rules, options, observer).run();
}

}  // namespace inferconf::populate
