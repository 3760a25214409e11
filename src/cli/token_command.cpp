// `inferconf token new NAME [--read-only]`: a fresh bearer token for the HTTP
// API, and the tokens-file line that accepts it (the file stores only its
// SHA-256; see include/inferconf/http.hpp).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "inferconf/http.hpp"

namespace inferconf::cli {

void register_token_command(CLI::App& app, GlobalOptions& opts) {
  auto* token = app.add_subcommand("token", "Bearer tokens for `inferconf serve`");
  token->require_subcommand(1);
  auto* make = token->add_subcommand(
      "new", "Print a new random token and the line to add to the server's --tokens-file (which stores only the "
             "token's SHA-256)");
  auto name = std::make_shared<std::string>();
  auto read_only = std::make_shared<bool>(false);
  make->add_option("NAME", *name, "Name of the token, shown in request logs (A-Z a-z 0-9 . _ @ -)")->required();
  make->add_flag("--read-only", *read_only, "The token may read but not write (adds :ro to the line)");
  make->callback([&opts, name, read_only] {
    const auto issued = http::issue_token(*name, *read_only);
    const std::string& secret = issued.token;
    const std::string& line = issued.tokens_file_line;
    auto& out = *opts.out;
    if (opts.json) {
      out << nlohmann::json{{"name", *name}, {"token", secret}, {"read_only", *read_only}, {"tokens_file_line", line}}
                 .dump(2)
          << '\n';
      return;
    }
    out << "Token (shown once; give it to the client, which sends \"Authorization: Bearer <token>\"):\n"
        << "  " << secret << "\n"
        << "Line to add to the server's tokens file (--tokens-file):\n"
        << "  " << line << "\n";
  });
}

}  // namespace inferconf::cli
