// The configuration routes and POST /v1/resolve.
#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <charconv>
#include <unordered_map>

#include <fmt/format.h>

#include "http/api.hpp"
#include "http/problem.hpp"
#include "common/messages.hpp"
#include "http/request_parts.hpp"

namespace inferconf::http {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 500;
constexpr std::size_t kMaxKeyBytes = 512;

std::size_t parse_limit(const std::string& text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxLimit)
    throw invalid(fmt::format("limit \"{}\" is not a whole number from 1 to {}.", text.substr(0, 40), kMaxLimit),
                  {{"limit", fmt::format("is \"{}\"; allowed: an integer from 1 to {} (default {}).",
                                         text.substr(0, 40), kMaxLimit, kDefaultLimit)}});
  return value;
}

// Keys from the path or query: bounded, so a lookup never hashes megabytes.
void check_key(std::string_view field, const std::string& value) {
  if (value.empty())
    throw invalid(fmt::format("{} is empty; give a value.", field), {{std::string(field), "is empty."}});
  if (value.size() > kMaxKeyBytes)
    throw invalid(fmt::format("{} is {} bytes long; at most {} are allowed.", field, value.size(), kMaxKeyBytes),
                  {{std::string(field), fmt::format("is longer than {} bytes.", kMaxKeyBytes)}});
}

void append_items(std::string& out, const std::vector<DocRef>& items) {
  out += "{\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i]->body();
  }
  out += ']';
}

Response page_response(const IndexPage& page, char path) {
  Response resp;
  std::size_t size = 64;
  for (const auto& d : page.items) size += d->body().size() + 1;
  resp.body.reserve(size);
  append_items(resp.body, page.items);
  resp.body += ",\"next_cursor\":";
  resp.body += page.next ? nlohmann::json(encode_cursor(path, *page.next)).dump() : std::string("null");
  resp.body += '}';
  return resp;
}

void check_type(const Catalog& catalog, const std::string& type, std::string_view field) {
  if (!catalog.has_type(type))
    throw detail::unknown_configuration_type(field, type, detail::ids_of(catalog.configuration_types()));
}

// Parses a JSON body: malformed JSON (and bad UTF-8) is a 400, not a 422.
std::variant<nlohmann::json, Response> read_json(const std::string& body) {
  try {
    return parse_json_text(body, "the request body");
  } catch (const Error& e) {
    return problem("malformed-json", e.what(), e.field_errors());
  } catch (const nlohmann::json::exception&) {
    // Whatever the JSON reader lets through is still the client's mistake.
    return problem("malformed-json", "The request body could not be read as JSON: a value in it is out of range or "
                                     "cannot be represented; send numbers within the range of a double.");
  }
}

}  // namespace

Response Api::list_configurations(std::string_view query) {
  std::optional<std::string> model_id, base_model, type, cursor;
  std::size_t limit = kDefaultLimit;
  try {
    for (auto& [name, value] :
         parse_query(query, {"model_id", "base_model", "configuration_type", "limit", "cursor"})) {
      if (name == "model_id") check_key(name, value), model_id = value;
      if (name == "base_model") check_key(name, value), base_model = value;
      if (name == "configuration_type") check_type(catalog_, value, name), type = value;
      if (name == "limit") limit = parse_limit(value);
      if (name == "cursor") cursor = value;
    }
    std::optional<std::string_view> type_view;
    if (type) type_view = *type;
    if (model_id) {
      std::optional<std::string_view> base_view;
      if (base_model) base_view = *base_model;
      std::optional<PageKey> after;
      if (cursor) after = decode_cursor(*cursor, 'm');
      return page_response(sync_.index().page_by_model(*model_id, base_view, type_view, after, limit), 'm');
    }
    if (base_model) {
      std::optional<PageKey> after;
      if (cursor) after = decode_cursor(*cursor, 'b');
      return page_response(sync_.index().page_by_base_model(*base_model, type_view, after, limit), 'b');
    }
    std::optional<PageKey> after;
    if (cursor) after = decode_cursor(*cursor, 'i');
    return page_response(sync_.index().page_by_id(type_view, after, limit), 'i');
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInvalid) return problem_for(e, true);
    throw;
  }
}

