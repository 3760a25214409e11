// The opaque cursors the SQLite store hands out. Each carries a version tag so
// that a later format can tell its own cursors from these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace inferconf::sqlite {

// list(): the id of the last item of the previous page.
std::string encode_page_cursor(std::string_view last_id);
// Throws Error(kInvalid) for text that encode_page_cursor() did not make.
std::string decode_page_cursor(std::string_view cursor);

// changes_since(): the store's epoch (a cursor of another file is stale) and
// the last change-log sequence number seen.
struct ChangeCursor {
  std::string epoch;
  std::int64_t seq = 0;
};
std::string encode_change_cursor(const ChangeCursor& c);
// Throws Error(kInvalid) for text that encode_change_cursor() did not make.
ChangeCursor decode_change_cursor(std::string_view cursor);

}  // namespace inferconf::sqlite
