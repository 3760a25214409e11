#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "inferconf/configuration.hpp"

namespace inferconf {
namespace {

TEST(Timestamp, FormatsRfc3339WithMillisecondsAndZ) {
  const auto t = parse_timestamp("2024-02-29T23:59:59.5Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_timestamp(*t), "2024-02-29T23:59:59.500Z");
}

TEST(Timestamp, AppliesNumericOffsets) {
  EXPECT_EQ(format_timestamp(*parse_timestamp("2024-01-01T02:30:00+02:30")), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2023-12-31T22:00:00-02:00")), "2024-01-01T00:00:00.000Z");
}

TEST(Timestamp, RejectsWhatIsNotADateTime) {
  for (const char* bad : {"", "2024-01-01", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z",
                          "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00Zjunk", "yesterday"})
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

TEST(Timestamp, NowRoundTrips) {
  const auto now = now_utc();
  EXPECT_EQ(parse_timestamp(format_timestamp(now)), now);
}

// Decodes the 48-bit Unix-millisecond prefix of a version 7 UUID.
std::uint64_t unix_ms_of(const std::string& id) {
  std::string hex = id.substr(0, 8) + id.substr(9, 4);
  return std::stoull(hex, nullptr, 16);
}

TEST(Uuid, IsVersion7AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const auto id = new_uuid_v7();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_FALSE(is_uuid("0b7f7c5e-6f0c-4a53-9d41-2b8d3c1e9f0"));
  EXPECT_FALSE(is_uuid("0b7f7c5e_6f0c-4a53-9d41-2b8d3c1e9f00"));
}

// The property the unique `id` index relies on: one thread's ids sort in the
// order they were made, also when many fall in the same millisecond (this loop
// makes far more than the counter's 4 096 per millisecond on a fast machine).
TEST(Uuid, IdsOfOneThreadSortInCreationOrder) {
  std::string previous = new_uuid_v7();
  for (int i = 0; i < 200000; ++i) {
    std::string id = new_uuid_v7();
    ASSERT_LT(previous, id) << "after " << i << " ids";
    previous = std::move(id);
  }
}

TEST(Uuid, CarriesTheTimeItWasMade) {
  using namespace std::chrono;
  const auto before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const auto id = new_uuid_v7();
  const auto after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  // The counter may borrow a few milliseconds ahead after a burst (previous test), never fall behind.
  EXPECT_GE(unix_ms_of(id), static_cast<std::uint64_t>(before)) << id;
  EXPECT_LE(unix_ms_of(id), static_cast<std::uint64_t>(after) + 60000) << id;
}

}  // namespace
}  // namespace inferconf
