// Chooses the store implementation a URI names.
#include <filesystem>

#include <fmt/format.h>

#include "inferconf/store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#if __has_include("store/mongo/mongo_store.hpp")
#include "store/mongo/mongo_store.hpp"
#define INFERCONF_HAVE_MONGO 1
#endif

namespace inferconf {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::unique_ptr<Store> open_store(std::string_view uri) {
  if (uri.empty()) uri = kDefaultStoreUri;
  if (uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
#ifdef INFERCONF_HAVE_MONGO
    return open_mongo_store(uri);
#else
    throw unavailable("This build of inferconf has no MongoDB support; use --db sqlite:PATH.");
#endif
  }
  std::string_view path = uri;
  if (uri.starts_with("sqlite://"))
    path = uri.substr(9);
  else if (uri.starts_with("sqlite:"))
    path = uri.substr(7);
  else if (uri.find("://") != std::string_view::npos ||
           !(ends_with(uri, ".db") || ends_with(uri, ".sqlite") || ends_with(uri, ".sqlite3")))
    throw invalid(fmt::format(
        "The store URI \"{}\" is not one inferconf knows; use sqlite:PATH (e.g. sqlite:data/inferconf.db) "
        "or mongodb://HOST[:PORT]/DATABASE.",
        uri));
  if (path.empty()) throw invalid("The store URI \"sqlite:\" names no file; use sqlite:PATH, e.g. sqlite:data/inferconf.db.");
  const std::filesystem::path file{std::string(path)};
  // The default location (data/) does not exist in a fresh checkout: create the
  // parent folder, as a user running `inferconf init` would expect.
  if (file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec && !std::filesystem::is_directory(file.parent_path()))
      throw unavailable(fmt::format("Cannot create the folder {} for the SQLite store: {}. Check the path and its permissions.",
                                    file.parent_path().string(), ec.message()));
  }
  return open_sqlite_store(file);
}

}  // namespace inferconf
