// The server's in-memory index of every configuration: what the read routes
// answer from, so a lookup never touches the store.
//
// Four access paths, chosen for memory (a few machine words per document)
// rather than for write speed: a hash map by (model_id, configuration_type)
// for the hot lookup, and three sorted vectors of pointers (by id, by
// (model_id, type), by (base_model, model_id, type)) for the other lookups
// and for keyset pagination. Single writes move at most a few MB of pointers;
// batches of changes are sorted in one go.
//
// Thread safety: every method may be called concurrently; readers share a
// lock, writers hold it alone. Results are DocRefs, valid after the lock is
// released.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/index/doc.hpp"
#include "inferconf/store.hpp"

namespace inferconf::http {

// Where a page starts: after this key in the order of the path used.
struct PageKey {
  std::string a, b;  // id; or (model_id, type) / (type) depending on the path
};

struct IndexPage {
  std::vector<DocRef> items;
  std::optional<PageKey> next;  // the key of the last item when more follow
};

class ConfigurationIndex {
 public:
  ConfigurationIndex() = default;
  ConfigurationIndex(const ConfigurationIndex&) = delete;
  ConfigurationIndex& operator=(const ConfigurationIndex&) = delete;
  ~ConfigurationIndex();

  DocRef by_id(std::string_view id) const;
  DocRef by_model_and_type(std::string_view model_id, std::string_view type) const;
  // Every configuration of the model, ordered by type (then id).
  std::vector<DocRef> by_model(std::string_view model_id) const;

  // Keyset pages. `after` is the key of the last item of the previous page.
  // Ordered by id; optional type filter.
  IndexPage page_by_id(std::optional<std::string_view> type, const std::optional<PageKey>& after,
                       std::size_t limit) const;
  // One model's configurations ordered by type; key.a = type.
  IndexPage page_by_model(std::string_view model_id, std::optional<std::string_view> base_model,
                          std::optional<std::string_view> type, const std::optional<PageKey>& after,
                          std::size_t limit) const;
  // One base model's configurations ordered by (model_id, type); key = (model_id, type).
  IndexPage page_by_base_model(std::string_view base_model, std::optional<std::string_view> type,
                               const std::optional<PageKey>& after, std::size_t limit) const;

  std::size_t size() const;

  // Inserts or replaces (by id) one document; a document older (lower
  // revision) than the one held is ignored.
  void upsert(DocRef doc);
  void erase(std::string_view id);
  // Applies what the store reports changed.
  void apply(const ChangeSet& changes);
  // Replaces everything with the documents fn produces (a full reload).
  // Builds the new index before taking the lock, so reads go on meanwhile.
  void reload(const std::function<void(const std::function<void(DocRef)>&)>& produce);

 private:
  // (model_id, type) -> Doc, open addressing over the documents themselves:
  // one pointer per slot instead of a node per entry (12 MB less for 200 000
  // documents than std::unordered_map).
  class ModelTypeTable {
   public:
    const Doc* find(std::string_view model_id, std::string_view type) const;
    // Inserts d, replacing the document that had its key.
    void insert(const Doc* d);
    // Removes d if it is the one held for its key.
    void erase(const Doc* d);
    std::size_t size() const { return size_; }
    void clear();
    void reserve(std::size_t n);

   private:
    static std::size_t hash(std::string_view model_id, std::string_view type);
    static const Doc* tombstone();
    void rehash(std::size_t slots);
    std::vector<const Doc*> slots_;
    std::size_t size_ = 0, tombstones_ = 0;
  };
  struct Tables {
    ModelTypeTable by_model_type;
    std::vector<const Doc*> by_id, by_model, by_base;  // sorted; by_id owns one reference each
    void insert(const Doc* d);
    void remove(const Doc* d);
    void sort_all();
    void release_all();
  };
  const Doc* find_id_locked(std::string_view id) const;
  void upsert_locked(DocRef doc);
  void erase_locked(std::string_view id);

  mutable std::shared_mutex mutex_;
  Tables t_;
};

}  // namespace inferconf::http
