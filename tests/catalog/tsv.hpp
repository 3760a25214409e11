// Reads the tab-separated case files: '#' starts a comment line.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "catalog/catalog_test_support.hpp"

namespace inferconf::testing {

struct TsvRow {
  int line = 0;
  std::vector<std::string> cells;
};

inline std::vector<TsvRow> read_tsv(const std::filesystem::path& path) {
  std::vector<TsvRow> rows;
  std::istringstream in(read_text(path));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    TsvRow row{n, {}};
    std::string cell;
    std::istringstream cells(line);
    while (std::getline(cells, cell, '\t')) row.cells.push_back(cell);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace inferconf::testing
