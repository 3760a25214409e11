// Base-architecture detection (issue 3): a strict safetensors header reader,
// a classifier that turns a header's tensor names/shapes/metadata into one of
// the catalogue's base models, and infer_base_model() over a registry record
// (explicit label -> metadata -> file header -> name).
//
// The rules (catalog/detection_rules.json) and the label/name aliases
// (catalog/base_model_labels.json) are data, validated when loaded. Nothing
// here guesses silently: a model that no rule recognises is "unknown" with the
// reason, and a verdict taken from a name or metadata says so.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace inferconf {
struct ModelRecord;  // registry.hpp
}

namespace inferconf::detect {

// ---------------------------------------------------------------------------
// Safetensors header reader
// ---------------------------------------------------------------------------

// The reference reader's limit on the JSON header length.
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
// Maximum JSON nesting depth accepted inside the header (the top-level object
// is depth 1; a tensor entry is depth 2, its shape array depth 3).
inline constexpr int kMaxNestingDepth = 64;

enum class Dtype : std::uint8_t {
  BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
  I16, U16, F16, BF16, I32, U32, F32, C64, F64, I64, U64,
};
std::string_view to_string(Dtype d) noexcept;      // "F8_E4M3"...
std::optional<Dtype> parse_dtype(std::string_view s) noexcept;
unsigned dtype_bits(Dtype d) noexcept;              // F4 = 4, F6_* = 6, BOOL/U8 = 8, F32 = 32...
bool is_fp8(Dtype d) noexcept;

// A tensor's shape: a read-only view of its dimensions, which live in the
// storage of the SafetensorsHeader that holds the tensor (no allocation per
// tensor). Compares equal to a std::vector of the same dimensions.
class Shape {
 public:
  using value_type = std::uint64_t;
  using iterator = const std::uint64_t*;
  using const_iterator = const std::uint64_t*;
  Shape() = default;
  Shape(const std::uint64_t* dims, std::size_t rank) noexcept : dims_(dims), rank_(rank) {}
  const std::uint64_t* begin() const noexcept { return dims_; }
  const std::uint64_t* end() const noexcept { return dims_ + rank_; }
  const std::uint64_t* data() const noexcept { return dims_; }
  std::size_t size() const noexcept { return rank_; }
  bool empty() const noexcept { return rank_ == 0; }
  std::uint64_t operator[](std::size_t i) const noexcept { return dims_[i]; }
  std::vector<std::uint64_t> to_vector() const { return {begin(), end()}; }
  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator==(const Shape& a, const std::vector<std::uint64_t>& b) noexcept {
    return a.rank_ == b.size() && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  const std::uint64_t* dims_ = nullptr;
  std::size_t rank_ = 0;
};

// One tensor entry of a header. `name` and `shape` are views into the storage
// of the SafetensorsHeader they come from (shared by its copies): they stay
// valid as long as that header or a copy of it lives.
struct TensorInfo {
  std::string_view name;
  Dtype dtype = Dtype::F32;
  Shape shape;
  std::uint64_t begin = 0;  // data_offsets, relative to the data buffer
  std::uint64_t end = 0;
  std::uint64_t elements() const noexcept;  // product of shape (1 for rank 0)
};

struct SafetensorsHeader;
SafetensorsHeader parse_header(std::string_view bytes, std::uint64_t file_size, std::string_view file_label = "<memory>");

struct SafetensorsHeader {
  std::string file;                  // as given by the caller (for messages)
  std::uint64_t header_length = 0;   // N
  std::uint64_t file_size = 0;       // 8 + N + data
  std::vector<TensorInfo> tensors;   // in header order
  std::map<std::string, std::string> metadata;  // __metadata__
  bool has_metadata = false;

  // Exact lookup by full tensor name: O(1) through the hash index built by
  // parse_header(); a header assembled by hand is searched linearly.
  const TensorInfo* find(std::string_view name) const;

 private:
  friend struct HeaderAccess;
  // Owns the header bytes the tensor names point into, the shape dimensions
  // and the name index; shared (read-only) by copies of the header.
  std::shared_ptr<const void> storage_;
};

// One violation of the format. `rule` is a stable identifier (see
// docs/DETECTION.md for the list), `tensor` the tensor concerned (empty when
// the error is about the file or the header as a whole).
class ReadError : public std::runtime_error {
 public:
  ReadError(std::string file, std::string tensor, std::string rule, std::string message);
  const std::string& file() const noexcept { return file_; }
  const std::string& tensor() const noexcept { return tensor_; }
  const std::string& rule() const noexcept { return rule_; }
  const std::string& message() const noexcept { return message_; }
  nlohmann::json to_json() const;

