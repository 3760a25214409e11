#include "populate/fingerprint_set.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>

namespace inferconf::populate {
namespace {

// std::hash of libstdc++ is a 64-bit Murmur variant: good enough as a
// fingerprint; the mixing below spreads it over the low bits used as index.
std::uint64_t fingerprint(std::string_view id) {
  std::uint64_t h = std::hash<std::string_view>{}(id);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

}  // namespace

std::size_t FingerprintSet::insert(std::string_view id, std::size_t where) {
  if ((size_ + 1) * 4 > keys_.size() * 3) grow();
  const std::uint64_t key = fingerprint(id);
  const std::size_t mask = keys_.size() - 1;
  for (std::size_t i = key & mask;; i = (i + 1) & mask) {
    if (keys_[i] == key) return where_[i];
    if (keys_[i] == 0) {
      keys_[i] = key;
      // Lines beyond 4 billion are clamped: only the message would be off.
      where_[i] = static_cast<std::uint32_t>(std::min<std::size_t>(where, UINT32_MAX));
      ++size_;
      return where;
    }
  }
}

void FingerprintSet::grow() {
  std::vector<std::uint64_t> old_keys = std::move(keys_);
  std::vector<std::uint32_t> old_where = std::move(where_);
  const std::size_t capacity = old_keys.empty() ? 1024 : old_keys.size() * 2;
  keys_.assign(capacity, 0);
  where_.assign(capacity, 0);
  const std::size_t mask = capacity - 1;
  for (std::size_t j = 0; j < old_keys.size(); ++j) {
    if (old_keys[j] == 0) continue;
    std::size_t i = old_keys[j] & mask;
    while (keys_[i] != 0) i = (i + 1) & mask;
    keys_[i] = old_keys[j];
    where_[i] = old_where[j];
  }
}

}  // namespace inferconf::populate
