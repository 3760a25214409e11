// The Store conformance suite: what every implementation of inferconf::Store
// must do, written once against the interface and run for each backend.
//
// To run it for a backend, link the object library `inferconf_store_conformance`
// (tests/store/CMakeLists.txt) and instantiate:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
//                            ::testing::Values(StoreFactory{"sqlite", [] { return ...; }}),
//                            StoreFactoryName());
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "inferconf/store.hpp"

namespace inferconf::testing {

struct StoreFactory {
  std::string name;  // the test-name suffix: letters, digits and underscores only
  // A fresh, empty store, ensure_schema() done. Called once per test.
  std::function<std::unique_ptr<Store>()> make;
};

inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

struct StoreFactoryName {
  std::string operator()(const ::testing::TestParamInfo<StoreFactory>& info) const { return info.param.name; }
};

class StoreConformance : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};

}  // namespace inferconf::testing
