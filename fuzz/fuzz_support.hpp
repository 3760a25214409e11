// What every JSON-document fuzz target asserts: a parser of outside input
// answers with a value or an inferconf::Error, nothing else. Any other
// exception (nlohmann's, std::out_of_range, a non-std one) is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "inferconf/error.hpp"

namespace inferconf::fuzz {

template <typename F>
void only_inferconf_errors(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    // Every user-visible error is a sentence: never empty.
    if (std::string(e.what()).empty()) __builtin_trap();
    for (const auto& fe : e.field_errors())
      if (fe.field.empty() && fe.message.empty()) __builtin_trap();
  } catch (...) {
    __builtin_trap();
  }
}

inline std::string text_of(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace inferconf::fuzz
