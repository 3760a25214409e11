#include "http/api.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/openapi.hpp"
#include "http/problem.hpp"
#include "http/request_parts.hpp"

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

Api::Api(IndexSync& sync, const Catalog& catalog, Metrics& metrics, ApiOptions options, ServerStatus status)
    : sync_(sync),
      catalog_(catalog),
      metrics_(metrics),
      options_(std::move(options)),
      status_(std::move(status)),
      indexed_store_(sync.store(), sync.index()),
      resolver_(indexed_store_, catalog, required_rules(options_)) {
  // The catalogue does not change while serving: serialise its answers once.
  base_models_json_ = std::make_shared<const std::string>(catalog_.to_json().dump());
  for (const auto& b : catalog_.base_models())
    base_model_json_[b.id] = std::make_shared<const std::string>(catalog_.to_json(b).dump());
  openapi_json_ = std::make_shared<const std::string>(openapi_document().dump());
}

Response Api::guarded(const std::function<Response()>& fn) const {
  try {
    return fn();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kInternal) metrics_.store_error();
    return problem_for(e);
  } catch (const std::exception& e) {
    metrics_.store_error();
    return internal_error(e.what());
  }
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

// Resolve is a POST that changes nothing: it is a read for authorisation.
bool is_write_request(verb method, RouteId route) {
  return (method == verb::post || method == verb::patch || method == verb::delete_) && route != RouteId::kResolve;
}

bool is_operations_route(const RouteSpec& spec) { return spec.pattern.substr(0, 4) != "/v1/"; }

}  // namespace

std::optional<Response> Api::precheck(const Request& r) const {
  const Target t = split_target(r.target);
  std::optional<RouteMatch> match;
  try {
    match = match_route(t.path);
  } catch (const Error& e) {
    return problem_for(e, true);
  }
  if (!match) return route_not_found(t.path);
  const RouteSpec& spec = route(match->id);
  if (r.method == verb::options) return std::nullopt;
  if (!route_allows(spec, r.method)) return method_not_allowed(spec, r.method);
  if (is_operations_route(spec)) return std::nullopt;
  std::string principal;
  auto denied = authorize(r, is_write_request(r.method, match->id), principal);
  if (denied) denied->principal = principal;
  return denied;
}

