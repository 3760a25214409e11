// `inferconf serve`: the HTTP API over the store (src/http, docs/HTTP_API.md).
#include <CLI/CLI.hpp>

#include "cli/cli.hpp"
#include "inferconf/http.hpp"

namespace inferconf::cli {

void register_serve_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand(
      "serve", "Serve the HTTP API (docs/HTTP_API.md) until SIGTERM/SIGINT; request logs go to standard output");
  auto args = std::make_shared<http::ServeSettings>();
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
  cmd->callback([&opts, args] {
    http::ServeSettings settings = *args;
    settings.db_uri = opts.db_uri;
    settings.catalog_dir = opts.catalog_dir;
    http::serve(settings, *opts.out);
  });
}

}  // namespace inferconf::cli
