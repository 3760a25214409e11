// The Store conformance suite run against the SQLite store, each test on a new file.
#include <atomic>

#include "store/scratch_dir.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store_conformance.hpp"

namespace inferconf::testing {
namespace {

std::unique_ptr<Store> fresh_sqlite_store() {
  static ScratchDir dir;
  static std::atomic<int> n{0};
  auto store = open_sqlite_store(dir.file("conformance-" + std::to_string(n++) + ".db"));
  store->ensure_schema();
  return store;
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, ::testing::Values(StoreFactory{"sqlite", fresh_sqlite_store}),
                         StoreFactoryName());

}  // namespace
}  // namespace inferconf::testing
