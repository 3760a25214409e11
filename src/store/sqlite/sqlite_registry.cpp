#include "store/sqlite/sqlite_store_impl.hpp"

#include <fmt/format.h>

namespace inferconf::sqlite {
namespace {

// Models read per statement by for_each_model().
constexpr std::size_t kModelPageSize = 512;

}  // namespace

void SqliteStore::upsert_models(const std::vector<ModelRecord>& models) {
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (models[i].id.empty())
      throw invalid(fmt::format("models[{}].id is empty; every model record needs an id.", i),
                    {{fmt::format("models[{}].id", i), "received \"\"; allowed: a non-empty string"}});
  }
  if (models.empty()) return;
  with_connection([&](Connection& c) {
    Transaction tx(*this, c, Transaction::kWrite);
    for (const auto& m : models) {
      StatementScope s(c.statement(Sql::kUpsertModel));
      s->bind(1, m.id);
      s->bind(2, m.name);
      s->bind(3, m.is_active ? 1 : 0);
      if (m.base_model) {
        s->bind(4, *m.base_model);
      } else {
        s->bind(4);  // NULL
      }
      s->bind(5, json_text(m.metadata, "metadata"));
      if (m.file_path) {
        s->bind(6, *m.file_path);
      } else {
        s->bind(6);
      }
      s->exec();
    }
    tx.commit();
  });
}

std::optional<ModelRecord> SqliteStore::get_model(std::string_view id) {
  return with_connection([&](Connection& c) -> std::optional<ModelRecord> {
    StatementScope s(c.statement(Sql::kSelectModel));
    s->bind(1, std::string(id));
    if (!s->executeStep()) return std::nullopt;
    return read_model(*s);
  });
}

// Keyset paging: each page is one short read (its statement is reset, and
// the connection returned to the pool, before fn sees the page). A single
// cursor over the whole registry would hold one WAL snapshot for the whole
// run: no checkpoint could complete behind it, so the WAL of a population
// run would grow to the size of everything it wrote, and the reading
// connection would need a cache of its own next to the writer's.
void SqliteStore::for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) {
  std::vector<ModelRecord> page;
  page.reserve(kModelPageSize);
  std::optional<std::string> after;
  for (;;) {
    page.clear();
    with_connection([&](Connection& c) {
      const Sql which = after ? (active_only ? Sql::kSelectActiveModelsAfter : Sql::kSelectAllModelsAfter)
                              : (active_only ? Sql::kSelectActiveModels : Sql::kSelectAllModels);
      StatementScope s(c.statement(which));
      int limit_param = 1;
      if (after) s->bindNoCopy(limit_param++, *after);
      s->bind(limit_param, static_cast<std::int64_t>(kModelPageSize));
      while (s->executeStep()) page.push_back(read_model(*s));
    });
    for (const auto& m : page) {
      if (!fn(m)) return;
    }
    if (page.size() < kModelPageSize) return;
    after = std::move(page.back().id);
  }
}

std::int64_t SqliteStore::count_models(bool active_only) {
  return with_connection([&](Connection& c) {
    StatementScope s(c.statement(active_only ? Sql::kCountActiveModels : Sql::kCountAllModels));
    s->executeStep();
    return s->getColumn(0).getInt64();
  });
}

}  // namespace inferconf::sqlite
