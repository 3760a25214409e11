// The command line: one registration function per command, each in its own
// src/cli/<name>_command.cpp, called from cli.cpp. A command's callback writes
// its output to opts.out/opts.err, throws inferconf::Error for failures (the
// caller maps error codes to exit codes), and may set opts.exit_code for
// partial failures that are not exceptions (e.g. one unreadable file of many).
#pragma once

#include <iosfwd>
#include <string>

#include "cli/exit_codes.hpp"

namespace CLI { class App; }

namespace inferconf::cli {

struct GlobalOptions {
  std::string db_uri;       // --db or INFERCONF_DB; default sqlite:data/inferconf.db
  std::string catalog_dir;  // --catalog or INFERCONF_CATALOG; default: the installed/source catalog/
  bool json = false;        // --json: machine-readable output
  int exit_code = kExitOk;  // set by commands that finish with a partial failure
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

// Runs the command line; returns the process exit code. Never throws.
int run(int argc, char** argv, std::ostream& out, std::ostream& err);

void register_init_command(CLI::App& app, GlobalOptions& opts);
void register_catalog_command(CLI::App& app, GlobalOptions& opts);
void register_configuration_commands(CLI::App& app, GlobalOptions& opts);  // create get list update delete
void register_history_commands(CLI::App& app, GlobalOptions& opts);  // history show diff audit rollback restore
void register_resolve_command(CLI::App& app, GlobalOptions& opts);
void register_models_command(CLI::App& app, GlobalOptions& opts);
void register_validate_command(CLI::App& app, GlobalOptions& opts);
void register_demo_command(CLI::App& app, GlobalOptions& opts);
void register_detect_command(CLI::App& app, GlobalOptions& opts);
void register_populate_command(CLI::App& app, GlobalOptions& opts);
void register_models_scan_command(CLI::App& models, GlobalOptions& opts);
void register_selftest_command(CLI::App& app, GlobalOptions& opts);
void register_export_commands(CLI::App& app, GlobalOptions& opts);
void register_serve_command(CLI::App& app, GlobalOptions& opts);
void register_token_command(CLI::App& app, GlobalOptions& opts);

}  // namespace inferconf::cli
