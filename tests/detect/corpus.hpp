// A directory of many .safetensors files for the parallel-detection tests: real
// layouts (tests/detect/layouts.hpp) cycled with every malformed case of
// cases/malformed.tsv, so valid verdicts and read errors interleave. Names are
// numbered, so their sorted order (what `inferconf detect DIR` reads) is the
// order they were written in.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "detect/layouts.hpp"
#include "detect/test_support.hpp"

namespace inferconf::detect::testing {

// Writes `count` files into `dir` and returns their paths in order.
inline std::vector<std::filesystem::path> write_mixed_corpus(const std::filesystem::path& dir, std::size_t count) {
  struct Kind {
    std::string stem;   // file name without the number and extension
    std::string bytes;  // the file up to its (sparse) data
    std::uint64_t data = 0;
  };
  std::vector<Kind> valid, malformed;
  auto add_valid = [&](const std::string& stem, const Layout& l, std::map<std::string, std::string> meta = {}) {
    Kind k{stem, {}, 0};
    k.bytes = encode_header(l, meta, &k.data);
    valid.push_back(std::move(k));
  };
  {
    Layout sdxl_diffusion;
    append(sdxl_diffusion, sdxl_unet(), "model.diffusion_model.");
    add_valid("sd_xl_base_1.0", sdxl_checkpoint());
    add_valid("ponyDiffusionV6XL", sdxl_diffusion);
    add_valid("v1-5-pruned-emaonly", sd15_checkpoint());
    add_valid("flux1-dev", flux_dit(true));
    add_valid("flux1-schnell-fp8", comfy_scaled_fp8(flux_dit(false)));
    add_valid("wan2.1_t2v_1.3B_fp16", wan_dit(1536, 8960, 30, 16, 16, false, Dtype::F16));
    add_valid("hidream_i1_fast_bf16", hidream_dit());
    add_valid("sdxl_style_lora", lora_kohya_sdxl(), {{"ss_base_model_version", "sdxl_base_v1-0"}});
    add_valid("wan21_lora", lora_wan(1536));
    add_valid("vae-ft-mse", ldm_vae(4));
    add_valid("clip_l", clip_text(12, 768, 3072));
  }
  for (const auto& r : read_tsv(case_file("malformed.tsv"))) {
    // name length header data ... (see the file's comment)
    const std::string header = r[2] == "@empty" ? std::string() : expand_bytes(r[2]);
    std::string bytes;
    if (r[1] != "raw") {
      const std::uint64_t n = r[1] == "auto" ? header.size() : std::stoull(r[1]);
      for (int i = 0; i < 8; ++i) bytes += static_cast<char>((n >> (8 * i)) & 0xff);
    }
    malformed.push_back({"malformed_" + r[0], bytes + header, std::stoull(r[3])});
  }
  std::vector<std::filesystem::path> files;
  for (std::size_t i = 0; i < count; ++i) {
    // One file in four is malformed (every case of the table once count >= 4 x cases).
    const Kind& k = i % 4 == 3 ? malformed[(i / 4) % malformed.size()] : valid[(i - i / 4) % valid.size()];
    char num[32];
    std::snprintf(num, sizeof num, "%05zu_", i);
    const auto path = dir / (num + k.stem + ".safetensors");
    {
      std::ofstream out(path, std::ios::binary);
      out.write(k.bytes.data(), static_cast<std::streamsize>(k.bytes.size()));
    }
    std::filesystem::resize_file(path, k.bytes.size() + k.data);
    files.push_back(path);
  }
  return files;
}

}  // namespace inferconf::detect::testing
