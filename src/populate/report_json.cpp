// Wire format of the population, import and scan reports (`--json`).
#include "inferconf/populate.hpp"

namespace inferconf::populate {
namespace {

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

std::string_view to_string(Action a) noexcept {
  switch (a) {
    case Action::kCreated: return "created";
    case Action::kSkipped: return "skipped";
    case Action::kReplaced: return "replaced";
    case Action::kFailed: return "failed";
  }
  return "failed";
}

bool ModelOutcome::failed() const {
  for (const auto& t : types)
    if (t.action == Action::kFailed) return true;
  return false;
}

void to_json(nlohmann::json& j, const ModelOutcome& m) {
  j = nlohmann::json{{"model_id", m.model_id},
                     {"name", m.name},
                     {"base_model", m.base_model},
                     {"variant", m.variant ? nlohmann::json(*m.variant) : nlohmann::json(nullptr)},
                     {"source", m.source},
                     {"confidence", m.confidence},
                     {"detail", or_null(m.detail)},
                     {"conflict", or_null(m.conflict)},
                     {"reason", or_null(m.reason)}};
  if (!m.active) j["active"] = false;
  if (!m.note.empty()) j["note"] = m.note;
  if (m.file_error) j["file_error"] = *m.file_error;
  auto& types = j["configurations"] = nlohmann::json::object();
  for (const auto& t : m.types) {
    nlohmann::json entry{{"action", std::string(to_string(t.action))}};
    if (!t.reason.empty()) entry["reason"] = t.reason;
    types[t.type] = std::move(entry);
  }
}

void to_json(nlohmann::json& j, const PopulationReport& r) {
  j = nlohmann::json{{"dry_run", r.dry_run},
                     {"types", r.types},
                     {"models_found", r.models_found},
                     {"models_processed", r.models_processed},
                     {"created", r.created},
                     {"skipped", r.skipped},
                     {"replaced", r.replaced},
                     {"failed", r.failed},
                     {"unknown_models", r.unknown_models},
                     {"conflicting_models", r.conflicting_models},
                     {"file_errors", r.file_errors},
                     {"by_source", r.by_source},
                     {"by_base_model", r.by_base_model},
                     {"interrupted", r.interrupted},
                     {"last_model_id", r.last_model_id ? nlohmann::json(*r.last_model_id) : nlohmann::json(nullptr)},
                     {"seconds", r.seconds}};
  if (!r.models.empty()) j["models"] = r.models;
}

void to_json(nlohmann::json& j, const ImportReport& r) {
  j = nlohmann::json{{"imported", r.imported},
                     {"rejected", r.rejected},
                     {"format", r.array ? "json_array" : "json_lines"},
                     {"interrupted", r.interrupted}};
  if (r.interrupted) j[r.array ? "last_index" : "last_line"] = r.last_where;
}

void to_json(nlohmann::json& j, const ScanEntry& e) {
  j = nlohmann::json{{"file", e.file}, {"registered", e.registered}};
  if (e.registered) {
    j["updated"] = e.updated;
    j["model"] = e.record;
    j["kind"] = e.kind;
    j["size"] = e.size;
  }
  if (!e.error.empty()) j["error"] = e.error;
}

void to_json(nlohmann::json& j, const ScanReport& r) {
  j = nlohmann::json{{"files", r.files}, {"registered", r.registered}, {"updated", r.updated}, {"errors", r.errors}};
}

}  // namespace inferconf::populate
