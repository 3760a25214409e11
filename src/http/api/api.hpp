// The routes of the HTTP API, independent of sockets: a parsed request in,
// a Response out (or a job that produces it, for the work that blocks on the
// store and must not run on a network thread).
//
// handle() finds the route and operation in the route table (routes.hpp) and
// applies the policy every route shares: OPTIONS and 405 with Allow, the
// token check of the operation's access level, the refusal of a query the
// operation does not read, and private caching under --auth-reads. The
// handlers, one file per resource, then answer only for their resource.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include "http/api/response.hpp"
#include "http/api/routes.hpp"
#include "http/api/tokens.hpp"
#include "http/index/index_lookup.hpp"
#include "http/index/index_sync.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/hardware.hpp"
#include "inferconf/interop.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/service.hpp"

namespace inferconf::http {

struct ApiOptions {
  std::shared_ptr<const TokenTable> tokens;  // null or empty: no token is accepted
  bool auth_reads = false;                   // reads need a token too
  bool require_if_match = false;             // PATCH and DELETE without If-Match answer 428
  // The engine vocabulary of the catalogue (engine_vocabulary.json), for
  // POST /v1/resolve?format=...; null: exports answer 503.
  std::shared_ptr<const EngineVocabulary> vocabulary;
  // The detection rules of the same catalogue folder, with which the resolver
  // decides a registry model's base model (as `populate` does). Required.
  std::shared_ptr<const detect::Rules> rules;
  // The hardware catalogue of the same folder (hardware.json), for
  // "hardware" in POST /v1/resolve; null: such a request answers 503.
  std::shared_ptr<const HardwareCatalog> hardware;
};

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string_view target;
  const boost::beast::http::fields* headers = nullptr;
  std::string body;
};

// What a request becomes: the answer now, or a job that computes it (run on
// the blocking pools: `write` jobs on the write pool, the others on the read
// pool, so a flood of exports cannot queue ahead of the writes).
struct Outcome {
  RouteId route = RouteId::kUnmatched;
  std::optional<Response> now;
  std::function<Response()> later;
  bool write = false;
};
// The Outcome of an answer known now.
inline Outcome answer_now(Response resp) {
  Outcome out;
  out.now = std::move(resp);
  return out;
}

// One request as a handler sees it: the request, the decoded path parameters
// and the query the operation's entry in the route table admits.
struct Call {
  Request& request;
  const std::vector<std::string>& params;  // in pattern order
  std::string_view query;                  // without '?'; empty when none
  const Operation& operation;
  const std::string& principal;  // the name of the token that authorised the request; empty: none

  // The query's parameters, in order. Throws Error(kInvalid) naming a
  // parameter the operation does not accept (and the ones it does), a
  // repeated one or a bad escape.
  std::vector<std::pair<std::string, std::string>> query_params() const;
};

// The server's state the operations routes report, and where they report
// failures of the store.
struct ServerStatus {
  std::function<std::string()> metrics_text;  // the Prometheus exposition of GET /metrics
  std::function<void()> store_error;          // a store call failed (kUnavailable or kInternal)
  std::function<bool()> accepting;            // false while loading or shutting down
};

class Api {
 public:
  Api(IndexSync& sync, const Catalog& catalog, ApiOptions options, ServerStatus status);

  // Routes the request and answers it, or returns the job that will. May
  // throw anything a handler throws; the caller turns that into a 500.
  Outcome handle(Request&& request);
  // What a request with "Expect: 100-continue" gets instead of 100 Continue:
  // the answer its headers alone already decide (unknown route, method not
  // allowed, missing or bad token); nullopt when the body is wanted.
  std::optional<Response> precheck(const Request& request) const;

 private:
  // The route table names the handlers.
  friend const std::array<RouteSpec, kRouteCount>& routes();

  // configurations.cpp: the configuration collection and its items.
  Outcome list_configurations(Call& c);
  Outcome get_configuration(Call& c);
  Outcome create_configuration(Call& c);
  Outcome update_configuration(Call& c);
  Outcome delete_configuration(Call& c);
  // configuration_history.cpp: a configuration's revisions, the difference
  // between two, and the writes that go back (rollback, restore).
  Outcome configuration_revisions(Call& c);
  Outcome configuration_revision(Call& c);
  Outcome configuration_diff(Call& c);
  Outcome rollback_configuration(Call& c);
  Outcome restore_configuration(Call& c);
  // What a rollback or restore request carries, read in the order every
  // write reads it: the JSON object body (optional for restore; the reason
  // taken out of it), who and why, and the revision If-Match expects (read
  // by the client from `etag_source`, as for expected_revision()).
  struct HistoryWrite {
    nlohmann::json body;
    WriteContext context;
    std::optional<std::int64_t> expected;
  };
  std::variant<HistoryWrite, Response> read_history_write(Call& c, bool body_required, std::string_view route,
                                                          std::string_view etag_source) const;
  // audit.cpp: every recorded change, filtered.
  Outcome audit(Call& c);
  // The listing of GET /v1/configurations (also behind the base-model route).
  Response configuration_page(const std::vector<std::pair<std::string, std::string>>& query);
  // model_configurations.cpp: a model's configurations.
  Outcome model_configurations(Call& c);
  Outcome model_configuration(Call& c);
  // base_models.cpp: the catalogue.
  Outcome base_models(Call& c);
  Outcome base_model(Call& c);
  Outcome base_model_configurations(Call& c);
  // resolve.cpp: POST /v1/resolve, and with ?format=comfyui|a1111|diffusers|
  // infotext the resolved parameters as the engine's request (on the
  // blocking pool: it reads the registry for the model's file name).
  Outcome resolve(Call& c);
  Outcome export_resolved(Call& c);
  // operations.cpp: probes, metrics, the OpenAPI document.
  Outcome healthz(Call& c);
  Outcome readyz(Call& c);
  Outcome metrics(Call& c);
  Outcome openapi(Call& c);

  // Helpers the handlers share (api.cpp).
  // The body of an application/json request, parsed; else the 415 or 400 answer.
  std::variant<nlohmann::json, Response> json_body(const Request& r) const;
  // The revision If-Match asks for (nullopt: none, or `*`), or the answer
  // (400, 412, 428). `etag_source` names where the client reads the ETag to
  // send (default: GET /v1/configurations/{id}).
  std::variant<std::optional<std::int64_t>, Response> expected_revision(const Request& r, const std::string& id,
                                                                        std::string_view etag_source = {}) const;
  Response answer_doc(const Request* r, DocRef doc, unsigned status = 200) const;
  // fn's answer, or the problem document of what it threw (counting store
  // failures).
  Response guarded(const std::function<Response()>& fn) const;
  // guarded(), for work that reads or writes history: a store that keeps
  // none answers the 503 that says so (a lasting state, not an outage).
  Response history_guarded(const std::function<Response()>& fn) const;

  IndexSync& sync_;
  const Catalog& catalog_;
  ApiOptions options_;
  ServerStatus status_;
  IndexLookup lookup_;
  Resolver resolver_;
  std::shared_ptr<const std::string> base_models_json_, openapi_json_;
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> base_model_json_;
};

}  // namespace inferconf::http
