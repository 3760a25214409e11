// The read path: lookups, the seed's repository queries and keyset pagination.
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "store/mongo/errors.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf::mongo {

void append_sort(bson_t* opts, std::initializer_list<const char*> fields) {
  bson_t sort;
  BSON_APPEND_DOCUMENT_BEGIN(opts, "sort", &sort);
  for (const char* f : fields) BSON_APPEND_INT32(&sort, f, 1);
  bson_append_document_end(opts, &sort);
}

namespace {

Bson model_filter(std::string_view field, std::string_view value, std::optional<std::string_view> type) {
  Bson filter;
  append_str(filter.get(), std::string(field).c_str(), value);
  if (type) append_str(filter.get(), "configuration_type", *type);
  return filter;
}

constexpr std::string_view kCursorPrefix = "mongo1:";

std::string encode_cursor(std::string_view id) {
  std::string out(kCursorPrefix);
  for (unsigned char ch : id) out += fmt::format("{:02x}", ch);
  return out;
}

std::string decode_cursor(std::string_view cursor) {
  auto reject = [&]() -> Error {
    return invalid(fmt::format(
        "The cursor \"{}\" was not returned by this store's list(); start again from the first page (no cursor).",
        cursor));
  };
  if (cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix) throw reject();
  const std::string_view hex = cursor.substr(kCursorPrefix.size());
  if (hex.empty() || hex.size() % 2 != 0) throw reject();
  std::string id;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + i + 2) throw reject();
    id += static_cast<char>(value);
  }
  return id;
}

}  // namespace

void append_configuration_filter(bson_t* doc, const ConfigurationFilter& filter) {
  if (filter.model_id) append_str(doc, "model_id", *filter.model_id);
  if (filter.base_model) append_str(doc, "base_model", *filter.base_model);
  if (filter.configuration_type) append_str(doc, "configuration_type", *filter.configuration_type);
}

void MongoStore::find_each(const char* collection, const bson_t* filter, const bson_t* opts, bool primary,
                           const DocFn& fn) const {
  auto cl = client();
  auto coll = cl.collection(database_, collection);
  ReadPrefsPtr prefs(primary ? mongoc_read_prefs_new(MONGOC_READ_PRIMARY) : nullptr);
  CursorPtr cursor(mongoc_collection_find_with_opts(coll.get(), filter, opts, prefs.get()));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc))
    if (!fn(DocRef{doc})) return;
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor.get(), &error, &reply))
    throw DriverFailure{error, reply != nullptr ? Bson::copy_of(reply) : Bson()};
}

std::optional<InferenceConfiguration> MongoStore::scanned(const bson_t* doc) const {
  std::string problem;
  auto c = reader_(DocRef{doc}, &problem);
  if (c) return c;
  bool first = false;
  {
    std::lock_guard lock(quarantine_mutex_);
    if (quarantined_.size() >= 10000) quarantined_.clear();
    first = quarantined_.insert(problem).second;
  }
  if (first)
    spdlog::warn("MongoDB at {}: skipping (quarantining) a document of {} that is not a valid configuration: {}",
                 description_, kConfigurations, problem);
  return std::nullopt;
}

std::vector<InferenceConfiguration> MongoStore::find_configurations(const bson_t* filter, const bson_t* opts,
                                                                    bool primary) const {
  std::vector<InferenceConfiguration> out;
  find_each(kConfigurations, filter, opts, primary, [&](DocRef ref) {
    if (auto c = scanned(ref.doc)) out.push_back(std::move(*c));
    return true;
  });
  return out;
}

std::optional<InferenceConfiguration> MongoStore::find_one(const bson_t* filter, const bson_t* opts,
                                                           bool primary) const {
  Bson with_limit = opts != nullptr ? Bson::copy_of(opts) : Bson();
  BSON_APPEND_INT64(with_limit.get(), "limit", 1);
  BSON_APPEND_INT64(with_limit.get(), "maxTimeMS", kReadMaxTimeMs);
  // One document asked for by name: a malformed one is an error naming
  // its field, not a silent "not found".
  std::optional<InferenceConfiguration> found;
  find_each(kConfigurations, filter, with_limit.get(), primary, [&](DocRef ref) {
    found = configuration_from_bson(ref.doc);
    return false;
  });
  return found;
}

std::int64_t MongoStore::count_documents(const char* collection, const bson_t* filter) const {
  auto cl = client();
  auto coll = cl.collection(database_, collection);
  Reply reply;
  bson_error_t error;
  Bson opts;
  BSON_APPEND_INT64(opts.get(), "maxTimeMS", kReadMaxTimeMs);
  const std::int64_t n = mongoc_collection_count_documents(coll.get(), filter, opts.get(), nullptr, reply.get(), &error);
  if (n < 0) throw DriverFailure{error, Bson::copy_of(reply.get())};
  return n;
}

