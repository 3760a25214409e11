// PNG text chunks (tEXt, zTXt, iTXt), where images carry their infotext
// ("parameters") and ComfyUI graph ("prompt"), read with every length, CRC and
// size checked before use.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace inferconf {

struct PngTextChunk {
  std::string type;     // tEXt | zTXt | iTXt
  std::string keyword;  // e.g. "parameters", "prompt"
  std::string text;     // UTF-8 (tEXt/zTXt Latin-1 converted)
};

struct PngLimits {
  std::size_t max_file_bytes = 256u << 20;
  std::size_t max_text_bytes = 8u << 20;  // one text chunk, after decompression
  std::size_t max_chunks = 100000;
};

// Reads every text chunk of a PNG. Lengths are checked against the bytes that
// remain before anything is read, every chunk's CRC is verified, compressed
// text is inflated up to the limit. Throws Error(kInvalid) naming `what`, the
// chunk and its offset for a bad signature, a truncated or oversized chunk, a
// CRC mismatch, a malformed text chunk or a missing IEND.
std::vector<PngTextChunk> read_png_text_chunks(std::string_view bytes, std::string_view what = "the PNG data",
                                               const PngLimits& limits = {});
std::vector<PngTextChunk> read_png_text_chunks(const std::filesystem::path& file, const PngLimits& limits = {});
bool looks_like_png(std::string_view bytes);

}  // namespace inferconf
