#include "http/api/api.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>

#include "http/api/authorization.hpp"
#include "http/api/handler_support.hpp"
#include "http/api/negotiation.hpp"
#include "http/api/openapi.hpp"
#include "http/api/problem.hpp"
#include "http/api/request_parts.hpp"

namespace inferconf::http {

namespace bhttp = boost::beast::http;
using bhttp::verb;

namespace {

const detect::Rules& required_rules(const ApiOptions& options) {
  if (!options.rules)
    throw std::invalid_argument("ApiOptions::rules is required: the resolver decides a registry model's base model "
                                "with the detection rules of the catalogue folder.");
  return *options.rules;
}

}  // namespace

Api::Api(IndexSync& sync, const Catalog& catalog, ApiOptions options, ServerStatus status)
    : sync_(sync),
      catalog_(catalog),
      options_(std::move(options)),
      status_(std::move(status)),
      lookup_(sync.store(), sync.index()),
      resolver_(lookup_, catalog, required_rules(options_), options_.hardware.get()) {
  // The catalogue does not change while serving: serialise its answers once.
  base_models_json_ = std::make_shared<const std::string>(catalog_.to_json().dump());
  for (const auto& b : catalog_.base_models())
    base_model_json_[b.id] = std::make_shared<const std::string>(catalog_.to_json(b).dump());
  openapi_json_ = std::make_shared<const std::string>(openapi_document().dump());
}

std::vector<std::pair<std::string, std::string>> Call::query_params() const {
  return parse_query(query, operation.query);
}

Response Api::guarded(const std::function<Response()>& fn) const {
  try {
    return fn();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kInternal) status_.store_error();
    return problem_for(e);
  } catch (const std::exception& e) {
    status_.store_error();
    return internal_error(e.what());
  }
}

Response Api::history_guarded(const std::function<Response()>& fn) const {
  return guarded([&] {
    try {
      return fn();
    } catch (const Error& e) {
      // A store that keeps no history (Store's default history methods).
      // That is how this server is set up, not an outage: answer it plainly,
      // without the store's own description (it names files) and without
      // Retry-After, since retrying cannot help.
      if (e.code() != ErrorCode::kUnavailable || !e.is_unsupported()) throw;
      return problem("unavailable",
                     "This server's store does not keep change history, so it cannot list revisions, diff, roll "
                     "back, restore, show the audit view or resolve as of a past moment. Serve a store that keeps "
                     "history (SQLite or MongoDB; see docs/HISTORY.md).");
    }
  });
}

namespace {

struct Target {
  std::string_view path, query;
};

Target split_target(std::string_view target) {
  const auto qmark = target.find('?');
  return {target.substr(0, qmark), qmark == std::string_view::npos ? std::string_view{} : target.substr(qmark + 1)};
}

Response route_not_found(std::string_view path) {
  return problem("not-found", fmt::format("No route matches the path \"{}\"; see GET /openapi.json for the routes "
                                          "of this API.",
                                          std::string(path.substr(0, 200))));
}

Response method_not_allowed(const RouteSpec& spec, verb method) {
  Response resp = problem("method-not-allowed",
                          fmt::format("{} does not allow {}; allowed: {}.", spec.pattern,
                                      method == verb::unknown ? std::string("this method")
                                                              : std::string(bhttp::to_string(method)),
                                      allow_header(spec)));
  resp.header("Allow", allow_header(spec) + ", OPTIONS");
  return resp;
}

Response options_answer(const RouteSpec& spec) {
  Response resp;
  resp.status = 204;
  resp.header("Allow", allow_header(spec) + ", OPTIONS");
  return resp;
}

Response query_not_taken(verb method, const RouteSpec& spec, std::string_view query) {
  return problem("invalid-parameter",
                 fmt::format("{} {} takes no query parameters, but the request has \"?{}\".",
                             std::string(bhttp::to_string(method)), spec.pattern, std::string(query.substr(0, 200))),
                 {{"query", "must be empty for this route."}});
}

// The route a path names, or the answer when it names none (404) or cannot be
// read (400).
std::variant<RouteMatch, Response> find_route(std::string_view path) {
  try {
    if (auto match = match_route(path)) return std::move(*match);
  } catch (const Error& e) {
    return problem_for(e, true);
  }
  return route_not_found(path);
}

}  // namespace

std::optional<Response> Api::precheck(const Request& r) const {
  const Target t = split_target(r.target);
  auto found = find_route(t.path);
  if (auto* resp = std::get_if<Response>(&found)) return std::move(*resp);
  const RouteSpec& spec = route(std::get<RouteMatch>(found).id);
  if (r.method == verb::options) return std::nullopt;
  const Operation* op = spec.operation(r.method);
  if (!op) return method_not_allowed(spec, r.method);
  if (op->access == Access::kOpen) return std::nullopt;
  std::string principal;
  auto denied = authorize(options_.tokens.get(), options_.auth_reads, *r.headers, op->access == Access::kWrite,
                          principal);
  if (denied) denied->principal = principal;
  return denied;
}

