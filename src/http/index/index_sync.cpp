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

WriteResult IndexSync::create(CreateDTO dto, const WriteContext& context) {
  WriteResult result = service_.create(std::move(dto), context);
  DocRef doc = Doc::make(result.configuration);
  std::lock_guard lock(apply_);
  record_locked({std::move(doc), {}});
  return result;
}

WriteResult IndexSync::upserting(std::string_view id, const std::function<WriteResult()>& write,
                                 bool drop_when_not_found) {
  try {
    WriteResult result = write();
    DocRef doc = Doc::make(result.configuration);
    std::lock_guard lock(apply_);
    record_locked({std::move(doc), {}});
    return result;
  } catch (const Error& e) {
    // The store knows better than the index: a document another process
    // deleted must not linger until the next refresh.
    if (drop_when_not_found && e.code() == ErrorCode::kNotFound) {
      std::lock_guard lock(apply_);
      record_locked({nullptr, std::string(id)});
    }
    throw;
  }
}

WriteResult IndexSync::update(std::string_view id, UpdateDTO update, std::optional<std::int64_t> expected_revision,
                              const WriteContext& context) {
  return upserting(
      id, [&] { return service_.update(id, std::move(update), expected_revision, context); }, true);
}

WriteResult IndexSync::rollback(std::string_view id, std::int64_t to_revision,
                                std::optional<std::int64_t> expected_revision, const WriteContext& context) {
  // "Not found" may name the revision rather than the configuration: the
  // index keeps the document (a refresh drops it if it is really gone).
  return upserting(
      id, [&] { return service_.rollback(id, to_revision, expected_revision, context); }, false);
}

WriteResult IndexSync::restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                               const WriteContext& context) {
  // "Not found" here means the id has no history: nothing to drop.
  return upserting(id, [&] { return service_.restore(id, expected_revision, context); }, false);
}

void IndexSync::remove(std::string_view id, std::optional<std::int64_t> expected_revision,
                       const WriteContext& context) {
  try {
    service_.remove(id, expected_revision, context);
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
