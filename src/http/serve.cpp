// The entry points of include/inferconf/http.hpp: `inferconf serve` and
// `inferconf token new`, on the server and the token table of this layer.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "http/transport/server.hpp"
#include "http/api/tokens.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/catalog_bundle.hpp"
#include "inferconf/error.hpp"
#include "inferconf/hardware.hpp"
#include "inferconf/http.hpp"
#include "inferconf/interop/engine_vocabulary.hpp"
#include "inferconf/store.hpp"

namespace inferconf::http {

namespace {

std::chrono::milliseconds seconds_option(double seconds, std::string_view name, double min, double max) {
  if (!std::isfinite(seconds) || seconds < min || seconds > max)
    throw invalid(fmt::format("{} {} is out of range; give seconds from {} to {}.", name, seconds, min, max),
                  {{std::string(name), fmt::format("is {}; allowed: {} to {}.", seconds, min, max)}});
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

ServerOptions server_options(const ServeSettings& args) {
  ServerOptions options;
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
    options.log_format = LogFormat::kText;
  else if (args.log_format == "json")
    options.log_format = LogFormat::kJson;
  else if (args.log_format == "none")
    options.log_format = LogFormat::kNone;
  else
    throw invalid(fmt::format("--log-format \"{}\" is not known; use text, json or none.", args.log_format),
                  {{"--log-format", "allowed: text, json, none."}});
  if (!args.tokens_file.empty()) {
    options.api.tokens = std::make_shared<const TokenTable>(TokenTable::load(args.tokens_file));
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
  return options;
}

}  // namespace

void serve(const ServeSettings& args, std::ostream& out) {
  // Lifecycle messages go to standard error; standard output carries the request log.
  auto logger = spdlog::stderr_color_mt("inferconf-serve");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  ServerOptions options = server_options(args);

  // The server answers reads from its own index, so SQLite's page cache only
  // serves writes and refreshes. Each pooled connection may cache 64 MiB, and
  // loading the index reads the whole file through one of them: without a
  // bound a server of 200 000 configurations keeps ~50 MB of pages it never
  // reads again. The soft limit makes SQLite recycle pages instead.
  set_sqlite_soft_heap_limit(16LL * 1024 * 1024);
  auto store = open_store(args.db_uri);
  store->ensure_schema();
  const auto bundle =
      CatalogBundle::load(args.catalog_dir.empty() ? CatalogBundle::default_dir() : args.catalog_dir);
  const Catalog& catalog = bundle->catalog();
  options.api.rules = bundle->shared_rules();
  // Exports (POST /v1/resolve?format=) need the engine vocabulary; a catalogue
  // without one still serves everything else.
  options.api.vocabulary = bundle->engine_vocabulary();
  // hardware.json is read (and checked) now, so a broken one stops the start
  // rather than the first request that names a profile.
  options.api.hardware = bundle->hardware();
  if (!options.api.hardware)
    spdlog::warn("No {}: POST /v1/resolve with \"hardware\" will answer 503.",
                 HardwareCatalog::file_in(bundle->dir()).string());
  if (!options.api.vocabulary)
    spdlog::warn("No {}: POST /v1/resolve?format=... will answer 503.", EngineVocabulary::file_in(bundle->dir()).string());

  Server server(*store, catalog, options);
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
  out.flush();
  server.run();
  spdlog::info("Stopped; the store is closed.");
}

IssuedToken issue_token(std::string_view name, bool read_only) {
  if (!valid_token_name(name))
    throw invalid(fmt::format("The token name \"{}\" is not allowed; use 1 to 64 of A-Z a-z 0-9 . _ @ -.", name),
                  {{"NAME", fmt::format("is \"{}\".", name)}});
  IssuedToken issued;
  issued.token = new_token();
  issued.tokens_file_line = token_file_line(name, issued.token, read_only);
  return issued;
}

}  // namespace inferconf::http
