// A Store that passes every call to another store: derive from it and
// override the calls a test wants to slow down or make fail.
// create_missing_for_models is left to Store's default, which writes through
// create_missing, so an override of create_missing sees those writes too.
#pragma once

#include "inferconf/store.hpp"

namespace inferconf::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}

  std::string describe() const override { return inner_.describe(); }
  void ensure_schema() override { inner_.ensure_schema(); }
  std::vector<std::string> check_schema() override { return inner_.check_schema(); }
  InferenceConfiguration create(const CreateDTO& dto, const WriteContext& context = {}) override {
    return inner_.create(dto, context);
  }
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos,
                                                  const WriteContext& context = {}) override {
    return inner_.create_many(dtos, context);
  }
  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace,
                                   const WriteContext& context = {}) override {
    return inner_.create_missing(dtos, replace, context);
  }
  std::optional<InferenceConfiguration> get(std::string_view id) override { return inner_.get(id); }
  InferenceConfiguration update(std::string_view id, const UpdateDTO& u, std::optional<std::int64_t> rev,
                                const WriteContext& context = {}) override {
    return inner_.update(id, u, rev, context);
  }
  InferenceConfiguration replace(std::string_view id, const CreateDTO& r, std::optional<std::int64_t> rev,
                                 const WriteContext& context = {}) override {
    return inner_.replace(id, r, rev, context);
  }
  void remove(std::string_view id, std::optional<std::int64_t> rev, const WriteContext& context = {}) override {
    inner_.remove(id, rev, context);
  }
  std::vector<InferenceConfiguration> find_by_model_id(std::string_view model_id,
                                                       std::optional<std::string_view> type) override {
    return inner_.find_by_model_id(model_id, type);
  }
  std::vector<InferenceConfiguration> find_by_base_model(std::string_view base_model,
                                                         std::optional<std::string_view> type) override {
    return inner_.find_by_base_model(base_model, type);
  }
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) override {
    return inner_.find_by_model_and_type(model_id, type);
  }
  std::optional<InferenceConfiguration> find_by_base_model_and_type(std::string_view base_model,
                                                                    std::string_view type) override {
    return inner_.find_by_base_model_and_type(base_model, type);
  }
  ConfigurationPage list(const ConfigurationFilter& filter, std::size_t limit,
                         std::optional<std::string_view> cursor) override {
    return inner_.list(filter, limit, cursor);
  }
  std::int64_t count(const ConfigurationFilter& filter) override { return inner_.count(filter); }
  void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) override {
    inner_.for_each_configuration(fn);
  }
  std::string change_cursor() override { return inner_.change_cursor(); }
  ChangeSet changes_since(std::string_view cursor) override { return inner_.changes_since(cursor); }
  RevisionPage revisions(std::string_view id, std::size_t limit, std::optional<std::string_view> cursor) override {
    return inner_.revisions(id, limit, cursor);
  }
  RevisionPage revisions_of_model(std::string_view model_id, std::string_view type, std::size_t limit,
                                  std::optional<std::string_view> cursor) override {
    return inner_.revisions_of_model(model_id, type, limit, cursor);
  }
  std::optional<Revision> get_revision(std::string_view id, std::int64_t revision) override {
    return inner_.get_revision(id, revision);
  }
  std::optional<Revision> revision_as_of(std::string_view model_id, std::string_view type, Timestamp at) override {
    return inner_.revision_as_of(model_id, type, at);
  }
  RevisionPage audit(const AuditQuery& query, std::size_t limit, std::optional<std::string_view> cursor) override {
    return inner_.audit(query, limit, cursor);
  }
  InferenceConfiguration rollback(std::string_view id, std::int64_t to_revision,
                                  std::optional<std::int64_t> expected_revision, const WriteContext& context) override {
    return inner_.rollback(id, to_revision, expected_revision, context);
  }
  InferenceConfiguration restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                 const WriteContext& context) override {
    return inner_.restore(id, expected_revision, context);
  }
  PruneResult prune_history(const PruneRule& rule, const WriteContext& context) override {
    return inner_.prune_history(rule, context);
  }
  void upsert_models(const std::vector<ModelRecord>& models) override { inner_.upsert_models(models); }
  std::optional<ModelRecord> get_model(std::string_view id) override { return inner_.get_model(id); }
  void for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) override {
    inner_.for_each_model(active_only, fn);
  }
  std::int64_t count_models(bool active_only) override { return inner_.count_models(active_only); }

 private:
  Store& inner_;
};

}  // namespace inferconf::testing
