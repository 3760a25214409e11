#include "http/index/doc.hpp"

#include <cstring>
#include <new>

#include <fmt/format.h>

#include "inferconf/dto.hpp"

namespace inferconf::http {

void intrusive_ptr_add_ref(const Doc* d) noexcept { d->refs_.fetch_add(1, std::memory_order_relaxed); }

void intrusive_ptr_release(const Doc* d) noexcept {
  if (d->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    d->~Doc();
    ::operator delete(const_cast<Doc*>(d));
  }
}

namespace {

// Where `"key":"value"` sits in the body, when value needed no escaping: the
// body then holds the key's bytes verbatim and the Doc need not copy them.
std::optional<std::size_t> find_plain_value(std::string_view body, std::string_view key, std::string_view value) {
  if (value.find_first_of("\"\\") != std::string_view::npos) return std::nullopt;
  for (unsigned char ch : value)
    if (ch < 0x20) return std::nullopt;
  // Top-level keys follow '{' or ','; inside a string value a quote is always
  // escaped, so `,"key":"` cannot match there. nlohmann sorts the top-level
  // keys, and the keys before model_specific_params hold no objects, so the
  // first match is the top-level one.
  for (const char lead : {'{', ','}) {
    std::string needle = fmt::format("{}\"{}\":\"", lead, key);
    const auto at = body.find(needle);
    if (at == std::string_view::npos) continue;
    const auto start = at + needle.size();
    if (body.substr(start, value.size()) == value && body.size() > start + value.size() &&
        body[start + value.size()] == '"')
      return start;
  }
  return std::nullopt;
}

}  // namespace

DocRef Doc::make(const InferenceConfiguration& c) {
  const std::string body = nlohmann::json(c).dump();
  const std::string_view keys[] = {c.id, c.model_id, c.base_model, c.configuration_type};
  const char* names[] = {"id", "model_id", "base_model", "configuration_type"};
  std::optional<std::size_t> at[4];
  std::size_t extra = 0;
  for (int i = 0; i < 4; ++i) {
    at[i] = find_plain_value(body, names[i], keys[i]);
    if (!at[i]) extra += keys[i].size();
  }
  const std::size_t total = body.size() + extra;
  void* memory = ::operator new(sizeof(Doc) + total);
  Doc* d = new (memory) Doc();
  char* out = reinterpret_cast<char*>(d + 1);
  std::memcpy(out, body.data(), body.size());
  d->body_ = {0, static_cast<std::uint32_t>(body.size())};
  std::size_t next = body.size();
  Span* spans[] = {&d->id_, &d->model_id_, &d->base_model_, &d->type_};
  for (int i = 0; i < 4; ++i) {
    if (at[i]) {
      *spans[i] = {static_cast<std::uint32_t>(*at[i]), static_cast<std::uint32_t>(keys[i].size())};
    } else {
      std::memcpy(out + next, keys[i].data(), keys[i].size());
      *spans[i] = {static_cast<std::uint32_t>(next), static_cast<std::uint32_t>(keys[i].size())};
      next += keys[i].size();
    }
  }
  d->revision_ = c.revision;
  return DocRef(d);
}

std::string Doc::etag() const {
  std::string tag;
  tag.reserve(id().size() + 24);
  tag += '"';
  tag += id();
  tag += '.';
  tag += fmt::format_int(revision_).c_str();
  tag += '"';
  return tag;
}

InferenceConfiguration Doc::configuration() const {
  return parse_configuration(nlohmann::json::parse(body()));
}

}  // namespace inferconf::http
