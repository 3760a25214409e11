#include "http/transport/metrics.hpp"

#include <fmt/format.h>

namespace inferconf::http {

namespace {

std::size_t status_slot(unsigned status) {
  for (std::size_t i = 0; i + 1 < kCountedStatuses.size(); ++i)
    if (kCountedStatuses[i] == status) return i;
  return kCountedStatuses.size() - 1;
}

std::size_t method_slot(boost::beast::http::verb m) {
  for (std::size_t i = 0; i + 1 < kCountedMethods.size(); ++i)
    if (kCountedMethods[i] == m) return i;
  return kCountedMethods.size() - 1;
}

std::string_view method_label(std::size_t slot) {
  return slot + 1 == kCountedMethods.size() ? std::string_view("other")
                                            : boost::beast::http::to_string(kCountedMethods[slot]);
}

}  // namespace

void WorkerMetrics::record(RouteId route, boost::beast::http::verb method, unsigned status, std::uint64_t micros) {
  const auto r = static_cast<std::size_t>(route);
  bump(requests_[r][method_slot(method)][status_slot(status)]);
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && static_cast<double>(micros) > kLatencyBuckets[b] * 1e6) ++b;
  bump(buckets_[r][b]);
  bump(latency_sum_us_[r], micros);
}

Metrics::Metrics(std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<WorkerMetrics>());
}

std::string Metrics::render(const MetricsGauges& g) const {
  auto sum = [&](auto pick) {
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += pick(*w).load(std::memory_order_relaxed);
    return total;
  };
  std::string out;
  out += "# HELP inferconf_http_requests_total HTTP requests answered, by route, method and status.\n";
  out += "# TYPE inferconf_http_requests_total counter\n";
  for (std::size_t r = 0; r < WorkerMetrics::kRoutes; ++r)
    for (std::size_t m = 0; m < kCountedMethods.size(); ++m)
      for (std::size_t s = 0; s < kCountedStatuses.size(); ++s) {
        const auto n = sum([&](const WorkerMetrics& w) -> const auto& { return w.requests_[r][m][s]; });
        if (n == 0) continue;
        const auto status = kCountedStatuses[s] ? fmt::format("{}", kCountedStatuses[s]) : std::string("other");
        out += fmt::format("inferconf_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                           route_label(static_cast<RouteId>(r)), method_label(m), status, n);
      }
  out += "# HELP inferconf_http_request_duration_seconds Time from a complete request to its response written.\n";
  out += "# TYPE inferconf_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < WorkerMetrics::kRoutes; ++r) {
    std::uint64_t cumulative = 0;
    std::string lines;
    for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
      cumulative += sum([&](const WorkerMetrics& w) -> const auto& { return w.buckets_[r][b]; });
      const std::string le = b < kLatencyBuckets.size() ? fmt::format("{}", kLatencyBuckets[b]) : "+Inf";
      lines += fmt::format("inferconf_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                           route_label(static_cast<RouteId>(r)), le, cumulative);
    }
    if (cumulative == 0) continue;
    const auto micros = sum([&](const WorkerMetrics& w) -> const auto& { return w.latency_sum_us_[r]; });
    out += lines;
    out += fmt::format("inferconf_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n",
                       route_label(static_cast<RouteId>(r)), static_cast<double>(micros) / 1e6);
    out += fmt::format("inferconf_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                       route_label(static_cast<RouteId>(r)), cumulative);
  }
  out += "# HELP inferconf_store_errors_total Store calls that failed (store unavailable or internal error).\n";
  out += "# TYPE inferconf_store_errors_total counter\n";
  out += fmt::format("inferconf_store_errors_total {}\n", store_errors_.load(std::memory_order_relaxed));
  out += "# HELP inferconf_configurations Configurations held by the server's index.\n";
  out += "# TYPE inferconf_configurations gauge\n";
  out += fmt::format("inferconf_configurations {}\n", g.configurations);
  out += "# HELP inferconf_http_open_connections Client connections open now.\n";
  out += "# TYPE inferconf_http_open_connections gauge\n";
  out += fmt::format("inferconf_http_open_connections {}\n", g.open_connections);
  out += "# HELP inferconf_http_connections_total Client connections accepted.\n";
  out += "# TYPE inferconf_http_connections_total counter\n";
  out += fmt::format("inferconf_http_connections_total {}\n",
                     sum([](const WorkerMetrics& w) -> const auto& { return w.connections_opened_; }));
  out += "# HELP inferconf_http_connections_refused_total Connections answered 503 because --max-connections were open.\n";
  out += "# TYPE inferconf_http_connections_refused_total counter\n";
  out += fmt::format("inferconf_http_connections_refused_total {}\n",
                     sum([](const WorkerMetrics& w) -> const auto& { return w.connections_refused_; }));
  out += "# HELP inferconf_http_connections_timed_out_total Connections closed because the client was too slow or idle.\n";
  out += "# TYPE inferconf_http_connections_timed_out_total counter\n";
  out += fmt::format("inferconf_http_connections_timed_out_total {}\n",
                     sum([](const WorkerMetrics& w) -> const auto& { return w.connections_timed_out_; }));
  out += "# HELP inferconf_index_refreshes_total Refreshes of the index from the store's change log.\n";
  out += "# TYPE inferconf_index_refreshes_total counter\n";
  out += fmt::format("inferconf_index_refreshes_total {}\n", g.index_refreshes);
  out += "# HELP inferconf_index_changes_applied_total Documents changed in the index by refreshes.\n";
  out += "# TYPE inferconf_index_changes_applied_total counter\n";
  out += fmt::format("inferconf_index_changes_applied_total {}\n", g.index_changes_applied);
  out += "# HELP inferconf_index_age_seconds Seconds since the index last caught up with the store.\n";
  out += "# TYPE inferconf_index_age_seconds gauge\n";
  out += fmt::format("inferconf_index_age_seconds {:.3f}\n", g.index_age_seconds);
  return out;
}

}  // namespace inferconf::http