 private:
  std::string file_, tensor_, rule_, message_;
};

// Reads and validates the header of one file: the 8-byte length and the N
// header bytes only (pread, bounded by the limit and the file size). Throws
// ReadError for every violation (including I/O errors, GGUF files, ...).
SafetensorsHeader read_header(const std::filesystem::path& file);

// Validates a header already in memory. `prefix` holds the first bytes of the
// file (at least the 8-byte length when present) followed by the header;
// `file_size` is the size of the whole file. Used by read_header and the fuzzer.
SafetensorsHeader parse_header(std::string_view bytes, std::uint64_t file_size,
                               std::string_view file_label);

// Writes the 8-byte length + header (padded with spaces to a multiple of 8)
// for `tensors`, whose data_offsets are assigned contiguously in order; the
// caller may then truncate() the file to 8 + N + data_size (a sparse hole).
struct TensorSpec {
  std::string name;
  Dtype dtype = Dtype::F16;
  std::vector<std::uint64_t> shape;
};
std::string encode_header(const std::vector<TensorSpec>& tensors,
                          const std::map<std::string, std::string>& metadata,
                          std::uint64_t* data_size = nullptr);
// Writes the header and extends the file to its full length without writing
// the data (the data region is a hole). Returns the file size.
std::uint64_t write_sparse_safetensors(const std::filesystem::path& file,
                                       const std::vector<TensorSpec>& tensors,
                                       const std::map<std::string, std::string>& metadata = {});

// ---------------------------------------------------------------------------
// Rules (data) and classification
// ---------------------------------------------------------------------------

enum class FileKind { kCheckpoint, kDiffusionModel, kLora, kVae, kTextEncoder, kUnknown };
std::string_view to_string(FileKind k) noexcept;  // checkpoint, diffusion_model, lora, vae, text_encoder, unknown

enum class Confidence { kNone, kLow, kMedium, kHigh };
std::string_view to_string(Confidence c) noexcept;  // none, low, medium, high

// The loaded, validated rule set. Immutable and cheap to share.
class Rules;

// Loads catalog/detection_rules.json and catalog/base_model_labels.json from
// `catalog_dir`. Throws ReadError (rule "rules_file") naming the file, the
// JSON path and what is wrong.
std::shared_ptr<const Rules> load_rules(const std::filesystem::path& catalog_dir);
// load_rules(INFERCONF_SOURCE_DIR "/catalog"), loaded once.
std::shared_ptr<const Rules> default_rules();
// The directory default_rules() reads.
std::filesystem::path default_catalog_dir();

// A verdict from the name/label/metadata rules alone.
struct NameVerdict {
  std::string base_model = "unknown";
  std::optional<std::string> variant;
  std::optional<std::string> expert;   // "high_noise" / "low_noise" (Wan 2.2 A14B)
  Confidence confidence = Confidence::kNone;
  bool known_other = false;   // recognised as a model that is none of ours (SD 3.5, Pony V7...)
  std::string rule;           // id of the label/name rule that decided
  std::string reason;         // why (always set)
  bool matched() const noexcept { return base_model != "unknown"; }
};

// Splits a name into lowercase tokens at separators, case changes and
// letter/digit boundaries: "ponyDiffusionV6XL_v6" -> pony diffusion v 6 xl v 6.
std::vector<std::string> tokenize_name(std::string_view name);
// An explicit label (Civitai baseModel, ModelSpec architecture, kohya/SwarmUI
// ids, our own ids): exact alias match first, then the name rules.
NameVerdict infer_from_label(const Rules& rules, std::string_view label);
// A file or display name: the ordered name rules (hard negatives, pony before xl...).
NameVerdict infer_from_name(const Rules& rules, std::string_view name);
// Metadata fields (header __metadata__ or a registry record's metadata): the
// fields listed in the labels file, in order; a later field may refine an
// earlier one (sdxl -> pony, flux_dev -> flux_krea), other disagreements are
// reported in `conflict`.
struct MetadataVerdict {
  NameVerdict verdict;
  std::string field;      // which field decided
  std::string conflict;   // empty when the fields agree
};
MetadataVerdict infer_from_metadata(const Rules& rules, const std::map<std::string, std::string>& metadata);
MetadataVerdict infer_from_metadata(const Rules& rules, const nlohmann::json& metadata);

struct Classification {
  std::string base_model = "unknown";
  std::optional<std::string> variant;
  std::optional<std::string> expert;
  FileKind kind = FileKind::kUnknown;
  std::string prefix;               // e.g. "model.diffusion_model.", "" for none
  std::string layout;               // "original", "diffusers", "kohya", "peft"... ("" when unknown)
  std::string dtype;                // dominant dtype by bytes, e.g. "BF16", "F8_E4M3"
  std::uint64_t parameters = 0;     // sum of element counts
  std::string rule;                 // id of the detection rule that matched ("" none)
  std::string decided_by;           // "keys", "keys+metadata", "keys+name", "metadata", "name", "none"
  Confidence confidence = Confidence::kNone;
  std::vector<std::string> evidence;    // keys/shapes/metadata that decided
  std::vector<std::string> candidates;  // bases the keys cannot separate (e.g. sdxl, pony)
  std::string reason;               // why unknown / how an ambiguity was resolved
  std::string conflict;             // metadata or name disagreeing with the keys

