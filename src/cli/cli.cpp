// The `inferconf` command line: global options, command registration, and the
// mapping of errors to exit codes.
#include "cli/cli.hpp"

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <fmt/format.h>

#include "inferconf/error.hpp"

namespace inferconf::cli {

namespace {

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalid: return kExitUsage;
    case ErrorCode::kNotFound: return kExitNotFound;
    case ErrorCode::kConflict: return kExitConflict;
    default: return kExitFailure;
  }
}

void print_error(std::ostream& err, const Error& e, bool json) {
  if (json) {
    nlohmann::json j{{"error", to_string(e.code())}, {"message", e.what()}};
    auto& fields = j["errors"] = nlohmann::json::array();
    for (const auto& f : e.field_errors()) fields.push_back({{"field", f.field}, {"message", f.message}});
    if (!e.existing_id().empty()) j["existing_id"] = e.existing_id();
    err << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return;
  }
  err << "error: " << e.what() << '\n';
  for (const auto& f : e.field_errors()) err << "  - " << f.field << ": " << f.message << '\n';
}

}  // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
  GlobalOptions opts;
  opts.out = &out;
  opts.err = &err;
  CLI::App app{
      "inferconf stores, validates, resolves and exports inference configurations: the quality and speed presets "
      "(steps, CFG scale, sampler, scheduler, resolution, guidance, frames...) of diffusion models.\n\n"
      "Exit codes: 0 ok, 1 failure (store unavailable, I/O), 2 usage or invalid input, 3 not found, "
      "4 conflict, 5 some models could not be handled (populate, models scan), 130 interrupted.",
      "inferconf"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "inferconf 0.1.0");
  if (const char* env = std::getenv("INFERCONF_DB")) opts.db_uri = env;
  if (const char* env = std::getenv("INFERCONF_CATALOG")) opts.catalog_dir = env;
  app.add_option("--db", opts.db_uri,
                 "Store URI: sqlite:PATH (default sqlite:data/inferconf.db) or mongodb://HOST[:PORT]/DATABASE "
                 "(env INFERCONF_DB)");
  app.add_option("--catalog", opts.catalog_dir, "Folder of the base-model catalogue (env INFERCONF_CATALOG)");
  app.add_flag("--json", opts.json, "Machine-readable JSON output");

  register_init_command(app, opts);
  register_catalog_command(app, opts);
  register_configuration_commands(app, opts);
  register_history_commands(app, opts);
  register_resolve_command(app, opts);
  register_models_command(app, opts);
  register_validate_command(app, opts);
  register_demo_command(app, opts);
  register_selftest_command(app, opts);
#ifdef INFERCONF_HAVE_DETECT
  register_detect_command(app, opts);
#endif
#ifdef INFERCONF_HAVE_POPULATE
  register_populate_command(app, opts);
#endif
#ifdef INFERCONF_HAVE_INTEROP
  register_export_commands(app, opts);
#endif
#ifdef INFERCONF_HAVE_HTTP
  register_serve_command(app, opts);
  register_token_command(app, opts);
#endif

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      // --help and --version are "errors" with exit code 0 in CLI11.
      const int code = app.exit(e, out, err);
      return code == 0 ? kExitOk : kExitUsage;
    }
    return opts.exit_code;
  } catch (const Error& e) {
    print_error(err, e, opts.json);
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    err << "error: " << e.what() << '\n';
    return kExitFailure;
  } catch (...) {
    // A worker's failure is rethrown here on the main thread; whatever it is,
    // the command ends with a message and an exit code, not std::terminate.
    err << "error: the command failed with an exception that is not a std::exception; nothing more is known. "
           "Please report the command line that caused it.\n";
    return kExitFailure;
  }
}

}  // namespace inferconf::cli
