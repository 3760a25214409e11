// `models scan DIR`: registers the .safetensors files of a models/ tree.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "common/text.hpp"
#include "inferconf/detect.hpp"
#include "inferconf/error.hpp"
#include "inferconf/populate.hpp"

namespace inferconf::populate {
namespace {

using detail::lower;

namespace fs = std::filesystem;

// Weight formats a models/ tree also holds, which we cannot read: reported so
// that a user knows why a model is missing. Other files (previews, YAML, JSON
// sidecars) are not models and are passed over silently.
const std::set<std::string>& other_weight_extensions() {
  static const std::set<std::string> exts = {".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx"};
  return exts;
}

struct Candidate {
  std::string rel;  // generic, '/'-separated
  fs::path path;
  bool safetensors = false;
};

std::vector<Candidate> list_candidates(const ScanOptions& options, std::vector<ScanEntry>& errors) {
  std::vector<Candidate> out;
  std::error_code ec;
  auto consider = [&](const fs::directory_entry& e) {
    std::error_code fec;
    if (!e.is_regular_file(fec)) return;
    const std::string ext = lower(e.path().extension().string());
    const bool st = ext == ".safetensors";
    if (!st && !other_weight_extensions().count(ext)) return;
    out.push_back({e.path().lexically_relative(options.dir).generic_string(), e.path(), st});
  };
  if (options.recursive) {
    fs::recursive_directory_iterator it(options.dir, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) consider(*it);
  } else {
    fs::directory_iterator it(options.dir, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) consider(*it);
  }
  if (ec) {
    ScanEntry e;
    e.file = options.dir.string();
    e.error = fmt::format("the folder could not be read completely ({}); the files listed so far were scanned",
                          ec.message());
    errors.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) { return a.rel < b.rel; });
  return out;
}

ScanEntry not_safetensors(const Candidate& c) {
  ScanEntry e;
  e.file = c.rel;
  e.error = fmt::format("not a safetensors file ({}); inferconf reads only .safetensors headers — convert it, or "
                        "register it with `inferconf models import`",
                        lower(c.path.extension().string()));
  return e;
}

// The registry record of one file from its detection result (read on a worker
// thread by detect::detect_files).
ScanEntry examine(const ScanOptions& options, const Candidate& c, const detect::FileResult& result) {
  ScanEntry e;
  e.file = c.rel;
  if (!result.ok()) {
    const detect::ReadError& err = result.error();
    e.error = fmt::format("cannot be read as safetensors: {} [{}]", err.message(), err.rule());
    return e;
  }
  const detect::Classification& cls = result.classification();
  std::error_code size_ec;
  const auto size = fs::file_size(c.path, size_ec);
  e.kind = std::string(detect::to_string(cls.kind));
  e.size = size_ec ? 0 : static_cast<std::uint64_t>(size);
  ModelRecord& m = e.record;
  m.id = c.rel;
  m.name = c.path.stem().string();
  const bool component = cls.kind == detect::FileKind::kVae || cls.kind == detect::FileKind::kTextEncoder;
  m.is_active = !options.inactive && !component;
  if (cls.base_model != "unknown") m.base_model = cls.base_model;
  std::error_code ec;
  const fs::path absolute = fs::absolute(c.path, ec);
  m.file_path = (ec ? c.path : absolute.lexically_normal()).string();
  nlohmann::json& md = m.metadata;
  md["kind"] = e.kind;
  md["size_bytes"] = e.size;
  if (cls.variant) md["variant"] = *cls.variant;  // the resolver reads a model's variant from here
  if (cls.expert) md["expert"] = *cls.expert;
  if (!cls.dtype.empty()) md["dtype"] = cls.dtype;
  md["parameters"] = cls.parameters;
  nlohmann::json detection{{"rule", cls.rule},
                           {"decided_by", cls.decided_by},
                           {"confidence", std::string(detect::to_string(cls.confidence))}};
  if (!cls.reason.empty()) detection["reason"] = cls.reason;
  if (!cls.conflict.empty()) detection["conflict"] = cls.conflict;
  md["detection"] = std::move(detection);
  e.registered = true;
  return e;
}

}  // namespace

ScanReport scan_models(Store& store, const detect::Rules& rules, const ScanOptions& options,
                       const std::function<void(const ScanEntry&)>& on_entry) {
  std::error_code ec;
  if (!fs::is_directory(options.dir, ec))
    throw invalid(fmt::format("{} is not a folder that can be read{}; give the models folder (e.g. ComfyUI/models).",
                              options.dir.string(), ec ? fmt::format(" ({})", ec.message()) : std::string()),
                  {{"DIR", fmt::format("received \"{}\"; allowed: an existing, readable folder", options.dir.string())}});
  ScanReport report;
  std::vector<ScanEntry> pending;
  std::vector<ScanEntry> listing_errors;
  const auto candidates = list_candidates(options, listing_errors);
  auto flush = [&] {
    std::vector<ModelRecord> records;
    for (auto& e : pending) {
      if (!e.registered) continue;
      e.updated = store.get_model(e.record.id).has_value();
      records.push_back(e.record);
    }
    if (!options.dry_run && !records.empty()) store.upsert_models(records);
    for (const auto& e : pending) {
      if (e.registered)
        ++(e.updated ? report.updated : report.registered);
      else
        ++report.errors;
      on_entry(e);
    }
    pending.clear();
  };
  // Headers are read and classified on worker threads; entries are made and
  // reported in the candidates' (sorted) order, the other weight formats
  // interleaved where they sort.
  std::vector<fs::path> readable;
  std::vector<std::size_t> readable_at;  // index in candidates of each readable file
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!candidates[i].safetensors) continue;
    readable.push_back(candidates[i].path);
    readable_at.push_back(i);
  }
  std::size_t next = 0;  // first candidate not yet in `pending`
  auto add = [&](ScanEntry e) {
    ++report.files;
    pending.push_back(std::move(e));
    if (pending.size() >= std::max<std::size_t>(1, options.batch_size)) flush();
  };
  detect::detect_files(
      rules, readable,
      [&](std::size_t k, detect::FileResult&& result) {
        for (; next < readable_at[k]; ++next) add(not_safetensors(candidates[next]));
        add(examine(options, candidates[next], result));
        ++next;
      },
      {options.jobs, 0});
  for (; next < candidates.size(); ++next) add(not_safetensors(candidates[next]));
  flush();
  for (const auto& e : listing_errors) {
    ++report.errors;
    on_entry(e);
  }
  return report;
}

}  // namespace inferconf::populate
