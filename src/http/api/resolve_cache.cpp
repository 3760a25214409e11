#include "http/api/resolve_cache.hpp"

#include <array>
#include <functional>
#include <unordered_map>

namespace inferconf::http::resolve_cache {

namespace {

struct Entry {
  DocRef doc;
  std::string model_id, type;
  std::shared_ptr<const std::string> answer;
};
constexpr std::size_t kEntries = 1024;
constexpr std::size_t kMaxBody = 2048;
thread_local std::unordered_map<std::string, Entry> entries;
thread_local std::array<std::size_t, 4096> seen{};

}  // namespace

std::shared_ptr<const std::string> find(const std::string& body, const ConfigurationIndex& index) {
  auto it = entries.find(body);
  if (it == entries.end()) return nullptr;
  if (index.by_model_and_type(it->second.model_id, it->second.type) == it->second.doc) return it->second.answer;
  entries.erase(it);
  return nullptr;
}

bool worth_keeping(std::string_view body) {
  if (body.size() > kMaxBody) return false;
  const std::size_t h = std::hash<std::string_view>{}(body) | 1;  // 0 marks an empty slot
  std::size_t& slot = seen[h % seen.size()];
  const bool before = slot == h;
  slot = h;
  return before;
}

void keep(const std::string& body, DocRef doc, std::string model_id, std::string type,
          std::shared_ptr<const std::string> answer) {
  if (entries.size() >= kEntries) entries.clear();
  entries[body] = Entry{std::move(doc), std::move(model_id), std::move(type), std::move(answer)};
}

}  // namespace inferconf::http::resolve_cache
