// Many files: read and classify in parallel, deliver in input order.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <variant>
#include <vector>

#include "inferconf/detect/classify.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/detect/safetensors.hpp"

namespace inferconf::detect {

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

}  // namespace inferconf::detect