  nlohmann::json to_json() const;
};

// Classifies a parsed header. `names` are hints (file name, display name)
// used only to separate architectures the keys cannot tell apart and to
// report conflicts.
Classification classify(const Rules& rules, const SafetensorsHeader& header,
                        const std::vector<std::string>& names = {});

// ---------------------------------------------------------------------------
// Many files: read and classify in parallel, deliver in input order
// ---------------------------------------------------------------------------

// The verdict on one file: its Classification, or the ReadError that kept it
// from being read as safetensors.
struct FileResult {
  std::filesystem::path file;
  std::variant<Classification, ReadError> outcome;

  bool ok() const noexcept { return outcome.index() == 0; }
  const Classification& classification() const { return std::get<Classification>(outcome); }
  const ReadError& error() const { return std::get<ReadError>(outcome); }
};

// read_header(file) then classify(rules, header, {file name}); a ReadError
// becomes the result's error. Any other exception (std::bad_alloc...)
// propagates. This is the unit of work of detect_files().
FileResult detect_file(const Rules& rules, const std::filesystem::path& file);

// std::thread::hardware_concurrency(), at least 1.
unsigned default_jobs() noexcept;

struct DetectFilesOptions {
  unsigned jobs = 0;         // worker threads; 0 = default_jobs(); 1 = no thread, everything on the caller's
  std::size_t window = 0;    // results held ahead of the callback at most; 0 = 64 per worker (never below `jobs`)
  // The unit of work for one file; a caller that reads headers some other way
  // (or observes each file) passes its own.
  std::function<FileResult(const Rules&, const std::filesystem::path&)> detect = detect_file;
};

// Runs detect_file() on every file of `files` with `options.jobs` worker
// threads and calls `deliver(index, result)` for each file IN INPUT ORDER, on
// the calling thread, as soon as files[0..index] are all done: output written
// from the callback streams and is byte-identical whatever the number of jobs.
//
// Memory is bounded: a worker does not start file i before the callback has
// received file i - window, so at most `window` results wait for it.
//
// Sharing: the workers share `rules` (immutable once loaded; classify() keeps
// its scratch in thread_local storage) and nothing else; a header is read,
// classified and dropped on one worker thread, only the result crosses.
//
// Errors: a ReadError is the file's result and the run goes on. Any other
// exception from a file's work (e.g. std::bad_alloc for one huge header)
// becomes that file's ReadError, rule "unexpected", naming the exception, and
// the run goes on: one file cannot end a scan of thousands, nor, thrown on a
// worker, the process. An exception from `deliver` stops the run: the files
// before it in input order have been delivered, none after it is, no new file
// is started, every worker is joined, and then the exception is rethrown to
// the caller (what the sequential loop would do at that file).
// If no thread can be started the files are processed on the calling thread.
void detect_files(const Rules& rules, const std::vector<std::filesystem::path>& files,
                  const std::function<void(std::size_t index, FileResult&& result)>& deliver,
                  DetectFilesOptions options = {});

// ---------------------------------------------------------------------------
// Registry records
// ---------------------------------------------------------------------------

struct ModelEvidence {
  std::string id;
  std::string name;
  std::optional<std::string> base_model;   // as the platform wrote it (maybe an alias)
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<std::string> file_path;
};

enum class Source { kExplicit, kMetadata, kFile, kName, kNone };
std::string_view to_string(Source s) noexcept;  // explicit, metadata, file, name, none

struct Inference {
  std::string base_model = "unknown";
  std::optional<std::string> variant;
  std::optional<std::string> expert;
  Source source = Source::kNone;
  Confidence confidence = Confidence::kNone;
  std::string detail;      // e.g. "base_model \"Flux.1 D\" (label flux_1_d)"
  std::string conflict;    // other sources that disagreed, with what they said
  std::string reason;      // set when unknown (and for known-other models)
  std::optional<Classification> file;       // when the file header was read
  std::optional<std::string> file_error;    // when file_path could not be read

  nlohmann::json to_json() const;
};

Inference infer_base_model(const Rules& rules, const ModelEvidence& record);
Inference infer_base_model(const ModelEvidence& record);  // default_rules()

// Adapter for the registry's record type (registry.hpp); header-only.
template <class Record>
  requires requires(const Record& r) { r.id; r.name; r.base_model; r.metadata; r.file_path; }
Inference infer_base_model_for(const Rules& rules, const Record& r) {
  return infer_base_model(rules, ModelEvidence{r.id, r.name, r.base_model, r.metadata, r.file_path});
}

}  // namespace inferconf::detect
