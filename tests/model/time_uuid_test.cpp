#include <set>

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

TEST(Uuid, IsVersion4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const auto id = new_uuid_v4();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_FALSE(is_uuid("0b7f7c5e-6f0c-4a53-9d41-2b8d3c1e9f0"));
  EXPECT_FALSE(is_uuid("0b7f7c5e_6f0c-4a53-9d41-2b8d3c1e9f00"));
}

}  // namespace
}  // namespace inferconf
