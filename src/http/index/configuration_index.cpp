#include "http/index/configuration_index.hpp"

#include <algorithm>
#include <bit>
#include <mutex>
#include <tuple>
#include <unordered_set>

namespace inferconf::http {

namespace {

struct IdLess {
  bool operator()(const Doc* a, const Doc* b) const { return a->id() < b->id(); }
  bool operator()(const Doc* a, std::string_view id) const { return a->id() < id; }
  bool operator()(std::string_view id, const Doc* b) const { return id < b->id(); }
};
auto model_key(const Doc* d) { return std::tuple(d->model_id(), d->type(), d->id()); }
struct ModelLess {
  bool operator()(const Doc* a, const Doc* b) const { return model_key(a) < model_key(b); }
};
auto base_key(const Doc* d) { return std::tuple(d->base_model(), d->model_id(), d->type(), d->id()); }
struct BaseLess {
  bool operator()(const Doc* a, const Doc* b) const { return base_key(a) < base_key(b); }
};

template <class Less>
void insert_sorted(std::vector<const Doc*>& v, const Doc* d) {
  v.insert(std::upper_bound(v.begin(), v.end(), d, Less{}), d);
}

template <class Less>
void remove_sorted(std::vector<const Doc*>& v, const Doc* d) {
  auto [first, last] = std::equal_range(v.begin(), v.end(), d, Less{});
  for (auto it = first; it != last; ++it) {
    if (*it == d) {
      v.erase(it);
      return;
    }
  }
}

}  // namespace

std::size_t ConfigurationIndex::ModelTypeTable::hash(std::string_view model_id, std::string_view type) {
  const std::size_t h = std::hash<std::string_view>{}(model_id);
  return h ^ (std::hash<std::string_view>{}(type) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

const Doc* ConfigurationIndex::ModelTypeTable::tombstone() {
  static const char marker = 0;
  return reinterpret_cast<const Doc*>(&marker);
}

const Doc* ConfigurationIndex::ModelTypeTable::find(std::string_view model_id, std::string_view type) const {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash(model_id, type) & mask;; i = (i + 1) & mask) {
    const Doc* d = slots_[i];
    if (!d) return nullptr;
    if (d != tombstone() && d->model_id() == model_id && d->type() == type) return d;
  }
}

void ConfigurationIndex::ModelTypeTable::insert(const Doc* doc) {
  if ((size_ + tombstones_ + 1) * 2 > slots_.size()) rehash(std::max<std::size_t>(16, std::bit_ceil((size_ + 1) * 4)));
  const std::size_t mask = slots_.size() - 1;
  std::optional<std::size_t> free_slot;
  for (std::size_t i = hash(doc->model_id(), doc->type()) & mask;; i = (i + 1) & mask) {
    const Doc* d = slots_[i];
    if (!d) {
      if (!free_slot) free_slot = i;
      break;
    }
    if (d == tombstone()) {
      if (!free_slot) free_slot = i;
      continue;
    }
    if (d->model_id() == doc->model_id() && d->type() == doc->type()) {
      slots_[i] = doc;
      return;
    }
  }
  if (slots_[*free_slot] == tombstone()) --tombstones_;
  slots_[*free_slot] = doc;
  ++size_;
}

void ConfigurationIndex::ModelTypeTable::erase(const Doc* doc) {
  if (slots_.empty()) return;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash(doc->model_id(), doc->type()) & mask;; i = (i + 1) & mask) {
    const Doc* d = slots_[i];
    if (!d) return;
    if (d == doc) {
      slots_[i] = tombstone();
      --size_;
      ++tombstones_;
      return;
    }
  }
}

void ConfigurationIndex::ModelTypeTable::clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  size_ = tombstones_ = 0;
}

void ConfigurationIndex::ModelTypeTable::reserve(std::size_t n) {
  if (n * 2 > slots_.size()) rehash(std::max<std::size_t>(16, std::bit_ceil(n * 2 + 1)));
}

void ConfigurationIndex::ModelTypeTable::rehash(std::size_t slots) {
  std::vector<const Doc*> old;
  old.swap(slots_);
  slots_.assign(slots, nullptr);
  size_ = tombstones_ = 0;
  for (const Doc* d : old)
    if (d && d != tombstone()) insert(d);
}

void ConfigurationIndex::Tables::insert(const Doc* d) {
  intrusive_ptr_add_ref(d);
  by_model_type.insert(d);
  insert_sorted<IdLess>(by_id, d);
  insert_sorted<ModelLess>(by_model, d);
  insert_sorted<BaseLess>(by_base, d);
}

