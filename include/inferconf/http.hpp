// The HTTP service as the command line starts it: `inferconf serve` and
// `inferconf token new`. Everything else of the HTTP layer (server, sessions,
// routes, index) is private to src/http/.
#pragma once

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace inferconf::http {

// What `inferconf serve` was asked for, as given (seconds as numbers, the log
// format by name); serve() checks each value and names the option that is wrong.
struct ServeSettings {
  std::string db_uri;                 // empty: kDefaultStoreUri
  std::filesystem::path catalog_dir;  // empty: Catalog::default_dir()
  std::string listen = "127.0.0.1:8080";
  unsigned threads = 0;  // 0: one per core
  std::string tokens_file;
  bool auth_reads = false;
  bool require_if_match = false;
  double refresh_interval = 1.0;
  double request_timeout = 15.0;
  double header_timeout = 10.0;
  double write_timeout = 15.0;
  std::size_t max_connections = 0;  // 0: sized below the descriptor limit
  std::size_t max_requests_per_connection = 1000;
  std::vector<std::string> allowed_hosts;
  double shutdown_timeout = 10.0;
  std::string log_format = "text";  // text, json or none
};

// Opens the store (creating its schema), loads the catalogue, binds the
// address and serves until SIGINT/SIGTERM, then shuts down gracefully.
// Lifecycle messages go to standard error through spdlog, the request log to
// standard output; `out` is flushed once the address is printed. Throws
// Error(kInvalid) naming the option for a bad setting (a timeout out of range,
// an unknown log format, --auth-reads without tokens), and the store's and
// the server's errors (kUnavailable when the address cannot be bound).
void serve(const ServeSettings& settings, std::ostream& out);

// A fresh bearer token for the API and the tokens-file line that accepts it
// (the file stores only its SHA-256).
struct IssuedToken {
  std::string token;
  std::string tokens_file_line;
};
// Throws Error(kInvalid) naming NAME when name is not 1 to 64 of
// A-Z a-z 0-9 . _ @ -.
IssuedToken issue_token(std::string_view name, bool read_only);

}  // namespace inferconf::http
