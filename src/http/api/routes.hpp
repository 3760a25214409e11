// The route table: which paths exist and, for each method a path allows, the
// handler that answers it, who may call it (open, read, write) and the query
// parameters it accepts. Api::handle is a look-up in this table plus the
// policy every route shares; the OpenAPI document and its test walk the same
// table, so a route cannot exist without being documented.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace inferconf::http {

enum class RouteId : std::size_t {
  kConfigurations,
  kConfiguration,
  kConfigurationRevisions,
  kConfigurationRevision,
  kConfigurationDiff,
  kConfigurationRollback,
  kConfigurationRestore,
  kAudit,
  kModelConfigurations,
  kModelConfigurationByType,
  kBaseModels,
  kBaseModel,
  kBaseModelConfigurations,
  kResolve,
  kHealthz,
  kReadyz,
  kMetrics,
  kOpenApi,
  kCount,
  kUnmatched = kCount,  // metrics label of requests that matched no route
};
inline constexpr std::size_t kRouteCount = static_cast<std::size_t>(RouteId::kCount);

// Who may call an operation. Open: anyone, always (the operations routes:
// probes, metrics, the OpenAPI document). Read: anyone, or a token's holder
// under --auth-reads. Write: a read-write token's holder; its job runs on the
// write pool.
enum class Access { kOpen, kRead, kWrite };

class Api;
struct Call;
struct Outcome;
using Handler = Outcome (Api::*)(Call&);

// One method of a route.
struct Operation {
  boost::beast::http::verb method;  // GET also answers HEAD
  Access access;
  Handler handler;
  // The query parameters the handler reads; empty: a query is refused before
  // the handler runs.
  std::vector<std::string_view> query;
};

struct RouteSpec {
  RouteId id;
  std::string_view pattern;  // OpenAPI path template, e.g. "/v1/configurations/{id}"
  std::vector<Operation> operations;
  std::vector<boost::beast::http::verb> methods;  // those of `operations`, in order; HEAD is implied by GET

  // The operation answering `method` (HEAD: GET's), or nullptr.
  const Operation* operation(boost::beast::http::verb method) const;
};
const std::array<RouteSpec, kRouteCount>& routes();
const RouteSpec& route(RouteId id);
// The metrics label of a route: its pattern, or "unmatched".
std::string_view route_label(RouteId id);

struct RouteMatch {
  RouteId id;
  std::vector<std::string> params;  // percent-decoded, in pattern order
};

// Matches a path (without query). nullopt when no route has this shape;
// throws Error(kInvalid) when a segment is not valid percent-encoded UTF-8.
std::optional<RouteMatch> match_route(std::string_view path);

// The value of an Allow header for a route: "GET, HEAD, POST".
std::string allow_header(const RouteSpec& spec);
bool route_allows(const RouteSpec& spec, boost::beast::http::verb method);

}  // namespace inferconf::http
