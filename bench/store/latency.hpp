// Timing helpers of the benchmarks: per-call latency percentiles and a
// throughput timer. The hook for any latency figure, e.g. the Resolver's:
//
//   const auto stats = measure_latency(200000, [&](std::size_t i) { resolver.resolve(ids[i % n], "quality"); });
//   print_latency("resolve", stats, &baseline);
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace inferconf::bench {

struct LatencyStats {
  double median_us = 0;
  double p99_us = 0;
  double mean_us = 0;
  std::size_t calls = 0;
};

// Calls call(i) for i in [0, iterations), after iterations/10 untimed warm-up
// calls, timing each call on its own.
inline LatencyStats measure_latency(std::size_t iterations, const std::function<void(std::size_t)>& call) {
  for (std::size_t i = 0; i < iterations / 10; ++i) call(i);
  std::vector<double> us(iterations);
  for (std::size_t i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    call(i);
    us[i] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  }
  LatencyStats s;
  s.calls = iterations;
  if (us.empty()) return s;
  double total = 0;
  for (const double v : us) total += v;
  s.mean_us = total / static_cast<double>(us.size());
  std::sort(us.begin(), us.end());
  s.median_us = us[us.size() / 2];
  s.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return s;
}

inline void print_latency(std::string_view label, const LatencyStats& s, const LatencyStats* baseline = nullptr) {
  fmt::print("  {:<44} median {:8.2f} µs   p99 {:8.2f} µs   mean {:8.2f} µs   ({} calls)", label, s.median_us,
             s.p99_us, s.mean_us, s.calls);
  if (baseline && baseline->median_us > 0)
    fmt::print("   ×{:.2f} of baseline median", s.median_us / baseline->median_us);
  fmt::print("\n");
}

// Wall-clock and process CPU seconds taken by fn(). On a machine shared with
// other work the CPU time is the steadier figure.
struct Duration {
  double wall_s = 0;
  double cpu_s = 0;
};

inline Duration time_of(const std::function<void()>& fn) {
  const std::clock_t cpu_start = std::clock();
  const auto start = std::chrono::steady_clock::now();
  fn();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC};
}

}  // namespace inferconf::bench
