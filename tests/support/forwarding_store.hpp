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
  InferenceConfiguration create(const CreateDTO& dto) override { return inner_.create(dto); }
  std::vector<InferenceConfiguration> create_many(const std::vector<CreateDTO>& dtos) override {
    return inner_.create_many(dtos);
  }
  std::vector<bool> create_missing(const std::vector<CreateDTO>& dtos, bool replace) override {
    return inner_.create_missing(dtos, replace);
  }
  std::optional<InferenceConfiguration> get(std::string_view id) override { return inner_.get(id); }
  InferenceConfiguration update(std::string_view id, const UpdateDTO& u, std::optional<std::int64_t> rev) override {
    return inner_.update(id, u, rev);
  }
  InferenceConfiguration replace(std::string_view id, const CreateDTO& r, std::optional<std::int64_t> rev) override {
    return inner_.replace(id, r, rev);
  }
  void remove(std::string_view id, std::optional<std::int64_t> rev) override { inner_.remove(id, rev); }
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