Outcome Api::handle(Request&& r) {
  Outcome out;
  const Target t = split_target(r.target);
  auto found = find_route(t.path);
  if (auto* resp = std::get_if<Response>(&found)) {
    out.now = std::move(*resp);
    return out;
  }
  const RouteMatch& match = std::get<RouteMatch>(found);
  out.route = match.id;
  const RouteSpec& spec = route(match.id);
  if (r.method == verb::options) {
    out.now = options_answer(spec);
    return out;
  }
  const Operation* op = spec.operation(r.method);
  if (!op) {
    out.now = method_not_allowed(spec, r.method);
    return out;
  }
  // Under --auth-reads an answer depends on who asked: no shared cache may
  // keep it or hand it to another client.
  const bool private_answer = options_.auth_reads && op->access != Access::kOpen;
  auto finish = [private_answer](Response& resp, const std::string& principal) {
    resp.principal = principal;
    if (!private_answer) return;
    resp.header("Cache-Control", "no-store");
    resp.header("Vary", "Authorization");
  };
  std::string principal;
  if (op->access != Access::kOpen) {
    if (auto denied = authorize(options_.tokens.get(), options_.auth_reads, *r.headers,
                                op->access == Access::kWrite, principal)) {
      finish(*denied, principal);  // a 403 names the token that was refused
      out.now = std::move(*denied);
      return out;
    }
  }
  if (!t.query.empty() && op->query.empty()) {
    out.now = query_not_taken(r.method, spec, t.query);
    finish(*out.now, principal);
    return out;
  }

  Call call{r, match.params, t.query, *op, principal};
  out = (this->*(op->handler))(call);
  out.route = match.id;
  out.write = op->access == Access::kWrite;
  if (out.now) finish(*out.now, principal);
  if (out.later)
    out.later = [job = std::move(out.later), principal, finish]() {
      Response resp = job();
      finish(resp, principal);
      return resp;
    };
  return out;
}

std::variant<nlohmann::json, Response> Api::json_body(const Request& r) const {
  if (auto bad = check_content_type(*r.headers, r.method, {"application/json"})) return std::move(*bad);
  return read_json(r.body);
}

std::variant<std::optional<std::int64_t>, Response> Api::expected_revision(const Request& r, const std::string& id,
                                                                           std::string_view etag_source) const {
  const std::string source =
      etag_source.empty() ? "GET /v1/configurations/" + id : fmt::format(fmt::runtime(etag_source), id);
  const auto it = r.headers->find(bhttp::field::if_match);
  if (it == r.headers->end()) {
    if (options_.require_if_match)
      return problem("precondition-required",
                     fmt::format("This server requires If-Match on {}: send the ETag of the configuration as you "
                                 "last read it ({}), so a concurrent change is not overwritten.",
                                 std::string(bhttp::to_string(r.method)), source));
    return std::optional<std::int64_t>{};
  }
  auto tags = parse_entity_tags(it->value());
  if (!tags)
    return problem("invalid-parameter",
                   fmt::format("If-Match \"{}\" is not a list of entity tags; send the ETag as received, e.g. "
                               "If-Match: \"{}.3\", or *.",
                               std::string(it->value().substr(0, 100)), id),
                   {{"If-Match", "must be * or a comma-separated list of quoted entity tags."}});
  if (tags->empty()) {  // "*": any current revision
    if (options_.require_if_match)
      return problem("precondition-required",
                     fmt::format("This server requires If-Match with the configuration's ETag on {}; \"*\" "
                                 "matches any revision and so does not protect a concurrent change. Read "
                                 "{} and send its ETag.",
                                 std::string(bhttp::to_string(r.method)), source));
    return std::optional<std::int64_t>{};
  }
  std::vector<std::int64_t> candidates;
  for (const auto& tag : *tags) {
    if (tag.weak) continue;  // If-Match compares strongly
    std::string_view rev = tag.opaque;
    const auto dot = rev.rfind('.');
    if (dot != std::string_view::npos) {
      if (rev.substr(0, dot) != id) continue;
      rev = rev.substr(dot + 1);
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(rev.data(), rev.data() + rev.size(), value);
    if (ec == std::errc() && end == rev.data() + rev.size() && value >= 1) candidates.push_back(value);
  }
  if (candidates.empty())
    return problem("precondition-failed",
                   fmt::format("If-Match \"{}\" names no revision of configuration {}; read it again to get its "
                               "current ETag.",
                               std::string(it->value().substr(0, 100)), id));
  if (candidates.size() > 1) {
    if (DocRef current = sync_.index().by_id(id))
      for (auto c : candidates)
        if (c == current->revision()) return std::optional<std::int64_t>{c};
  }
  return std::optional<std::int64_t>{candidates.front()};
}

Response Api::answer_doc(const Request* r, DocRef doc, unsigned status) const {
  Response resp;
  const std::string etag = doc->etag();
  if (r && status == 200) {
    if (auto it = r->headers->find(bhttp::field::if_none_match); it != r->headers->end()) {
      if (auto tags = parse_entity_tags(it->value())) {
        bool hit = tags->empty();  // "*"
        for (const auto& t : *tags) hit = hit || ("\"" + t.opaque + "\"") == etag;  // weak comparison
        if (hit) {
          resp.status = 304;
          resp.header("ETag", etag);
          return resp;
        }
      }
    }
  }
  resp.status = status;
  resp.header("ETag", etag);
  resp.doc = std::move(doc);
  return resp;
}

}  // namespace inferconf::http
