#include "cli/write_context.hpp"

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "inferconf/error.hpp"

namespace inferconf::cli {

std::shared_ptr<WriteContextArgs> add_write_context_options(CLI::App& cmd) {
  auto args = std::make_shared<WriteContextArgs>();
  cmd.add_option("--actor", args->actor, "Who makes the change, recorded in its revision (default: $USER)");
  cmd.add_option("--reason", args->reason, "Why, recorded in its revision (shown by history and audit)");
  return args;
}

WriteContext write_context_of(const WriteContextArgs& args) {
  WriteContext context;
  if (!args.actor.empty()) {
    context.actor = args.actor;
  } else if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') {
    context.actor = user;
  }
  if (!args.reason.empty()) context.reason = args.reason;
  return context;
}

Timestamp parse_time_option(std::string_view text, std::string_view option) {
  if (auto t = parse_moment(text)) return *t;
  throw invalid(fmt::format("{} \"{}\" is not a moment; give {}.", option, text, kMomentFormats),
                {{std::string(option), fmt::format("received \"{}\"; allowed: 2026-12-01T09:30:00Z or 2026-12-01",
                                                   text)}});
}

std::chrono::milliseconds parse_duration_option(std::string_view text, std::string_view option) {
  const auto refuse = [&] {
    return invalid(fmt::format("{} \"{}\" is not a duration; give a whole number followed by s, m, h, d or w, such "
                               "as 30d.",
                               option, text),
                   {{std::string(option), fmt::format("received \"{}\"; allowed: e.g. 45s, 90m, 12h, 30d, 2w", text)}});
  };
  if (text.size() < 2 || text.size() > 12) throw refuse();
  std::int64_t n = 0;
  for (const char ch : text.substr(0, text.size() - 1)) {
    if (ch < '0' || ch > '9') throw refuse();
    n = n * 10 + (ch - '0');
  }
  std::int64_t unit_ms = 0;
  switch (text.back()) {
    case 's': unit_ms = 1000; break;
    case 'm': unit_ms = 60 * 1000; break;
    case 'h': unit_ms = 3600 * 1000; break;
    case 'd': unit_ms = 86400 * 1000; break;
    case 'w': unit_ms = 7 * 86400 * 1000; break;
    default: throw refuse();
  }
  return std::chrono::milliseconds(n * unit_ms);
}

}  // namespace inferconf::cli
