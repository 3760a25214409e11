// Keeps the ConfigurationIndex coherent with the store.
//
// Every write the server makes goes through here: it is written to the
// store, then to the index, so the next read sees it. refresh() asks the
// store what changed since the last cursor (writes by other processes, and
// ours, which are applied again harmlessly) and applies that, or reloads
// everything when the store cannot tell.
//
// No lock is held while the store is called: a slow store (MongoDB, a busy
// SQLite file) must not make writes queue behind a refresh, nor a refresh
// behind a write. One short mutex orders the changes to the index (and the
// cursor). A write that completes while a refresh is reading the store is
// also recorded and applied again after that refresh, so a refresh built
// from an older snapshot can neither undo it (an update is older by
// revision, which the index ignores anyway; a deletion is not, and would be
// resurrected) nor drop it in a reload.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/index/configuration_index.hpp"
#include "inferconf/service.hpp"

namespace inferconf::http {

class IndexSync {
 public:
  IndexSync(Store& store, const Catalog& catalog) : store_(store), service_(store, catalog) {}

  // Reads every configuration into the index. Throws the store's errors.
  void load();
  // Applies the changes made since the last load()/refresh(); returns how many
  // documents changed (a reload counts every document). One caller at a time
  // (the refresher thread).
  std::size_t refresh();

  // The service's writes (ConfigurationService), each recorded with `context`
  // in the configuration's history, then applied to the index.
  WriteResult create(CreateDTO dto, const WriteContext& context);
  WriteResult update(std::string_view id, UpdateDTO update, std::optional<std::int64_t> expected_revision,
                     const WriteContext& context);
  void remove(std::string_view id, std::optional<std::int64_t> expected_revision, const WriteContext& context);
  WriteResult rollback(std::string_view id, std::int64_t to_revision, std::optional<std::int64_t> expected_revision,
                       const WriteContext& context);
  WriteResult restore(std::string_view id, std::optional<std::int64_t> expected_revision, const WriteContext& context);

  const ConfigurationIndex& index() const { return index_; }
  Store& store() { return store_; }

 private:
  // One of our writes, as the index must end up showing it.
  struct Written {
    DocRef doc;      // set: upserted
    std::string id;  // doc unset: deleted
  };
  // Under apply_: applies w to the index and, during a refresh, remembers it.
  void record_locked(Written w);
  // Runs a write that returns the configuration's new state and upserts it.
  // With drop_when_not_found, a kNotFound (the configuration does not exist:
  // another process deleted it) drops it from the index too.
  WriteResult upserting(std::string_view id, const std::function<WriteResult()>& write, bool drop_when_not_found);

  Store& store_;
  ConfigurationService service_;
  ConfigurationIndex index_;
  std::mutex apply_;  // index changes, cursor_, refreshing_, during_refresh_
  std::string cursor_;
  bool refreshing_ = false;
  std::vector<Written> during_refresh_;
};

}  // namespace inferconf::http
