// Bearer tokens for the HTTP API.
//
// The tokens file (--tokens-file) has one token per line:
//
//   NAME:SHA256-HEX          a token that may read and write
//   NAME:SHA256-HEX:ro       a read-only token (writes answer 403)
//   NAME:SHA256-HEX:rw       the same as no marker
//
// NAME ([A-Za-z0-9._@-], at most 64) is what request logs show; the file
// holds only the SHA-256 of each token, never the token. Blank lines and
// lines starting with '#' are ignored. `inferconf token new NAME` prints a
// fresh token and its line.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace inferconf::http {

struct TokenEntry {
  std::string name;
  std::array<unsigned char, 32> sha256{};
  bool read_only = false;
};

class TokenTable {
 public:
  // Throws Error(kInvalid) naming the file, the line and what is wrong (a
  // line that is not a hash is never quoted whole: it may be a token; the
  // same hash under two names is refused), or Error(kUnavailable) when the
  // file cannot be read. A file other users may read is loaded, with a
  // warning in warnings().
  static TokenTable load(const std::filesystem::path& file);
  static TokenTable parse(std::string_view text, std::string_view origin);

  // The entry of this token, or nullptr. Hashes the token and compares the
  // hash with every entry with CRYPTO_memcmp, so the time taken does not
  // depend on how much of a hash matched or on which entry matched.
  const TokenEntry* find(std::string_view token) const;
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  // What load() found worth telling the operator (a file others can read).
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::vector<TokenEntry> entries_;
  std::vector<std::string> warnings_;
};

// A new random token: "icf_" and 43 base64url characters (256 bits).
std::string new_token();
// Lower-case hex SHA-256 of text.
std::string sha256_hex(std::string_view text);
// The tokens-file line for a token.
std::string token_file_line(std::string_view name, std::string_view token, bool read_only);
// Whether name is allowed as a token name.
bool valid_token_name(std::string_view name);

}  // namespace inferconf::http
