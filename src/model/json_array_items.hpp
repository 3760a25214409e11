// Reading the elements of one top-level JSON array from a stream, one at a
// time, as text: a registry export of any size is read in the memory of its
// largest element, and each element is then parsed on its own under the one
// JSON policy (parse_json_text), so a bad element is reported by its index
// while the others are read.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

namespace inferconf {

class JsonArrayItems {
 public:
  struct Item {
    std::string_view text;   // the element as written, without the commas around it
    std::size_t index = 0;   // 0-based position in the array
    std::size_t line = 0;    // 1-based line of the stream where the element starts
    bool too_large = false;  // longer than max_item_bytes: `text` is cut there
  };

  // `in` must be positioned at the array's '[' (leading blanks allowed), on
  // line `first_line` of the file. Throws Error(kInvalid) when it is not.
  JsonArrayItems(std::istream& in, std::size_t max_item_bytes, std::size_t first_line = 1);

  // The next element, or nullopt once the array's ']' has been read and
  // nothing but blanks follows it (checked by the call after the last
  // element, so that element is always handed out first). Does not check an element's own syntax
  // (the caller parses it); it only finds where the element ends, honouring
  // strings and nesting. Throws Error(kInvalid) without field errors when the
  // stream is not one array: it does not start with '[', it ends before the
  // closing ']', or text follows the ']' — each message names the line. The
  // view stays valid until the next call. Not thread-safe.
  std::optional<Item> next();

 private:
  int get();   // the next byte, or -1 at the end of the stream
  int peek();  // the next byte without consuming it, or -1
  void skip_blanks();
  void expect_only_blanks_after_array();

  std::istream& in_;
  std::size_t max_item_bytes_;
  std::string buffer_;  // bytes read from in_, not consumed yet
  std::size_t position_ = 0;
  std::string item_;
  std::size_t index_ = 0;
  std::size_t line_ = 1;
  bool closed_ = false;       // the array's ']' has been read
  bool checked_end_ = false;  // and what follows it
};

}  // namespace inferconf
