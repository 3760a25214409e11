// Prometheus metrics (text exposition 0.0.4) of the HTTP server.
//
// Each worker thread owns one WorkerMetrics and is its only writer (relaxed
// load + store, no read-modify-write), so counting a request costs no cache
// line shared between cores; GET /metrics sums the workers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "http/api/routes.hpp"

namespace inferconf::http {

inline constexpr std::array<unsigned, 20> kCountedStatuses = {200, 201, 204, 304, 400, 401, 403, 404, 405, 408,
                                                              409, 412, 413, 415, 422, 428, 431, 500, 503, 0};
inline constexpr std::array<double, 14> kLatencyBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                           0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
inline constexpr std::array<boost::beast::http::verb, 7> kCountedMethods = {
    boost::beast::http::verb::get,   boost::beast::http::verb::head,    boost::beast::http::verb::post,
    boost::beast::http::verb::patch, boost::beast::http::verb::delete_, boost::beast::http::verb::options,
    boost::beast::http::verb::unknown};

class WorkerMetrics {
 public:
  // Only the owning worker thread calls these.
  void record(RouteId route, boost::beast::http::verb method, unsigned status, std::uint64_t micros);
  void connection_opened() { bump(connections_opened_); }
  void connection_timed_out() { bump(connections_timed_out_); }
  void connection_refused() { bump(connections_refused_); }

 private:
  friend class Metrics;
  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  static constexpr std::size_t kRoutes = kRouteCount + 1;
  std::array<std::array<std::array<std::atomic<std::uint64_t>, kCountedStatuses.size()>, kCountedMethods.size()>,
             kRoutes>
      requests_{};
  std::array<std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1>, kRoutes> buckets_{};
  std::array<std::atomic<std::uint64_t>, kRoutes> latency_sum_us_{};
  std::atomic<std::uint64_t> connections_opened_{0}, connections_timed_out_{0}, connections_refused_{0};
};

struct MetricsGauges {
  std::size_t configurations = 0;
  std::size_t open_connections = 0;
  std::uint64_t index_refreshes = 0;
  std::uint64_t index_changes_applied = 0;
  double index_age_seconds = 0;  // since the last successful refresh
};

class Metrics {
 public:
  explicit Metrics(std::size_t workers);
  WorkerMetrics& worker(std::size_t i) { return *workers_[i]; }
  // Any thread: a store call failed (kUnavailable or kInternal).
  void store_error() { store_errors_.fetch_add(1, std::memory_order_relaxed); }
  std::string render(const MetricsGauges& gauges) const;

 private:
  std::vector<std::unique_ptr<WorkerMetrics>> workers_;
  std::atomic<std::uint64_t> store_errors_{0};
};

}  // namespace inferconf::http
