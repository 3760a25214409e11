// `inferconf serve`: the HTTP API over the store (src/http, docs/HTTP_API.md).
#include <cmath>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "cli/cli.hpp"
#include "cli/cli_support.hpp"
#include "http/server.hpp"
#include "http/tokens.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/error.hpp"
#include "inferconf/interop.hpp"
#include "inferconf/store.hpp"

namespace inferconf::cli {

namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  unsigned threads = 0;
  std::string tokens_file;
  bool auth_reads = false;
  bool require_if_match = false;
  double refresh_interval = 1.0;
  double request_timeout = 15.0;
  double header_timeout = 10.0;
  double write_timeout = 15.0;
  std::size_t max_connections = 0;
  std::size_t max_requests_per_connection = 1000;
  std::vector<std::string> allowed_hosts;
  double shutdown_timeout = 10.0;
  std::string log_format = "text";
};

std::chrono::milliseconds seconds_option(double seconds, std::string_view name, double min, double max) {
  if (!std::isfinite(seconds) || seconds < min || seconds > max)
    throw invalid(fmt::format("{} {} is out of range; give seconds from {} to {}.", name, seconds, min, max),
                  {{std::string(name), fmt::format("is {}; allowed: {} to {}.", seconds, min, max)}});
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

void serve(const GlobalOptions& opts, const ServeArgs& args) {
  // Lifecycle messages go to standard error; standard output carries the request log.
  auto logger = spdlog::stderr_color_mt("inferconf-serve");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  http::ServerOptions options;
  options.listen = args.listen;
  options.threads = args.threads;
  options.api.auth_reads = args.auth_reads;
  options.api.require_if_match = args.require_if_match;
  options.refresh_interval = seconds_option(args.refresh_interval, "--refresh-interval", 0.01, 3600);
  options.limits.request_timeout = seconds_option(args.request_timeout, "--request-timeout", 0.1, 3600);
  options.limits.header_timeout = seconds_option(args.header_timeout, "--header-timeout", 0.1, 3600);
  options.limits.write_timeout = seconds_option(args.write_timeout, "--write-timeout", 0.1, 3600);
  options.limits.max_requests_per_connection = args.max_requests_per_connection;
  options.max_connections = args.max_connections;
  options.allowed_hosts = args.allowed_hosts;
  options.shutdown_timeout = seconds_option(args.shutdown_timeout, "--shutdown-timeout", 0, 3600);
  options.handle_signals = true;
  if (args.log_format == "text")
    options.log_format = http::LogFormat::kText;
  else if (args.log_format == "json")
    options.log_format = http::LogFormat::kJson;
  else if (args.log_format == "none")
    options.log_format = http::LogFormat::kNone;
  else
    throw invalid(fmt::format("--log-format \"{}\" is not known; use text, json or none.", args.log_format),
                  {{"--log-format", "allowed: text, json, none."}});
  if (!args.tokens_file.empty()) {
    options.api.tokens = std::make_shared<const http::TokenTable>(http::TokenTable::load(args.tokens_file));
    for (const auto& w : options.api.tokens->warnings()) spdlog::warn("{}", w);
  }
  if (args.auth_reads && !options.api.tokens)
    throw invalid("--auth-reads needs --tokens-file: without tokens no request could be answered.",
                  {{"--auth-reads", "requires --tokens-file."}});
  if (args.auth_reads && options.api.tokens->empty())
    throw invalid(fmt::format("--auth-reads with the tokens file {}, which lists no token (only blank lines or "
                              "comments): no request could be answered. Add a line from `inferconf token new NAME`.",
                              args.tokens_file),
                  {{"--tokens-file", "lists no token."}});

  // The server answers reads from its own index, so SQLite's page cache only
  // serves writes and refreshes. Each pooled connection may cache 64 MiB, and
  // loading the index reads the whole file through one of them: without a
  // bound a server of 200 000 configurations keeps ~50 MB of pages it never
  // reads again. The soft limit makes SQLite recycle pages instead.
  sqlite3_soft_heap_limit64(16LL * 1024 * 1024);
  auto store = open_store(opts.db_uri.empty() ? kDefaultStoreUri : opts.db_uri);
  store->ensure_schema();
  const auto bundle = load_bundle_for(opts);
  const Catalog& catalog = bundle->catalog();
  options.api.rules = bundle->shared_rules();
  // Exports (POST /v1/resolve?format=) need the engine vocabulary; a catalogue
  // without one still serves everything else.
  options.api.vocabulary = bundle->engine_vocabulary();
  if (!options.api.vocabulary)
    spdlog::warn("No {}: POST /v1/resolve?format=... will answer 503.", EngineVocabulary::file_in(bundle->dir()).string());

  http::Server server(*store, catalog, options);
  if (!server.loopback_only())
    spdlog::warn("Listening on {}, which is not a loopback address: other machines can reach this server.",
                 args.listen);
  if (!options.api.tokens || options.api.tokens->empty())
    spdlog::info("No --tokens-file: the API is read-only (every write answers 401). To write, create a token with "
                 "`inferconf token new NAME` and put the line it prints in a file (e.g. data/tokens.txt), then restart "
                 "with `inferconf serve --tokens-file data/tokens.txt` and send \"Authorization: Bearer TOKEN\".");
  spdlog::info("inferconf serving {} configurations from {} (loaded in {} ms), {} threads, at most {} connections",
               server.startup().configurations, store->describe(), server.startup().load_time.count(),
               options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency()),
               server.startup().max_connections);
  // One plain line, for people and for scripts waiting for the port, then an
  // example that answers something real: a stored configuration when there is
  // one, else a catalogue entry.
  std::string example = "/v1/base-models/sdxl";
  const auto first = store->list({}, 1, std::nullopt);
  if (!first.items.empty())
    example = fmt::format("/v1/models/{}/configurations/{}", first.items.front().model_id,
                          first.items.front().configuration_type);
  std::cerr << "listening on " << server.url() << '\n' << "try: curl -s " << server.url() << example << std::endl;
  opts.out->flush();
  server.run();
  spdlog::info("Stopped; the store is closed.");
}

}  // namespace