Response Api::get_configuration(const Request& r, const std::string& id) {
  if (!is_uuid(id))
    return problem("invalid-parameter",
                   fmt::format("\"{}\" is not a configuration id; ids are UUIDs such as "
                               "\"3f2b8c1e-0d4a-4c7b-9f1e-2a6d5b8c9e01\".",
                               id.substr(0, 100)),
                   {{"id", "must be a UUID."}});
  DocRef doc = sync_.index().by_id(id);
  if (!doc) return problem("not-found", fmt::format("No configuration has the id \"{}\".", id));
  return answer_doc(&r, std::move(doc));
}

std::variant<nlohmann::json, Response> Api::json_body(const Request& r) const {
  if (auto bad = check_media_type(r, {"application/json"})) return std::move(*bad);
  return read_json(r.body);
}

Outcome Api::create_configuration(Request& r) {
  Outcome out;
  auto parsed = json_body(r);
  if (auto* resp = std::get_if<Response>(&parsed)) {
    out.now = std::move(*resp);
    return out;
  }
  CreateDTO dto;
  try {
    dto = parse_create_dto(std::get<nlohmann::json>(parsed));
  } catch (const Error& e) {
    out.now = problem_for(e);
    return out;
  }
  out.later = [this, dto = std::move(dto)]() mutable {
    return guarded([&] {
      WriteResult result = sync_.create(std::move(dto));
      Response resp = answer_doc(nullptr, Doc::make(result.configuration), 201);
      resp.header("Location", "/v1/configurations/" + result.configuration.id);
      return resp;
    });
  };
  return out;
}

Outcome Api::update_configuration(Request& r, const std::string& id) {
  Outcome out;
  if (!is_uuid(id)) {
    out.now = problem("invalid-parameter", fmt::format("\"{}\" is not a configuration id; ids are UUIDs.", id.substr(0, 100)),
                      {{"id", "must be a UUID."}});
    return out;
  }
  if (auto bad = check_media_type(r, {"application/merge-patch+json", "application/json"})) {
    out.now = std::move(*bad);
    return out;
  }
  auto expected = expected_revision(r, id);
  if (auto* resp = std::get_if<Response>(&expected)) {
    out.now = std::move(*resp);
    return out;
  }
  auto parsed = read_json(r.body);
  if (auto* resp = std::get_if<Response>(&parsed)) {
    out.now = std::move(*resp);
    return out;
  }
  UpdateDTO update;
  try {
    update = parse_update_dto(std::get<nlohmann::json>(parsed));
  } catch (const Error& e) {
    out.now = problem_for(e);
    return out;
  }
  out.later = [this, id, update = std::move(update), rev = std::get<std::optional<std::int64_t>>(expected)]() mutable {
    return guarded([&] {
      WriteResult result = sync_.update(id, std::move(update), rev);
      return answer_doc(nullptr, Doc::make(result.configuration), 200);
    });
  };
  return out;
}

Outcome Api::delete_configuration(const Request& r, const std::string& id) {
  Outcome out;
  if (!is_uuid(id)) {
    out.now = problem("invalid-parameter", fmt::format("\"{}\" is not a configuration id; ids are UUIDs.", id.substr(0, 100)),
                      {{"id", "must be a UUID."}});
    return out;
  }
  if (!r.body.empty()) {
    out.now = problem("bad-request", "DELETE takes no body; send the request without one.");
    return out;
  }
  auto expected = expected_revision(r, id);
  if (auto* resp = std::get_if<Response>(&expected)) {
    out.now = std::move(*resp);
    return out;
  }
  out.later = [this, id, rev = std::get<std::optional<std::int64_t>>(expected)] {
    return guarded([&] {
      sync_.remove(id, rev);
      Response resp;
      resp.status = 204;
      return resp;
    });
  };
  return out;
}

Response Api::model_configurations(const std::string& model_id, std::string_view query) {
  try {
    check_key("model_id", model_id);
    std::optional<std::string> type;
    for (auto& [name, value] : parse_query(query, {"configuration_type"})) check_type(catalog_, value, name), type = value;
    std::vector<DocRef> items = sync_.index().by_model(model_id);
    if (type) std::erase_if(items, [&](const DocRef& d) { return d->type() != *type; });
    Response resp;
    append_items(resp.body, items);
    resp.body += '}';
    return resp;
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInvalid) return problem_for(e, true);
    throw;
  }
}

