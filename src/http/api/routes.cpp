#include "http/api/routes.hpp"

#include <fmt/format.h>

#include "http/api/api.hpp"
#include "http/api/request_parts.hpp"
#include "inferconf/error.hpp"

namespace inferconf::http {

using boost::beast::http::verb;

namespace {

RouteSpec make_route(RouteId id, std::string_view pattern, std::vector<Operation> operations) {
  RouteSpec spec{id, pattern, std::move(operations), {}};
  for (const auto& op : spec.operations) spec.methods.push_back(op.method);
  return spec;
}

}  // namespace

const std::array<RouteSpec, kRouteCount>& routes() {
  using A = Access;
  static const std::array<RouteSpec, kRouteCount> table = {{
      make_route(RouteId::kConfigurations, "/v1/configurations",
                 {{verb::get, A::kRead, &Api::list_configurations,
                   {"model_id", "base_model", "configuration_type", "limit", "cursor"}},
                  {verb::post, A::kWrite, &Api::create_configuration, {}}}),
      make_route(RouteId::kConfiguration, "/v1/configurations/{id}",
                 {{verb::get, A::kRead, &Api::get_configuration, {}},
                  {verb::patch, A::kWrite, &Api::update_configuration, {}},
                  {verb::delete_, A::kWrite, &Api::delete_configuration, {}}}),
      make_route(RouteId::kConfigurationRevisions, "/v1/configurations/{id}/revisions",
                 {{verb::get, A::kRead, &Api::configuration_revisions, {"limit", "cursor"}}}),
      make_route(RouteId::kConfigurationRevision, "/v1/configurations/{id}/revisions/{rev}",
                 {{verb::get, A::kRead, &Api::configuration_revision, {}}}),
      make_route(RouteId::kConfigurationDiff, "/v1/configurations/{id}/diff",
                 {{verb::get, A::kRead, &Api::configuration_diff, {"from", "to"}}}),
      make_route(RouteId::kConfigurationRollback, "/v1/configurations/{id}/rollback",
                 {{verb::post, A::kWrite, &Api::rollback_configuration, {}}}),
      make_route(RouteId::kConfigurationRestore, "/v1/configurations/{id}/restore",
                 {{verb::post, A::kWrite, &Api::restore_configuration, {}}}),
      make_route(RouteId::kAudit, "/v1/audit",
                 {{verb::get, A::kRead, &Api::audit,
                   {"actor", "since", "until", "model_id", "base_model", "operation", "limit", "cursor"}}}),
      make_route(RouteId::kModelConfigurations, "/v1/models/{model_id}/configurations",
                 {{verb::get, A::kRead, &Api::model_configurations, {"configuration_type"}}}),
      make_route(RouteId::kModelConfigurationByType, "/v1/models/{model_id}/configurations/{configuration_type}",
                 {{verb::get, A::kRead, &Api::model_configuration, {}}}),
      make_route(RouteId::kBaseModels, "/v1/base-models", {{verb::get, A::kRead, &Api::base_models, {}}}),
      make_route(RouteId::kBaseModel, "/v1/base-models/{base_model}", {{verb::get, A::kRead, &Api::base_model, {}}}),
      make_route(RouteId::kBaseModelConfigurations, "/v1/base-models/{base_model}/configurations",
                 {{verb::get, A::kRead, &Api::base_model_configurations, {"configuration_type", "limit", "cursor"}}}),
      // A POST that changes nothing: a read for authorisation. With ?format= it is an export.
      make_route(RouteId::kResolve, "/v1/resolve", {{verb::post, A::kRead, &Api::resolve, {"format"}}}),
      make_route(RouteId::kHealthz, "/healthz", {{verb::get, A::kOpen, &Api::healthz, {}}}),
      make_route(RouteId::kReadyz, "/readyz", {{verb::get, A::kOpen, &Api::readyz, {}}}),
      make_route(RouteId::kMetrics, "/metrics", {{verb::get, A::kOpen, &Api::metrics, {}}}),
      make_route(RouteId::kOpenApi, "/openapi.json", {{verb::get, A::kOpen, &Api::openapi, {}}}),
  }};
  return table;
}

const Operation* RouteSpec::operation(verb method) const {
  if (method == verb::head) method = verb::get;
  for (const auto& op : operations)
    if (op.method == method) return &op;
  return nullptr;
}

const RouteSpec& route(RouteId id) { return routes()[static_cast<std::size_t>(id)]; }

std::string_view route_label(RouteId id) {
  return id == RouteId::kUnmatched ? std::string_view("unmatched") : route(id).pattern;
}

std::optional<RouteMatch> match_route(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string_view> segments;
  for (std::string_view rest = path.substr(1);;) {
    const auto slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  static const auto patterns = [] {
    std::array<std::vector<std::string_view>, kRouteCount> out;
    for (const auto& spec : routes()) {
      auto& pattern = out[static_cast<std::size_t>(spec.id)];
      for (std::string_view rest = spec.pattern.substr(1);;) {
        const auto slash = rest.find('/');
        pattern.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
      }
    }
    return out;
  }();
  for (const auto& spec : routes()) {
    const auto& pattern = patterns[static_cast<std::size_t>(spec.id)];
    if (pattern.size() != segments.size()) continue;
    RouteMatch match{spec.id, {}};
    bool ok = true;
    for (std::size_t i = 0; ok && i < pattern.size(); ++i) {
      if (pattern[i].starts_with('{')) {
        if (segments[i].empty()) {
          ok = false;
          break;
        }
        auto decoded = percent_decode(segments[i], false);
        if (!decoded) {
          const std::string name(pattern[i].substr(1, pattern[i].size() - 2));
          throw invalid(fmt::format("The path segment \"{}\" ({}) has a bad percent-escape or is not UTF-8.",
                                    std::string(segments[i].substr(0, 100)), name),
                        {{name, "must be percent-encoded UTF-8 without NUL."}});
        }
        match.params.push_back(std::move(*decoded));
      } else if (pattern[i] != segments[i]) {
        ok = false;
      }
    }
    if (ok) return match;
  }
  return std::nullopt;
}

bool route_allows(const RouteSpec& spec, verb method) {
  for (verb m : spec.methods)
    if (m == method || (m == verb::get && method == verb::head)) return true;
  return false;
}

std::string allow_header(const RouteSpec& spec) {
  std::string out;
  for (verb m : spec.methods) {
    if (!out.empty()) out += ", ";
    out += std::string(boost::beast::http::to_string(m));
    if (m == verb::get) out += ", HEAD";
  }
  return out;
}

}  // namespace inferconf::http
