// The Resolver's view of data inside the server: configurations from the
// in-memory index (as fast as the read routes, and the same state they
// show), model records from the store's registry, which the index does not
// hold.
#pragma once

#include "http/index/configuration_index.hpp"
#include "inferconf/service.hpp"

namespace inferconf::http {

// Model records and past configurations come from the store (StoreLookup):
// blocking I/O, so callers on a network thread hand that work to a blocking
// pool; the index holds only current documents.
class IndexLookup final : public StoreLookup {
 public:
  // Both must outlive the lookup.
  IndexLookup(Store& store, const ConfigurationIndex& index) : StoreLookup(store), index_(index) {}

  // From the index: what the last write or refresh put there. Never throws
  // for a missing configuration (nullopt); any thread (the index takes a
  // shared lock).
  std::optional<InferenceConfiguration> find_by_model_and_type(std::string_view model_id,
                                                               std::string_view type) const override;

 private:
  const ConfigurationIndex& index_;
};

}  // namespace inferconf::http