void ConfigurationIndex::Tables::remove(const Doc* d) {
  by_model_type.erase(d);
  remove_sorted<IdLess>(by_id, d);
  remove_sorted<ModelLess>(by_model, d);
  remove_sorted<BaseLess>(by_base, d);
  intrusive_ptr_release(d);
}

void ConfigurationIndex::Tables::sort_all() {
  std::sort(by_id.begin(), by_id.end(), IdLess{});
  by_model = by_id;
  std::sort(by_model.begin(), by_model.end(), ModelLess{});
  by_base = by_id;
  std::sort(by_base.begin(), by_base.end(), BaseLess{});
  by_model_type.clear();
  by_model_type.reserve(by_id.size());
  for (const Doc* d : by_id) by_model_type.insert(d);
}

void ConfigurationIndex::Tables::release_all() {
  for (const Doc* d : by_id) intrusive_ptr_release(d);
  by_id.clear();
  by_model.clear();
  by_base.clear();
  by_model_type.clear();
}

ConfigurationIndex::~ConfigurationIndex() { t_.release_all(); }

const Doc* ConfigurationIndex::find_id_locked(std::string_view id) const {
  auto it = std::lower_bound(t_.by_id.begin(), t_.by_id.end(), id, IdLess{});
  return it != t_.by_id.end() && (*it)->id() == id ? *it : nullptr;
}

DocRef ConfigurationIndex::by_id(std::string_view id) const {
  std::shared_lock lock(mutex_);
  return DocRef(find_id_locked(id));
}

DocRef ConfigurationIndex::by_model_and_type(std::string_view model_id, std::string_view type) const {
  std::shared_lock lock(mutex_);
  return DocRef(t_.by_model_type.find(model_id, type));
}

std::vector<DocRef> ConfigurationIndex::by_model(std::string_view model_id) const {
  std::shared_lock lock(mutex_);
  std::vector<DocRef> out;
  auto it = std::partition_point(t_.by_model.begin(), t_.by_model.end(),
                                 [&](const Doc* d) { return d->model_id() < model_id; });
  for (; it != t_.by_model.end() && (*it)->model_id() == model_id; ++it) out.emplace_back(*it);
  return out;
}

IndexPage ConfigurationIndex::page_by_id(std::optional<std::string_view> type, const std::optional<PageKey>& after,
                                         std::size_t limit) const {
  std::shared_lock lock(mutex_);
  IndexPage page;
  auto it = after ? std::upper_bound(t_.by_id.begin(), t_.by_id.end(), std::string_view(after->a), IdLess{})
                  : t_.by_id.begin();
  for (; it != t_.by_id.end(); ++it) {
    if (type && (*it)->type() != *type) continue;
    if (page.items.size() == limit) {
      page.next = PageKey{std::string(page.items.back()->id()), {}};
      break;
    }
    page.items.emplace_back(*it);
  }
  return page;
}

IndexPage ConfigurationIndex::page_by_model(std::string_view model_id, std::optional<std::string_view> base_model,
                                            std::optional<std::string_view> type,
                                            const std::optional<PageKey>& after, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  IndexPage page;
  auto it = std::partition_point(t_.by_model.begin(), t_.by_model.end(), [&](const Doc* d) {
    return d->model_id() < model_id || (after && d->model_id() == model_id && d->type() <= after->a);
  });
  for (; it != t_.by_model.end() && (*it)->model_id() == model_id; ++it) {
    if ((type && (*it)->type() != *type) || (base_model && (*it)->base_model() != *base_model)) continue;
    if (page.items.size() == limit) {
      page.next = PageKey{std::string(page.items.back()->type()), {}};
      break;
    }
    page.items.emplace_back(*it);
  }
  return page;
}

IndexPage ConfigurationIndex::page_by_base_model(std::string_view base_model, std::optional<std::string_view> type,
                                                 const std::optional<PageKey>& after, std::size_t limit) const {
  std::shared_lock lock(mutex_);
  IndexPage page;
  auto it = std::partition_point(t_.by_base.begin(), t_.by_base.end(), [&](const Doc* d) {
    if (d->base_model() != base_model) return d->base_model() < base_model;
    return after && std::pair(d->model_id(), d->type()) <= std::pair<std::string_view, std::string_view>(after->a, after->b);
  });
  for (; it != t_.by_base.end() && (*it)->base_model() == base_model; ++it) {
    if (type && (*it)->type() != *type) continue;
    if (page.items.size() == limit) {
      page.next = PageKey{std::string(page.items.back()->model_id()), std::string(page.items.back()->type())};
      break;
    }
    page.items.emplace_back(*it);
  }
  return page;
}

