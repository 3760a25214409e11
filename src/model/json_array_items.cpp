#include "model/json_array_items.hpp"

#include <fmt/format.h>

#include "inferconf/error.hpp"

namespace inferconf {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

JsonArrayItems::JsonArrayItems(std::istream& in, std::size_t max_item_bytes, std::size_t first_line)
    : in_(in), max_item_bytes_(max_item_bytes), line_(first_line) {
  skip_blanks();
  if (get() != '[')
    throw invalid(fmt::format("The file is not a JSON array: line {} does not start with '['; allowed: a JSON array "
                              "of records, or JSON Lines (one record per line).",
                              line_));
  skip_blanks();
  if (peek() == ']') {
    get();
    closed_ = true;
  }
}

int JsonArrayItems::peek() {
  if (position_ == buffer_.size()) {
    buffer_.resize(kChunkBytes);
    in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.resize(static_cast<std::size_t>(in_.gcount()));
    position_ = 0;
    if (buffer_.empty()) return -1;
  }
  return static_cast<unsigned char>(buffer_[position_]);
}

int JsonArrayItems::get() {
  const int c = peek();
  if (c < 0) return c;
  ++position_;
  if (c == '\n') ++line_;
  return c;
}

void JsonArrayItems::skip_blanks() {
  while (is_blank(peek())) get();
}

void JsonArrayItems::expect_only_blanks_after_array() {
  skip_blanks();
  if (peek() >= 0)
    throw invalid(fmt::format("The file has text after the end of its JSON array, on line {}; allowed: one array, "
                              "then nothing but blanks (the items before were read).",
                              line_));
}

std::optional<JsonArrayItems::Item> JsonArrayItems::next() {
  if (closed_) {
    if (!checked_end_) {
      checked_end_ = true;
      expect_only_blanks_after_array();
    }
    return std::nullopt;
  }
  Item item;
  item.index = index_++;
  skip_blanks();
  item.line = line_;
  item_.clear();
  int depth = 0;
  bool in_string = false, escaped = false;
  // Reads up to the comma or ']' that ends the element at depth 0; brackets
  // and quotes inside strings do not count.
  for (;;) {
    const int c = get();
    if (c < 0)
      throw invalid(fmt::format("The file ends inside its JSON array, in item {} (which starts on line {}): the "
                                "closing ']' is missing (the items before were read).",
                                item.index, item.line));
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    } else if (depth == 0 && (c == ',' || c == ']')) {
      closed_ = c == ']';
      break;
    }
    if (item_.size() < max_item_bytes_)
      item_.push_back(static_cast<char>(c));
    else
      item.too_large = true;
  }
  while (!item_.empty() && is_blank(item_.back())) item_.pop_back();
  item.text = item_;
  return item;
}

}  // namespace inferconf
