// Builds PNG files byte by byte (zlib for CRCs and compression), so tests can
// make valid files with text chunks and break them in precise ways.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <zlib.h>

namespace inferconf::testing {

inline std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

inline std::string png_chunk(const std::string& type, const std::string& data) {
  std::string body = type + data;
  const auto crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  return be32(static_cast<std::uint32_t>(data.size())) + body + be32(static_cast<std::uint32_t>(crc));
}

inline std::string zlib_compress(const std::string& data) {
  uLongf size = compressBound(static_cast<uLong>(data.size()));
  std::string out(size, '\0');
  compress(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(data.data()),
           static_cast<uLong>(data.size()));
  out.resize(size);
  return out;
}

inline const std::string kPngSignature("\x89PNG\r\n\x1a\n", 8);

inline std::string ihdr_chunk() {  // 1x1, 8-bit greyscale
  return png_chunk("IHDR", be32(1) + be32(1) + std::string("\x08\x00\x00\x00\x00", 5));
}
inline std::string idat_chunk() { return png_chunk("IDAT", zlib_compress(std::string("\x00\x80", 2))); }
inline std::string iend_chunk() { return png_chunk("IEND", ""); }

inline std::string text_chunk(const std::string& keyword, const std::string& latin1) {
  return png_chunk("tEXt", keyword + std::string(1, '\0') + latin1);
}
inline std::string ztxt_chunk(const std::string& keyword, const std::string& latin1) {
  return png_chunk("zTXt", keyword + std::string(1, '\0') + std::string(1, '\0') + zlib_compress(latin1));
}
inline std::string itxt_chunk(const std::string& keyword, const std::string& utf8, bool compressed) {
  std::string data = keyword + std::string(1, '\0') + std::string(1, compressed ? '\1' : '\0') + std::string(1, '\0') +
                     "en" + std::string(1, '\0') + std::string(1, '\0');
  return png_chunk("iTXt", data + (compressed ? zlib_compress(utf8) : utf8));
}

// A complete PNG with the given chunks between IHDR and IDAT.
inline std::string png_with(const std::vector<std::string>& chunks) {
  std::string out = kPngSignature + ihdr_chunk();
  for (const auto& c : chunks) out += c;
  return out + idat_chunk() + iend_chunk();
}

}  // namespace inferconf::testing
