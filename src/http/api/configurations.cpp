// The configuration collection and its items: GET and POST
// /v1/configurations, GET, PATCH and DELETE /v1/configurations/{id}. Every
// write records who made it and why (change_context.hpp).
#include <fmt/format.h>

#include "http/api/api.hpp"
#include "http/api/change_context.hpp"
#include "http/api/handler_support.hpp"
#include "http/api/negotiation.hpp"
#include "http/api/problem.hpp"
#include "http/api/request_parts.hpp"

namespace inferconf::http {

namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 500;

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

}  // namespace

Outcome Api::list_configurations(Call& c) {
  return answer_now(guarded([&] {
    try {
      return configuration_page(c.query_params());
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kInvalid) return problem_for(e, true);
      throw;
    }
  }));
}

Response Api::configuration_page(const std::vector<std::pair<std::string, std::string>>& query) {
  std::optional<std::string> model_id, base_model, type, cursor;
  std::size_t limit = kDefaultLimit;
  for (auto& [name, value] : query) {
    if (name == "model_id") check_key(name, value), model_id = value;
    if (name == "base_model") check_key(name, value), base_model = value;
    if (name == "configuration_type") check_type(catalog_, value, name), type = value;
    if (name == "limit") limit = parse_limit(value, kMaxLimit, kDefaultLimit);
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
}

Outcome Api::get_configuration(Call& c) {
  const std::string& id = c.params[0];
  return answer_now(guarded([&] {
    if (!is_uuid(id))
      return problem("invalid-parameter",
                     fmt::format("\"{}\" is not a configuration id; ids are UUIDs such as "
                                 "\"3f2b8c1e-0d4a-4c7b-9f1e-2a6d5b8c9e01\".",
                                 id.substr(0, 100)),
                     {{"id", "must be a UUID."}});
    DocRef doc = sync_.index().by_id(id);
    if (!doc) return problem("not-found", fmt::format("No configuration has the id \"{}\".", id));
    return answer_doc(&c.request, std::move(doc));
  }));
}

Outcome Api::create_configuration(Call& c) {
  Outcome out;
  auto parsed = json_body(c.request);
  if (auto* resp = std::get_if<Response>(&parsed)) return answer_now(std::move(*resp));
  auto& body = std::get<nlohmann::json>(parsed);
  auto who = change_context(c.principal, *c.request.headers, &body);
  if (auto* resp = std::get_if<Response>(&who)) return answer_now(std::move(*resp));
  WriteContext context = std::get<WriteContext>(std::move(who));
  CreateDTO dto;
  try {
    dto = parse_create_dto(body);
  } catch (const Error& e) {
    return answer_now(problem_for(e));
  }
  out.later = [this, dto = std::move(dto), context = std::move(context)]() mutable {
    return guarded([&] {
      WriteResult result = sync_.create(std::move(dto), context);
      Response resp = answer_doc(nullptr, Doc::make(result.configuration), 201);
      resp.header("Location", "/v1/configurations/" + result.configuration.id);
      return resp;
    });
  };
  return out;
}

Outcome Api::update_configuration(Call& c) {
  Outcome out;
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  if (auto bad = check_content_type(*c.request.headers, c.request.method,
                                    {"application/merge-patch+json", "application/json"}))
    return answer_now(std::move(*bad));
  auto expected = expected_revision(c.request, id);
  if (auto* resp = std::get_if<Response>(&expected)) return answer_now(std::move(*resp));
  auto parsed = read_json(c.request.body);
  if (auto* resp = std::get_if<Response>(&parsed)) return answer_now(std::move(*resp));
  auto& body = std::get<nlohmann::json>(parsed);
  auto who = change_context(c.principal, *c.request.headers, &body);
  if (auto* resp = std::get_if<Response>(&who)) return answer_now(std::move(*resp));
  WriteContext context = std::get<WriteContext>(std::move(who));
  UpdateDTO update;
  try {
    update = parse_update_dto(body);
  } catch (const Error& e) {
    return answer_now(problem_for(e));
  }
  out.later = [this, id, update = std::move(update), rev = std::get<std::optional<std::int64_t>>(expected),
               context = std::move(context)]() mutable {
    return guarded([&] {
      WriteResult result = sync_.update(id, std::move(update), rev, context);
      return answer_doc(nullptr, Doc::make(result.configuration), 200);
    });
  };
  return out;
}

Outcome Api::delete_configuration(Call& c) {
  Outcome out;
  const std::string& id = c.params[0];
  if (!is_uuid(id)) return answer_now(not_a_uuid(id));
  if (!c.request.body.empty()) return answer_now(problem("bad-request", "DELETE takes no body; send the request without one."));
  auto expected = expected_revision(c.request, id);
  if (auto* resp = std::get_if<Response>(&expected)) return answer_now(std::move(*resp));
  auto who = change_context(c.principal, *c.request.headers, nullptr);
  if (auto* resp = std::get_if<Response>(&who)) return answer_now(std::move(*resp));
  WriteContext context = std::get<WriteContext>(std::move(who));
  out.later = [this, id, rev = std::get<std::optional<std::int64_t>>(expected), context = std::move(context)] {
    return guarded([&] {
      sync_.remove(id, rev, context);
      Response resp;
      resp.status = 204;
      return resp;
    });
  };
  return out;
}

}  // namespace inferconf::http