Outcome Api::handle(Request&& r) {
  Outcome out;
  const Target t = split_target(r.target);
  const std::string_view path = t.path, query = t.query;

  std::optional<RouteMatch> match;
  try {
    match = match_route(path);
  } catch (const Error& e) {
    out.now = problem_for(e, true);
    return out;
  }
  if (!match) {
    out.now = route_not_found(path);
    return out;
  }
  out.route = match->id;
  const RouteSpec& spec = route(match->id);
  if (r.method == verb::options) {
    Response resp;
    resp.status = 204;
    resp.header("Allow", allow_header(spec) + ", OPTIONS");
    out.now = std::move(resp);
    return out;
  }
  if (!route_allows(spec, r.method)) {
    out.now = method_not_allowed(spec, r.method);
    return out;
  }
  const bool operations = is_operations_route(spec);
  const bool is_write = is_write_request(r.method, match->id);
  // Under --auth-reads an answer depends on who asked: no shared cache may
  // keep it or hand it to another client.
  const bool private_answer = options_.auth_reads && !operations;
  auto mark_private = [private_answer](Response& resp) {
    if (!private_answer) return;
    resp.header("Cache-Control", "no-store");
    resp.header("Vary", "Authorization");
  };
  std::string principal;
  if (!operations) {
    if (auto denied = authorize(r, is_write, principal)) {
      denied->principal = principal;  // a 403 names the token that was refused
      mark_private(*denied);
      out.now = std::move(*denied);
      return out;
    }
  }
  auto finish = [&](Response resp) {
    resp.principal = principal;
    mark_private(resp);
    out.now = std::move(resp);
    return out;
  };
  auto finish_outcome = [&](Outcome o) {
    o.route = match->id;
    if (o.now) {
      o.now->principal = principal;
      mark_private(*o.now);
    }
    if (o.later)
      o.later = [job = std::move(o.later), principal, mark_private]() {
        Response resp = job();
        resp.principal = principal;
        mark_private(resp);
        return resp;
      };
    return o;
  };
  // Query strings only where a route reads them.
  const bool takes_query = match->id == RouteId::kConfigurations || match->id == RouteId::kModelConfigurations ||
                           match->id == RouteId::kBaseModelConfigurations || match->id == RouteId::kResolve;
  if (!query.empty() && (!takes_query || (r.method == verb::post && match->id != RouteId::kResolve)))
    return finish(problem("invalid-parameter",
                          fmt::format("{} {} takes no query parameters, but the request has \"?{}\".",
                                      std::string(bhttp::to_string(r.method)), spec.pattern,
                                      std::string(query.substr(0, 200))),
                          {{"query", "must be empty for this route."}}));

  const auto& p = match->params;
  switch (match->id) {
    case RouteId::kConfigurations:
      if (r.method == verb::post) {
        Outcome o = create_configuration(r);
        o.write = true;
        return finish_outcome(std::move(o));
      }
      return finish(guarded([&] { return list_configurations(query); }));
    case RouteId::kConfiguration:
      if (r.method == verb::patch || r.method == verb::delete_) {
        Outcome o = r.method == verb::patch ? update_configuration(r, p[0]) : delete_configuration(r, p[0]);
        o.write = true;
        return finish_outcome(std::move(o));
      }
      return finish(guarded([&] { return get_configuration(r, p[0]); }));
    case RouteId::kModelConfigurations:
      return finish(guarded([&] { return model_configurations(p[0], query); }));
    case RouteId::kModelConfigurationByType:
      return finish(guarded([&] { return model_configuration(r, p[0], p[1]); }));
    case RouteId::kBaseModels:
      return finish(base_models());
    case RouteId::kBaseModel:
      return finish(base_model(p[0]));
    case RouteId::kBaseModelConfigurations:
      return finish(guarded([&] { return base_model_configurations(p[0], query); }));
    case RouteId::kResolve:
      if (!query.empty()) return finish_outcome(export_resolved(r, query));
      return finish_outcome(resolve(r));
    case RouteId::kHealthz: {
      Response resp;
      resp.body = R"({"status":"ok"})";
      return finish(std::move(resp));
    }
    case RouteId::kReadyz:
      return finish_outcome(readyz());
    case RouteId::kMetrics:
      return finish(metrics());
    case RouteId::kOpenApi: {
      Response resp;
      resp.shared = openapi_json_;
      return finish(std::move(resp));
    }
    case RouteId::kCount:
      break;
  }
  return finish(problem("internal-error", "The route table and its handlers disagree; this is a bug."));
}

std::optional<Response> Api::authorize(const Request& r, bool write, std::string& principal) const {
  if (!write && !options_.auth_reads) return std::nullopt;
  auto challenge = [](std::string detail, std::string_view error) {
    Response resp = problem("unauthorized", std::move(detail));
    resp.header("WWW-Authenticate", error.empty() ? std::string("Bearer realm=\"inferconf\"")
                                                  : fmt::format("Bearer realm=\"inferconf\", error=\"{}\"", error));
    return resp;
  };
  const auto it = r.headers->find(bhttp::field::authorization);
  const char* what = write ? "Writes" : "Reads on this server";
  if (it == r.headers->end())
    return challenge(fmt::format("{} need an \"Authorization: Bearer <token>\" header; `inferconf token new NAME` "
                                 "makes a token, and the server's --tokens-file lists the accepted ones.",
                                 what),
                     "");
  std::string_view value = it->value();
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = value.size() > kScheme.size();
  for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i)
    scheme_ok = std::tolower(static_cast<unsigned char>(value[i])) == kScheme[i];
  if (!scheme_ok)
    return challenge("The Authorization header must be \"Bearer <token>\"; other schemes are not accepted.",
                     "invalid_request");
  std::string_view token = value.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (!options_.tokens || options_.tokens->empty())
    return challenge("This server was started without --tokens-file, so it accepts no token and refuses writes; "
                     "restart it with --tokens-file FILE (see `inferconf token new`).",
                     "invalid_token");
  const TokenEntry* entry = token.empty() || token.size() > 512 ? nullptr : options_.tokens->find(token);
  if (!entry)
    return challenge("The bearer token is not one this server accepts; check it against the tokens file given to "
                     "--tokens-file.",
                     "invalid_token");
  principal = entry->name;
  if (write && entry->read_only) {
    Response resp = problem("forbidden", fmt::format("The token \"{}\" is read-only (\":ro\" in the tokens file); "
                                                     "use a read-write token to change configurations.",
                                                     entry->name));
    return resp;
  }
  return std::nullopt;
}

