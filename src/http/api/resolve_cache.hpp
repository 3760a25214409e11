// Answers of POST /v1/resolve by request body, per thread.
//
// An answer that came from a stored configuration is a function of the
// request bytes and of that document alone (the catalogue does not change
// while serving, and the registry is not consulted when a configuration is
// stored), so it stays valid exactly as long as the index holds the same Doc
// for (model_id, configuration_type). Each network and pool thread has its
// own cache: no lock, no sharing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/index/configuration_index.hpp"

namespace inferconf::http::resolve_cache {

// The answer this thread keeps for these request bytes, while the index
// still holds the document it was computed from; else nullptr (and a stale
// entry is dropped).
std::shared_ptr<const std::string> find(const std::string& body, const ConfigurationIndex& index);

// Whether an answer to these bytes is worth keeping: a small body this thread
// has seen before. Requests that never repeat (per-request overrides) then
// cost a hash, not a cache insert and eviction. Records the body as seen.
bool worth_keeping(std::string_view body);

// Keeps `answer` for these bytes, valid while the index holds `doc` for
// (model_id, type). Bounded: a full cache is emptied first.
void keep(const std::string& body, DocRef doc, std::string model_id, std::string type,
          std::shared_ptr<const std::string> answer);

}  // namespace inferconf::http::resolve_cache
