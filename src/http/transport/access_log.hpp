// One structured line per request: `--log-format text` (default) or `json`.
//
// Lines are formatted into the worker's own buffer and written with one
// write(2) when the buffer passes 16 KiB, and at least every 250 ms by the
// worker's housekeeping timer, and at shutdown: logging then costs a memcpy
// per request rather than a system call. Writes of different workers are
// serialised so lines never interleave. Tokens are never logged: the line
// names the token's name from the tokens file.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace inferconf::http {

enum class LogFormat { kText, kJson, kNone };

struct AccessRecord {
  std::chrono::system_clock::time_point time;
  std::string_view remote;
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  std::uint64_t bytes = 0;  // body bytes sent
  std::uint64_t micros = 0;
  std::string_view principal;  // token name, empty when none
  std::uint64_t request_id = 0;
};

class AccessLog {
 public:
  AccessLog(LogFormat format, int fd) : format_(format), fd_(fd) {}
  LogFormat format() const { return format_; }
  // Appends the record's line to buffer.
  void format(std::string& buffer, const AccessRecord& r) const;
  // Writes buffer (whole lines) to the log and clears it.
  void write(std::string& buffer);

  static constexpr std::size_t kFlushBytes = 16 * 1024;

 private:
  LogFormat format_;
  int fd_;
  std::mutex mutex_;
};

}  // namespace inferconf::http
