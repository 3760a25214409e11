// history, show ID@REV, diff, audit, rollback, restore, history prune: the
// change history of configurations from the command line.
#include <algorithm>
#include <charconv>
#include <iostream>
#include <memory>
#include <set>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "cli/write_context.hpp"
#include "inferconf/service.hpp"

namespace inferconf::cli {

namespace {

struct PageArgs {
  std::size_t limit = 50;
  std::string cursor;
  bool all = false;
};

void add_page_options(CLI::App& cmd, PageArgs& a) {
  cmd.add_option("--limit", a.limit, "Page size, 1 to 1000")->capture_default_str();
  cmd.add_option("--cursor", a.cursor, "Continue after the page that printed this cursor");
  cmd.add_flag("--all", a.all, "Print every page");
}

std::optional<std::int64_t> if_revision(std::int64_t value) {
  return value > 0 ? std::optional<std::int64_t>(value) : std::nullopt;
}

// One line per revision: when, what, who, why, and the parameters after it.
std::string revision_line(const Revision& r) {
  const std::string why = r.reason ? fmt::format("  \"{}\"", *r.reason) : "";
  if (r.operation == RevisionOperation::kPrune)
    return fmt::format("{}  prune     {}  {}{}", format_timestamp(r.at), r.actor,
                       r.document.model_specific_params.dump(), why);
  const auto& d = r.document;
  return fmt::format("{}  {:<8}  {}  rev {}  {}  {} {}  steps={} cfg={} {}/{}{}", format_timestamp(r.at),
                     to_string(r.operation), r.actor, r.revision, d.id, d.model_id, d.configuration_type, d.steps,
                     d.cfg_scale, d.sampler, d.scheduler, why);
}

// Prints pages of revisions (all of them with --all) as lines or one JSON document.
template <class Fetch>
void print_revision_pages(const GlobalOptions& opts, const PageArgs& a, const std::string& more_command, Fetch fetch) {
  std::optional<std::string> cursor;
  if (!a.cursor.empty()) cursor = a.cursor;
  nlohmann::json items = nlohmann::json::array();
  std::optional<std::string> next;
  do {
    const RevisionPage page = fetch(a.limit, cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
    for (const auto& r : page.items) {
      if (opts.json)
        items.push_back(r);
      else
        *opts.out << revision_line(r) << '\n';
    }
    next = page.next_cursor;
    cursor = next;
  } while (a.all && next);
  if (opts.json)
    print_json(*opts.out, {{"items", items}, {"next_cursor", next ? nlohmann::json(*next) : nlohmann::json(nullptr)}});
  else if (next)
    *opts.out << "more: " << more_command << " --cursor " << *next << '\n';
}

// "ID@REV" -> (ID, REV).
std::pair<std::string, std::int64_t> split_at_revision(const std::string& text) {
  const auto at = text.rfind('@');
  std::int64_t rev = 0;
  const char* begin = text.data() + (at == std::string::npos ? 0 : at + 1);
  const char* end = text.data() + text.size();
  const auto parsed = std::from_chars(begin, end, rev);
  if (at == std::string::npos || at == 0 || parsed.ec != std::errc() || parsed.ptr != end || rev < 1)
    throw invalid(fmt::format("\"{}\" is not ID@REVISION; write the configuration id, @ and a revision number, "
                              "e.g. 0193a1b2-…@3 (`inferconf history ID` lists them).",
                              text),
                  {{"ID@REV", fmt::format("received \"{}\"; allowed: ID@N with N >= 1", text)}});
  return {text.substr(0, at), rev};
}

Revision require_revision(Store& store, const std::string& id, std::int64_t revision) {
  auto r = store.get_revision(id, revision);
  if (!r)
    throw not_found(fmt::format("The configuration {} has no revision {} (never made, or pruned); `inferconf history "
                                "{}` lists the revisions it has.",
                                id, revision, id));
  return *r;
}

Revision newest_revision(Store& store, const std::string& id) {
  auto page = store.revisions(id, 1, std::nullopt);
  if (page.items.empty())
    throw not_found(fmt::format("No configuration has the id \"{}\" in the history; `inferconf list` and `inferconf "
                                "audit` show the ids.",
                                id));
  return page.items.front();
}

std::string cell(const nlohmann::json& flat, const std::string& key) {
  const auto it = flat.find(key);
  if (it == flat.end()) return "(absent)";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void print_side_by_side(std::ostream& out, const Revision& a, const Revision& b) {
  out << fmt::format("configuration {}\n  A: rev {} · {} by {} at {}\n  B: rev {} · {} by {} at {}\n",
                     a.configuration_id, a.revision, to_string(a.operation), a.actor, format_timestamp(a.at),
                     b.revision, to_string(b.operation), b.actor, format_timestamp(b.at));
  const nlohmann::json fa = revision_diff_content(a).flatten(), fb = revision_diff_content(b).flatten();
  std::set<std::string> keys;
  for (const auto& [k, v] : fa.items()) keys.insert(k);
  for (const auto& [k, v] : fb.items()) keys.insert(k);
  std::size_t changed = 0;
  out << fmt::format("  {:<36}{:<28}{}\n", "field", fmt::format("rev {}", a.revision), fmt::format("rev {}", b.revision));
  for (const auto& k : keys) {
    const std::string va = cell(fa, k), vb = cell(fb, k);
    if (va == vb) continue;
    ++changed;
    out << fmt::format("* {:<36}{:<28}{}\n", k.substr(1), va, vb);
  }
  if (changed == 0) out << "  (no difference)\n";
}

}  // namespace

void register_history_commands(CLI::App& app, GlobalOptions& opts) {
  {
    struct HistoryArgs {
      std::string id, model_id, type;
      PageArgs page;
    };
    auto a = std::make_shared<HistoryArgs>();
    auto* cmd = app.add_subcommand("history",
                                   "The revisions of a configuration (by ID, or --model-id and --type), newest first");
    cmd->add_option("ID", a->id, "Configuration id");
    cmd->add_option("--model-id", a->model_id, "The model whose configuration of --type to show");
    cmd->add_option("--type", a->type, "With --model-id: the configuration type (quality, speed)");
    add_page_options(*cmd, a->page);
    cmd->require_subcommand(0, 1);

    auto keep = std::make_shared<std::int64_t>(0);
    auto older = std::make_shared<std::string>();
    auto* prune = cmd->add_subcommand(
        "prune",
        "Remove old revisions: beyond the N newest of each configuration (--keep) and/or older than a duration "
        "(--older-than 30d). The current revision and the last delete of each configuration always stay; the prune "
        "itself is recorded (audit --operation prune)");
    prune->add_option("--keep", *keep, "Keep the N newest revisions of each configuration (N >= 1)");
    prune->add_option("--older-than", *older, "Remove revisions older than this: 45s, 90m, 12h, 30d, 2w");
    auto prune_who = add_write_context_options(*prune);
    prune->callback([&opts, keep, older, prune_who] {
      PruneRule rule;
      if (*keep != 0) rule.keep = *keep;
      if (!older->empty()) rule.older_than = now_utc() - parse_duration_option(*older, "--older-than");
      check_prune_rule(rule);
      auto store = open_store_for(opts);
      const auto result = store->prune_history(rule, write_context_of(*prune_who));
      if (opts.json)
        print_json(*opts.out, {{"removed", result.removed}, {"record", result.record}});
      else
        *opts.out << fmt::format("Pruned {} revision(s); recorded as {}.\n", result.removed,
                                 result.record.configuration_id);
    });

    cmd->callback([&opts, a, prune] {
      if (prune->parsed()) return;
      const bool by_id = !a->id.empty(), by_model = !a->model_id.empty() || !a->type.empty();
      if (by_id == by_model || (by_model && (a->model_id.empty() || a->type.empty())))
        throw invalid("history needs a configuration: its ID, or --model-id M --type T (not both).",
                      {{"ID", "give an ID, or --model-id and --type"}});
      auto store = open_store_for(opts);
      if (by_id) {
        print_revision_pages(opts, a->page, "inferconf history " + a->id,
                             [&](std::size_t limit, std::optional<std::string_view> cursor) {
                               return store->revisions(a->id, limit, cursor);
                             });
      } else {
        print_revision_pages(opts, a->page,
                             fmt::format("inferconf history --model-id {} --type {}", a->model_id, a->type),
                             [&](std::size_t limit, std::optional<std::string_view> cursor) {
                               return store->revisions_of_model(a->model_id, a->type, limit, cursor);
                             });
      }
    });
  }
  {
    auto which = std::make_shared<std::string>();
    auto* cmd = app.add_subcommand("show", "One revision of a configuration: show ID@REV");
    cmd->add_option("ID@REV", *which, "Configuration id, @, revision number")->required();
    cmd->callback([&opts, which] {
      const auto [id, rev] = split_at_revision(*which);
      auto store = open_store_for(opts);
      const Revision r = require_revision(*store, id, rev);
      if (opts.json) {
        print_json(*opts.out, r);
        return;
      }
      *opts.out << revision_line(r) << '\n';
      if (r.is_tombstone()) *opts.out << "deleted; the document as it was deleted:\n";
      print_configuration(*opts.out, r.document);
    });
  }
  {
    struct DiffArgs {
      std::string id;
      std::int64_t from = 0, to = 0;
    };
    auto a = std::make_shared<DiffArgs>();
    auto* cmd = app.add_subcommand(
        "diff",
        "What changed between two revisions of a configuration (REV_B defaults to the newest): side by side, or "
        "with --json an RFC 6902 JSON Patch from A to B (revision and updated_at left out)");
    cmd->add_option("ID", a->id, "Configuration id")->required();
    cmd->add_option("REV_A", a->from, "The earlier revision")->required();
    cmd->add_option("REV_B", a->to, "The later revision (default: the newest)");
    cmd->callback([&opts, a] {
      auto store = open_store_for(opts);
      const Revision from = require_revision(*store, a->id, a->from);
      const Revision to = a->to > 0 ? require_revision(*store, a->id, a->to) : newest_revision(*store, a->id);
      if (opts.json) {
        print_json(*opts.out, {{"configuration_id", a->id},
                               {"from", from.revision},
                               {"to", to.revision},
                               {"patch", revision_patch(from, to)}});
      } else {
        print_side_by_side(*opts.out, from, to);
      }
    });
  }
  {
    struct AuditArgs {
      std::string actor, since, until, model_id, base_model, operation;
      PageArgs page;
    };
    auto a = std::make_shared<AuditArgs>();
    auto* cmd = app.add_subcommand("audit", "Every recorded change across configurations, newest first, filtered");
    cmd->add_option("--actor", a->actor, "Only changes made by this actor");
    cmd->add_option("--since", a->since, "Only changes at or after this moment (2026-12-01 or an RFC 3339 time)");
    cmd->add_option("--until", a->until, "Only changes at or before this moment");
    cmd->add_option("--model-id", a->model_id, "Only changes of this model's configurations");
    cmd->add_option("--base-model", a->base_model, "Only changes of configurations of this base model");
    cmd->add_option("--operation", a->operation, "Only this operation: " + revision_operation_names());
    add_page_options(*cmd, a->page);
    cmd->callback([&opts, a] {
      AuditQuery q;
      if (!a->actor.empty()) q.actor = a->actor;
      if (!a->since.empty()) q.since = parse_time_option(a->since, "--since");
      if (!a->until.empty()) q.until = parse_time_option(a->until, "--until");
      if (!a->model_id.empty()) q.model_id = a->model_id;
      if (!a->base_model.empty()) q.base_model = a->base_model;
      if (!a->operation.empty()) {
        q.operation = parse_revision_operation(a->operation);
        if (!q.operation)
          throw invalid(fmt::format("--operation \"{}\" is not an operation; allowed: {}.", a->operation,
                                    revision_operation_names()),
                        {{"--operation", fmt::format("received \"{}\"; allowed: {}", a->operation,
                                                     revision_operation_names())}});
      }
      auto store = open_store_for(opts);
      print_revision_pages(opts, a->page, "inferconf audit (same filters)",
                           [&](std::size_t limit, std::optional<std::string_view> cursor) {
                             return store->audit(q, limit, cursor);
                           });
    });
  }
  {
    struct RollbackArgs {
      std::string id;
      std::int64_t to = 0, if_revision = 0;
    };
    auto a = std::make_shared<RollbackArgs>();
    auto* cmd = app.add_subcommand(
        "rollback",
        "Make an old revision's document current again, as a new revision, after checking it against today's "
        "catalogue (nothing is written when the catalogue rejects it)");
    cmd->add_option("ID", a->id, "Configuration id")->required();
    cmd->add_option("--to", a->to, "The revision to go back to")->required();
    cmd->add_option("--if-revision", a->if_revision, "Fail with exit 4 unless the current revision is this one");
    auto who = add_write_context_options(*cmd);
    cmd->callback([&opts, a, who] {
      auto store = open_store_for(opts);
      const auto bundle = load_bundle_for(opts);
      const Catalog& catalog = bundle->catalog();
      ConfigurationService service(*store, catalog);
      const auto result = service.rollback(a->id, a->to, if_revision(a->if_revision), write_context_of(*who));
      if (opts.json)
        print_json(*opts.out, result.configuration);
      else
        *opts.out << "Rolled back to revision " << a->to << ": " << summary(result.configuration) << '\n';
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto expected = std::make_shared<std::int64_t>(0);
    auto* cmd = app.add_subcommand("restore", "Bring back a deleted configuration under its id, as it was deleted");
    cmd->add_option("ID", *id, "Configuration id")->required();
    cmd->add_option("--if-revision", *expected, "Fail with exit 4 unless its delete is this revision");
    auto who = add_write_context_options(*cmd);
    cmd->callback([&opts, id, expected, who] {
      auto store = open_store_for(opts);
      const auto bundle = load_bundle_for(opts);
      const Catalog& catalog = bundle->catalog();
      ConfigurationService service(*store, catalog);
      const auto result = service.restore(*id, if_revision(*expected), write_context_of(*who));
      if (opts.json)
        print_json(*opts.out, result.configuration);
      else
        *opts.out << "Restored " << summary(result.configuration) << '\n';
    });
  }
}

}  // namespace inferconf::cli
