// POST /v1/resolve: a model's effective parameters; with
// ?format=comfyui|a1111|diffusers|infotext, the same as an engine's request.
#include <fmt/format.h>

#include "http/api/api.hpp"
#include "http/api/handler_support.hpp"
#include "http/api/negotiation.hpp"
#include "http/api/problem.hpp"
#include "http/api/resolve_cache.hpp"
#include "inferconf/interop/export_request.hpp"
#include "inferconf/resolve_request.hpp"

namespace inferconf::http {

namespace {

std::string dump_replacing(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The answer to a parsed resolve request; `body_text` is the request's bytes
// (the cache key).
Response resolve_answer(const Resolver& resolver, const ConfigurationIndex& index, const ResolveRequest& req,
                        const std::string& body_text) {
  ResolvedParameters result = resolver.resolve(req);
  nlohmann::json body = result;
  // An as-of answer depends on the moment, not on the index: it is never kept.
  if (!req.as_of && result.problems.empty() && result.configuration_id && resolve_cache::worth_keeping(body_text)) {
    DocRef used = index.by_model_and_type(result.model_id, result.configuration_type);
    if (used && used->id() == *result.configuration_id && used->revision() == result.revision) {
      auto answer = std::make_shared<const std::string>(dump_replacing(body));
      resolve_cache::keep(body_text, std::move(used), result.model_id, result.configuration_type, answer);
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
  resp.body = dump_replacing(body);
  return resp;
}

// How the server was set up, not an outage: said plainly, without Retry-After.
Response no_hardware_catalogue() {
  return problem("unavailable", "This server's catalogue folder has no hardware.json, so it cannot plan for hardware; "
                                "resolve without \"hardware\", or restart the server with a catalogue that has one "
                                "(docs/HARDWARE.md).");
}

}  // namespace

Outcome Api::resolve(Call& c) {
  if (!c.query.empty()) return export_resolved(c);
  Request& r = c.request;
  if (auto bad = check_content_type(*r.headers, r.method, {"application/json"})) return answer_now(std::move(*bad));
  if (auto cached = resolve_cache::find(r.body, sync_.index())) {
    Response resp;
    resp.shared = std::move(cached);
    return answer_now(std::move(resp));
  }
  auto parsed = read_json(r.body);
  if (auto* resp = std::get_if<Response>(&parsed)) return answer_now(std::move(*resp));
  ResolveRequest req;
  try {
    req = parse_resolve_request(std::get<nlohmann::json>(parsed));
  } catch (const Error& e) {
    return answer_now(problem_for(e));
  }
  if (req.hardware && !options_.hardware) return answer_now(no_hardware_catalogue());
  // With a stored configuration in the index the resolver reads nothing
  // else, so it answers here (not as of a past moment: that reads the
  // store's history). Without one it asks the store's model registry
  // for the base model: that is store I/O, which must not stall a network
  // thread (and every connection on it), so it runs on the read pool.
  if (!req.as_of && sync_.index().by_model_and_type(req.model_id, req.configuration_type))
    return answer_now(guarded([&] { return resolve_answer(resolver_, sync_.index(), req, r.body); }));
  Outcome out;
  out.later = [this, req = std::move(req), body = std::move(r.body)] {
    return history_guarded([&] { return resolve_answer(resolver_, sync_.index(), req, body); });
  };
  return out;
}

Outcome Api::export_resolved(Call& c) {
  Request& r = c.request;
  std::optional<ExportFormat> format;
  try {
    for (auto& [name, value] : c.query_params()) {
      format = parse_export_format(value);
      if (!format)
        throw invalid(fmt::format("format \"{}\" is not an export format; use comfyui, a1111, diffusers or infotext.",
                                  value.substr(0, 100)),
                      {{"format", "allowed: comfyui, a1111, diffusers, infotext."}});
    }
  } catch (const Error& e) {
    return answer_now(problem_for(e, true));
  }
  if (!format)  // "?" followed only by separators, e.g. "?&"
    return answer_now(problem("invalid-parameter",
                              fmt::format("The query \"?{}\" names no export format; POST /v1/resolve takes either no "
                                          "query or exactly format=comfyui|a1111|diffusers|infotext.",
                                          std::string(c.query.substr(0, 100))),
                              {{"format", "is missing; allowed: comfyui, a1111, diffusers, infotext."}}));
  // The infotext is plain text when the client asks for it; every export is
  // also available as a JSON envelope.
  const bool text_answer = *format == ExportFormat::kInfotext && !accepts(*r.headers, kJson) &&
                           accepts(*r.headers, "text/plain");
  if (!text_answer && !accepts(*r.headers, kJson))
    return answer_now(problem("not-acceptable",
                              fmt::format("The export answers application/json{}; the Accept header admits neither.",
                                          *format == ExportFormat::kInfotext ? " or text/plain" : "")));
  if (!options_.vocabulary)
    return answer_now(problem("unavailable", "This server was started without the engine vocabulary "
                                             "(engine_vocabulary.json in the catalogue folder), so it cannot export; "
                                             "restart it with a catalogue that has one."));
  auto parsed = json_body(r);
  if (auto* resp = std::get_if<Response>(&parsed)) return answer_now(std::move(*resp));
  ExportOptions options;
  ResolveRequest req;
  try {
    req = parse_export_request(std::get<nlohmann::json>(parsed), options);
  } catch (const Error& e) {
    return answer_now(problem_for(e));
  }
  if (req.hardware && !options_.hardware) return answer_now(no_hardware_catalogue());
  Outcome out;
  out.later = [this, req = std::move(req), options = std::move(options), format = *format, text_answer]() mutable {
    return history_guarded([&] {
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
        if (auto record = lookup_.get_model(req.model_id))
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
      resp.body = dump_replacing(j);
      return resp;
    });
  };
  return out;
}

}  // namespace inferconf::http
