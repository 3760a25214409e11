#include "cli/jobs_option.hpp"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "inferconf/detect.hpp"

namespace inferconf::cli {

namespace {

constexpr unsigned kMaxJobs = 256;

std::string check_jobs(const std::string& value) {
  unsigned n = 0;
  const auto* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, n);
  if (ec == std::errc() && ptr == end && n >= 1 && n <= kMaxJobs) return {};
  return fmt::format("the value \"{}\" is not allowed; --jobs takes a number of worker threads from 1 to {} "
                     "(1 reads the files one after another; default: one per core, {} here)",
                     value, kMaxJobs, detect::default_jobs());
}

}  // namespace

void add_jobs_option(CLI::App& cmd, unsigned& jobs) {
  cmd.add_option("-j,--jobs", jobs,
                 fmt::format("Worker threads reading the files, 1 to {} (default: one per core, {} here; 1 reads them "
                             "one after another). The output is in input order whatever the number",
                             kMaxJobs, detect::default_jobs()))
      ->type_name("N")
      ->check(CLI::Validator(check_jobs, "1.." + std::to_string(kMaxJobs), "jobs"));
}

}  // namespace inferconf::cli
