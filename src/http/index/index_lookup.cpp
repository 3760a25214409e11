#include "http/index/index_lookup.hpp"

#include <unordered_map>

namespace inferconf::http {

namespace {

// Parsing a document back costs more than the rest of a resolution, and the
// same models are resolved over and over: each thread keeps the parsed form
// of the documents it used last. Holding the DocRef keeps the pointer key
// unique; a changed configuration is a new Doc, so entries never go stale.
// 4096 entries (a few MB per thread) hold the quality and speed documents of
// 2048 models; with 1024, a rotation over 1000 models missed most of the time.
const InferenceConfiguration& parsed(const DocRef& d) {
  struct Entry {
    DocRef doc;
    InferenceConfiguration configuration;
  };
  constexpr std::size_t kEntries = 4096;
  thread_local std::unordered_map<const Doc*, Entry> cache;
  if (auto it = cache.find(d.get()); it != cache.end()) return it->second.configuration;
  if (cache.size() >= kEntries) cache.clear();
  return cache.emplace(d.get(), Entry{d, d->configuration()}).first->second.configuration;
}

}  // namespace

std::optional<InferenceConfiguration> IndexLookup::find_by_model_and_type(std::string_view model_id,
                                                                          std::string_view type) const {
  if (DocRef d = index_.by_model_and_type(model_id, type)) return parsed(d);
  return std::nullopt;
}

}  // namespace inferconf::http
