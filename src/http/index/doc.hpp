// One configuration as the server holds it in memory: its JSON document,
// serialised once, and the keys the indexes sort by. Immutable and shared by
// reference count, so a response can keep sending a document that a
// concurrent write has already replaced.
//
// Memory matters (100 000 models x 2 presets must fit well under 150 MB), so a
// Doc is one allocation: a small header, the body, and copies of the keys
// only when they cannot be pointed at inside the body (a key that JSON had to
// escape).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/intrusive_ptr.hpp>

#include "inferconf/configuration.hpp"

namespace inferconf::http {

class Doc;
void intrusive_ptr_add_ref(const Doc* d) noexcept;
void intrusive_ptr_release(const Doc* d) noexcept;
using DocRef = boost::intrusive_ptr<const Doc>;

class Doc {
 public:
  // Serialises c with its to_json (the wire format of every other route).
  static DocRef make(const InferenceConfiguration& c);

  std::string_view body() const { return text(body_); }
  std::string_view id() const { return text(id_); }
  std::string_view model_id() const { return text(model_id_); }
  std::string_view base_model() const { return text(base_model_); }
  std::string_view type() const { return text(type_); }
  std::int64_t revision() const { return revision_; }
  // The strong entity tag: "<id>.<revision>". The id is part of it because the
  // same URL (/v1/models/{m}/configurations/{type}) can name a deleted and a
  // re-created configuration, both at revision 1.
  std::string etag() const;
  // Parses the body back (for code that needs the structure, e.g. resolve).
  InferenceConfiguration configuration() const;

  Doc(const Doc&) = delete;
  Doc& operator=(const Doc&) = delete;

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  Doc() = default;
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view text(Span s) const { return {data() + s.offset, s.size}; }

  friend void intrusive_ptr_add_ref(const Doc* d) noexcept;
  friend void intrusive_ptr_release(const Doc* d) noexcept;

  mutable std::atomic<std::uint32_t> refs_{0};
  Span body_, id_, model_id_, base_model_, type_;
  std::int64_t revision_ = 0;
};

}  // namespace inferconf::http
