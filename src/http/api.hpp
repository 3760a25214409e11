// The routes of the HTTP API, independent of sockets: a parsed request in,
// a Response out (or a job that produces it, for the work that blocks on the
// store and must not run on a network thread).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include "http/index_sync.hpp"
#include "http/indexed_store.hpp"
#include "http/metrics.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "http/tokens.hpp"
#include "inferconf/catalog.hpp"
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

// The server's state the operations routes report.
struct ServerStatus {
  std::function<MetricsGauges()> gauges;
  std::function<bool()> accepting;  // false while loading or shutting down
};

class Api {
 public:
  Api(IndexSync& sync, const Catalog& catalog, Metrics& metrics, ApiOptions options, ServerStatus status);

  // Routes the request and answers it, or returns the job that will. May
  // throw anything a handler throws; the caller turns that into a 500.
  Outcome handle(Request&& request);
  // What a request with "Expect: 100-continue" gets instead of 100 Continue:
  // the answer its headers alone already decide (unknown route, method not
  // allowed, missing or bad token); nullopt when the body is wanted.
  std::optional<Response> precheck(const Request& request) const;

 private:
  // Route handlers; params are the decoded path parameters.
  Response list_configurations(std::string_view query);
  Response get_configuration(const Request& r, const std::string& id);
  Outcome create_configuration(Request& r);
  Outcome update_configuration(Request& r, const std::string& id);
  Outcome delete_configuration(const Request& r, const std::string& id);
  Response model_configurations(const std::string& model_id, std::string_view query);
  Response model_configuration(const Request& r, const std::string& model_id, const std::string& type);
  Response base_models();
  Response base_model(const std::string& id);
  Response base_model_configurations(const std::string& id, std::string_view query);
  Outcome resolve(Request& r);
  // POST /v1/resolve?format=comfyui|a1111|diffusers|infotext: the resolved
  // parameters as the engine's request (runs on the blocking pool: it reads
  // the registry for the model's file name).
  Outcome export_resolved(Request& r, std::string_view query);
  Response metrics();
  Outcome readyz();

  // nullopt when allowed; else the 401/403 answer. Sets principal.
  std::optional<Response> authorize(const Request& r, bool write, std::string& principal) const;
  // The body of an application/json request, parsed; else the 415 or 400 answer.
  std::variant<nlohmann::json, Response> json_body(const Request& r) const;
  // nullopt when the body's media type is one of `accepted`; else 415.
  std::optional<Response> check_media_type(const Request& r, std::initializer_list<std::string_view> accepted) const;
  // The revision If-Match asks for (nullopt: none, or `*`), or the answer
  // (400, 412, 428).
  std::variant<std::optional<std::int64_t>, Response> expected_revision(const Request& r, const std::string& id) const;
  Response answer_doc(const Request* r, DocRef doc, unsigned status = 200) const;
  Response guarded(const std::function<Response()>& fn) const;

  IndexSync& sync_;
  const Catalog& catalog_;
  Metrics& metrics_;
  ApiOptions options_;
  ServerStatus status_;
  IndexedStore indexed_store_;
  Resolver resolver_;
  std::shared_ptr<const std::string> base_models_json_, openapi_json_;
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> base_model_json_;
};

// Parses POST /v1/resolve's body. Throws Error(kInvalid) listing every problem.
// With `with_export`, the body may also carry "export": {prompt,
// negative_prompt, seed, checkpoint, allow_substitute}, read into *options.
ResolveRequest parse_resolve_request(const nlohmann::json& j, ExportOptions* options = nullptr);

}  // namespace inferconf::http
