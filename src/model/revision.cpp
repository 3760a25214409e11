// The records of change history (include/inferconf/history.hpp) and their wire format.
#include <array>
#include <utility>

#include <fmt/format.h>

#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"
#include "inferconf/history.hpp"

namespace inferconf {
namespace {

constexpr std::array<std::pair<RevisionOperation, std::string_view>, 7> kOperationNames{{
    {RevisionOperation::kCreate, "create"},
    {RevisionOperation::kUpdate, "update"},
    {RevisionOperation::kDelete, "delete"},
    {RevisionOperation::kRestore, "restore"},
    {RevisionOperation::kRollback, "rollback"},
    {RevisionOperation::kBaseline, "baseline"},
    {RevisionOperation::kPrune, "prune"},
}};

constexpr std::string_view kCursorPrefix = "rev:";

}  // namespace

std::string_view to_string(RevisionOperation op) {
  for (const auto& [value, name] : kOperationNames)
    if (value == op) return name;
  return "unknown";
}

std::optional<RevisionOperation> parse_revision_operation(std::string_view name) {
  for (const auto& [value, text] : kOperationNames)
    if (text == name) return value;
  return std::nullopt;
}

std::string revision_operation_names() {
  std::string out;
  for (const auto& entry : kOperationNames) {
    if (!out.empty()) out += ", ";
    out += entry.second;
  }
  return out;
}

void to_json(nlohmann::json& j, const Revision& r) {
  j = nlohmann::json{{"configuration_id", r.configuration_id},
                     {"revision", r.revision},
                     {"sequence", r.sequence},
                     {"operation", std::string(to_string(r.operation))},
                     {"actor", r.actor},
                     {"reason", r.reason ? nlohmann::json(*r.reason) : nlohmann::json(nullptr)},
                     {"at", format_timestamp(r.at)}};
  if (r.operation == RevisionOperation::kPrune) {
    j["details"] = r.document.model_specific_params;
    return;
  }
  j["model_id"] = r.document.model_id;
  j["configuration_type"] = r.document.configuration_type;
  j["deleted"] = r.is_tombstone();
  j["document"] = r.document;
}

void check_revision_page_limit(std::size_t limit) {
  if (limit < 1 || limit > kMaxRevisionPage)
    throw invalid(fmt::format("limit must be between 1 and {}; got {}.", kMaxRevisionPage, limit),
                  {{"limit", fmt::format("received {}; allowed: 1 to {}", limit, kMaxRevisionPage)}});
}

void check_prune_rule(const PruneRule& rule) {
  if (rule.keep && *rule.keep < 1)
    throw invalid(fmt::format("keep is {}; prune keeps at least the newest revision of each configuration, so give "
                              "1 or more.",
                              *rule.keep),
                  {{"keep", fmt::format("received {}; allowed: 1 or more", *rule.keep)}});
  if (!rule.keep && !rule.older_than)
    throw invalid("Prune needs a rule: keep the N newest revisions of each configuration (--keep N), remove those "
                  "older than a duration (--older-than 30d), or both.",
                  {{"rule", "received none; allowed: keep, older_than or both"}});
}

nlohmann::json revision_diff_content(const Revision& r) {
  nlohmann::json j = r.document;
  j.erase("revision");
  j.erase("updated_at");
  if (r.is_tombstone()) j["deleted"] = true;
  return j;
}

nlohmann::json revision_patch(const Revision& from, const Revision& to) {
  return nlohmann::json::diff(revision_diff_content(from), revision_diff_content(to));
}

std::optional<Timestamp> parse_moment(std::string_view text) {
  if (auto t = parse_timestamp(text)) return t;
  if (text.size() == 10) return parse_timestamp(std::string(text) + "T00:00:00Z");
  return std::nullopt;
}

std::string encode_revision_cursor(std::int64_t sequence) { return fmt::format("{}{}", kCursorPrefix, sequence); }

std::int64_t decode_revision_cursor(std::string_view cursor) {
  const auto refuse = [&] {
    return invalid(fmt::format("The cursor \"{}\" is not one of a revision page; pass the next_cursor of the "
                               "previous page as it was given.",
                               cursor),
                   {{"cursor", fmt::format("received \"{}\"; allowed: the next_cursor of a revision page", cursor)}});
  };
  if (cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix) throw refuse();
  const std::string_view digits = cursor.substr(kCursorPrefix.size());
  if (digits.empty() || digits.size() > 18) throw refuse();
  std::int64_t value = 0;
  for (const char ch : digits) {
    if (ch < '0' || ch > '9') throw refuse();
    value = value * 10 + (ch - '0');
  }
  return value;
}

}  // namespace inferconf