void register_serve_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve the HTTP API (docs/HTTP_API.md) until SIGTERM/SIGINT; request logs go to standard output");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 = any free port)");
  cmd->add_option("--threads", args->threads, "Network threads (default: one per core)")->check(CLI::Range(0u, 1024u));
  cmd->add_option("--tokens-file", args->tokens_file,
                  "File of accepted bearer tokens, one NAME:SHA256-HEX[:ro] per line (see `inferconf token new`); "
                  "without it, writes are refused");
  cmd->add_flag("--auth-reads", args->auth_reads, "Reads need a token too (operations routes stay open)");
  cmd->add_flag("--require-if-match", args->require_if_match, "PATCH and DELETE without If-Match answer 428");
  cmd->add_option("--refresh-interval", args->refresh_interval,
                  "Seconds between checks for writes made by other processes (default 1)");
  cmd->add_option("--request-timeout", args->request_timeout,
                  "Seconds a client has to send a whole request, head and body (default 15)");
  cmd->add_option("--header-timeout", args->header_timeout,
                  "Seconds a client has to send the request line and headers, and idle keep-alive limit (default 10)");
  cmd->add_option("--write-timeout", args->write_timeout, "Seconds an answer may take to be sent (default 15)");
  cmd->add_option("--max-connections", args->max_connections,
                  "Open connections at most; more are answered 503 with Retry-After (default: the descriptor "
                  "limit minus a reserve, see `ulimit -n`)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  cmd->add_option("--max-requests-per-connection", args->max_requests_per_connection,
                  "Requests answered on one keep-alive connection before it is closed (default 1000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  cmd->add_option("--allowed-host", args->allowed_hosts,
                  "A Host name the server answers (repeatable; * for any). Default: any name on a non-loopback "
                  "address, only localhost/127.0.0.1/[::1] on a loopback address");
  cmd->add_option("--shutdown-timeout", args->shutdown_timeout,
                  "Seconds in-flight requests get to finish on SIGTERM (default 10)");
  cmd->add_option("--log-format", args->log_format, "Request log: text (default), json or none");
  cmd->callback([&opts, args] { serve(opts, *args); });
}

}  // namespace inferconf::cli
