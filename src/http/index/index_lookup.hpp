// The Resolver's view of data inside the server: configurations from the
// in-memory index (as fast as the read routes, and the same state they
// show), model records from the store's registry, which the index does not
// hold.
#pragma once

#include "http/index/configuration_index.hpp"
#include "inferconf/service.hpp"

namespace inferconf::http {

class IndexLookup final : public ResolverLookup {
 public:
  // Both must outlive the lookup.
  IndexLookup(Store& store, const ConfigurationIndex& index) : store_(store), index_(index) {}

  // From the index: what the last write or refresh put there. Never throws
  // for a missing configuration (nullopt); any thread (the index takes a
  // shared lock).
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) const override;
  // From the store: blocking I/O, so callers on a network thread must hand
  // the work to a blocking pool. Throws the store's errors.
  std::optional<ModelRecord> get_model(std::string_view model_id) const override { return store_.get_model(model_id); }
  // From the store's history (the index holds only current documents):
  // blocking I/O, like get_model.
  std::optional<InferenceConfiguration> configuration_at(std::string_view model_id, std::string_view type,
                                                          Timestamp at) const override {
    return configuration_as_of(store_, model_id, type, at);
  }

 private:
  Store& store_;
  const ConfigurationIndex& index_;
};

}  // namespace inferconf::http
