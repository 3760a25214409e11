// Finding and reading the catalogue files.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "catalog/catalog_io.hpp"
#include "inferconf/catalog.hpp"

#ifndef INFERCONF_INSTALLED_CATALOG_DIR
#define INFERCONF_INSTALLED_CATALOG_DIR "/usr/local/share/inferconf/catalog"
#endif

namespace inferconf {

namespace fs = std::filesystem;

namespace detail {

std::string read_catalogue_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw unavailable(fmt::format("Cannot read the catalogue file {}: it is a directory.", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw unavailable(fmt::format("Cannot read the catalogue file {}: {}. Point INFERCONF_CATALOG (or --catalog) at "
                                  "the directory holding base_models.json and vocabulary.json.",
                                  path.string(), std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw unavailable(fmt::format("Cannot read the catalogue file {}: read error.", path.string()));
  return text.str();
}

}  // namespace detail

Catalog Catalog::load(const fs::path& dir) {
  const auto base_models_path = dir / "base_models.json";
  const auto vocabulary_path = dir / "vocabulary.json";
  const auto base_models_text = detail::read_catalogue_file(base_models_path);
  const auto vocabulary_text = detail::read_catalogue_file(vocabulary_path);
  // Both files are parsed before either is reported, so one run shows both.
  std::vector<FieldError> errors;
  auto parse = [&](const std::string& text, const fs::path& path) {
    try {
      return parse_json_text(text, path.string());
    } catch (const Error& e) {
      errors.push_back({path.string(), e.what()});
      return nlohmann::json();
    }
  };
  auto base_models = parse(base_models_text, base_models_path);
  auto vocabulary = parse(vocabulary_text, vocabulary_path);
  if (!errors.empty()) {
    auto message = fmt::format("The catalogue in {} is not valid JSON:", dir.string());
    for (const auto& e : errors) message += fmt::format("\n- {}", e.message);
    throw invalid(std::move(message), std::move(errors));
  }
  return from_json(base_models, vocabulary, dir.string());
}

fs::path Catalog::default_dir() {
  if (const char* env = std::getenv("INFERCONF_CATALOG"); env && *env) return env;
  std::error_code ec;
  const fs::path source = INFERCONF_SOURCE_DIR "/catalog";
  if (fs::exists(source / "base_models.json", ec)) return source;
  // An installed binary moved elsewhere with its prefix: <prefix>/bin/inferconf
  // next to <prefix>/share/inferconf/catalog.
  const fs::path installed = INFERCONF_INSTALLED_CATALOG_DIR;
  if (fs::exists(installed / "base_models.json", ec)) return installed;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto relocated = exe.parent_path().parent_path() / "share" / "inferconf" / "catalog";
    if (fs::exists(relocated / "base_models.json", ec)) return relocated;
  }
  return installed;
}

}  // namespace inferconf
