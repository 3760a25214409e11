#include "http/api/routes.hpp"

#include <fmt/format.h>

#include "http/api/request_parts.hpp"
#include "inferconf/error.hpp"

namespace inferconf::http {

using boost::beast::http::verb;

const std::array<RouteSpec, kRouteCount>& routes() {
  static const std::array<RouteSpec, kRouteCount> table = {{
      {RouteId::kConfigurations, "/v1/configurations", {verb::get, verb::post}},
      {RouteId::kConfiguration, "/v1/configurations/{id}", {verb::get, verb::patch, verb::delete_}},
      {RouteId::kModelConfigurations, "/v1/models/{model_id}/configurations", {verb::get}},
      {RouteId::kModelConfigurationByType, "/v1/models/{model_id}/configurations/{configuration_type}", {verb::get}},
      {RouteId::kBaseModels, "/v1/base-models", {verb::get}},
      {RouteId::kBaseModel, "/v1/base-models/{base_model}", {verb::get}},
      {RouteId::kBaseModelConfigurations, "/v1/base-models/{base_model}/configurations", {verb::get}},
      {RouteId::kResolve, "/v1/resolve", {verb::post}},
      {RouteId::kHealthz, "/healthz", {verb::get}},
      {RouteId::kReadyz, "/readyz", {verb::get}},
      {RouteId::kMetrics, "/metrics", {verb::get}},
      {RouteId::kOpenApi, "/openapi.json", {verb::get}},
  }};
  return table;
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
