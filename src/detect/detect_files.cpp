// detect_files(): read + classify many files on worker threads, deliver the
// results in input order on the calling thread (see detect.hpp for the contract).
//
// Work is handed out one file at a time from a shared counter (files differ in
// size by orders of magnitude, so static chunks would leave a worker idle), and
// the results wait in a ring of `window` slots until every earlier file is
// done. A worker may not claim file i while file i - window is undelivered:
// that bounds memory, and it keeps slot i % window free for file i.
#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "inferconf/detect.hpp"
#include "inferconf/error.hpp"

namespace inferconf::detect {

FileResult detect_file(const Rules& rules, const std::filesystem::path& file) {
  try {
    const auto header = read_header(file);
    return {file, classify(rules, header, {file.filename().string()})};
  } catch (const ReadError& e) {
    return {file, e};
  }
}

unsigned default_jobs() noexcept { return std::max(1u, std::thread::hardware_concurrency()); }

namespace {

// One file's work, guarded: an exception that is not the file's ReadError
// becomes its result instead of leaving the worker thread (std::terminate).
FileResult detect_guarded(const DetectFilesOptions& options, const Rules& rules, const std::filesystem::path& file) {
  try {
    return options.detect(rules, file);
  } catch (const ReadError& e) {
    return {file, e};
  } catch (...) {
    return {file, ReadError(file.string(), "", "unexpected",
                            "reading or classifying this file failed unexpectedly (" + describe_current_exception() +
                                "); the other files were processed")};
  }
}

struct Slot {
  std::optional<FileResult> result;
  std::exception_ptr failure;  // an exception other than ReadError, for the caller
  bool ready = false;
};

class Pool {
 public:
  Pool(const Rules& rules, const std::vector<std::filesystem::path>& files, const DetectFilesOptions& options,
       std::size_t window)
      : rules_(rules), files_(files), options_(options), slots_(window) {}

  // Stops handing out files and joins every worker, also when the caller
  // leaves by an exception (from a worker's file or from the callback).
  ~Pool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Starts up to `jobs` workers; returns how many started (0 when the system
  // refuses the first thread).
  std::size_t start(unsigned jobs) {
    threads_.reserve(jobs);  // so that emplace_back cannot throw after a thread started
    for (unsigned i = 0; i < jobs; ++i) {
      try {
        threads_.emplace_back([this] { work(); });
      } catch (const std::system_error&) {
        break;  // resource limits: carry on with the workers we have
      }
    }
    return threads_.size();
  }

  void deliver_all(const std::function<void(std::size_t, FileResult&&)>& deliver) {
    for (std::size_t i = 0; i < files_.size(); ++i) {
      Slot taken;
      {
        std::unique_lock lock(mu_);
        Slot& s = slots_[i % slots_.size()];
        ready_.wait(lock, [&] { return s.ready; });
        taken = std::move(s);
        s = Slot{};
        delivered_ = i + 1;
      }
      space_.notify_all();
      if (taken.failure) std::rethrow_exception(taken.failure);  // ~Pool joins first
      deliver(i, std::move(*taken.result));
    }
  }

 private:
  void work() {
    for (;;) {
      std::size_t i;
      {
        std::unique_lock lock(mu_);
        space_.wait(lock, [&] { return stop_ || next_ >= files_.size() || next_ < delivered_ + slots_.size(); });
        if (stop_ || next_ >= files_.size()) return;
        i = next_++;
      }
      Slot done;
      try {
        done.result = detect_guarded(options_, rules_, files_[i]);
      } catch (...) {
        done.failure = std::current_exception();
      }
      done.ready = true;
      const bool failed = done.failure != nullptr;
      bool wake;
      {
        std::lock_guard lock(mu_);
        slots_[i % slots_.size()] = std::move(done);
        wake = i == delivered_;  // the caller waits for exactly this file
        // After a failure nothing later can be delivered: claim no more.
        if (failed) stop_ = true;
      }
      if (wake) ready_.notify_one();
    }
  }

  const Rules& rules_;
  const std::vector<std::filesystem::path>& files_;
  const DetectFilesOptions& options_;
  std::mutex mu_;
  std::condition_variable ready_;  // the caller: the next file in order is done
  std::condition_variable space_;  // workers: the window moved (or stop)
  std::vector<Slot> slots_;
  std::size_t next_ = 0;       // next file to claim
  std::size_t delivered_ = 0;  // files handed to the callback
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

void detect_files(const Rules& rules, const std::vector<std::filesystem::path>& files,
                  const std::function<void(std::size_t, FileResult&&)>& deliver, DetectFilesOptions options) {
  const unsigned jobs = options.jobs == 0 ? default_jobs() : options.jobs;
  const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(jobs, files.size()));
  if (workers > 1) {
    const std::size_t window = std::max<std::size_t>(options.window == 0 ? std::size_t{64} * jobs : options.window, workers);
    Pool pool(rules, files, options, window);
    if (pool.start(workers) > 0) {
      pool.deliver_all(deliver);
      return;
    }
  }
  // One job (or one file, or no thread available): the sequential loop.
  for (std::size_t i = 0; i < files.size(); ++i) deliver(i, detect_guarded(options, rules, files[i]));
}

}  // namespace inferconf::detect
