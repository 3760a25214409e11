// Helpers for the detection tests: a scratch directory and the case-file readers.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace inferconf::detect::testing {

inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::path(INFERCONF_BINARY_DIR) / "detect-scratch" / (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::filesystem::path case_file(const std::string& name) {
  return std::filesystem::path(INFERCONF_SOURCE_DIR) / "tests" / "detect" / "cases" / name;
}

// Reads a TSV case file: skips blank lines and lines starting with '#'.
inline std::vector<std::vector<std::string>> read_tsv(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::size_t start = 0;
    for (;;) {
      auto tab = line.find('\t', start);
      cols.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    rows.push_back(std::move(cols));
  }
  return rows;
}

// C escapes (\xNN \t \n \\) and $(REPEAT n text).
inline std::string expand_bytes(const std::string& s) {
  std::string macro_out;
  for (std::size_t i = 0; i < s.size();) {
    if (s.compare(i, 9, "$(REPEAT ") == 0) {
      auto close = s.find(')', i + 9);
      auto space = s.find(' ', i + 9);
      const auto n = std::stoul(s.substr(i + 9, space - i - 9));
      const auto text = s.substr(space + 1, close - space - 1);
      for (std::size_t k = 0; k < n; ++k) macro_out += text;
      i = close + 1;
    } else {
      macro_out += s[i++];
    }
  }
  std::string out;
  for (std::size_t i = 0; i < macro_out.size(); ++i) {
    if (macro_out[i] != '\\' || i + 1 >= macro_out.size()) {
      out += macro_out[i];
      continue;
    }
    const char e = macro_out[++i];
    if (e == 'x') {
      out += static_cast<char>(std::stoi(macro_out.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (e == 't') {
      out += '\t';
    } else if (e == 'n') {
      out += '\n';
    } else {
      out += e;  // \\ and anything else: the character itself
    }
  }
  return out;
}

}  // namespace inferconf::detect::testing
