// Writing safetensors headers: the demo lays out its checkpoint files with
// write_sparse_safetensors (real headers over a sparse hole), and the tests
// and benchmarks build their inputs with encode_header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "inferconf/detect/safetensors.hpp"

namespace inferconf::detect {

// Writes the 8-byte length + header (padded with spaces to a multiple of 8)
// for `tensors`, whose data_offsets are assigned contiguously in order; the
// caller may then truncate() the file to 8 + N + data_size (a sparse hole).
struct TensorSpec {
  std::string name;
  Dtype dtype = Dtype::F16;
  std::vector<std::uint64_t> shape;
};
std::string encode_header(const std::vector<TensorSpec>& tensors,
                          const std::map<std::string, std::string>& metadata,
                          std::uint64_t* data_size = nullptr);
// Writes the header and extends the file to its full length without writing
// the data (the data region is a hole). Returns the file size.
std::uint64_t write_sparse_safetensors(const std::filesystem::path& file,
                                       const std::vector<TensorSpec>& tensors,
                                       const std::map<std::string, std::string>& metadata = {});

}  // namespace inferconf::detect
