// The safetensors header reader: good files, and every malformed case of
// cases/malformed.tsv with its precise error.
#include <fstream>

#include <gtest/gtest.h>

#include "detect/layouts.hpp"
#include "detect/test_support.hpp"
#include "inferconf/detect.hpp"

namespace inferconf::detect {
namespace {

using testing::case_file;
using testing::expand_bytes;
using testing::read_tsv;
using testing::scratch_dir;

TEST(DetectReader, ReadsAGeneratedHeaderWithoutTheData) {
  const auto dir = scratch_dir("reader-good");
  std::vector<TensorSpec> t{{"b.weight", Dtype::F16, {3, 4}}, {"a.bias", Dtype::F32, {3}}, {"scalar", Dtype::F32, {}},
                            {"empty", Dtype::BF16, {0, 7}}, {"fp8", Dtype::F8_E4M3, {16}}, {"nib", Dtype::F4, {4}}};
  const auto size = write_sparse_safetensors(dir / "x.safetensors", t, {{"format", "pt"}, {"ünïcode", "värde"}});
  EXPECT_EQ(std::filesystem::file_size(dir / "x.safetensors"), size);
  const auto h = read_header(dir / "x.safetensors");
  EXPECT_EQ(h.tensors.size(), 6u);
  EXPECT_EQ(h.file_size, size);
  EXPECT_EQ(h.header_length % 8, 0u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_EQ(h.metadata.at("ünïcode"), "värde");
  ASSERT_NE(h.find("b.weight"), nullptr);
  EXPECT_EQ(h.find("b.weight")->shape, (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(h.find("b.weight")->dtype, Dtype::F16);
  EXPECT_EQ(h.find("b.weight")->end - h.find("b.weight")->begin, 24u);
  EXPECT_EQ(h.find("scalar")->elements(), 1u);
  EXPECT_EQ(h.find("empty")->elements(), 0u);
  EXPECT_EQ(h.find("missing"), nullptr);
}

TEST(DetectReader, AcceptsEscapesWhitespaceAndIgnoredFields) {
  const std::string json =
      "{ \"a\\u00e9\\ud83d\\ude00\\n\" : {\"shape\":[2],\"extra\":{\"x\":[1,-2.5e3,true,null]},\"dtype\":\"U8\","
      "\"data_offsets\":[0,2]} ,\"__metadata__\":{}}      ";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  bytes += json;
  const auto h = parse_header(bytes, bytes.size() + 2);
  ASSERT_EQ(h.tensors.size(), 1u);
  EXPECT_EQ(h.tensors[0].name, "a\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_TRUE(h.has_metadata);
}

// Zero-size tensors where a non-empty tensor begins (at 0, between two, two at
// one offset), in a header whose order is not offset order, are accepted.
TEST(DetectReader, AcceptsZeroSizeTensorsAtTheStartOfAnother) {
  const std::string json =
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"z0":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"m1":{"dtype":"F8_E4M3","shape":[0,3],"data_offsets":[8,8]},)"
      R"("m2":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  bytes += json;
  const auto h = parse_header(bytes, bytes.size() + 16);
  ASSERT_EQ(h.tensors.size(), 5u);
  EXPECT_EQ(h.find("m1")->elements(), 0u);
  EXPECT_EQ(h.find("z0")->begin, 0u);
}

TEST(DetectReader, ErrorsNameFileRuleAndTensor) {
  try {
    (void)read_header("/nonexistent/dir/model.safetensors");
    FAIL();
  } catch (const ReadError& e) {
    EXPECT_EQ(e.rule(), "io");
    EXPECT_EQ(e.file(), "/nonexistent/dir/model.safetensors");
    EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
  }
  try {
    (void)read_header(scratch_dir("reader-dir"));
    FAIL();
  } catch (const ReadError& e) {
    EXPECT_EQ(e.rule(), "io");
  }
}

struct MalformedCase {
  std::string name, length, header, data, rule, tensor, contains;
  friend void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }
};

std::vector<MalformedCase> malformed_cases() {
  std::vector<MalformedCase> out;
  for (const auto& r : read_tsv(case_file("malformed.tsv"))) {
    if (r.size() != 7) throw std::runtime_error("malformed.tsv: row with " + std::to_string(r.size()) + " columns: " + r[0]);
    out.push_back({r[0], r[1], r[2], r[3], r[4], r[5], r[6]});
  }
  return out;
}

class DetectMalformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(DetectMalformed, FailsWithThePreciseError) {
  const auto& c = GetParam();
  const auto dir = scratch_dir("malformed-" + c.name);
  const auto file = dir / (c.name + ".safetensors");
  const std::string header = c.header == "@empty" ? std::string() : expand_bytes(c.header);
  std::string bytes;
  if (c.length != "raw") {
    const std::uint64_t n = c.length == "auto" ? header.size() : std::stoull(c.length);
    for (int i = 0; i < 8; ++i) bytes += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  bytes += header;
  {
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::filesystem::resize_file(file, bytes.size() + std::stoull(c.data));
  try {
    const auto h = read_header(file);
    FAIL() << c.name << ": expected rule " << c.rule << ", but the file was read (" << h.tensors.size() << " tensors)";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.rule(), c.rule) << c.name << ": " << e.what();
    EXPECT_EQ(e.tensor(), c.tensor == "-" ? "" : c.tensor) << c.name << ": " << e.what();
    EXPECT_NE(e.message().find(c.contains), std::string::npos) << c.name << ": message \"" << e.message()
                                                               << "\" lacks \"" << c.contains << "\"";
    EXPECT_EQ(e.file(), file.string());
  }
  // The same bytes through the in-memory entry point give the same rule.
  try {
    (void)parse_header(bytes, bytes.size() + std::stoull(c.data), "mem");
    ADD_FAILURE() << c.name << ": parse_header accepted it";
  } catch (const ReadError& e) {
    EXPECT_EQ(e.rule(), c.rule) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(detect, DetectMalformed, ::testing::ValuesIn(malformed_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(DetectMalformedTable, AtLeastThirtyCases) { EXPECT_GE(malformed_cases().size(), 30u); }

TEST(DetectReader, HeaderOfThousandsOfTensorsParses) {
  const auto dir = scratch_dir("reader-big");
  auto l = testing::sdxl_checkpoint();
  write_sparse_safetensors(dir / "big.safetensors", l);
  const auto h = read_header(dir / "big.safetensors");
  EXPECT_EQ(h.tensors.size(), l.size());
  EXPECT_GT(h.tensors.size(), 2000u);
}

}  // namespace
}  // namespace inferconf::detect
