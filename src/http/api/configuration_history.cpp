// A configuration's change history: GET /v1/configurations/{id}/revisions,
// GET /v1/configurations/{id}/revisions/{rev}, GET
// /v1/configurations/{id}/diff, and the writes that go back, POST
// /v1/configurations/{id}/rollback and POST /v1/configurations/{id}/restore.
// History lives in the store only (the index holds current documents), so
// every answer here is a job on the blocking pools.
#include <charconv>

#include <fmt/format.h>

#include "http/api/api.hpp"
#include "http/api/change_context.hpp"
#include "http/api/handler_support.hpp"
#include "http/api/history_support.hpp"
#include "http/api/problem.hpp"
#include "http/api/request_parts.hpp"

namespace inferconf::http {

namespace {

// A revision number from the path or the query: a whole number from 1.
std::int64_t parse_revision_number(const std::string& text, std::string_view field) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1)
    throw invalid(fmt::format("{} \"{}\" is not a revision number; revisions are whole numbers from 1 (GET "
                              "/v1/configurations/ID/revisions lists them).",
                              field, text.substr(0, 40)),
                  {{std::string(field), fmt::format("is \"{}\"; allowed: an integer from 1.", text.substr(0, 40))}});
  return value;
}

Error no_such_revision(const std::string& id, std::int64_t revision) {
  return not_found(fmt::format("The configuration {} has no revision {} (never made, or pruned); GET "
                               "/v1/configurations/{}/revisions lists the revisions it has.",
                               id, revision, id));
}

Error no_history_of(const std::string& id) {
  return not_found(fmt::format("No configuration with the id \"{}\" has any recorded revision; GET /v1/audit lists "
                               "the changes of every configuration.",
                               id));
}

Revision require_revision(Store& store, const std::string& id, std::int64_t revision) {
  auto r = store.get_revision(id, revision);
  if (!r) throw no_such_revision(id, revision);
  return std::move(*r);
}

// The members of a rollback or restore body, the reason already taken out:
// each one not in `allowed` is a problem.
void check_members(const nlohmann::json& body, std::initializer_list<std::string_view> allowed,
                   std::string_view allowed_text, std::vector<FieldError>& errors) {
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (auto a : allowed) known = known || key == a;
    if (!known) errors.push_back({key, fmt::format("is not a member of this request; allowed: {}.", allowed_text)});
  }
}

}  // namespace

Outcome Api::configuration_revisions(Call& c) {
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  RevisionPageQuery page;
  try {
    page = read_revision_page_query(c.query_params());
  } catch (const Error& e) {
    return answer_now(problem_for(e, true));
  }
  Outcome out;
  out.later = [this, id, page] {
    return history_guarded([&] {
      RevisionPage result = sync_.store().revisions(id, page.limit, page.cursor_view());
      if (result.items.empty() && !page.cursor) return problem_for(no_history_of(id));
      return revision_page_answer(result, "/v1/configurations/" + percent_encode(id) + "/revisions", page);
    });
  };
  return out;
}

Outcome Api::configuration_revision(Call& c) {
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  std::int64_t revision = 0;
  try {
    revision = parse_revision_number(c.params[1], "rev");
  } catch (const Error& e) {
    return answer_now(problem_for(e, true));
  }
  Outcome out;
  out.later = [this, id, revision] {
    return history_guarded([&] {
      const Revision r = require_revision(sync_.store(), id, revision);
      Response resp;
      resp.body = dump_text(nlohmann::json(r));
      // The ETag of the configuration at that revision: a tombstone's is the
      // If-Match of a restore.
      resp.header("ETag", fmt::format("\"{}.{}\"", id, revision));
      return resp;
    });
  };
  return out;
}

Outcome Api::configuration_diff(Call& c) {
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  std::optional<std::int64_t> from, to;
  try {
    for (auto& [name, value] : c.query_params()) {
      if (name == "from") from = parse_revision_number(value, "from");
      if (name == "to") to = parse_revision_number(value, "to");
    }
    if (!from)
      throw invalid("GET /v1/configurations/{id}/diff needs from: the earlier revision (to defaults to the newest).",
                    {{"from", "is missing; allowed: an integer from 1."}});
  } catch (const Error& e) {
    return answer_now(problem_for(e, true));
  }
  Outcome out;
  out.later = [this, id, from = *from, to] {
    return history_guarded([&] {
      Store& store = sync_.store();
      const Revision a = require_revision(store, id, from);
      Revision b;
      if (to) {
        b = require_revision(store, id, *to);
      } else {
        RevisionPage newest = store.revisions(id, 1, std::nullopt);
        if (newest.items.empty()) throw no_history_of(id);
        b = std::move(newest.items.front());
      }
      Response resp;
      resp.body = dump_text({{"configuration_id", id},
                             {"from", a.revision},
                             {"to", b.revision},
                             {"patch", revision_patch(a, b)}});
      return resp;
    });
  };
  return out;
}

