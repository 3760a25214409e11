#include "store/sqlite/revisions.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "inferconf/error.hpp"
#include "store/sqlite/rows.hpp"

namespace inferconf::sqlite {
namespace {

constexpr std::int64_t kNoBound = std::numeric_limits<std::int64_t>::max();

void bind_who(SQLite::Statement& s, int first, RevisionOperation op, const WriteContext& context,
              std::int64_t changed_at_ms) {
  s.bind(first, std::string(to_string(op)));
  s.bind(first + 1, actor_of(context));
  if (context.reason) {
    s.bind(first + 2, *context.reason);
  } else {
    s.bind(first + 2);  // NULL
  }
  s.bind(first + 3, changed_at_ms);
}

std::int64_t cursor_value(std::optional<std::string_view> cursor) {
  return cursor ? decode_revision_cursor(*cursor) : kNoBound;
}

// Reads up to limit + 1 rows: the extra one says that another page follows,
// whose cursor is key(last item of this page).
template <class Key>
RevisionPage read_page(SQLite::Statement& s, std::size_t limit, Key key) {
  RevisionPage page;
  while (s.executeStep()) page.items.push_back(read_revision(s));
  if (page.items.size() > limit) {
    page.items.pop_back();
    page.next_cursor = encode_revision_cursor(key(page.items.back()));
  }
  return page;
}

std::optional<Revision> select_one_revision(SQLite::Statement& s) {
  if (!s.executeStep()) return std::nullopt;
  return read_revision(s);
}

}  // namespace

void record_revision(Connection& c, const std::string& id, int offset, RevisionOperation op,
                     const WriteContext& context, std::int64_t changed_at_ms) {
  StatementScope s(c.statement(Sql::kRecordRevision));
  s->bindNoCopy(1, id);
  s->bind(2, offset);
  bind_who(*s, 3, op, context, changed_at_ms);
  if (s->exec() != 1)
    throw Error(ErrorCode::kInternal, fmt::format("The revision of configuration {} could not be recorded: its row is missing; the "
                               "change was not made.",
                               id));
}

void record_inserts_after(Connection& c, std::int64_t rowid, const WriteContext& context,
                          std::int64_t changed_at_ms) {
  StatementScope s(c.statement(Sql::kRecordInsertsAfterRowid));
  s->bind(1, rowid);
  bind_who(*s, 2, RevisionOperation::kCreate, context, changed_at_ms);
  s->exec();
}

Revision read_revision(const SQLite::Statement& s) {
  Revision r;
  r.sequence = s.getColumn(0).getInt64();
  r.configuration_id = column_text(s, 1);
  r.revision = s.getColumn(2).getInt64();
  const std::string op = column_text(s, 3);
  const auto parsed = parse_revision_operation(op);
  if (!parsed)
    throw unavailable(fmt::format("Revision {} of \"{}\" has the operation \"{}\", which inferconf does not know "
                                  "(allowed: {}); fix or delete that row of inference_configuration_revisions.",
                                  r.revision, r.configuration_id, op, revision_operation_names()));
  r.operation = *parsed;
  r.actor = column_text(s, 4);
  if (!s.isColumnNull(5)) r.reason = column_text(s, 5);
  r.at = from_millis(s.getColumn(6).getInt64());
  InferenceConfiguration& d = r.document;
  d.id = r.configuration_id;
  read_document_columns(s, 7, "model_specific_params of a revision", d);
  d.revision = r.revision;
  return r;
}

RevisionPage select_revisions_of(Connection& c, std::string_view id, std::size_t limit,
                                 std::optional<std::string_view> cursor) {
  check_revision_page_limit(limit);
  const std::int64_t before = cursor_value(cursor);
  StatementScope s(c.statement(Sql::kSelectRevisionsOf));
  s->bind(1, std::string(id));
  s->bind(2, before);
  s->bind(3, static_cast<std::int64_t>(limit + 1));
  return read_page(*s, limit, [](const Revision& r) { return r.revision; });
}

RevisionPage select_revisions_of_model(Connection& c, std::string_view model_id, std::string_view type,
                                       std::size_t limit, std::optional<std::string_view> cursor) {
  check_revision_page_limit(limit);
  const std::int64_t before = cursor_value(cursor);
  StatementScope s(c.statement(Sql::kSelectRevisionsOfModel));
  s->bind(1, std::string(model_id));
  s->bind(2, std::string(type));
  s->bind(3, before);
  s->bind(4, static_cast<std::int64_t>(limit + 1));
  return read_page(*s, limit, [](const Revision& r) { return r.sequence; });
}

std::optional<Revision> select_revision(Connection& c, std::string_view id, std::int64_t revision) {
  StatementScope s(c.statement(Sql::kSelectRevision));
  s->bind(1, std::string(id));
  s->bind(2, revision);
  return select_one_revision(*s);
}

std::optional<Revision> select_latest_revision(Connection& c, std::string_view id) {
  StatementScope s(c.statement(Sql::kSelectLatestRevision));
  s->bind(1, std::string(id));
  return select_one_revision(*s);
}

std::optional<Revision> select_revision_as_of(Connection& c, std::string_view model_id, std::string_view type,
                                              Timestamp at) {
  StatementScope s(c.statement(Sql::kSelectRevisionAsOf));
  s->bind(1, std::string(model_id));
  s->bind(2, std::string(type));
  s->bind(3, to_millis(at));
  return select_one_revision(*s);
}

namespace {

// The first seq whose revision was made at or after `at_ms` (one past the
// last seq when none was). Revision times never go back in seq order
// (REV_TIME), so a bisection over seq finds it with a few dozen look-ups of
// the rowid b-tree, where an index on changed_at would cost every write.
std::int64_t first_seq_at_or_after(Connection& c, std::int64_t at_ms) {
  StatementScope bounds(c.statement("SELECT coalesce(min(seq), 1), coalesce(max(seq), 0) FROM inference_configuration_revisions"));
  bounds->executeStep();
  std::int64_t low = bounds->getColumn(0).getInt64();
  std::int64_t high = bounds->getColumn(1).getInt64() + 1;  // the answer when no revision is that recent
  std::int64_t found = high;
  StatementScope probe(c.statement(
      "SELECT seq, changed_at FROM inference_configuration_revisions WHERE seq >= ?1 ORDER BY seq LIMIT 1"));
  while (low < high) {
    const std::int64_t middle = low + (high - low) / 2;
    probe->bind(1, middle);
    if (!probe->executeStep()) {
      high = middle;
    } else if (const std::int64_t seq = probe->getColumn(0).getInt64(); probe->getColumn(1).getInt64() >= at_ms) {
      found = std::min(found, seq);
      high = middle;
    } else {
      low = seq + 1;
    }
    probe->reset();
  }
  return found;
}

}  // namespace

RevisionPage select_audit(Connection& c, const AuditQuery& query, std::size_t limit,
                          std::optional<std::string_view> cursor) {
  check_revision_page_limit(limit);
  // The time range as a range of seq: the scan below then reads only it.
  std::int64_t before = cursor_value(cursor);
  if (query.until) before = std::min(before, first_seq_at_or_after(c, to_millis(*query.until) + 1));
  const std::int64_t from = query.since ? first_seq_at_or_after(c, to_millis(*query.since)) : 0;
  std::string where = "seq < ?1 AND seq >= ?2";
  std::vector<std::string> texts;  // bound from ?2 on, in order
  const auto add_text = [&](const char* column, const std::optional<std::string>& value) {
    if (!value) return;
    texts.push_back(*value);
    where += fmt::format(" AND {} = ?{}", column, texts.size() + 2);
  };
  add_text("actor", query.actor);
  add_text("model_id", query.model_id);
  add_text("base_model", query.base_model);
  if (query.operation) add_text("operation", std::string(to_string(*query.operation)));
  const int limit_param = static_cast<int>(texts.size()) + 3;
  StatementScope s(c.statement(fmt::format("SELECT {} FROM inference_configuration_revisions WHERE {} ORDER BY seq "
                                           "DESC LIMIT ?{}",
                                           kRevisionColumns, where, limit_param)));
  s->bind(1, before);
  s->bind(2, from);
  for (std::size_t i = 0; i < texts.size(); ++i) s->bind(static_cast<int>(i + 3), texts[i]);
  s->bind(limit_param, static_cast<std::int64_t>(limit + 1));
  return read_page(*s, limit, [](const Revision& r) { return r.sequence; });
}

std::int64_t delete_pruned(Connection& c, const PruneRule& rule) {
  check_prune_rule(rule);
  // Per configuration: rank 1 is the newest revision (the current one, or the
  // tombstone); last_delete the newest tombstone. Neither is ever removed.
  StatementScope s(c.statement(
      "DELETE FROM inference_configuration_revisions WHERE seq IN (SELECT seq FROM ("
      " SELECT seq, revision, changed_at,"
      "  row_number() OVER (PARTITION BY configuration_id ORDER BY revision DESC) AS newest_rank,"
      "  max(CASE WHEN operation = 'delete' THEN revision END) OVER (PARTITION BY configuration_id) AS last_delete"
      " FROM inference_configuration_revisions WHERE operation <> 'prune')"
      " WHERE newest_rank > ?1 AND changed_at < ?2 AND revision IS NOT last_delete)"));
  s->bind(1, rule.keep.value_or(1));
  s->bind(2, rule.older_than ? to_millis(*rule.older_than) : kNoBound);
  return s->exec();
}

Revision record_prune(Connection& c, const PruneRule& rule, std::int64_t removed, const WriteContext& context,
                      Timestamp now) {
  nlohmann::json details{{"removed", removed}};
  if (rule.keep) details["keep"] = *rule.keep;
  if (rule.older_than) details["older_than"] = format_timestamp(*rule.older_than);
  const std::string id = "prune:" + new_uuid_v7();
  const std::string details_text = details.dump();
  {
    StatementScope s(c.statement(
        "INSERT INTO inference_configuration_revisions (configuration_id, revision, operation, actor, reason, "
        "changed_at, model_id, base_model, configuration_type, steps, cfg_scale, sampler, scheduler, "
        "model_specific_params, created_at, updated_at) VALUES (?1, 1, ?2, ?3, ?4, max(?5, coalesce((SELECT changed_at "
        "FROM inference_configuration_revisions ORDER BY seq DESC LIMIT 1), 0)), '', '', '', 0, 0, '', '', ?6, ?5, ?5)"));
    s->bindNoCopy(1, id);
    bind_who(*s, 2, RevisionOperation::kPrune, context, to_millis(now));
    s->bindNoCopy(6, details_text);
    s->exec();
  }
  auto record = select_revision(c, id, 1);
  if (!record) throw Error(ErrorCode::kInternal, "The audit record of the prune was not found right after it was written.");
  return *record;
}

}  // namespace inferconf::sqlite
