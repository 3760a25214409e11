// The PNG text-chunk reader on real files built by png_builder.hpp: valid
// tEXt/zTXt/iTXt chunks read back, and each malformed file (written to disk
// and read through the file API) fails with an error that says what is wrong.
#include <gtest/gtest.h>

#include "interop/interop_fixture.hpp"
#include "interop/png_builder.hpp"
#include "support/shipped_rules.hpp"

namespace inferconf::testing {
namespace {

namespace fs = std::filesystem;

const std::string kInfotext =
    "a lighthouse\nNegative prompt: blurry\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, "
    "Size: 1024x1024, Model: sd_xl_base_1.0";

fs::path temp_png(const std::string& name, const std::string& bytes) {
  const auto path = fs::temp_directory_path() / ("inferconf_png_test_" + std::to_string(::getpid())) / (name + ".png");
  write_file(path, bytes);
  return path;
}

TEST(PngText, ReadsEveryTextChunkKind) {
  const std::string latin1_cafe = "caf\xe9";  // Latin-1 in tEXt/zTXt becomes UTF-8
  const auto png = png_with({text_chunk("Title", latin1_cafe), ztxt_chunk("Comment", latin1_cafe),
                             itxt_chunk("parameters", kInfotext, false), itxt_chunk("prompt", "{\"1\": {}}", true)});
  const auto chunks = read_png_text_chunks(temp_png("valid", png));
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[0].type, "tEXt");
  EXPECT_EQ(chunks[0].text, "caf\xc3\xa9");
  EXPECT_EQ(chunks[1].type, "zTXt");
  EXPECT_EQ(chunks[1].text, "caf\xc3\xa9");
  EXPECT_EQ(chunks[2].keyword, "parameters");
  EXPECT_EQ(chunks[2].text, kInfotext);
  EXPECT_EQ(chunks[3].text, "{\"1\": {}}");
}

TEST(PngText, ImportsTheParametersChunk) {
  PresetImportOptions o;
  o.rules = inferconf::testing::shipped_rules().get();
  o.base_model = "sdxl";
  const auto r = import_preset(png_with({text_chunk("parameters", kInfotext)}), "a.png", o, shipped_catalog(),
                               shipped_engine_vocabulary());
  EXPECT_EQ(r.source, "infotext");
  EXPECT_EQ(r.dto.model_id, "sd_xl_base_1.0");
  EXPECT_EQ(r.dto.sampler, "dpmpp_2m");
  EXPECT_EQ(r.dto.scheduler, "karras");
  EXPECT_EQ(r.prompt, "a lighthouse");
}

TEST(PngText, ImportsAComfyUIPromptChunk) {
  ExportOptions eo;
  eo.seed = 5;
  const auto graph = export_request(resolved_from_preset("flux_dev", "speed"), ExportFormat::kComfyUI, eo,
                                    shipped_catalog(), shipped_engine_vocabulary());
  PresetImportOptions o;
  o.rules = inferconf::testing::shipped_rules().get();
  o.base_model = "flux_dev";
  o.configuration_type = "speed";
  const auto png = png_with({text_chunk("prompt", graph.body["prompt"].dump()), text_chunk("workflow", "{}")});
  const auto r = import_preset(png, "comfy.png", o, shipped_catalog(), shipped_engine_vocabulary());
  EXPECT_EQ(r.source, "comfyui");
  EXPECT_EQ(r.dto.model_id, "flux1-dev");
  EXPECT_EQ(r.dto.steps, 12);
  EXPECT_EQ(r.dto.model_specific_params["guidance"], 3.5);
}

struct Malformed {
  std::string name;
  std::string bytes;
  std::string error;  // a part of the message
  PngLimits limits = {};
};

std::vector<Malformed> malformed_pngs() {
  const auto good_text = text_chunk("parameters", kInfotext);
  const auto good = png_with({good_text});
  std::vector<Malformed> m;
  {
    auto b = good;
    b[1] = 'Q';
    m.push_back({"bad_signature", b, "is not a PNG file: it does not start with the 8-byte PNG signature"});
  }
  {
    auto b = good;
    const auto at = b.find("tEXt") + 4 + 3;  // a byte of the text's data
    b[at] ^= 0x20;
    m.push_back({"bad_crc", b, "the tEXt chunk at byte 33 has CRC"});
  }
  m.push_back({"truncated_chunk", good.substr(0, good.find("tEXt") + 40),
               "the tEXt chunk at byte 33 declares"});
  {
    auto b = good;
    b.replace(33, 4, be32(0xfffffff0u));
    m.push_back({"huge_declared_length", b, "declares a length of 4294967280 bytes, more than the PNG maximum"});
  }
  {
    auto b = good;
    b.replace(33, 4, be32(0x7fffffffu));
    m.push_back({"length_beyond_file", b, "declares 2147483647 bytes of data, but only"});
  }
  m.push_back({"missing_iend", kPngSignature + ihdr_chunk() + good_text + idat_chunk(), "without an IEND chunk"});
  m.push_back({"truncated_header", kPngSignature + ihdr_chunk() + good_text + std::string("\0\0\0\x05IDA", 8),
               "is truncated: a chunk starts at byte"});
  m.push_back({"signature_only", kPngSignature, "ends at byte 8 without an IEND chunk"});
  m.push_back({"text_before_ihdr", kPngSignature + good_text + ihdr_chunk() + idat_chunk() + iend_chunk(),
               "comes first, but a PNG must start with IHDR"});
  m.push_back({"corrupt_ztxt", png_with({png_chunk("zTXt", std::string("parameters\0\0", 12) + "not zlib data")}),
               "holds corrupt compressed text"});
  {
    const auto z = zlib_compress(kInfotext);
    m.push_back({"cut_ztxt_stream", png_with({png_chunk("zTXt", std::string("parameters\0\0", 12) + z.substr(0, z.size() / 2))}),
                 "ends before its end marker"});
  }
  {
    Malformed bomb{"decompression_bomb", png_with({ztxt_chunk("parameters", std::string(1 << 20, 'a'))}),
                   "decompresses to more than 4096 bytes"};
    bomb.limits.max_text_bytes = 4096;
    m.push_back(bomb);
  }
  m.push_back({"no_keyword_separator", png_with({png_chunk("tEXt", "parameters without a separator")}),
               "has no NUL byte after its keyword"});
  m.push_back({"keyword_too_long", png_with({text_chunk(std::string(80, 'k'), "x")}), "has a keyword of 80 bytes"});
  m.push_back({"itxt_bad_flag", png_with({png_chunk("iTXt", std::string("parameters\0\x02\0\0\0x", 16))}),
               "has compression flag 2"});
  m.push_back({"bad_chunk_type", png_with({png_chunk("t3Xt", "x")}), "a type that is not four ASCII letters"});
  {
    Malformed big{"over_file_limit", good, "more than the 64 bytes inferconf reads"};
    big.limits.max_file_bytes = 64;
    m.push_back(big);
  }
  return m;
}

TEST(PngText, MalformedFilesFailWithClearErrors) {
  const auto cases = malformed_pngs();
  EXPECT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    const auto path = temp_png(c.name, c.bytes);
    try {
      read_png_text_chunks(path, c.limits);
      ADD_FAILURE() << c.name << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalid) << c.name;
      EXPECT_NE(std::string(e.what()).find(c.error), std::string::npos) << c.name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << c.name << " names no file: " << e.what();
    }
  }
}

TEST(PngText, NoTextChunkIsAClearImportError) {
  PresetImportOptions o;
  o.rules = inferconf::testing::shipped_rules().get();
  o.base_model = "sdxl";
  for (const auto& [png, detail] : {std::pair{png_with({}), std::string("it has no text chunks at all")},
                                    std::pair{png_with({text_chunk("Software", "GIMP")}),
                                              std::string("its text chunks: \"Software\"")}}) {
    try {
      import_preset(png, "photo.png", o, shipped_catalog(), shipped_engine_vocabulary());
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("photo.png holds no \"parameters\" (A1111/Forge) or \"prompt\" (ComfyUI)"),
                std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(detail), std::string::npos) << e.what();
    }
  }
}

TEST(PngText, PromptChunkThatIsNotJsonIsAClearError) {
  PresetImportOptions o;
  o.rules = inferconf::testing::shipped_rules().get();
  o.base_model = "sdxl";
  try {
    import_preset(png_with({text_chunk("prompt", "{not json")}), "c.png", o, shipped_catalog(), shipped_engine_vocabulary());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a ComfyUI API graph"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace inferconf::testing
