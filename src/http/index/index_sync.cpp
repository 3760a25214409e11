#include "http/index/index_sync.hpp"

namespace inferconf::http {

void IndexSync::record_locked(Written w) {
  if (w.doc)
    index_.upsert(w.doc);
  else
    index_.erase(w.id);
  if (refreshing_) during_refresh_.push_back(std::move(w));
}

void IndexSync::load() {
  // The cursor is taken first: a write landing during the scan is then both
  // (maybe) in the scan and in the next change set, and applying it twice is
  // harmless; taking it after could miss it.
  std::string cursor = store_.change_cursor();
  std::vector<DocRef> docs;
  store_.for_each_configuration([&](const InferenceConfiguration& c) {
    docs.push_back(Doc::make(c));
    return true;
  });
  std::lock_guard lock(apply_);
  index_.reload([&](const std::function<void(DocRef)>& add) {
    for (auto& d : docs) add(std::move(d));
  });
  cursor_ = std::move(cursor);
}

std::size_t IndexSync::refresh() {
  std::string cursor;
  {
    std::lock_guard lock(apply_);
    cursor = cursor_;
    refreshing_ = true;
    during_refresh_.clear();
  }
  struct Done {  // however this ends, writes stop being recorded
    IndexSync& s;
    ~Done() {
      std::lock_guard lock(s.apply_);
      s.refreshing_ = false;
      s.during_refresh_.clear();
    }
  } done{*this};

  // Store I/O, without any lock.
  ChangeSet changes = store_.changes_since(cursor);
  std::vector<DocRef> docs;
  std::string reload_cursor;
  if (changes.reload_required) {
    reload_cursor = store_.change_cursor();
    store_.for_each_configuration([&](const InferenceConfiguration& c) {
      docs.push_back(Doc::make(c));
      return true;
    });
  }

  std::lock_guard lock(apply_);
  std::size_t changed = 0;
  if (changes.reload_required) {
    index_.reload([&](const std::function<void(DocRef)>& add) {
      for (auto& d : docs) add(std::move(d));
    });
    cursor_ = std::move(reload_cursor);
    changed = index_.size();
  } else {
    index_.apply(changes);
    cursor_ = std::move(changes.cursor);
    changed = changes.upserted.size() + changes.deleted_ids.size();
  }
  // Our writes that landed while the store was being read win over the
  // snapshot, which may predate them.
  for (const auto& w : during_refresh_) {
    if (w.doc)
      index_.upsert(w.doc);
    else
      index_.erase(w.id);
  }
  return changed;
}

WriteResult IndexSync::create(CreateDTO dto) {
  WriteResult result = service_.create(std::move(dto));
  DocRef doc = Doc::make(result.configuration);
  std::lock_guard lock(apply_);
  record_locked({std::move(doc), {}});
  return result;
}

WriteResult IndexSync::update(std::string_view id, UpdateDTO update, std::optional<std::int64_t> expected_revision) {
  try {
    WriteResult result = service_.update(id, std::move(update), expected_revision);
    DocRef doc = Doc::make(result.configuration);
    std::lock_guard lock(apply_);
    record_locked({std::move(doc), {}});
    return result;
  } catch (const Error& e) {
    // The store knows better than the index: a document another process
    // deleted must not linger until the next refresh.
    if (e.code() == ErrorCode::kNotFound) {
      std::lock_guard lock(apply_);
      record_locked({nullptr, std::string(id)});
    }
    throw;
  }
}

void IndexSync::remove(std::string_view id, std::optional<std::int64_t> expected_revision) {
  try {
    service_.remove(id, expected_revision);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kNotFound) {
      std::lock_guard lock(apply_);
      record_locked({nullptr, std::string(id)});
    }
    throw;
  }
  std::lock_guard lock(apply_);
  record_locked({nullptr, std::string(id)});
}

}  // namespace inferconf::http