Response Api::model_configuration(const Request& r, const std::string& model_id, const std::string& type) {
  // The hot route: one hash lookup, then the pre-serialised document.
  if (DocRef doc = sync_.index().by_model_and_type(model_id, type)) return answer_doc(&r, std::move(doc));
  try {
    check_key("model_id", model_id);
    check_type(catalog_, type, "configuration_type");
  } catch (const Error& e) {
    return problem_for(e, true);
  }
  return problem("not-found", fmt::format("Model \"{}\" has no {} configuration; POST /v1/resolve gives the "
                                          "parameters of its base model's preset instead.",
                                          model_id.substr(0, 200), type));
}

namespace {

// The "export" member of an export request: what the engine request needs
// beyond the resolved parameters.
void parse_export_options(const nlohmann::json& j, ExportOptions& options, std::vector<FieldError>& errors) {
  if (!j.is_object()) {
    errors.push_back({"export", fmt::format("must be an object with prompt, negative_prompt, seed, checkpoint or "
                                            "allow_substitute, but it is {}.",
                                            j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 100))});
    return;
  }
  auto text = [&](const std::string& key, std::string& out, std::size_t max) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if (!it->is_string() || it->get_ref<const std::string&>().size() > max)
      errors.push_back({"export." + key, fmt::format("must be a string of at most {} bytes.", max)});
    else
      out = it->get<std::string>();
  };
  for (const auto& [key, value] : j.items()) {
    if (key == "prompt" || key == "negative_prompt" || key == "checkpoint" || key == "checkpoint_2" || key == "seed" ||
        key == "allow_substitute")
      continue;
    errors.push_back({"export." + key, "is not an export option; allowed: prompt, negative_prompt, seed, checkpoint, "
                                       "checkpoint_2, allow_substitute."});
  }
  text("prompt", options.prompt, 16 * 1024);
  text("negative_prompt", options.negative_prompt, 16 * 1024);
  text("checkpoint", options.checkpoint, kMaxKeyBytes);
  text("checkpoint_2", options.checkpoint_2, kMaxKeyBytes);
  if (auto it = j.find("seed"); it != j.end() && !it->is_null()) {
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
      errors.push_back({"export.seed", fmt::format("must be an integer from 0 to 18446744073709551615, but it is {}.",
                                                   it->dump().substr(0, 100))});
    else
      options.seed = it->get<std::uint64_t>();
  }
  if (auto it = j.find("allow_substitute"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"export.allow_substitute", fmt::format("must be true or false, but it is {}.",
                                                               it->dump().substr(0, 100))});
    else
      options.allow_substitute = it->get<bool>();
  }
}

}  // namespace

ResolveRequest parse_resolve_request(const nlohmann::json& j, ExportOptions* options) {
  std::vector<FieldError> errors;
  ResolveRequest req;
  if (!j.is_object()) throw invalid("The resolve request must be a JSON object.", {{"$", "must be an object."}});
  static const std::vector<std::string> known = {"model_id", "configuration_type", "base_model", "variant", "overrides",
                                                 "strict"};
  for (const auto& [key, value] : j.items()) {
    if (key == "export") {
      if (options)
        parse_export_options(value, *options, errors);
      else
        errors.push_back({key, "is only read by an export (POST /v1/resolve?format=comfyui|a1111|diffusers|infotext)."});
      continue;
    }
    if (std::find(known.begin(), known.end(), key) == known.end())
      errors.push_back({key, fmt::format("is not a field of a resolve request; allowed: model_id, configuration_type, "
                                         "base_model, variant, overrides, strict{}.",
                                         options ? ", export" : "")});
  }
  auto string_field = [&](const char* key, bool required) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || (it->is_null() && !required)) {
      if (required) errors.push_back({key, "is required but missing."});
      return std::nullopt;
    }
    if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > kMaxKeyBytes) {
      errors.push_back({key, fmt::format("must be a non-empty string of at most {} bytes, but it is {}.", kMaxKeyBytes,
                                         it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 100))});
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  if (auto v = string_field("model_id", true)) req.model_id = *v;
  if (auto v = string_field("configuration_type", true)) req.configuration_type = *v;
  req.base_model = string_field("base_model", false);
  req.variant = string_field("variant", false);
  if (auto it = j.find("overrides"); it != j.end() && !it->is_null()) {
    if (!it->is_object())
      errors.push_back({"overrides", fmt::format("must be an object of parameter names to values, but it is {}.",
                                                 it->dump().substr(0, 100))});
    else
      req.overrides = *it;
  }
  if (auto it = j.find("strict"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      errors.push_back({"strict", fmt::format("must be true or false, but it is {}.", it->dump().substr(0, 100))});
    else
      req.strict = it->get<bool>();
  }
  if (!errors.empty()) throw invalid("The resolve request is invalid.", std::move(errors));
  return req;
}

