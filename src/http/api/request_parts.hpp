// Reading the parts of a request: path segments, query parameters, entity
// tags, media types and page cursors. Each returns nullopt (or throws
// Error(kInvalid) naming the part) for input it cannot read; none trusts its
// input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/index/configuration_index.hpp"

namespace inferconf::http {

// Whether the bytes are well-formed UTF-8 (no overlong forms, surrogates or
// code points beyond U+10FFFF).
bool valid_utf8(std::string_view s);
// Percent-decodes a path segment or query component ('+' is a space only in a
// query). nullopt for a bad escape, a NUL or bytes that are not UTF-8.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);
// Percent-encodes a path segment.
std::string percent_encode(std::string_view text);

// Query parameters in order. Throws Error(kInvalid) for a bad escape, an
// empty name, a repeated name or a name not in `allowed`.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query,
                                                             const std::vector<std::string_view>& allowed);

// The media type of a Content-Type value, lower-cased, without parameters;
// `charset` receives the charset parameter when there is one.
std::string media_type(std::string_view content_type, std::string* charset = nullptr);

// One entity tag of an If-Match / If-None-Match list.
struct EntityTag {
  bool weak = false;
  std::string opaque;  // between the quotes
};
// nullopt when the value is not `*` or a comma-separated list of entity
// tags; an empty vector means `*`.
std::optional<std::vector<EntityTag>> parse_entity_tags(std::string_view value);

// Page cursors: opaque to clients, base64url of a small JSON array naming the
// index path and the key after which the next page starts.
std::string encode_cursor(char path, const PageKey& key);
// Throws Error(kInvalid) (field "cursor") unless the text is a cursor of this
// path.
PageKey decode_cursor(std::string_view text, char path);

}  // namespace inferconf::http