std::optional<InferenceConfiguration> MongoStore::get(std::string_view id) {
  try {
    Bson filter;
    append_str(filter.get(), "id", id);
    return find_one(filter.get());
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read configuration {}", id));
  }
}

std::vector<InferenceConfiguration> MongoStore::find_by_model_id(std::string_view model_id,
                                                                 std::optional<std::string_view> type) {
  try {
    Bson filter = model_filter("model_id", model_id, type);
    Bson opts;
    append_sort(opts.get(), {"configuration_type", "id"});
    BSON_APPEND_INT64(opts.get(), "maxTimeMS", kReadMaxTimeMs);
    return find_configurations(filter.get(), opts.get());
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the configurations of model \"{}\"", model_id));
  }
}

std::vector<InferenceConfiguration> MongoStore::find_by_base_model(std::string_view base_model,
                                                                   std::optional<std::string_view> type) {
  try {
    Bson filter = model_filter("base_model", base_model, type);
    Bson opts;
    append_sort(opts.get(), {"model_id", "configuration_type"});
    BSON_APPEND_INT64(opts.get(), "maxTimeMS", kReadMaxTimeMs);
    return find_configurations(filter.get(), opts.get());
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the configurations of base model \"{}\"", base_model));
  }
}

std::optional<InferenceConfiguration> MongoStore::find_by_model_and_type(std::string_view model_id,
                                                                         std::string_view type) {
  try {
    Bson filter = model_filter("model_id", model_id, type);
    return find_one(filter.get());
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the \"{}\" configuration of model \"{}\"", type, model_id));
  }
}

std::optional<InferenceConfiguration> MongoStore::find_by_base_model_and_type(std::string_view base_model,
                                                                              std::string_view type) {
  try {
    Bson filter = model_filter("base_model", base_model, type);
    Bson opts;
    append_sort(opts.get(), {"model_id", "configuration_type"});
    return find_one(filter.get(), opts.get());
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read a \"{}\" configuration of base model \"{}\"", type, base_model));
  }
}

ConfigurationPage MongoStore::list(const ConfigurationFilter& filter, std::size_t limit,
                                   std::optional<std::string_view> cursor) {
  if (limit < 1 || limit > 1000)
    throw invalid(fmt::format("The page size {} is out of range; ask for 1 to 1000 configurations per page.", limit));
  const std::string after = cursor ? decode_cursor(*cursor) : std::string();
  try {
    Bson query;
    append_configuration_filter(query.get(), filter);
    if (cursor) {
      bson_t cond;
      BSON_APPEND_DOCUMENT_BEGIN(query.get(), "id", &cond);
      append_str(&cond, "$gt", after);
      bson_append_document_end(query.get(), &cond);
    }
    Bson opts;
    append_sort(opts.get(), {"id"});
    // One more than asked tells whether there is a next page.
    BSON_APPEND_INT64(opts.get(), "limit", static_cast<std::int64_t>(limit) + 1);
    BSON_APPEND_INT64(opts.get(), "maxTimeMS", kReadMaxTimeMs);
    ConfigurationPage page;
    // Pages count stored documents, so a quarantined one (skipped) neither
    // shortens the walk nor ends it early.
    std::size_t seen = 0;
    std::string last_id;
    find_each(kConfigurations, query.get(), opts.get(), false, [&](DocRef ref) {
      if (++seen > limit) return false;
      bson_iter_t it;
      if (bson_iter_init_find(&it, ref.doc, "id") && BSON_ITER_HOLDS_UTF8(&it)) last_id = bson_iter_utf8(&it, nullptr);
      if (auto c = scanned(ref.doc)) page.items.push_back(std::move(*c));
      return true;
    });
    if (seen > limit) page.next_cursor = encode_cursor(last_id);
    return page;
  } catch (const DriverFailure& f) {
    fail(f, "list configurations");
  }
}

std::int64_t MongoStore::count(const ConfigurationFilter& filter) {
  try {
    Bson query;
    append_configuration_filter(query.get(), filter);
    return count_documents(kConfigurations, query.get());
  } catch (const DriverFailure& f) {
    fail(f, "count configurations");
  }
}

void MongoStore::for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) {
  try {
    Bson filter;
    Bson opts;
    append_sort(opts.get(), {"id"});
    // On the primary, like the change stream: a full reload from a lagging
    // secondary could miss writes the stream has already passed.
    find_each(kConfigurations, filter.get(), opts.get(), true, [&](DocRef ref) {
      auto c = scanned(ref.doc);
      return !c || fn(*c);
    });
  } catch (const DriverFailure& f) {
    fail(f, "read all configurations");
  }
}

}  // namespace inferconf::mongo
