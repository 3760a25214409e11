// libFuzzer target: the safetensors header reader on arbitrary bytes (the
// input is the start of a file; its size is also the file size), then the
// classifier on every header that is accepted. Any crash, sanitizer report,
// leak or exception other than ReadError is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "inferconf/detect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace inferconf::detect;
  static const auto rules = load_rules(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto h = parse_header(bytes, size, "fuzz");
    // Invariants of an accepted header.
    std::uint64_t total = 0;
    for (const auto& t : h.tensors) {
      if (t.begin > t.end) __builtin_trap();
      total += t.end - t.begin;
      if (h.find(t.name) == nullptr) __builtin_trap();
    }
    if (8 + h.header_length + total != size) __builtin_trap();
    (void)classify(*rules, h, {"fuzz.safetensors"});
  } catch (const ReadError& e) {
    if (e.rule().empty() || e.message().empty()) __builtin_trap();
  }
  return 0;
}
