// The one policy for reading JSON text that comes from outside the program:
// HTTP bodies, files and standard input of the command line, registry exports
// (a JSON array or one JSON Lines line), the catalogue, vocabulary and
// detection-rules documents, values read from an infotext.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace inferconf {

struct JsonLimits {
  // Texts longer than this are refused before parsing. A registry export read
  // whole (a JSON array) passes a larger limit.
  std::size_t max_bytes = 16 * 1024 * 1024;
  // Objects and arrays nested deeper than this are refused (the parser and the
  // code that walks a document recurse).
  int max_depth = 64;
};

// Parses JSON text strictly, and only ever throws inferconf::Error(kInvalid).
//
// Refused, each with a message that names the place (the field path, such as
// "model_specific_params.width" or "$" for the whole document, and the line and
// column), the value as received (truncated) and what is allowed:
//   * text that is not JSON (RFC 8259), including invalid UTF-8;
//   * a UTF-8 byte-order mark;
//   * texts beyond limits.max_bytes, nesting beyond limits.max_depth;
//   * a number that does not fit: a float that overflows a double (1e400,
//     1.7976931348623159e308) or is not zero but would read as zero (1e-400),
//     an integer outside [-2^63, 2^64-1] (99999999999999999999999);
//   * negative zero (-0, -0.0): no parameter means it, and it compares equal to
//     0 while printing differently;
//   * NaN and Infinity, in any spelling;
//   * a lone UTF-16 surrogate in a \u escape, and U+0000 (raw or escaped) or
//     any other unescaped control character in a string;
//   * the same key twice in one object.
// `what` names the text in messages ("the request body", "Line 3", a path).
// The Error's field_errors holds one entry for the offending place.
nlohmann::json parse_json_text(std::string_view text, std::string_view what = "the document",
                               const JsonLimits& limits = {});

}  // namespace inferconf