namespace {

// Answers of POST /v1/resolve by request body, per thread. An answer that
// came from a stored configuration is a function of the request bytes and of
// that document alone (the catalogue does not change while serving, and the
// registry is not consulted when a configuration is stored), so it stays
// valid exactly as long as the index holds the same Doc for (model_id, type).
struct ResolveCacheEntry {
  DocRef doc;
  std::string model_id, type;
  std::shared_ptr<const std::string> answer;
};
constexpr std::size_t kResolveCacheEntries = 1024;
constexpr std::size_t kResolveCacheMaxBody = 2048;
thread_local std::unordered_map<std::string, ResolveCacheEntry> resolve_cache;
// A body is cached the second time it is seen: requests that never repeat
// (per-request overrides) then cost a hash, not a cache insert and eviction.
thread_local std::array<std::size_t, 4096> resolve_seen{};

bool seen_before(std::string_view body) {
  const std::size_t h = std::hash<std::string_view>{}(body) | 1;  // 0 marks an empty slot
  std::size_t& slot = resolve_seen[h % resolve_seen.size()];
  const bool seen = slot == h;
  slot = h;
  return seen;
}

}  // namespace

namespace {

// The answer to a parsed resolve request; `body` is the request's bytes (the
// cache key).
Response resolve_answer(Resolver& resolver, const ConfigurationIndex& index, const ResolveRequest& req,
                        const std::string& body_text) {
  ResolvedParameters result = resolver.resolve(req);
  nlohmann::json body = result;
  if (result.problems.empty() && result.configuration_id && body_text.size() <= kResolveCacheMaxBody &&
      seen_before(body_text)) {
    DocRef used = index.by_model_and_type(result.model_id, result.configuration_type);
    if (used && used->id() == *result.configuration_id && used->revision() == result.revision) {
      if (resolve_cache.size() >= kResolveCacheEntries) resolve_cache.clear();
      auto answer = std::make_shared<const std::string>(
          body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      resolve_cache[body_text] = ResolveCacheEntry{std::move(used), result.model_id, result.configuration_type, answer};
      Response resp;
      resp.shared = std::move(answer);
      return resp;
    }
  }
  if (!result.problems.empty()) {
    std::vector<FieldError> problems = result.problems;
    return problem("validation-error",
                   fmt::format("The overrides break {} rule(s) of base model {}; every problem is listed in errors.",
                               problems.size(), result.base_model),
                   std::move(problems), nlohmann::json{{"resolved", std::move(body)}});
  }
  Response resp;
  resp.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return resp;
}

}  // namespace

Outcome Api::resolve(Request& r) {
  Outcome out;
  auto now = [&](Response resp) {
    out.now = std::move(resp);
    return std::move(out);
  };
  if (auto bad = check_media_type(r, {"application/json"})) return now(std::move(*bad));
  if (auto it = resolve_cache.find(r.body); it != resolve_cache.end()) {
    if (sync_.index().by_model_and_type(it->second.model_id, it->second.type) == it->second.doc) {
      Response resp;
      resp.shared = it->second.answer;
      return now(std::move(resp));
    }
    resolve_cache.erase(it);
  }
  auto parsed = read_json(r.body);
  if (auto* resp = std::get_if<Response>(&parsed)) return now(std::move(*resp));
  ResolveRequest req;
  try {
    req = parse_resolve_request(std::get<nlohmann::json>(parsed));
  } catch (const Error& e) {
    return now(problem_for(e));
  }
  // With a stored configuration in the index the resolver reads nothing
  // else, so it answers here. Without one it asks the store's model registry
  // for the base model: that is store I/O, which must not stall a network
  // thread (and every connection on it), so it runs on the read pool.
  if (sync_.index().by_model_and_type(req.model_id, req.configuration_type))
    return now(guarded([&] { return resolve_answer(resolver_, sync_.index(), req, r.body); }));
  out.later = [this, req = std::move(req), body = std::move(r.body)] {
    return guarded([&] { return resolve_answer(resolver_, sync_.index(), req, body); });
  };
  return out;
}

namespace {

// Whether an Accept header admits `type` ("text/plain"): absent, */*, the
// type's family wildcard or the type itself, with a non-zero q.
bool accepts(const boost::beast::http::fields& headers, std::string_view type) {
  const auto it = headers.find(boost::beast::http::field::accept);
  if (it == headers.end()) return true;
  std::string_view value = it->value();
  const std::string family = std::string(type.substr(0, type.find('/'))) + "/*";
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    const auto semi = item.find(';');
    const std::string range = media_type(item.substr(0, semi));
    double q = 1.0;
    if (semi != std::string_view::npos) {
      std::string params(item.substr(semi + 1));
      params.erase(std::remove(params.begin(), params.end(), ' '), params.end());
      if (const auto at = params.find("q="); at != std::string::npos) q = std::strtod(params.c_str() + at + 2, nullptr);
    }
    const bool zero = !(q > 0);
    if (!zero && (range == "*/*" || range == family || range == type)) return true;
  }
  return false;
}

}  // namespace

