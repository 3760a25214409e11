// Keeps the ConfigurationIndex coherent with the store.
//
// Every write the server makes goes through here: under one mutex it is
// written to the store and then to the index, so the next read sees it. The
// same mutex orders refresh(): it asks the store what changed since the last
// cursor (writes by other processes, and ours, which are applied again
// harmlessly) and applies that, or reloads everything when the store cannot
// tell. Holding the mutex across changes_since() means no write of ours can
// fall between the store's snapshot and the index update.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "http/configuration_index.hpp"
#include "inferconf/service.hpp"

namespace inferconf::http {

class IndexSync {
 public:
  IndexSync(Store& store, const Catalog& catalog) : store_(store), service_(store, catalog) {}

  // Reads every configuration into the index. Throws the store's errors.
  void load();
  // Applies the changes made since the last load()/refresh(); returns how many
  // documents changed (a reload counts every document).
  std::size_t refresh();

  WriteResult create(CreateDTO dto);
  WriteResult update(std::string_view id, UpdateDTO update, std::optional<std::int64_t> expected_revision);
  void remove(std::string_view id, std::optional<std::int64_t> expected_revision);

  const ConfigurationIndex& index() const { return index_; }
  Store& store() { return store_; }

 private:
  void reload_locked();

  Store& store_;
  ConfigurationService service_;
  ConfigurationIndex index_;
  std::mutex writes_;
  std::string cursor_;
};

}  // namespace inferconf::http
