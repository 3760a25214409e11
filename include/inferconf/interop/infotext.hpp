// A1111 "infotext": the parameters text AUTOMATIC1111/Forge write into an
// image, read with A1111's own grammar and written in its layout.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inferconf {

struct ParsedInfotext {
  std::string prompt;
  std::string negative_prompt;
  // The last line's pairs in order, keys as written; a WxH value is split into
  // "<key>-1" and "<key>-2" as A1111 does. Quoted values are JSON-decoded.
  std::vector<std::pair<std::string, std::string>> params;
  bool has_parameters = false;  // the last line held >= 3 pairs

  // The value of a key (trailing spaces of keys ignored), nullptr if absent.
  const std::string* find(std::string_view key) const;
};

// Parses infotext with A1111's grammar (modules/infotext_utils.py). Never
// throws; text that is not infotext becomes a prompt without parameters.
ParsedInfotext parse_infotext(std::string_view text);

// Writes A1111's layout: prompt, "Negative prompt: ..." when not empty, and the
// pairs joined with ", ", values JSON-quoted when they hold ',', ':' or a newline
// (or start with '"', so that parse_infotext reads every pair back).
std::string write_infotext(std::string_view prompt, std::string_view negative_prompt,
                           const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace inferconf
