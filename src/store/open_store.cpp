// Chooses the store implementation a URI names. MongoDB support is part of
// every build (libmongoc is a required dependency), so there is no build
// without it to fall back from.
#include <sqlite3.h>

#include <fmt/format.h>

#include "inferconf/store.hpp"
#include "store/mongo/mongo_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace inferconf {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The file a SQLite URI names: "sqlite:PATH", "sqlite://PATH" or a bare PATH
// ending in .db, .sqlite or .sqlite3.
std::string_view sqlite_path(std::string_view uri) {
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
  return path;
}

bool is_mongodb_uri(std::string_view uri) { return uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://"); }

}  // namespace

std::optional<std::filesystem::path> sqlite_file_of(std::string_view uri) {
  if (uri.empty()) uri = kDefaultStoreUri;
  if (is_mongodb_uri(uri)) return std::nullopt;
  return std::filesystem::path(std::string(sqlite_path(uri)));
}

std::unique_ptr<Store> open_store(std::string_view uri, const StoreOptions& options) {
  if (uri.empty()) uri = kDefaultStoreUri;
  if (is_mongodb_uri(uri)) return open_mongo_store(uri, options.registry_fields);
  // open_sqlite_store creates the file's missing parent folders (data/ in a fresh checkout).
  return open_sqlite_store(*sqlite_file_of(uri));
}

void set_sqlite_soft_heap_limit(std::int64_t bytes) { sqlite3_soft_heap_limit64(bytes); }

}  // namespace inferconf
