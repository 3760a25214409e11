// The ids an import has seen, in 12 bytes each: a 64-bit fingerprint and the
// line it was first seen on. A set of the strings themselves would cost ~80
// bytes per id, which is what breaks the memory budget on large registries.
// Two distinct ids share a fingerprint with probability ~n²/2⁶⁵ (3e-8 for a
// million ids); such a pair would be reported as a repeated id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace inferconf::populate {

class FingerprintSet {
 public:
  // Records `id` as seen at `where` and returns `where`; when it was seen
  // before, returns where it was first seen instead (and records nothing).
  std::size_t insert(std::string_view id, std::size_t where);
  std::size_t size() const { return size_; }

 private:
  void grow();

  std::vector<std::uint64_t> keys_;   // 0 = empty slot
  std::vector<std::uint32_t> where_;  // parallel to keys_
  std::size_t size_ = 0;
};

}  // namespace inferconf::populate
