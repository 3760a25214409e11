// The strict safetensors header reader: the 8-byte length and the JSON
// header of a file, validated against the format (offsets, dtypes, shapes,
// limits) without reading the tensor data. Every violation is a ReadError
// with a stable rule id (docs/DETECTION.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferconf::detect {

// The reference reader's limit on the JSON header length.
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
// Maximum JSON nesting depth accepted inside the header (the top-level object
// is depth 1; a tensor entry is depth 2, its shape array depth 3).
inline constexpr int kMaxNestingDepth = 64;

enum class Dtype : std::uint8_t {
  BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
  I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
};
std::string_view to_string(Dtype d) noexcept;      // "F8_E4M3"...
std::optional<Dtype> parse_dtype(std::string_view s) noexcept;
unsigned dtype_bits(Dtype d) noexcept;              // F4 = 4, F6_* = 6, BOOL/U8 = 8, F32 = 32...
bool is_fp8(Dtype d) noexcept;

// A tensor's shape: a read-only view of its dimensions, which live in the
// storage of the SafetensorsHeader that holds the tensor (no allocation per
// tensor). Compares equal to a std::vector of the same dimensions.
class Shape {
 public:
  using value_type = std::uint64_t;
  using iterator = const std::uint64_t*;
  using const_iterator = const std::uint64_t*;
  Shape() = default;
  Shape(const std::uint64_t* dims, std::size_t rank) noexcept : dims_(dims), rank_(rank) {}
  const std::uint64_t* begin() const noexcept { return dims_; }
  const std::uint64_t* end() const noexcept { return dims_ + rank_; }
  const std::uint64_t* data() const noexcept { return dims_; }
  std::size_t size() const noexcept { return rank_; }
  bool empty() const noexcept { return rank_ == 0; }
  std::uint64_t operator[](std::size_t i) const noexcept { return dims_[i]; }
  std::vector<std::uint64_t> to_vector() const { return {begin(), end()}; }
  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator==(const Shape& a, const std::vector<std::uint64_t>& b) noexcept {
    return a.rank_ == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  const std::uint64_t* dims_ = nullptr;
  std::size_t rank_ = 0;
};

// One tensor entry of a header. `name` and `shape` are views into the storage
// of the SafetensorsHeader they come from (shared by its copies): they stay
// valid as long as that header or a copy of it lives.
struct TensorInfo {
  std::string_view name;
  Dtype dtype = Dtype::F32;
  Shape shape;
  std::uint64_t begin = 0;  // data_offsets, relative to the data buffer
  std::uint64_t end = 0;
  std::uint64_t elements() const noexcept;  // product of shape (1 for rank 0)
};

struct SafetensorsHeader;
SafetensorsHeader parse_header(std::string_view bytes, std::uint64_t file_size, std::string_view file_label = "<memory>");

struct SafetensorsHeader {
  std::string file;                  // as given by the caller (for messages)
  std::uint64_t header_length = 0;   // N
  std::uint64_t file_size = 0;       // 8 + N + data
  std::vector<TensorInfo> tensors;   // in header order
  std::map<std::string, std::string> metadata;  // __metadata__
  bool has_metadata = false;

  // Exact lookup by full tensor name: O(1) through the hash index built by
  // parse_header(); a header assembled by hand is searched linearly.
  const TensorInfo* find(std::string_view name) const;

 private:
  friend struct HeaderAccess;
  // Owns the header bytes the tensor names point into, the shape dimensions
  // and the name index; shared (read-only) by copies of the header.
  std::shared_ptr<const void> storage_;
};

// One violation of the format. `rule` is a stable identifier (see
// docs/DETECTION.md for the list), `tensor` the tensor concerned (empty when
// the error is about the file or the header as a whole).
class ReadError : public std::runtime_error {
 public:
  ReadError(std::string file, std::string tensor, std::string rule, std::string message);
  const std::string& file() const noexcept { return file_; }
  const std::string& tensor() const noexcept { return tensor_; }
  const std::string& rule() const noexcept { return rule_; }
  const std::string& message() const noexcept { return message_; }
  nlohmann::json to_json() const;

 private:
  std::string file_, tensor_, rule_, message_;
};

// Reads and validates the header of one file: the 8-byte length and the N
// header bytes only (pread, bounded by the limit and the file size). Throws
// ReadError for every violation (including I/O errors, GGUF files, ...).
SafetensorsHeader read_header(const std::filesystem::path& file);

// Validates a header already in memory. `prefix` holds the first bytes of the
// file (at least the 8-byte length when present) followed by the header;
// `file_size` is the size of the whole file. Used by read_header and the fuzzer.
SafetensorsHeader parse_header(std::string_view bytes, std::uint64_t file_size,
                               std::string_view file_label);

}  // namespace inferconf::detect
