// A Store that answers the configuration lookups the Resolver makes from the
// server's in-memory index, and passes everything else to the real store.
// Resolution is then as fast as the read routes and sees the same state.
#pragma once

#include "http/index/configuration_index.hpp"
#include "inferconf/store.hpp"

namespace inferconf::http {

class IndexedStore : public Store {
 public:
  IndexedStore(Store& store, const ConfigurationIndex& index) : store_(store), index_(index) {}

  std::string describe() const override { return store_.describe(); }
  void ensure_schema() override { store_.ensure_schema(); }
  std::vector<std::string> check_schema() override { return store_.check_schema(); }
  InferenceConfiguration create(const CreateDTO& dto) override { return store_.create(dto); }
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos) override {
    return store_.create_many(dtos);
  }
  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace) override {
    return store_.create_missing(dtos, replace);
  }
  std::vector<bool> create_missing_for_models(const std::vector<PresetForModels>& groups, bool replace) override {
    return store_.create_missing_for_models(groups, replace);
  }
  std::optional<InferenceConfiguration> get(std::string_view id) override;
  InferenceConfiguration update(std::string_view id, const UpdateDTO& u,
                                std::optional<std::int64_t> expected_revision) override {
    return store_.update(id, u, expected_revision);
  }
  InferenceConfiguration replace(std::string_view id, const CreateDTO& r,
                                 std::optional<std::int64_t> expected_revision) override {
    return store_.replace(id, r, expected_revision);
  }
  void remove(std::string_view id, std::optional<std::int64_t> expected_revision) override {
    store_.remove(id, expected_revision);
  }
  std::vector<InferenceConfiguration> find_by_model_id(std::string_view model_id,
                                                       std::optional<std::string_view> type) override;
  std::vector<InferenceConfiguration> find_by_base_model(std::string_view base_model,
                                                         std::optional<std::string_view> type) override {
    return store_.find_by_base_model(base_model, type);
  }
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) override;
  std::optional<InferenceConfiguration> find_by_base_model_and_type(std::string_view base_model,
                                                                    std::string_view type) override {
    return store_.find_by_base_model_and_type(base_model, type);
  }
  ConfigurationPage list(const ConfigurationFilter& filter, std::size_t limit,
                         std::optional<std::string_view> cursor) override {
    return store_.list(filter, limit, cursor);
  }
  std::int64_t count(const ConfigurationFilter& filter) override { return store_.count(filter); }
  void for_each_configuration(const std::function<bool(const InferenceConfiguration&)>& fn) override {
    store_.for_each_configuration(fn);
  }
  std::string change_cursor() override { return store_.change_cursor(); }
  ChangeSet changes_since(std::string_view cursor) override { return store_.changes_since(cursor); }
  void upsert_models(const std::vector<ModelRecord>& models) override { store_.upsert_models(models); }
  std::optional<ModelRecord> get_model(std::string_view id) override { return store_.get_model(id); }
  void for_each_model(bool active_only, const std::function<bool(const ModelRecord&)>& fn) override {
    store_.for_each_model(active_only, fn);
  }
  std::int64_t count_models(bool active_only) override { return store_.count_models(active_only); }

 private:
  Store& store_;
  const ConfigurationIndex& index_;
};

}  // namespace inferconf::http
