// What several resource handlers check the same way: keys from the path or
// query, configuration types, JSON bodies, lists of documents.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api/response.hpp"
#include "http/index/doc.hpp"
#include "inferconf/catalog.hpp"

namespace inferconf::http {

// Throws Error(kInvalid) naming `field` unless the key is non-empty and
// bounded (kMaxRequestKeyBytes), so a look-up never hashes megabytes.
void check_key(std::string_view field, const std::string& value);
// Throws Error(kInvalid) naming `field` and the known types unless the
// catalogue has this configuration type.
void check_type(const Catalog& catalog, const std::string& type, std::string_view field);
// A page size from the query: an integer from 1 to `max`. Throws
// Error(kInvalid) naming "limit", the value and the range (and the default).
std::size_t parse_limit(const std::string& text, std::size_t max, std::size_t default_limit);
// The 400 answer to a path {id} that is not a UUID.
Response not_a_uuid(const std::string& id);
// The body parsed as JSON, or the 400 answer (malformed JSON and bad UTF-8
// are the client's mistake, not a 422).
std::variant<nlohmann::json, Response> read_json(const std::string& body);
// Appends {"items":[...] of the documents' pre-serialised bodies (without
// the closing brace, so a page can add its cursor).
void append_items(std::string& out, const std::vector<DocRef>& items);

}  // namespace inferconf::http
