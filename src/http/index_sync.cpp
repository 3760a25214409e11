#include "http/index_sync.hpp"

namespace inferconf::http {

void IndexSync::reload_locked() {
  // The cursor is taken first: a write landing during the scan is then both
  // (maybe) in the scan and in the next change set, and applying it twice is
  // harmless; taking it after could miss it.
  std::string cursor = store_.change_cursor();
  index_.reload([&](const std::function<void(DocRef)>& add) {
    store_.for_each_configuration([&](const InferenceConfiguration& c) {
      add(Doc::make(c));
      return true;
    });
  });
  cursor_ = std::move(cursor);
}

void IndexSync::load() {
  std::lock_guard lock(writes_);
  reload_locked();
}

std::size_t IndexSync::refresh() {
  std::lock_guard lock(writes_);
  ChangeSet changes = store_.changes_since(cursor_);
  if (changes.reload_required) {
    reload_locked();
    return index_.size();
  }
  index_.apply(changes);
  cursor_ = std::move(changes.cursor);
  return changes.upserted.size() + changes.deleted_ids.size();
}

WriteResult IndexSync::create(CreateDTO dto) {
  std::lock_guard lock(writes_);
  WriteResult result = service_.create(std::move(dto));
  index_.upsert(Doc::make(result.configuration));
  return result;
}

WriteResult IndexSync::update(std::string_view id, UpdateDTO update, std::optional<std::int64_t> expected_revision) {
  std::lock_guard lock(writes_);
  try {
    WriteResult result = service_.update(id, std::move(update), expected_revision);
    index_.upsert(Doc::make(result.configuration));
    return result;
  } catch (const Error& e) {
    // The store knows better than the index: a document another process
    // deleted must not linger until the next refresh.
    if (e.code() == ErrorCode::kNotFound) index_.erase(id);
    throw;
  }
}

void IndexSync::remove(std::string_view id, std::optional<std::int64_t> expected_revision) {
  std::lock_guard lock(writes_);
  try {
    service_.remove(id, expected_revision);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kNotFound) index_.erase(id);
    throw;
  }
  index_.erase(id);
}

}  // namespace inferconf::http