Outcome Api::export_resolved(Request& r, std::string_view query) {
  Outcome out;
  std::optional<ExportFormat> format;
  try {
    for (auto& [name, value] : parse_query(query, {"format"})) {
      format = parse_export_format(value);
      if (!format)
        throw invalid(fmt::format("format \"{}\" is not an export format; use comfyui, a1111, diffusers or infotext.",
                                  value.substr(0, 100)),
                      {{"format", "allowed: comfyui, a1111, diffusers, infotext."}});
    }
  } catch (const Error& e) {
    out.now = problem_for(e, true);
    return out;
  }
  if (!format) {  // "?" followed only by separators, e.g. "?&"
    out.now = problem("invalid-parameter",
                      fmt::format("The query \"?{}\" names no export format; POST /v1/resolve takes either no "
                                  "query or exactly format=comfyui|a1111|diffusers|infotext.",
                                  std::string(query.substr(0, 100))),
                      {{"format", "is missing; allowed: comfyui, a1111, diffusers, infotext."}});
    return out;
  }
  // The infotext is plain text when the client asks for it; every export is
  // also available as a JSON envelope.
  const bool text_answer = *format == ExportFormat::kInfotext && !accepts(*r.headers, kJson) &&
                           accepts(*r.headers, "text/plain");
  if (!text_answer && !accepts(*r.headers, kJson)) {
    out.now = problem("not-acceptable",
                      fmt::format("The export answers application/json{}; the Accept header admits neither.",
                                  *format == ExportFormat::kInfotext ? " or text/plain" : ""));
    return out;
  }
  if (!options_.vocabulary) {
    out.now = problem("unavailable", "This server was started without the engine vocabulary "
                                     "(engine_vocabulary.json in the catalogue folder), so it cannot export; "
                                     "restart it with a catalogue that has one.");
    return out;
  }
  auto parsed = json_body(r);
  if (auto* resp = std::get_if<Response>(&parsed)) {
    out.now = std::move(*resp);
    return out;
  }
  ExportOptions options;
  ResolveRequest req;
  try {
    req = parse_resolve_request(std::get<nlohmann::json>(parsed), &options);
  } catch (const Error& e) {
    out.now = problem_for(e);
    return out;
  }
  out.later = [this, req = std::move(req), options = std::move(options), format = *format, text_answer]() mutable {
    return guarded([&] {
      ResolvedParameters resolved = resolver_.resolve(req);
      if (!resolved.problems.empty()) {
        std::vector<FieldError> problems = resolved.problems;
        return problem("validation-error",
                       fmt::format("The overrides break {} rule(s) of base model {}; nothing was exported. Every "
                                   "problem is listed in errors.",
                                   problems.size(), resolved.base_model),
                       std::move(problems), nlohmann::json{{"resolved", resolved}});
      }
      if (options.checkpoint.empty() || options.checkpoint_2.empty())  // the registry's files for this model
        if (auto record = indexed_store_.get_model(req.model_id))
          export_files_from_registry(*record, resolved, catalog_, options);
      ExportResult result;
      try {
        result = export_request(resolved, format, options, catalog_, *options_.vocabulary);
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kInvalid) throw;
        return problem("not-exportable", e.what(), e.field_errors());
      }
      Response resp;
      if (text_answer) {
        resp.content_type = "text/plain; charset=utf-8";
        resp.body = result.text;
        return resp;
      }
      nlohmann::json j = {{"format", to_string(format)},
                          {"substitutions", result.substitutions},
                          {"notes", result.notes},
                          {"resolved", resolved}};
      if (format == ExportFormat::kInfotext)
        j["text"] = result.text;
      else
        j["body"] = std::move(result.body);
      resp.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return resp;
    });
  };
  return out;
}

}  // namespace inferconf::http
