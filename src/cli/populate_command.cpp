// `inferconf populate`: the seed's populate_inference_configurations.py, with
// its report lines kept as they were (people know them) and what the old
// script could not say added: unknown models with the reason, conflicting
// sources, and which source decided each model.
//
// Exit codes: 0 every configuration created or skipped; 5 some models (or
// registry lines) could not be handled, the rest was processed; 130 stopped by
// SIGINT after committing the current batch; 1 store unavailable; 2 bad usage.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/populate.hpp"

namespace inferconf::cli {
namespace {

const std::string kRule(60, '=');

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGINT flag is set from a signal handler");

extern "C" void on_sigint(int) { g_interrupted.store(true); }

// SIGINT asks the job to stop after the current batch. SA_RESETHAND: a second
// Ctrl-C kills at once (crash safety makes that harmless too).
class SigintScope {
 public:
  SigintScope() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    installed_ = sigaction(SIGINT, &sa, &previous_) == 0;
  }
  ~SigintScope() {
    if (installed_) sigaction(SIGINT, &previous_, nullptr);
  }
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

struct PopulateArgs {
  std::string types;
  bool dry_run = false;
  std::string only_model;
  bool overwrite = false;
  std::string registry;
  std::string active_value;
  std::size_t batch = 2000;
  RegistryFieldMap fields;
};

std::vector<std::string> split_types(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find(',', start);
    std::string t = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    t.erase(0, t.find_first_not_of(' '));
    t.erase(t.find_last_not_of(' ') + 1);
    if (!t.empty()) out.push_back(t);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// --active-value is JSON when it parses (true, 1, "x"), else the text itself:
// platforms mark active models with booleans, numbers or words.
nlohmann::json active_value_of(const std::string& text) {
  if (text.empty()) return true;
  return json_or_text(text, "--active-value");
}

// One JSON document written as it goes: arrays of unbounded length (models,
// registry problems) are streamed element by element.
class JsonStream {
 public:
  explicit JsonStream(std::ostream& out) : out_(out) {}
  void open_array(std::string_view key) {
    out_ << (members_++ ? ",\n  " : "{\n  ") << nlohmann::json(key).dump() << ": [";
    elements_ = 0;
  }
  void element(const nlohmann::json& j) {
    out_ << (elements_++ ? ",\n    " : "\n    ") << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  void close_array() { out_ << (elements_ ? "\n  ]" : "]"); }
  void finish(const nlohmann::json& rest) {
    for (const auto& [k, v] : rest.items())
      out_ << (members_++ ? ",\n  " : "{\n  ") << nlohmann::json(k).dump() << ": "
           << v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out_ << (members_ ? "\n}\n" : "{}\n");
    out_.flush();
  }

 private:
  std::ostream& out_;
  int members_ = 0;
  int elements_ = 0;
};

// Count, rate and ETA on stderr, only when stderr is a terminal; cleared
// before report lines are written so the two never interleave.
class ProgressBar {
 public:
  explicit ProgressBar(std::ostream& err) : err_(err), enabled_(isatty(STDERR_FILENO) == 1) {}
  void start(std::int64_t total) {
    total_ = total;
    started_ = std::chrono::steady_clock::now();
  }
  void clear() {
    if (enabled_ && shown_) err_ << "\r\033[K" << std::flush;
    shown_ = false;
  }
  void draw(std::int64_t done) {
    if (!enabled_ || total_ <= 0) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * std::min(1.0, static_cast<double>(done) / static_cast<double>(total_)));
    err_ << fmt::format("\r\033[K[{}{}] {}/{} models  {:.0f}/s  ETA {}:{:02}", std::string(filled, '#'),
                        std::string(kWidth - filled, '.'), done, total_, rate, static_cast<long>(eta) / 60,
                        static_cast<long>(eta) % 60)
         << std::flush;
    shown_ = true;
  }

 private:
  std::ostream& err_;
  bool enabled_;
  bool shown_ = false;
  std::int64_t total_ = 0;
  std::chrono::steady_clock::time_point started_;
};

std::string action_line(const populate::TypeOutcome& t, bool dry_run) {
  using populate::Action;
  switch (t.action) {
    case Action::kCreated: return dry_run ? "would be created" : "created";
    case Action::kSkipped:
      return t.reason == "already exists" ? "already exists, skipping" : fmt::format("{}, skipping", t.reason);
    case Action::kReplaced: return dry_run ? "exists, would be replaced (--overwrite)" : "replaced (--overwrite)";
    case Action::kFailed: return fmt::format("failed ({})", t.reason);
  }
  return "";
}

// The seed's per-model block, plus the lines it could not print.
void print_model(std::ostream& out, const populate::ModelOutcome& m, bool dry_run) {
  out << fmt::format("\nProcessing: {} (base_model: {})\n", m.name, m.base_model);
  if (!m.active) out << "  - note: the model is inactive; populated because --only-model names it\n";
  if (m.base_model == "unknown") out << fmt::format("  - unknown base model: {}\n", m.reason);
  if (m.variant) out << fmt::format("  - variant: {}\n", *m.variant);
  // An explicit base_model is what the old script read too; anything else was inferred.
  if (m.base_model != "unknown" && m.source != "explicit") {
    std::string_view detail = m.detail;
    if (detail.ends_with(": ")) detail.remove_suffix(2);  // a verdict from keys carries no extra reason
    out << fmt::format("  - base model from {} ({} confidence): {}\n", m.source, m.confidence, detail);
  }
  if (!m.conflict.empty()) out << fmt::format("  - conflict: {}\n", m.conflict);
  if (m.file_error) out << fmt::format("  - file error: {}\n", *m.file_error);
  if (!m.note.empty()) out << fmt::format("  - note: {}\n", m.note);
  for (const auto& t : m.types) out << fmt::format("  - {}: {}\n", t.type, action_line(t, dry_run));
}

class CliObserver : public populate::Observer {
 public:
  CliObserver(GlobalOptions& opts, JsonStream* json, ProgressBar& bar) : opts_(opts), json_(json), bar_(bar) {}

  void on_start(std::int64_t found) override {
    if (json_) {
      json_->open_array("models");
    } else if (found > 0) {
      *opts_.out << fmt::format("Found {} active models\n", found);
    }
    bar_.start(found);
  }

  void on_batch(const std::vector<populate::ModelOutcome>& batch, std::int64_t done, std::int64_t) override {
    bar_.clear();
    for (const auto& m : batch) {
      if (json_)
        json_->element(m);
      else
        print_model(*opts_.out, m, dry_run);
    }
    opts_.out->flush();
    bar_.draw(done);
  }

  bool dry_run = false;

 private:
  GlobalOptions& opts_;
  JsonStream* json_;
  ProgressBar& bar_;
};

void print_summary(std::ostream& out, const populate::PopulationReport& r) {
  out << '\n' << kRule << '\n';
  out << (r.dry_run ? "Population dry run complete (nothing was written)!\n" : "Population complete!\n");
  out << fmt::format("  Created: {} configurations\n", r.created);
  out << fmt::format("  Skipped: {} (already exist or no presets)\n", r.skipped);
  if (r.replaced) out << fmt::format("  Replaced: {} configurations (--overwrite)\n", r.replaced);
  if (r.failed)
    out << fmt::format("  Failed: {} configurations of {} models (unknown base model; see the models above)\n", r.failed,
                       r.unknown_models);
  if (r.conflicting_models) out << fmt::format("  Conflicting sources: {} models\n", r.conflicting_models);
  if (r.file_errors) out << fmt::format("  Unreadable model files: {}\n", r.file_errors);
  // Only worth a line when something other than the explicit field (all the old script read) decided.
  const auto explicit_models = r.by_source.count("explicit") ? r.by_source.at("explicit") : 0;
  if (!r.by_source.empty() && explicit_models != r.models_processed) {
    std::string sources;
    for (const char* s : {"explicit", "metadata", "file", "name", "none"})
      if (auto it = r.by_source.find(s); it != r.by_source.end())
        sources += fmt::format("{}{} {}", sources.empty() ? "" : ", ", s, it->second);
    out << fmt::format("  Base model decided by: {}\n", sources);
  }
  if (r.interrupted)
    out << fmt::format("  Interrupted: stopped after model \"{}\" ({} of {} models); run the same command again to "
                       "continue.\n",
                       r.last_model_id.value_or(""), r.models_processed, r.models_found);
  out << kRule << '\n';
}

// The most models per transaction on MongoDB: a batch is one transaction, and
// the server aborts a transaction that lives longer than
// transactionLifetimeLimitSeconds (60 s by default). 5000 models take a few
// seconds on a healthy deployment; a batch ten or twenty times larger can
// reach the limit on a busy one and then fails as a whole, at every re-run.
constexpr std::size_t kMongoMaxBatch = 5000;

void check_batch_size_for(const GlobalOptions& opts, std::size_t batch) {
  const std::string_view uri = opts.db_uri;
  if (!(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) || batch <= kMongoMaxBatch) return;
  throw invalid(fmt::format("--batch-size {} is too large for MongoDB: each batch is one transaction, and the server "
                            "aborts a transaction after transactionLifetimeLimitSeconds (60 s by default); use "
                            "--batch-size {} or less.",
                            batch, kMongoMaxBatch),
                {{"--batch-size", fmt::format("received {}; allowed on MongoDB: 1 to {} models per transaction", batch,
                                              kMongoMaxBatch)}});
}

void run_populate(GlobalOptions& opts, const PopulateArgs& args) {
  check_batch_size_for(opts, args.batch);
  std::ostream& out = *opts.out;
  const bool human = !opts.json;
  SigintScope sigint;
  populate::PopulateOptions options;
  options.types = split_types(args.types);
  options.dry_run = args.dry_run;
  if (!args.only_model.empty()) options.only_model = args.only_model;
  options.overwrite = args.overwrite;
  options.batch_size = args.batch;
  options.cancel = &g_interrupted;
  RegistryFieldMap fields = args.fields;
  fields.active_value = active_value_of(args.active_value);

  const auto bundle = load_bundle_for(opts);
  const Catalog& catalog = bundle->catalog();
  const detect::Rules& rules = bundle->rules();

  if (human) out << "Connecting to database...\n" << std::flush;
  auto store = open_store_for(opts, fields);
  if (human) out << "Connected to database successfully\n";
  if (args.dry_run) {
    if (human) out << "Checking indexes (dry run: nothing will be written)...\n";
    const auto problems = store->check_schema();
    if (!problems.empty())
      throw invalid(fmt::format("{} has no complete inferconf schema yet ({}); a dry run writes nothing, so run "
                                "`inferconf init` or populate without --dry-run first.",
                                store->describe(), problems.front()));
    if (human) out << "Indexes checked\n";
  } else {
    if (human) out << "Creating indexes...\n" << std::flush;
    store->ensure_schema();
    if (human) out << "Indexes created\n";
  }

  JsonStream json(out);
  populate::ImportReport imported;
  bool imported_any = false;
  if (!args.registry.empty()) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (args.registry != "-") {
      file.open(args.registry, std::ios::binary);
      if (!file)
        throw invalid(fmt::format("Cannot read the registry file {}: it does not exist or is not readable.",
                                  args.registry),
                      {{"--registry", fmt::format("received \"{}\"; allowed: a readable JSON Lines or JSON file",
                                                  args.registry)}});
      in = &file;
    }
    if (human)
      out << fmt::format("Importing models from {}{}...\n", args.registry, args.dry_run ? " (dry run: checking only)" : "")
          << std::flush;
    else
      json.open_array("registry_problems");
    populate::RegistryImportOptions io;
    io.fields = fields;
    io.dry_run = args.dry_run;
    io.cancel = &g_interrupted;
    imported = populate::import_registry(*store, *in, io, [&](const populate::ImportProblem& p) {
      if (human)
        out << fmt::format("  - {}: {}\n", p.location, p.message);
      else
        json.element({{"where", p.location}, {"message", p.message}});
    });
    imported_any = true;
    if (human) {
      out << fmt::format("{} {} models from {} ({} {} rejected)\n", args.dry_run ? "Checked (dry run, not imported)" : "Imported",
                         imported.imported, args.registry, imported.rejected, imported.array ? "items" : "lines");
    } else {
      json.close_array();
    }
    if (imported.interrupted) {
      if (human)
        out << fmt::format("Interrupted while importing: the registry was imported up to {} {}; run the same command "
                           "again to continue.\n",
                           imported.array ? "item" : "line", imported.last_where);
      else
        json.finish({{"registry", imported}, {"interrupted", true}});
      opts.exit_code = kExitInterrupted;
      return;
    }
  }

  if (human) out << "Fetching active models...\n" << std::flush;
  ProgressBar bar(*opts.err);
  CliObserver observer(opts, human ? nullptr : &json, bar);
  observer.dry_run = args.dry_run;
  const auto report = populate::populate(*store, catalog, rules, options, observer);
  bar.clear();

  if (human) {
    if (report.models_found == 0) {
      out << "No active models found. Please ensure models collection is populated.\n";
    } else {
      print_summary(out, report);
    }
  } else {
    json.close_array();
    nlohmann::json rest = report;
    rest["store"] = store->describe();
    if (imported_any) rest["registry"] = imported;
    json.finish(rest);
  }
  out.flush();
  if (report.interrupted)
    opts.exit_code = kExitInterrupted;
  else if (!report.ok() || imported.rejected > 0)
    opts.exit_code = kExitPartial;
}

}  // namespace

void register_populate_command(CLI::App& app, GlobalOptions& opts) {
  auto args = std::make_shared<PopulateArgs>();
  auto* cmd = app.add_subcommand(
      "populate",
      "Create the catalogue presets (quality, speed) for every active model of the registry, skipping those that "
      "exist. Idempotent and crash-safe: re-run to continue.\n"
      "Exit codes: 0 all created or skipped; 5 some models or registry lines could not be handled (the rest was "
      "processed); 130 interrupted (work so far committed); 1 store unavailable; 2 invalid usage.");
  cmd->add_option("--types", args->types, "Configuration types to create, comma-separated (default: the types the catalogue marks for population, quality and speed)");
  cmd->add_flag("--dry-run", args->dry_run, "Report what would be done; write nothing");
  cmd->add_option("--only-model", args->only_model, "Populate only the model with this id");
  cmd->add_flag("--overwrite", args->overwrite, "Replace existing configurations with the catalogue presets");
  cmd->add_option("--batch-size", args->batch, "Models per transaction (default 2000; at most 5000 on MongoDB)");
  cmd->add_option("--registry", args->registry,
                  "First import (upsert) the models of this JSON Lines / JSON array export (- for stdin); bad lines "
                  "are reported and skipped");
  cmd->add_option("--id-field", args->fields.id, "Registry field holding the model id (default id)");
  cmd->add_option("--name-field", args->fields.name, "Registry field holding the display name (default name)");
  cmd->add_option("--active-field", args->fields.active, "Registry field marking active models (default is_active)");
  cmd->add_option("--active-value", args->active_value,
                  "Value of the active field that means active, as JSON or plain text (default true)");
  cmd->add_option("--base-model-field", args->fields.base_model, "Registry field holding the base model (default base_model)");
  cmd->add_option("--metadata-field", args->fields.metadata, "Registry field holding the metadata object (default metadata)");
  cmd->add_option("--file-field", args->fields.file_path, "Registry field holding the checkpoint path (default file_path)");
  cmd->callback([&opts, args] { run_populate(opts, *args); });
}

}  // namespace inferconf::cli
