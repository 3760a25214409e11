// The operations routes, open to every client: GET /healthz, /readyz,
// /metrics and /openapi.json.
#include <spdlog/spdlog.h>

#include "http/api/api.hpp"
#include "http/api/problem.hpp"

namespace inferconf::http {

Outcome Api::healthz(Call&) {
  Response resp;
  resp.body = R"({"status":"ok"})";
  return answer_now(std::move(resp));
}

Outcome Api::readyz(Call&) {
  Outcome out;
  if (!status_.accepting()) {
    Response resp = problem("unavailable", "The server is starting or shutting down; it is not taking requests.");
    resp.header("Retry-After", "1");
    return answer_now(std::move(resp));
  }
  out.later = [this] {
    try {
      (void)sync_.store().change_cursor();  // a real round trip to the store
    } catch (const std::exception& e) {
      // Probes are open: the store's name and the driver's message go to the
      // log only.
      status_.store_error();
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

Outcome Api::metrics(Call&) {
  Response resp;
  resp.content_type = kPrometheusText;
  resp.body = status_.metrics_text();
  return answer_now(std::move(resp));
}

Outcome Api::openapi(Call&) {
  Response resp;
  resp.shared = openapi_json_;
  return answer_now(std::move(resp));
}

}  // namespace inferconf::http