std::size_t ConfigurationIndex::size() const {
  std::shared_lock lock(mutex_);
  return t_.by_id.size();
}

void ConfigurationIndex::upsert_locked(DocRef doc) {
  if (const Doc* old = find_id_locked(doc->id())) {
    if (old->revision() > doc->revision()) return;
    t_.remove(old);
  }
  // A document that still holds this (model_id, type) in the index is stale:
  // the store's unique index says only one can, and it is the newer one.
  if (const Doc* holder = t_.by_model_type.find(doc->model_id(), doc->type())) t_.remove(holder);
  t_.insert(doc.get());
}

void ConfigurationIndex::erase_locked(std::string_view id) {
  if (const Doc* old = find_id_locked(id)) t_.remove(old);
}

void ConfigurationIndex::upsert(DocRef doc) {
  std::unique_lock lock(mutex_);
  upsert_locked(std::move(doc));
}

void ConfigurationIndex::erase(std::string_view id) {
  std::unique_lock lock(mutex_);
  erase_locked(id);
}

void ConfigurationIndex::apply(const ChangeSet& changes) {
  if (changes.upserted.empty() && changes.deleted_ids.empty()) return;
  std::vector<DocRef> docs;
  docs.reserve(changes.upserted.size());
  for (const auto& c : changes.upserted) docs.push_back(Doc::make(c));  // serialise outside the lock
  // Small batches: move pointers in place. Large ones (an import by another
  // process): rebuild, which costs one sort instead of many vector shifts.
  constexpr std::size_t kInPlaceLimit = 256;
  if (docs.size() + changes.deleted_ids.size() <= kInPlaceLimit) {
    std::unique_lock lock(mutex_);
    for (const auto& id : changes.deleted_ids) erase_locked(id);
    for (auto& d : docs) upsert_locked(std::move(d));
    return;
  }
  std::unordered_set<std::string_view> replaced;
  for (const auto& id : changes.deleted_ids) replaced.insert(id);
  for (const auto& d : docs) replaced.insert(d->id());
  // Only index writers (serialised by IndexSync) change t_, so reading it
  // here without the lock is safe; readers never modify it.
  std::vector<DocRef> keep;
  keep.reserve(t_.by_id.size() + docs.size());
  for (const Doc* d : t_.by_id) {
    if (!replaced.count(d->id())) keep.emplace_back(d);
  }
  for (auto& d : docs) keep.push_back(std::move(d));
  reload([&](const std::function<void(DocRef)>& add) {
    for (auto& d : keep) add(d);
  });
}

void ConfigurationIndex::reload(const std::function<void(const std::function<void(DocRef)>&)>& produce) {
  Tables fresh;
  produce([&](DocRef d) {
    intrusive_ptr_add_ref(d.get());
    fresh.by_id.push_back(d.get());
  });
  fresh.sort_all();
  // Duplicate ids or (model_id, type) pairs cannot come from a consistent
  // snapshot; if they did, keep the highest revision of each so the index
  // stays a function of its keys.
  auto dup = std::adjacent_find(fresh.by_id.begin(), fresh.by_id.end(),
                                [](const Doc* a, const Doc* b) { return a->id() == b->id(); });
  if (dup != fresh.by_id.end() || fresh.by_model_type.size() != fresh.by_id.size()) {
    std::vector<const Doc*> all = fresh.by_id;
    std::sort(all.begin(), all.end(), [](const Doc* a, const Doc* b) { return a->revision() > b->revision(); });
    Tables dedup;
    std::unordered_set<std::string_view> ids;
    for (const Doc* d : all) {
      if (!ids.insert(d->id()).second || dedup.by_model_type.find(d->model_id(), d->type())) continue;
      intrusive_ptr_add_ref(d);
      dedup.by_id.push_back(d);
      dedup.by_model_type.insert(d);
    }
    dedup.sort_all();
    fresh.release_all();
    fresh = std::move(dedup);
  }
  {
    std::unique_lock lock(mutex_);
    std::swap(t_, fresh);
  }
  fresh.release_all();
}

}  // namespace inferconf::http