std::variant<Api::HistoryWrite, Response> Api::read_history_write(Call& c, bool body_required,
                                                                  std::string_view route,
                                                                  std::string_view etag_source) const {
  std::variant<nlohmann::json, Response> parsed = nlohmann::json::object();
  if (body_required || !c.request.body.empty()) parsed = json_body(c.request);
  if (auto* resp = std::get_if<Response>(&parsed)) return std::move(*resp);
  HistoryWrite w{std::get<nlohmann::json>(std::move(parsed)), {}, {}};
  if (!w.body.is_object())
    return problem("invalid-parameter", fmt::format("The body of {} must be a JSON object.", route),
                   {{"$", "must be an object."}});
  auto who = change_context(c.principal, *c.request.headers, &w.body);
  if (auto* resp = std::get_if<Response>(&who)) return std::move(*resp);
  w.context = std::get<WriteContext>(std::move(who));
  auto expected = expected_revision(c.request, c.params[0], etag_source);
  if (auto* resp = std::get_if<Response>(&expected)) return std::move(*resp);
  w.expected = std::get<std::optional<std::int64_t>>(expected);
  return w;
}

Outcome Api::rollback_configuration(Call& c) {
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  auto read = read_history_write(c, true, "POST /v1/configurations/{id}/rollback", {});
  if (auto* resp = std::get_if<Response>(&read)) return answer_now(std::move(*resp));
  HistoryWrite w = std::get<HistoryWrite>(std::move(read));
  std::vector<FieldError> errors;
  check_members(w.body, {"to"}, "to, reason", errors);
  std::int64_t to = 0;
  if (auto it = w.body.find("to"); it == w.body.end() || it->is_null()) {
    errors.push_back({"to", "is required: the revision to go back to (an integer from 1)."});
  } else if (!it->is_number_integer() || it->get<std::int64_t>() < 1) {
    errors.push_back({"to", fmt::format("is {}; allowed: an integer from 1, a revision of this configuration.",
                                        dump_text(*it).substr(0, 100))});
  } else {
    to = it->get<std::int64_t>();
  }
  if (!errors.empty())
    return answer_now(problem("invalid-parameter",
                              "The rollback request is invalid; every problem is listed in errors.",
                              std::move(errors)));
  Outcome out;
  out.later = [this, id, to, w = std::move(w)] {
    return history_guarded([&] {
      WriteResult result = sync_.rollback(id, to, w.expected, w.context);
      return answer_doc(nullptr, Doc::make(result.configuration), 200);
    });
  };
  return out;
}

Outcome Api::restore_configuration(Call& c) {
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  // The body is optional: a reason is all it may carry. If-Match is the ETag
  // of the delete's revision, which the revisions listing shows (the
  // configuration itself is gone).
  auto read = read_history_write(c, false, "POST /v1/configurations/{id}/restore",
                                 "the delete's revision in GET /v1/configurations/{}/revisions");
  if (auto* resp = std::get_if<Response>(&read)) return answer_now(std::move(*resp));
  HistoryWrite w = std::get<HistoryWrite>(std::move(read));
  std::vector<FieldError> errors;
  check_members(w.body, {}, "reason", errors);
  if (!errors.empty())
    return answer_now(problem("invalid-parameter",
                              "The restore request is invalid; every problem is listed in errors.",
                              std::move(errors)));
  Outcome out;
  out.later = [this, id, w = std::move(w)] {
    return history_guarded([&] {
      WriteResult result = sync_.restore(id, w.expected, w.context);
      Response resp = answer_doc(nullptr, Doc::make(result.configuration), 200);
      resp.header("Location", "/v1/configurations/" + result.configuration.id);
      return resp;
    });
  };
  return out;
}

}  // namespace inferconf::http
