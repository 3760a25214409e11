// The platform's `database_models`, read through the RegistryFieldMap. Only
// upsert_models() (an explicit import) ever writes there.
#include <charconv>

#include <fmt/format.h>

#include "store/mongo/errors.hpp"
#include "store/mongo/mongo_store_impl.hpp"

namespace inferconf::mongo {

namespace {

// Registries key models by string, number or ObjectId (`--id-field _id`);
// ModelRecord ids are their text, so a lookup tries every form the text can be.
void append_id_match(bson_t* filter, const std::string& field, std::string_view id) {
  bson_t cond, in;
  BSON_APPEND_DOCUMENT_BEGIN(filter, field.c_str(), &cond);
  BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &in);
  append_str(&in, "0", id);
  std::int64_t number = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), number);
  if (ec == std::errc() && end == id.data() + id.size()) {
    BSON_APPEND_INT64(&in, "1", number);
  } else if (const std::string text(id); bson_oid_is_valid(text.c_str(), text.size()) && text.size() == 24) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, text.c_str());
    BSON_APPEND_OID(&in, "1", &oid);
  }
  bson_append_array_end(&cond, &in);
  bson_append_document_end(filter, &cond);
}

void append_id_value(bson_t* doc, const std::string& field, const std::string& id) {
  if (field == "_id" && id.size() == 24 && bson_oid_is_valid(id.c_str(), id.size())) {
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, id.c_str());
    BSON_APPEND_OID(doc, field.c_str(), &oid);
  } else {
    append_str(doc, field.c_str(), id);
  }
}

}  // namespace

void MongoStore::upsert_models(const std::vector<ModelRecord>& models) {
  if (models.empty()) return;
  for (std::size_t i = 0; i < models.size(); ++i)
    if (models[i].id.empty())
      throw invalid(fmt::format("Model {} of the import (\"{}\") has an empty id; every model needs one. Nothing "
                                "was imported.",
                                i + 1, models[i].name));
  try {
    in_transaction([&](DocRef session) {
      const bson_t* session_opts = session.doc;
      auto cl = client();
      auto coll = cl.collection(database_, kModels);
      Bson opts = session_opts != nullptr ? Bson::copy_of(session_opts) : Bson();
      BSON_APPEND_BOOL(opts.get(), "ordered", false);
      BulkPtr bulk(mongoc_collection_create_bulk_operation_with_opts(coll.get(), opts.get()));
      Bson upsert;
      BSON_APPEND_BOOL(upsert.get(), "upsert", true);
      for (const auto& m : models) {
        // Matched in every form the id can take, so a record the platform
        // keyed by a number (or an ObjectId) is updated, not duplicated by
        // a string twin; a new record gets the id as the import gave it.
        Bson selector;
        append_id_match(selector.get(), map_.id, m.id);
        Bson update;
        Bson fields = model_set_fields(m, map_);
        BSON_APPEND_DOCUMENT(update.get(), "$set", fields.get());
        Bson on_insert;
        append_id_value(on_insert.get(), map_.id, m.id);
        BSON_APPEND_DOCUMENT(update.get(), "$setOnInsert", on_insert.get());
        bson_error_t error;
        if (!mongoc_bulk_operation_update_one_with_opts(bulk.get(), selector.get(), update.get(), upsert.get(), &error))
          throw DriverFailure{error, Bson()};
      }
      Reply reply;
      bson_error_t error;
      if (mongoc_bulk_operation_execute(bulk.get(), reply.get(), &error) == 0)
        throw DriverFailure{error, Bson::copy_of(reply.get())};
    });
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("import {} models into {}", models.size(), kModels));
  }
}

std::optional<ModelRecord> MongoStore::get_model(std::string_view id) {
  try {
    Bson filter;
    append_id_match(filter.get(), map_.id, id);
    Bson opts;
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    std::optional<ModelRecord> found;
    find_each(kModels, filter.get(), opts.get(), false, [&](DocRef ref) {
      const bson_t* doc = ref.doc;
      found = model_from_bson(doc, map_);
      return false;
    });
    return found;
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read model \"{}\" from {}", id, kModels));
  }
}

void MongoStore::for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) {
  try {
    Bson filter;
    if (active_only) append_json(filter.get(), map_.active, map_.active_value);
    Bson opts;
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, map_.id.c_str(), 1);
    bson_append_document_end(opts.get(), &sort);
    find_each(kModels, filter.get(), opts.get(), false, [&](DocRef ref) {
      const bson_t* doc = ref.doc;
      ModelRecord record;
      try {
        record = model_from_bson(doc, map_);
      } catch (const Error& e) {
        // Name the document: the platform's data, not ours, needs fixing.
        throw Error(e.code(), fmt::format("A document of {} cannot be read as a model ({}): {}", kModels,
                                          Bson::copy_of(doc).to_json(), e.what()),
                    e.field_errors());
      }
      return fn(record);
    });
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("read the models of {}", kModels));
  }
}

std::int64_t MongoStore::count_models(bool active_only) {
  try {
    Bson filter;
    if (active_only) append_json(filter.get(), map_.active, map_.active_value);
    return count_documents(kModels, filter.get());
  } catch (const DriverFailure& f) {
    fail(f, fmt::format("count the models of {}", kModels));
  }
}

}  // namespace inferconf::mongo
