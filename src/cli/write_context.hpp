// --actor and --reason of the writing commands, and the time options of the
// history commands (--since, --until, --as-of, --older-than).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "inferconf/configuration.hpp"
#include "inferconf/history.hpp"

namespace CLI { class App; }

namespace inferconf::cli {

struct WriteContextArgs {
  std::string actor;
  std::string reason;
};

// Adds --actor and --reason to a writing command.
std::shared_ptr<WriteContextArgs> add_write_context_options(CLI::App& cmd);

// Who the command writes as: --actor, else $USER, else "unknown"; and --reason when given.
WriteContext write_context_of(const WriteContextArgs& args);

// A moment given on the command line: an RFC 3339 date-time
// (2026-12-01T09:30:00Z), or a date (2026-12-01, its midnight UTC). Throws
// Error(kInvalid) naming the option otherwise.
Timestamp parse_time_option(std::string_view text, std::string_view option);

// A duration such as 30d, 12h, 90m, 45s or 2w. Throws Error(kInvalid) naming
// the option otherwise.
std::chrono::milliseconds parse_duration_option(std::string_view text, std::string_view option);

}  // namespace inferconf::cli
