#include "http/transport/access_log.hpp"

#include <unistd.h>

#include <cerrno>

#include <ctime>

#include <fmt/format.h>

namespace inferconf::http {

namespace {

// Request targets are client-controlled: escape anything that could forge a
// line or a field.
void append_escaped(std::string& out, std::string_view s, bool json) {
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7F) {
      // Non-ASCII bytes are escaped too: the target may not be UTF-8, and a
      // JSON line must be.
      if (json)
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
      else
        fmt::format_to(std::back_inserter(out), "\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

// "2026-11-27T04:10:37.123Z": the seconds formatted once per second per thread.
void append_timestamp(std::string& out, std::chrono::system_clock::time_point time) {
  thread_local std::time_t cached_second = -1;
  thread_local char text[32];
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t second = static_cast<std::time_t>(ms / 1000);
  if (second != cached_second) {
    cached_second = second;
    std::tm tm{};
    gmtime_r(&second, &tm);
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.", &tm);
  }
  out += text;
  const int milli = static_cast<int>(ms % 1000);
  out += static_cast<char>('0' + milli / 100);
  out += static_cast<char>('0' + milli / 10 % 10);
  out += static_cast<char>('0' + milli % 10);
  out += 'Z';
}

void append_number(std::string& out, std::uint64_t n) { out += fmt::format_int(n).c_str(); }

}  // namespace

void AccessLog::format(std::string& out, const AccessRecord& r) const {
  if (format_ == LogFormat::kNone) return;
  if (format_ == LogFormat::kJson) {
    out += "{\"ts\":\"";
    append_timestamp(out, r.time);
    out += "\",\"id\":";
    append_number(out, r.request_id);
    out += ",\"remote\":\"";
    append_escaped(out, r.remote, true);
    out += "\",\"method\":\"";
    append_escaped(out, r.method, true);
    out += "\",\"target\":\"";
    append_escaped(out, r.target, true);
    out += "\",\"status\":";
    append_number(out, r.status);
    out += ",\"bytes\":";
    append_number(out, r.bytes);
    out += ",\"duration_us\":";
    append_number(out, r.micros);
    out += ",\"principal\":";
    if (r.principal.empty()) {
      out += "null}\n";
    } else {
      out += '"';
      append_escaped(out, r.principal, true);
      out += "\"}\n";
    }
    return;
  }
  append_timestamp(out, r.time);
  out += " id=";
  append_number(out, r.request_id);
  out += " remote=";
  append_escaped(out, r.remote, false);
  out += " method=";
  append_escaped(out, r.method, false);
  out += " target=\"";
  append_escaped(out, r.target, false);
  out += "\" status=";
  append_number(out, r.status);
  out += " bytes=";
  append_number(out, r.bytes);
  out += " duration_us=";
  append_number(out, r.micros);
  out += " principal=";
  if (r.principal.empty())
    out += '-';
  else
    append_escaped(out, r.principal, false);
  out += '\n';
}

void AccessLog::write(std::string& buffer) {
  if (buffer.empty()) return;
  std::lock_guard lock(mutex_);
  std::string_view rest = buffer;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a log that cannot be written must not stop the server
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  buffer.clear();
}

}  // namespace inferconf::http
