#pragma once

// Whether this test executable was built with AddressSanitizer. Its allocator keeps freed memory in quarantine,
// so resident memory says nothing about the program's own use, and its runtime needs file descriptors of its
// own, so a process with its descriptors exhausted cannot run its checks. Tests of resident-memory bounds and of
// descriptor exhaustion therefore assert those properties in the normal (Release) pass and skip them here.
namespace inferconf::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace inferconf::testing
