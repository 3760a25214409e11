// The sampler / scheduler vocabulary: ComfyUI's names are canonical, every
// other engine's spelling is an alias resolved case-insensitively.
#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "catalog/checks.hpp"
#include "inferconf/catalog.hpp"
#include "common/field_reader.hpp"

namespace inferconf {

namespace {

using detail::lower;
using detail::trim;

using AliasMap = std::map<std::string, std::string, std::less<>>;

std::optional<std::string> lookup(const AliasMap& map, std::string_view name) {
  auto it = map.find(lower(trim(name)));
  if (it == map.end()) return std::nullopt;
  return it->second;
}

bool is_canonical_spelling(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Reads a list of canonical names; adds each (lower-cased) to names as itself.
std::vector<std::string> read_names(const nlohmann::json& j, std::string_view key, std::string_view origin,
                                    AliasMap& names, std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  const auto path = fmt::format("{}:{}", origin, key);
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->empty()) {
    errors.push_back({path, "must be a non-empty array of names."});
    return out;
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    const auto item = fmt::format("{}[{}]", path, i);
    if (!v.is_string() || !is_canonical_spelling(v.get<std::string>())) {
      errors.push_back({item, fmt::format("is {}, but canonical names are ComfyUI's: lower-case letters, digits and _.",
                                          detail::describe_value(v))});
      continue;
    }
    const auto& name = v.get_ref<const std::string&>();
    if (!names.emplace(name, name).second) {
      errors.push_back({item, fmt::format("is \"{}\", which the list already holds; each name may appear once.", name)});
      continue;
    }
    out.push_back(name);
  }
  return out;
}

// Reads alias -> canonical; names holds the canonical names (and receives the aliases).
void read_aliases(const nlohmann::json& j, std::string_view key, std::string_view kind, std::string_view origin,
                  const std::set<std::string>& canonical, AliasMap& names, std::vector<FieldError>& errors) {
  auto it = j.find(key);
  if (it == j.end()) return;
  const auto path = fmt::format("{}:{}", origin, key);
  if (!it->is_object()) {
    errors.push_back({path, fmt::format("must be an object mapping an alias to a canonical {} name.", kind)});
    return;
  }
  for (const auto& [alias, target] : it->items()) {
    const auto item = fmt::format("{}.{}", path, alias);
    if (!target.is_string() || !canonical.count(target.get<std::string>())) {
      errors.push_back({item, fmt::format("is {}, which is not a canonical {} name; allowed: {}.",
                                          detail::describe_value(target), kind,
                                          detail::join({canonical.begin(), canonical.end()}))});
      continue;
    }
    const auto key_lower = lower(trim(alias));
    if (key_lower.empty()) {
      errors.push_back({item, "is an empty alias; give the spelling users write."});
      continue;
    }
    auto [existing, inserted] = names.emplace(key_lower, target.get<std::string>());
    if (!inserted && existing->second != target.get<std::string>())
      errors.push_back({item, fmt::format("maps to {}, but \"{}\" already means {} (names are compared "
                                          "case-insensitively).",
                                          target.get<std::string>(), alias, existing->second)});
  }
}

}  // namespace

std::optional<std::string> Vocabulary::canonical_sampler(std::string_view name) const {
  return lookup(sampler_aliases_, name);
}

std::optional<std::string> Vocabulary::canonical_scheduler(std::string_view name) const {
  return lookup(scheduler_aliases_, name);
}

std::optional<std::pair<std::string, std::string>> Vocabulary::split_combined(std::string_view name) const {
  const auto key = lower(trim(name));
  if (auto it = combined_.find(key); it != combined_.end()) return it->second;
  // A1111 builds legacy names as "<sampler> <schedule>", so any known sampler
  // followed by a known schedule label is understood, not only the listed ones.
  for (std::size_t cut = key.size(); cut-- > 0;) {
    if (key[cut] != ' ' && key[cut] != '_') continue;
    auto sampler = sampler_aliases_.find(key.substr(0, cut));
    auto scheduler = scheduler_aliases_.find(key.substr(cut + 1));
    if (sampler != sampler_aliases_.end() && scheduler != scheduler_aliases_.end())
      return std::pair{sampler->second, scheduler->second};
  }
  return std::nullopt;
}

Vocabulary Vocabulary::from_json(const nlohmann::json& j, std::string_view origin) {
  std::vector<FieldError> errors;
  Vocabulary v;
  if (!j.is_object()) {
    throw invalid(fmt::format("The vocabulary {} must be a JSON object.", origin),
                  {{std::string(origin), "must be a JSON object with samplers, schedulers and aliases."}});
  }
  static const std::set<std::string> known = {"schema_version", "description", "samplers", "schedulers",
                                              "sampler_aliases", "scheduler_aliases", "combined"};
  for (const auto& [key, value] : j.items())
    if (!known.count(key))
      errors.push_back({fmt::format("{}:{}", origin, key),
                        fmt::format("is not a known field; allowed: {}.", detail::join({known.begin(), known.end()}))});
  if (j.contains("schema_version") && j["schema_version"] != 1)
    errors.push_back({fmt::format("{}:schema_version", origin),
                      fmt::format("is {}, but this inferconf reads version 1.", detail::describe_value(j["schema_version"]))});

  v.samplers_ = read_names(j, "samplers", origin, v.sampler_aliases_, errors);
  v.schedulers_ = read_names(j, "schedulers", origin, v.scheduler_aliases_, errors);
  const std::set<std::string> samplers(v.samplers_.begin(), v.samplers_.end());
  const std::set<std::string> schedulers(v.schedulers_.begin(), v.schedulers_.end());
  read_aliases(j, "sampler_aliases", "sampler", origin, samplers, v.sampler_aliases_, errors);
  read_aliases(j, "scheduler_aliases", "scheduler", origin, schedulers, v.scheduler_aliases_, errors);

  if (auto it = j.find("combined"); it != j.end()) {
    const auto path = fmt::format("{}:combined", origin);
    if (!it->is_object()) {
      errors.push_back({path, "must be an object mapping a legacy name to {\"sampler\", \"scheduler\"}."});
    } else {
      for (const auto& [name, target] : it->items()) {
        const auto item = fmt::format("{}.{}", path, name);
        const bool ok = target.is_object() && target.size() == 2 && target.contains("sampler") &&
                        target.contains("scheduler") && target["sampler"].is_string() &&
                        target["scheduler"].is_string() && samplers.count(target["sampler"].get<std::string>()) &&
                        schedulers.count(target["scheduler"].get<std::string>());
        if (!ok) {
          errors.push_back({item, fmt::format("is {}, but must be {{\"sampler\": <canonical sampler>, \"scheduler\": "
                                              "<canonical scheduler>}}.",
                                              target.dump())});
          continue;
        }
        if (v.sampler_aliases_.count(lower(trim(name)))) {
          errors.push_back({item, "is already a sampler name or alias, so it cannot also name a combination."});
          continue;
        }
        v.combined_[lower(trim(name))] = {target["sampler"].get<std::string>(), target["scheduler"].get<std::string>()};
      }
    }
  }
  if (!errors.empty()) {
    auto message = fmt::format("The vocabulary {} has {} problem{}:", origin, errors.size(), errors.size() == 1 ? "" : "s");
    for (const auto& e : errors) message += fmt::format("\n- {} {}", e.field, e.message);
    throw invalid(std::move(message), std::move(errors));
  }
  return v;
}

}  // namespace inferconf
