#include "store/sqlite/sqlite_store_impl.hpp"

#include "store/sqlite/cursors.hpp"

namespace inferconf::sqlite {

std::string SqliteStore::change_cursor() {
  return with_connection([&](Connection& c) { return encode_change_cursor({store_epoch(c), change_top(c)}); });
}

ChangeSet SqliteStore::changes_since(std::string_view cursor) {
  const ChangeCursor since = decode_change_cursor(cursor);
  return with_connection([&](Connection& c) {
    // One snapshot: the cursor returned covers exactly the changes read.
    Transaction tx(*this, c, Transaction::kRead);
    ChangeSet out;
    const std::int64_t top = change_top(c);
    out.cursor = encode_change_cursor({store_epoch(c), top});
    if (since.epoch != store_epoch(c) || since.seq > top || since.seq < pruned_through(c)) {
      out.reload_required = true;
      return out;
    }
    std::vector<std::string> ids;
    {
      StatementScope s(c.statement(Sql::kChangedIdsAfter));
      s->bind(1, since.seq);
      while (s->executeStep()) ids.push_back(column_text(*s, 0));
    }
    for (auto& id : ids) {
      if (auto current = select_one(c, Sql::kSelectById, id)) {
        out.upserted.push_back(std::move(*current));
      } else {
        out.deleted_ids.push_back(std::move(id));
      }
    }
    tx.commit();
    return out;
  });
}

}  // namespace inferconf::sqlite
