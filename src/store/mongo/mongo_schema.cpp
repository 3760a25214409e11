// ensure_schema / check_schema: the seed's create_index() plus unique `id`.
// Index names are MongoDB's defaults for these keys, which are also the names
// pymongo's create_index() gave the seed's indexes, so a collection the seed
// set up is recognised as already indexed.
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "store/mongo/errors.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf::mongo {

namespace {

struct IndexSpec {
  const char* name;
  std::vector<std::string> keys;  // ascending, in order
  bool unique;
};

const std::vector<IndexSpec>& configuration_indexes() {
  static const std::vector<IndexSpec> specs = {
      {"model_id_1", {"model_id"}, false},
      {"base_model_1", {"base_model"}, false},
      {"model_id_1_configuration_type_1", {"model_id", "configuration_type"}, true},
      {"id_1", {"id"}, true},
      // The change feed's polling reads by updated_at every second.
      {"updated_at_1", {"updated_at"}, false},
  };
  return specs;
}

// Equivalent to the SQLite store's indexes of its revisions table.
const std::vector<IndexSpec>& revision_indexes() {
  static const std::vector<IndexSpec> specs = {
      {"configuration_id_1_revision_1", {"configuration_id", "revision"}, true},
      // The audit view's order and its cursors.
      {"sequence_1", {"sequence"}, true},
      {"at_1", {"at"}, false},
      {"actor_1_at_1", {"actor", "at"}, false},
      // --as-of: the newest revision of a pair at or before a time.
      {"model_id_1_configuration_type_1_at_1", {"model_id", "configuration_type", "at"}, false},
  };
  return specs;
}

struct CollectionIndexes {
  const char* collection;
  const std::vector<IndexSpec>& (*specs)();
};

constexpr CollectionIndexes kIndexedCollections[] = {{kConfigurations, configuration_indexes},
                                                     {kRevisions, revision_indexes}};

struct ExistingIndex {
  std::string name;
  std::vector<std::pair<std::string, std::string>> keys;  // field, direction/type as written
  bool unique = false;
  std::vector<std::string> options;  // options that change what the index enforces
};

std::string describe_keys(const std::vector<std::pair<std::string, std::string>>& keys) {
  std::string out = "{";
  for (std::size_t i = 0; i < keys.size(); ++i) out += fmt::format("{}{}: {}", i ? ", " : "", keys[i].first, keys[i].second);
  return out + "}";
}

std::vector<std::pair<std::string, std::string>> spec_keys(const IndexSpec& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : spec.keys) out.emplace_back(k, "1");
  return out;
}

std::string key_value_text(const bson_iter_t* it) {
  if (BSON_ITER_HOLDS_UTF8(it)) return fmt::format("\"{}\"", bson_iter_utf8(it, nullptr));
  if (BSON_ITER_HOLDS_NUMBER(it)) {
    const double v = bson_iter_as_double(it);
    return v == static_cast<long long>(v) ? std::to_string(static_cast<long long>(v)) : fmt::format("{}", v);
  }
  return "?";
}

ExistingIndex read_index(const bson_t* doc) {
  ExistingIndex index;
  bson_iter_t it;
  if (!bson_iter_init(&it, doc)) return index;
  while (bson_iter_next(&it)) {
    const std::string_view key = bson_iter_key(&it);
    if (key == "name" && BSON_ITER_HOLDS_UTF8(&it)) {
      index.name = bson_iter_utf8(&it, nullptr);
    } else if (key == "key") {
      bson_iter_t field;
      if (bson_iter_recurse(&it, &field))
        while (bson_iter_next(&field)) index.keys.emplace_back(bson_iter_key(&field), key_value_text(&field));
    } else if (key == "unique") {
      index.unique = bson_iter_as_bool(&it);
    } else if (key == "sparse" || key == "partialFilterExpression" || key == "collation" ||
               key == "expireAfterSeconds" || key == "hidden") {
      if (key != "sparse" || bson_iter_as_bool(&it)) index.options.emplace_back(key);
    }
  }
  return index;
}

std::string spec_text(const IndexSpec& spec) {
  return fmt::format("{}{}", describe_keys(spec_keys(spec)), spec.unique ? " unique" : "");
}

std::string index_text(const ExistingIndex& index) {
  std::string options;
  for (const auto& o : index.options) options += " " + o;
  return fmt::format("{}{}{}", describe_keys(index.keys), index.unique ? " unique" : "", options);
}

