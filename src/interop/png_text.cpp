// A bounded reader of PNG text chunks. Every declared length is compared with
// the bytes that remain before it is used, every CRC is checked (zlib's
// crc32), and compressed text is inflated into a buffer that may not grow past
// the limit, so a hostile file costs at most its own size plus the limit.
#include <array>
#include <cctype>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <zlib.h>

#include "inferconf/error.hpp"
#include "inferconf/interop/png_text.hpp"

namespace inferconf {

namespace {

constexpr std::array<unsigned char, 8> kSignature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr std::uint32_t kMaxChunkLength = 0x7fffffffu;  // PNG spec: lengths are at most 2^31-1

std::uint32_t be32(std::string_view s, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

std::string printable(std::string_view type) {
  std::string out;
  for (unsigned char c : type) out += std::isprint(c) ? static_cast<char>(c) : '?';
  return out;
}

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

class ChunkError {
 public:
  ChunkError(std::string_view what, std::string_view type, std::size_t offset)
      : prefix_(fmt::format("{}: the {} chunk at byte {}", what, printable(type), offset)) {}
  [[noreturn]] void fail(std::string_view problem) const { throw invalid(fmt::format("{} {}", prefix_, problem)); }

 private:
  std::string prefix_;
};

std::string inflate_bounded(std::string_view data, std::size_t limit, const ChunkError& err) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) err.fail("could not be decompressed: zlib could not start.");
  std::string out;
  std::array<char, 16384> buf;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_BUF_ERROR) {
      inflateEnd(&zs);
      err.fail("holds compressed text that ends before its end marker.");
    }
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      err.fail(fmt::format("holds corrupt compressed text (zlib: {}).", zs.msg ? zs.msg : "data error"));
    }
    const std::size_t produced = buf.size() - zs.avail_out;
    if (out.size() + produced > limit) {
      inflateEnd(&zs);
      err.fail(fmt::format("decompresses to more than {} bytes, the limit for one text chunk.", limit));
    }
    out.append(buf.data(), produced);
    if (rc == Z_OK && produced == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      err.fail("holds compressed text that ends before its end marker.");
    }
  }
  inflateEnd(&zs);
  return out;
}

// keyword NUL rest; the keyword is 1-79 bytes (PNG spec).
std::pair<std::string, std::string_view> split_keyword(std::string_view data, const ChunkError& err) {
  const auto nul = data.find('\0');
  if (nul == std::string_view::npos) err.fail("has no NUL byte after its keyword.");
  if (nul == 0 || nul > 79) err.fail(fmt::format("has a keyword of {} bytes; PNG allows 1 to 79.", nul));
  return {latin1_to_utf8(data.substr(0, nul)), data.substr(nul + 1)};
}

PngTextChunk read_text(std::string_view type, std::string_view data, const PngLimits& limits, const ChunkError& err) {
  PngTextChunk c;
  c.type = std::string(type);
  auto [keyword, rest] = split_keyword(data, err);
  c.keyword = std::move(keyword);
  if (type == "tEXt") {
    if (rest.size() > limits.max_text_bytes)
      err.fail(fmt::format("holds {} bytes of text, more than the limit of {}.", rest.size(), limits.max_text_bytes));
    c.text = latin1_to_utf8(rest);
  } else if (type == "zTXt") {
    if (rest.empty()) err.fail("has no compression method byte.");
    if (rest[0] != 0) err.fail(fmt::format("names compression method {}; PNG defines only 0 (zlib).", int(rest[0])));
    c.text = latin1_to_utf8(inflate_bounded(rest.substr(1), limits.max_text_bytes, err));
  } else {  // iTXt: flag, method, language NUL, translated keyword NUL, UTF-8 text
    if (rest.size() < 2) err.fail("is too short for its compression flag and method.");
    const auto flag = static_cast<unsigned char>(rest[0]), method = static_cast<unsigned char>(rest[1]);
    if (flag > 1) err.fail(fmt::format("has compression flag {}; PNG allows 0 or 1.", int(flag)));
    rest.remove_prefix(2);
    for (const char* part : {"language tag", "translated keyword"}) {
      const auto nul = rest.find('\0');
      if (nul == std::string_view::npos) err.fail(fmt::format("has no NUL byte after its {}.", part));
      rest.remove_prefix(nul + 1);
    }
    if (flag == 1) {
      if (method != 0) err.fail(fmt::format("names compression method {}; PNG defines only 0 (zlib).", int(method)));
      c.text = inflate_bounded(rest, limits.max_text_bytes, err);
    } else {
      if (rest.size() > limits.max_text_bytes)
        err.fail(fmt::format("holds {} bytes of text, more than the limit of {}.", rest.size(), limits.max_text_bytes));
      c.text = std::string(rest);
    }
  }
  return c;
}

}  // namespace

