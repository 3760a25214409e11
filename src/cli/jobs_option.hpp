// `-j,--jobs N` of the commands that read checkpoint headers (detect, models
// scan). Kept apart from cli_support so that a command can be built without
// the store (tests/detect builds `detect` alone).
#pragma once

#include <CLI/CLI.hpp>

namespace inferconf::cli {

// Adds `-j,--jobs N` to cmd: worker threads, 1 to 256; `jobs` stays 0 (one per
// core) when the option is absent. A value out of range fails with a message
// naming the option, the value and what is allowed.
void add_jobs_option(CLI::App& cmd, unsigned& jobs);

}  // namespace inferconf::cli
