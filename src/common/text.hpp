// Text helpers every layer formats messages with: one definition each, so a
// list, a number or a name reads the same in a CLI message, an HTTP problem
// document and a catalogue load error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace inferconf::detail {

// Shortest decimal form: 1 -> "1", 7.5 -> "7.5", 0.875 -> "0.875".
std::string format_number(double v);

// The items with separator between them: {"a", "b"} -> "a, b".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// ASCII lower case; bytes outside A-Z (UTF-8 included) are kept as they are.
std::string lower(std::string_view s);

// s without leading and trailing ASCII white space.
std::string_view trim(std::string_view s);

}  // namespace inferconf::detail