std::string drop_advice(const char* collection, const ExistingIndex& index) {
  return fmt::format("drop it in mongosh with db.{}.dropIndex(\"{}\") and run ensure_schema (inferconf init) again",
                     collection, index.name);
}

struct SchemaPlan {
  std::vector<const IndexSpec*> missing;
  std::vector<std::string> conflicts;
};

SchemaPlan plan(const CollectionIndexes& target, const std::vector<ExistingIndex>& existing) {
  SchemaPlan out;
  const char* const collection = target.collection;
  for (const auto& spec : target.specs()) {
    const auto wanted = spec_keys(spec);
    auto matches = [&](const ExistingIndex& e) { return e.keys == wanted && e.unique == spec.unique && e.options.empty(); };
    const ExistingIndex* by_name = nullptr;
    const ExistingIndex* by_keys = nullptr;
    for (const auto& e : existing) {
      if (e.name == spec.name) by_name = &e;
      else if (e.keys == wanted && by_keys == nullptr) by_keys = &e;
    }
    if (by_name != nullptr) {
      if (!matches(*by_name))
        out.conflicts.push_back(fmt::format(
            "The index \"{}\" of {} is {} but inferconf needs {} under that name; {}.", by_name->name,
            collection, index_text(*by_name), spec_text(spec), drop_advice(collection, *by_name)));
    } else if (by_keys != nullptr) {
      if (!matches(*by_keys))
        out.conflicts.push_back(fmt::format(
            "The index \"{}\" of {} is {} but inferconf needs {} on those keys; {}.", by_keys->name,
            collection, index_text(*by_keys), spec_text(spec), drop_advice(collection, *by_keys)));
      // Same keys and options under another name does the same job: keep it.
    } else {
      out.missing.push_back(&spec);
    }
  }
  return out;
}

}  // namespace

namespace {

std::vector<ExistingIndex> list_indexes(mongoc_collection_t* coll) {
  std::vector<ExistingIndex> out;
  CursorPtr cursor(mongoc_collection_find_indexes_with_opts(coll, nullptr));
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) out.push_back(read_index(doc));
  bson_error_t error;
  const bson_t* reply = nullptr;
  // A collection that does not exist yet has no indexes (the driver maps that to an empty cursor).
  if (mongoc_cursor_error_document(cursor.get(), &error, &reply))
    throw DriverFailure{error, reply != nullptr ? Bson::copy_of(reply) : Bson()};
  return out;
}

}  // namespace

std::optional<std::string> MongoStore::sharded_problem() const {
  auto cl = client();
  bson_error_t error;
  ServerDescriptionPtr server(mongoc_client_select_server(cl.get(), false, nullptr, &error));
  if (!server) throw DriverFailure{error, Bson()};
  if (std::string_view(mongoc_server_description_type(server.get())) != "Mongos") return std::nullopt;
  Bson command;
  BSON_APPEND_UTF8(command.get(), "collStats", kConfigurations);
  Reply reply;
  // A collection that does not exist yet, or a user without collStats: not
  // known to be sharded, and init goes on (the server refuses the unique
  // indexes on a sharded collection anyway).
  if (!mongoc_client_command_simple(cl.get(), database_.c_str(), command.get(), nullptr, reply.get(), &error))
    return std::nullopt;
  bson_iter_t it;
  if (!bson_iter_init_find(&it, reply.get(), "sharded") || !bson_iter_as_bool(&it)) return std::nullopt;
  return fmt::format(
      "{} in {} is sharded, but inferconf needs it unsharded: its unique indexes {{id: 1}} and {{model_id: 1, "
      "configuration_type: 1}} share no prefix, so no shard key can keep both unique. Unshard it (MongoDB 8.0: "
      "db.adminCommand({{unshardCollection: \"{}.{}\"}})) or copy it into an unsharded collection, then run "
      "inferconf init again (docs/MONGODB.md, \"Sharded clusters\").",
      kConfigurations, description_, database_, kConfigurations);
}

