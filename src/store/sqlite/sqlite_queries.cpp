#include "store/sqlite/sqlite_store_impl.hpp"

#include <fmt/format.h>

#include "store/sqlite/cursors.hpp"

namespace inferconf::sqlite {
namespace {

constexpr std::size_t kMaxPageSize = 1000;

// WHERE clause and its bindings for a ConfigurationFilter (and a keyset bound).
struct FilterSql {
  std::string where;
  std::vector<std::string> values;
};

FilterSql filter_sql(const ConfigurationFilter& f, const std::optional<std::string>& after_id) {
  FilterSql out;
  const auto add = [&](const char* column, const char* op, const std::optional<std::string>& v) {
    if (!v) return;
    out.where += out.where.empty() ? " WHERE " : " AND ";
    out.values.push_back(*v);
    out.where += fmt::format("{} {} ?{}", column, op, out.values.size());
  };
  add("model_id", "=", f.model_id);
  add("base_model", "=", f.base_model);
  add("configuration_type", "=", f.configuration_type);
  add("id", ">", after_id);
  return out;
}

}  // namespace

std::optional<InferenceConfiguration> SqliteStore::get(std::string_view id) {
  return with_connection([&](Connection& c) { return select_one(c, Sql::kSelectById, id); });
}

std::vector<InferenceConfiguration> SqliteStore::find_by_model_id(std::string_view model_id,
                                                     std::optional<std::string_view> type) {
  return with_connection([&](Connection& c) {
    return type ? select_all(c, Sql::kSelectByModelOfType, model_id, type)
                : select_all(c, Sql::kSelectByModel, model_id);
  });
}

std::vector<InferenceConfiguration> SqliteStore::find_by_base_model(std::string_view base_model,
                                                       std::optional<std::string_view> type) {
  return with_connection([&](Connection& c) {
    return type ? select_all(c, Sql::kSelectByBaseOfType, base_model, type)
                : select_all(c, Sql::kSelectByBase, base_model);
  });
}

std::optional<InferenceConfiguration> SqliteStore::find_by_model_and_type(std::string_view model_id,
                                                             std::string_view type) {
  return with_connection([&](Connection& c) { return select_one(c, Sql::kSelectByModelAndType, model_id, type); });
}

std::optional<InferenceConfiguration> SqliteStore::find_by_base_model_and_type(std::string_view base_model,
                                                                  std::string_view type) {
  return with_connection(
      [&](Connection& c) { return select_one(c, Sql::kSelectFirstByBaseOfType, base_model, type); });
}

ConfigurationPage SqliteStore::list(const ConfigurationFilter& filter, std::size_t limit,
                       std::optional<std::string_view> cursor) {
  if (limit < 1 || limit > kMaxPageSize)
    throw invalid(fmt::format("limit must be between 1 and {}; got {}.", kMaxPageSize, limit),
                  {{"limit", fmt::format("received {}; allowed: 1 to {}", limit, kMaxPageSize)}});
  std::optional<std::string> after;
  if (cursor) after = decode_page_cursor(*cursor);
  const FilterSql f = filter_sql(filter, after);
  return with_connection([&](Connection& c) {
    StatementScope s(c.statement(fmt::format("SELECT {} FROM inference_configurations{} ORDER BY id LIMIT ?{}",
                                             kConfigurationColumns, f.where, f.values.size() + 1)));
    for (std::size_t i = 0; i < f.values.size(); ++i) s->bind(static_cast<int>(i + 1), f.values[i]);
    // One row more than asked tells whether another page follows.
    s->bind(static_cast<int>(f.values.size() + 1), static_cast<std::int64_t>(limit + 1));
    ConfigurationPage page;
    while (s->executeStep()) page.items.push_back(read_configuration(*s));
    if (page.items.size() > limit) {
      page.items.pop_back();
      page.next_cursor = encode_page_cursor(page.items.back().id);
    }
    return page;
  });
}

std::int64_t SqliteStore::count(const ConfigurationFilter& filter) {
  const FilterSql f = filter_sql(filter, std::nullopt);
  return with_connection([&](Connection& c) {
    StatementScope s(c.statement(fmt::format("SELECT count(*) FROM inference_configurations{}", f.where)));
    for (std::size_t i = 0; i < f.values.size(); ++i) s->bind(static_cast<int>(i + 1), f.values[i]);
    s->executeStep();
    return s->getColumn(0).getInt64();
  });
}

void SqliteStore::for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) {
  with_connection([&](Connection& c) {
    StatementScope s(c.statement(Sql::kSelectAllById));
    while (s->executeStep()) {
      if (!fn(read_configuration(*s))) break;
    }
  });
}

}  // namespace inferconf::sqlite
