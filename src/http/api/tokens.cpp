#include "http/api/tokens.hpp"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "inferconf/error.hpp"

namespace inferconf::http {

namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), out.data(), &size, EVP_sha256(), nullptr) != 1 || size != out.size())
    throw Error(ErrorCode::kInternal, "OpenSSL could not compute a SHA-256 digest.");
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool valid_token_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' || c == '-')) return false;
  return true;
}

TokenTable TokenTable::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw unavailable(fmt::format("Cannot read the tokens file {}; check the path given to --tokens-file and its "
                                  "permissions.",
                                  file.string()));
  std::ostringstream text;
  text << in.rdbuf();
  TokenTable table = parse(text.str(), file.string());
  std::error_code ec;
  const auto perms = std::filesystem::status(file, ec).permissions();
  if (!ec && (perms & (std::filesystem::perms::others_read | std::filesystem::perms::others_write)) !=
                 std::filesystem::perms::none)
    table.warnings_.push_back(fmt::format("The tokens file {} can be read or written by every user of this "
                                          "machine; restrict it (chmod 600 {}).",
                                          file.string(), file.string()));
  return table;
}

TokenTable TokenTable::parse(std::string_view text, std::string_view origin) {
  TokenTable table;
  std::vector<FieldError> errors;
  std::set<std::string, std::less<>> names;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = fmt::format("{}:{}", origin, line_no);
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
      const auto colon = line.find(':', start);
      parts.push_back(line.substr(start, colon == std::string_view::npos ? colon : colon - start));
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    if (parts.size() < 2 || parts.size() > 3) {
      errors.push_back({where, "is not NAME:SHA256-HEX or NAME:SHA256-HEX:ro; `inferconf token new NAME` prints a "
                               "valid line."});
      continue;
    }
    TokenEntry entry;
    entry.name = std::string(parts[0]);
    if (!valid_token_name(entry.name))
      errors.push_back({where, fmt::format("has the name \"{}\"; a name is 1 to 64 of A-Z a-z 0-9 . _ @ -.",
                                           entry.name)});
    else if (!names.insert(entry.name).second)
      errors.push_back({where, fmt::format("repeats the name \"{}\"; each token needs its own name.", entry.name)});
    const std::string_view hex = parts[1];
    bool hex_ok = hex.size() == 64;
    for (std::size_t i = 0; hex_ok && i < 32; ++i) {
      const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) hex_ok = false;
      else entry.sha256[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    // What stands there may be a token pasted by mistake: it is never
    // echoed (the message goes to logs), only its length and first characters.
    if (!hex_ok)
      errors.push_back({where, fmt::format("has {} character(s) (starting \"{}...\") where the SHA-256 of the "
                                           "token belongs: 64 hexadecimal digits. If that is the token itself, "
                                           "replace the line with the output of `inferconf token new NAME`, "
                                           "and treat that token as disclosed.",
                                           hex.size(), hex.substr(0, 4))});
    else
      for (const auto& other : table.entries_)
        if (other.sha256 == entry.sha256)
          errors.push_back({where, fmt::format("repeats the token of \"{}\" under the name \"{}\"; one token "
                                               "has one name (and one access level): remove one of the lines.",
                                               other.name, entry.name)});
    if (parts.size() == 3) {
      if (parts[2] == "ro")
        entry.read_only = true;
      else if (parts[2] != "rw")
        errors.push_back({where, fmt::format("ends with \":{}\"; the only markers are \":ro\" (read-only) and "
                                             "\":rw\" (read-write, the default).",
                                             parts[2])});
    }
    table.entries_.push_back(std::move(entry));
  }
  if (!errors.empty()) {
    const std::size_t count = errors.size();  // before the list is moved into the error
    throw invalid(fmt::format("The tokens file {} has {} invalid line(s).", origin, count), std::move(errors));
  }
  return table;
}

const TokenEntry* TokenTable::find(std::string_view token) const {
  const auto digest = sha256(token);
  const TokenEntry* found = nullptr;
  for (const auto& e : entries_) {
    // No early exit: every entry is compared whatever matched.
    const bool equal = CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0;
    if (equal && !found) found = &e;
  }
  return found;
}

std::string new_token() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    throw Error(ErrorCode::kInternal, "OpenSSL could not produce random bytes for a token.");
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "icf_";
  unsigned bits = 0, acc = 0;
  for (unsigned char b : raw) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  OPENSSL_cleanse(raw, sizeof raw);
  return out;
}

std::string sha256_hex(std::string_view text) {
  const auto digest = sha256(text);
  std::string out;
  out.reserve(64);
  for (unsigned char b : digest) out += fmt::format("{:02x}", b);
  return out;
}

std::string token_file_line(std::string_view name, std::string_view token, bool read_only) {
  return fmt::format("{}:{}{}", name, sha256_hex(token), read_only ? ":ro" : "");
}

}  // namespace inferconf::http
