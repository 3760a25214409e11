// Shared by the catalogue tests: the real catalogue and the case files.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "inferconf/catalog.hpp"

namespace inferconf::testing {

inline std::filesystem::path source_catalog_dir() { return std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog"; }
inline std::filesystem::path cases_dir() { return std::filesystem::path(INFERCONF_SOURCE_DIR) / "tests/catalog/cases"; }

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(read_text(path)); }

// The catalogue shipped in the repository, loaded once through Catalog::load.
inline const Catalog& shipped_catalog() {
  static const Catalog catalog = Catalog::load(source_catalog_dir());
  return catalog;
}

inline std::string describe(const ValidationReport& r) {
  std::string s;
  for (const auto& e : r.errors) s += "\n  " + e.field + " " + e.message;
  return s;
}

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("inferconf-catalog-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(path_ / name, std::ios::binary);
    out << text;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace inferconf::testing