namespace {

// createIndexes of the missing indexes of one collection (which it creates
// when it does not exist yet).
void create_indexes(mongoc_collection_t* coll, const char* collection, const std::vector<const IndexSpec*>& missing,
                    const std::string& where) {
  Bson command;
  BSON_APPEND_UTF8(command.get(), "createIndexes", collection);
  bson_t indexes;
  BSON_APPEND_ARRAY_BEGIN(command.get(), "indexes", &indexes);
  for (std::size_t i = 0; i < missing.size(); ++i) {
    const IndexSpec& spec = *missing[i];
    bson_t index, key;
    const std::string n = std::to_string(i);
    BSON_APPEND_DOCUMENT_BEGIN(&indexes, n.c_str(), &index);
    BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
    for (const auto& k : spec.keys) BSON_APPEND_INT32(&key, k.c_str(), 1);
    bson_append_document_end(&index, &key);
    BSON_APPEND_UTF8(&index, "name", spec.name);
    if (spec.unique) BSON_APPEND_BOOL(&index, "unique", true);
    bson_append_document_end(&indexes, &index);
  }
  bson_append_array_end(command.get(), &indexes);
  Reply reply;
  bson_error_t error;
  if (!mongoc_collection_write_command_with_opts(coll, command.get(), nullptr, reply.get(), &error)) {
    if (is_duplicate_key(error))
      throw invalid(fmt::format(
          "{} in {} holds several {}, so the unique index cannot be built ({}). Delete the duplicates, then run "
          "ensure_schema (inferconf init) again.",
          collection, where,
          std::string_view(collection) == kRevisions
              ? "revisions with the same (configuration_id, revision) or the same sequence"
              : "configurations with the same (model_id, configuration_type) or the same id",
          error.message));
    if (error.code == 85 || error.code == 86)  // IndexOptionsConflict, IndexKeySpecsConflict
      throw invalid(fmt::format(
          "An index of {} in {} conflicts with the ones inferconf needs ({}); list them with "
          "db.{}.getIndexes(), drop the conflicting one and run ensure_schema (inferconf init) again.",
          collection, where, error.message, collection));
    throw DriverFailure{error, Bson::copy_of(reply.get())};
  }
}

}  // namespace

void MongoStore::ensure_schema() {
  try {
    if (auto problem = sharded_problem()) throw invalid(*problem);
    auto cl = client();
    std::vector<SchemaPlan> plans;
    std::string conflicts;
    for (const auto& target : kIndexedCollections) {
      auto coll = cl.collection(database_, target.collection);
      plans.push_back(plan(target, list_indexes(coll.get())));
      for (const auto& c : plans.back().conflicts) conflicts += " " + c;
    }
    if (!conflicts.empty())
      throw invalid(fmt::format("The indexes of {} conflict with the ones inferconf needs:{}", description_, conflicts));
    for (std::size_t i = 0; i < plans.size(); ++i) {
      if (plans[i].missing.empty()) continue;
      auto coll = cl.collection(database_, kIndexedCollections[i].collection);
      create_indexes(coll.get(), kIndexedCollections[i].collection, plans[i].missing, description_);
    }
    // Every CLI write calls ensure_schema(): when the revisions are indexed
    // it stops here, after two listIndexes. Setting them up (the first run,
    // an upgrade, or an index dropped on purpose to ask for the repair) also
    // creates the counter and records the baselines, a scan of every
    // configuration.
    if (plans.back().missing.empty()) return;
    // The sequence counter exists before the first write: a transaction on
    // MongoDB 4.2 cannot create a collection.
    auto sequences = cl.collection(database_, kSequences);
    Bson selector;
    BSON_APPEND_UTF8(selector.get(), "_id", kRevisionCounterId);
    const Bson update = counter_update("$setOnInsert", 0);
    Bson upsert;
    BSON_APPEND_BOOL(upsert.get(), "upsert", true);
    Reply reply;
    bson_error_t error;
    if (!mongoc_collection_update_one(sequences.get(), selector.get(), update.get(), upsert.get(), reply.get(), &error))
      throw DriverFailure{error, Bson::copy_of(reply.get())};
    record_baselines();
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("create the indexes of {} and {}", kConfigurations, kRevisions));
  }
}

std::vector<std::string> MongoStore::check_schema() {
  try {
    auto cl = client();
    std::vector<std::string> problems;
    for (const auto& target : kIndexedCollections) {
      auto coll = cl.collection(database_, target.collection);
      SchemaPlan state = plan(target, list_indexes(coll.get()));
      problems.insert(problems.end(), state.conflicts.begin(), state.conflicts.end());
      for (const IndexSpec* spec : state.missing)
        problems.push_back(fmt::format("The index \"{}\" ({}) of {} is missing; run ensure_schema (inferconf init) "
                                       "to create it.",
                                       spec->name, spec_text(*spec), target.collection));
    }
    if (auto problem = sharded_problem()) problems.insert(problems.begin(), *problem);
    return problems;
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the indexes of {} and {}", kConfigurations, kRevisions));
  }
}

}  // namespace inferconf::mongo
