// The exit codes of the `inferconf` command, defined once: cli.cpp maps each
// Error code to one of them, commands that finish with a partial failure set
// one, and `inferconf --help`, README.md and docs/CLI.md list them.
#pragma once

namespace inferconf::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,        // store unavailable, I/O error, partial failure
  kExitUsage = 2,          // bad command line or invalid input
  kExitNotFound = 3,
  kExitConflict = 4,
  kExitPartial = 5,        // populate / models scan: some models or lines could not be handled
  kExitInterrupted = 130,  // stopped by SIGINT after committing the work done so far
};

}  // namespace inferconf::cli