std::optional<Response> Api::check_media_type(const Request& r,
                                              std::initializer_list<std::string_view> accepted) const {
  std::string allowed;
  for (auto a : accepted) allowed += (allowed.empty() ? "" : ", ") + std::string(a);
  const auto it = r.headers->find(bhttp::field::content_type);
  std::string charset;
  const std::string type = it == r.headers->end() ? std::string() : media_type(it->value(), &charset);
  bool ok = false;
  for (auto a : accepted) ok = ok || type == a;
  std::string detail;
  if (it == r.headers->end())
    detail = fmt::format("The request has a body but no Content-Type; send one of: {}.", allowed);
  else if (!ok)
    detail = fmt::format("Content-Type \"{}\" is not accepted here; send one of: {}.",
                         std::string(it->value().substr(0, 100)), allowed);
  else if (!charset.empty() && charset != "utf-8")
    detail = fmt::format("The charset \"{}\" is not accepted; JSON bodies must be UTF-8 (charset=utf-8 or none).",
                         charset.substr(0, 50));
  else
    return std::nullopt;
  Response resp = problem("unsupported-media-type", std::move(detail));
  resp.header(r.method == verb::patch ? "Accept-Patch" : "Accept", allowed);
  return resp;
}

std::variant<std::optional<std::int64_t>, Response> Api::expected_revision(const Request& r,
                                                                           const std::string& id) const {
  const auto it = r.headers->find(bhttp::field::if_match);
  if (it == r.headers->end()) {
    if (options_.require_if_match)
      return problem("precondition-required",
                     fmt::format("This server requires If-Match on {}: send the ETag of the configuration as you "
                                 "last read it (GET /v1/configurations/{}), so a concurrent change is not "
                                 "overwritten.",
                                 std::string(bhttp::to_string(r.method)), id));
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
                                 "GET /v1/configurations/{} and send its ETag.",
                                 std::string(bhttp::to_string(r.method)), id));
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

Response Api::metrics() {
  Response resp;
  resp.content_type = kPrometheusText;
  resp.body = metrics_.render(status_.gauges());
  return resp;
}

Outcome Api::readyz() {
  Outcome out;
  if (!status_.accepting()) {
    Response resp = problem("unavailable", "The server is starting or shutting down; it is not taking requests.");
    resp.header("Retry-After", "1");
    out.now = std::move(resp);
    return out;
  }
  out.later = [this] {
    try {
      (void)sync_.store().change_cursor();  // a real round trip to the store
    } catch (const std::exception& e) {
      // Probes are open: the store's name and the driver's message go to the
      // log only.
      metrics_.store_error();
      spdlog::warn("request {}: readiness check failed: the store {} cannot be read: {}", current_request_id(),
                   sync_.store().describe(), e.what());
      Response resp = problem("unavailable", "The store cannot be read; the server is not ready.");
      resp.header("Retry-After", "1");
      return resp;
    }
    Response resp;
    resp.body = nlohmann::json{{"status", "ready"}, {"configurations", sync_.index().size()}}.dump();
    return resp;
  };
  return out;
}

}  // namespace inferconf::http
