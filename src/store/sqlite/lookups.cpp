#include "store/sqlite/lookups.hpp"

#include <fmt/format.h>

#include "store/sqlite/rows.hpp"
#include "store/sqlite/schema.hpp"

namespace inferconf::sqlite {

std::optional<InferenceConfiguration> select_one(Connection& c, Sql which, std::string_view a,
                                                 std::optional<std::string_view> b) {
  StatementScope s(c.statement(which));
  s->bind(1, std::string(a));
  if (b) s->bind(2, std::string(*b));
  if (!s->executeStep()) return std::nullopt;
  return read_configuration(*s);
}

std::vector<InferenceConfiguration> select_all(Connection& c, Sql which, std::string_view a,
                                               std::optional<std::string_view> b) {
  StatementScope s(c.statement(which));
  s->bind(1, std::string(a));
  if (b) s->bind(2, std::string(*b));
  std::vector<InferenceConfiguration> out;
  while (s->executeStep()) out.push_back(read_configuration(*s));
  return out;
}

std::optional<std::string> id_by_model_and_type(Connection& c, std::string_view model_id, std::string_view type) {
  StatementScope s(c.statement(Sql::kIdByModelAndType));
  s->bind(1, std::string(model_id));
  s->bind(2, std::string(type));
  if (!s->executeStep()) return std::nullopt;
  return column_text(*s, 0);
}

std::int64_t change_top(Connection& c) {
  StatementScope s(c.statement(Sql::kChangeTop));
  s->executeStep();
  return s->getColumn(0).getInt64();
}

std::string meta_value(Connection& c, const char* key) {
  StatementScope s(c.statement(Sql::kMetaGet));
  s->bind(1, key);
  return s->executeStep() ? column_text(*s, 0) : std::string();
}

// The highest change-log sequence number already pruned (0 when none).
std::int64_t pruned_through(Connection& c) {
  StatementScope s(c.statement(Sql::kMetaGet));
  s->bind(1, kMetaPrunedThrough);
  return s->executeStep() ? s->getColumn(0).getInt64() : 0;
}

std::int64_t max_configuration_rowid(Connection& c) {
  StatementScope s(c.statement(Sql::kMaxConfigurationRowid));
  s->executeStep();
  return s->getColumn(0).getInt64();
}

// Appends to the change log, inside the caller's write transaction.
void log_change(Connection& c, const std::string& id, const char* op) {
  StatementScope s(c.statement(Sql::kLogChange));
  s->bindNoCopy(1, id);
  s->bind(2, op);
  s->exec();
}

const std::string& store_epoch(Connection& c) {
  if (!c.epoch) c.epoch = meta_value(c, kMetaEpoch);
  return *c.epoch;
}

Error duplicate(std::string_view model_id, std::string_view type, const std::optional<std::string>& existing) {
  Error e = conflict(fmt::format(
      "The model \"{}\" already has a \"{}\" configuration (id {}); update that one, or delete it first.", model_id,
      type, existing.value_or("unknown")));
  if (existing) e.with_existing_id(*existing);
  return e;
}

Error unknown_id(std::string_view id) {
  return not_found(
      fmt::format("No configuration has the id \"{}\"; list the configurations to find the right id.", id));
}

void check_revision(const InferenceConfiguration& current, std::optional<std::int64_t> expected) {
  if (expected && *expected != current.revision) {
    throw conflict(fmt::format(
                       "The configuration {} is at revision {}, not {} as expected: it changed since it was read; "
                       "read it again and retry.",
                       current.id, current.revision, *expected))
        .as_revision_mismatch();
  }
}

}  // namespace inferconf::sqlite