bool looks_like_png(std::string_view bytes) {
  return bytes.size() >= kSignature.size() && std::memcmp(bytes.data(), kSignature.data(), kSignature.size()) == 0;
}

std::vector<PngTextChunk> read_png_text_chunks(std::string_view bytes, std::string_view what, const PngLimits& limits) {
  if (bytes.size() > limits.max_file_bytes)
    throw invalid(fmt::format("{} is {} bytes, more than the {} bytes inferconf reads from a PNG.", what, bytes.size(),
                              limits.max_file_bytes));
  if (!looks_like_png(bytes))
    throw invalid(fmt::format("{} is not a PNG file: it does not start with the 8-byte PNG signature.", what));
  std::vector<PngTextChunk> out;
  std::size_t pos = kSignature.size();
  for (std::size_t index = 0;; ++index) {
    if (index >= limits.max_chunks)
      throw invalid(fmt::format("{} has more than {} chunks; inferconf stops reading there.", what, limits.max_chunks));
    const std::size_t remaining = bytes.size() - pos;
    if (remaining == 0)
      throw invalid(fmt::format("{} ends at byte {} without an IEND chunk: the file is truncated.", what, pos));
    if (remaining < 12)
      throw invalid(fmt::format("{} is truncated: a chunk starts at byte {} but only {} bytes remain (a chunk needs at "
                                "least 12).", what, pos, remaining));
    const std::uint32_t length = be32(bytes, pos);
    const auto type = bytes.substr(pos + 4, 4);
    const ChunkError err(what, type, pos);
    for (unsigned char c : type)
      if (!std::isalpha(c)) err.fail("has a type that is not four ASCII letters: the file is corrupt.");
    if (index == 0 && type != "IHDR") err.fail("comes first, but a PNG must start with IHDR.");
    if (length > kMaxChunkLength)
      err.fail(fmt::format("declares a length of {} bytes, more than the PNG maximum of 2^31-1.", length));
    if (std::size_t{length} > remaining - 12)
      err.fail(fmt::format("declares {} bytes of data, but only {} bytes remain: the file is truncated or the length "
                           "is corrupt.", length, remaining - 12));
    const auto data = bytes.substr(pos + 8, length);
    const std::uint32_t stored_crc = be32(bytes, pos + 8 + length);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + pos + 4), static_cast<uInt>(length + 4));
    if (crc != stored_crc)
      err.fail(fmt::format("has CRC {:08x}, but its bytes give {:08x}: the file is corrupt.", stored_crc,
                           static_cast<std::uint32_t>(crc)));
    if (type == "tEXt" || type == "zTXt" || type == "iTXt") out.push_back(read_text(type, data, limits, err));
    pos += 12 + std::size_t{length};
    if (type == "IEND") break;
  }
  return out;
}

std::vector<PngTextChunk> read_png_text_chunks(const std::filesystem::path& file, const PngLimits& limits) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw invalid(fmt::format("Cannot read {}: the file does not exist or is not readable.", file.string()));
  std::string bytes;
  std::array<char, 65536> buf;
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    bytes.append(buf.data(), static_cast<std::size_t>(in.gcount()));
    // Stop reading a huge file as soon as it passes the limit.
    if (bytes.size() > limits.max_file_bytes)
      throw invalid(fmt::format("{} is more than the {} bytes inferconf reads from a PNG.", file.string(),
                                limits.max_file_bytes));
  }
  if (in.bad()) throw invalid(fmt::format("Cannot read {}: an I/O error occurred.", file.string()));
  return read_png_text_chunks(bytes, file.string(), limits);
}

}  // namespace inferconf
