// Checking documents against the catalogue.
#include <cctype>

#include <fmt/format.h>

#include "catalog/checks.hpp"
#include "inferconf/catalog.hpp"
#include "common/field_reader.hpp"
#include "common/messages.hpp"

namespace inferconf {

namespace {

using detail::join;

constexpr const char* kVariantKey = "variant";


std::string unknown_base_message(const Catalog& catalog, std::string_view given) {
  return fmt::format("is {}, which is not a known base model; allowed: {}.", detail::quoted(given),
                     join(detail::ids_of(catalog.base_models())));
}

std::string unknown_type_message(const Catalog& catalog, std::string_view given) {
  return detail::unknown_configuration_type_detail(given, detail::ids_of(catalog.configuration_types()));
}

std::string unknown_sampler_message(const Vocabulary& v, std::string_view given) {
  return fmt::format("is {}, which is not a known sampler; allowed (ComfyUI names): {}. A1111 names such as "
                     "\"Euler a\" or \"DPM++ 2M Karras\" are accepted too.",
                     detail::quoted(given), join(v.samplers()));
}

std::string unknown_scheduler_message(const Vocabulary& v, std::string_view given) {
  return fmt::format("is {}, which is not a known scheduler; allowed (ComfyUI names): {}. A1111 schedule types such "
                     "as \"Karras\" or \"SGM Uniform\" are accepted too.",
                     detail::quoted(given), join(v.schedulers()));
}

void check_base_and_type(const Catalog& catalog, const std::string& base_model, const std::string& type,
                         ValidationReport& report) {
  if (!catalog.find(base_model)) report.errors.push_back({"base_model", unknown_base_message(catalog, base_model)});
  if (!catalog.has_type(type))
    report.errors.push_back({"configuration_type", unknown_type_message(catalog, type)});
}

// Replaces aliases by canonical names. A legacy combined sampler name
// ("DPM++ 2M Karras") also supplies the scheduler when none is given, and must
// agree with the one given otherwise.
void normalise_names(const Vocabulary& v, std::optional<std::string>& sampler, std::optional<std::string>& scheduler,
                     ValidationReport& report) {
  bool scheduler_done = false;
  if (sampler) {
    if (auto canonical = v.canonical_sampler(*sampler)) {
      if (*canonical != *sampler) report.normalised.push_back({"sampler", *sampler, *canonical});
      sampler = *canonical;
    } else if (auto split = v.split_combined(*sampler)) {
      const auto given = *sampler;
      report.normalised.push_back({"sampler", given, split->first});
      sampler = split->first;
      if (!scheduler || scheduler->empty()) {
        report.normalised.push_back({"scheduler", given, split->second});
        scheduler = split->second;
        scheduler_done = true;
      } else if (auto named = v.canonical_scheduler(*scheduler); named && *named != split->second) {
        report.errors.push_back(
            {"scheduler", fmt::format("is {}, but the sampler {} names the {} schedule; give scheduler \"{}\", or the "
                                      "sampler alone ({}) to keep {}.",
                                      detail::quoted(*scheduler), detail::quoted(given), split->second, split->second, split->first,
                                      *named)});
        scheduler_done = true;
      }
    } else {
      report.errors.push_back({"sampler", unknown_sampler_message(v, *sampler)});
    }
  }
  if (scheduler && !scheduler_done) {
    if (auto canonical = v.canonical_scheduler(*scheduler)) {
      if (*canonical != *scheduler) report.normalised.push_back({"scheduler", *scheduler, *canonical});
      scheduler = *canonical;
    } else {
      report.errors.push_back({"scheduler", unknown_scheduler_message(v, *scheduler)});
    }
  }
}

// Stored documents must already hold canonical names.
void check_stored_name(const Vocabulary& v, std::string_view field, const std::string& name, bool is_sampler,
                       ValidationReport& report) {
  const auto canonical = is_sampler ? v.canonical_sampler(name) : v.canonical_scheduler(name);
  if (canonical && *canonical == name) return;
  if (canonical) {
    report.errors.push_back({std::string(field), fmt::format("is the alias {}; stored documents hold the canonical "
                                                             "name {} (an update through inferconf normalises it).",
                                                             detail::quoted(name), *canonical)});
    return;
  }
  if (auto split = is_sampler ? v.split_combined(name) : std::nullopt) {
    report.errors.push_back({std::string(field), fmt::format("is the legacy combined name {}; stored documents hold "
                                                             "sampler {} and scheduler {} separately.",
                                                             detail::quoted(name), split->first, split->second)});
    return;
  }
  report.errors.push_back(
      {std::string(field), is_sampler ? unknown_sampler_message(v, name) : unknown_scheduler_message(v, name)});
}

std::string unknown_variant_message(const BaseModelSpec& base, const nlohmann::json& given) {
  std::vector<std::string> ids;
  for (const auto& v : base.variants) ids.push_back(v.id);
  if (ids.empty()) return fmt::format("is {}, but {} has no variants.", detail::describe_value(given), base.id);
  return fmt::format("is {}, which is not a variant of {}; allowed: {}.", detail::describe_value(given), base.id,
                     join(ids));
}

// The variant a document is checked as: the one asked for, else the one it
// records in model_specific_params.variant (population stores it there, and the
// resolver reads it back), else none.
const Variant* variant_of(const BaseModelSpec& base, std::string_view requested, const nlohmann::json& params,
                          ValidationReport& report) {
  if (!requested.empty()) {
    const auto* v = base.find_variant(requested);
    if (!v) report.errors.push_back({"variant", unknown_variant_message(base, std::string(requested))});
    return v;
  }
  if (!params.is_object() || !params.contains(kVariantKey)) return nullptr;
  const auto& named = params[kVariantKey];
  const auto* v = named.is_string() ? base.find_variant(named.get<std::string>()) : nullptr;
  if (!v) report.errors.push_back({fmt::format("model_specific_params.{}", kVariantKey), unknown_variant_message(base, named)});
  return v;
}

void check_values(const BaseModelSpec& base, std::string_view requested_variant, int steps, double cfg_scale,
                  const nlohmann::json& params, ValidationReport& report) {
  const auto* variant = variant_of(base, requested_variant, params, report);
  const auto who = variant ? fmt::format("{}/{}", base.id, variant->id) : base.id;
  const auto& c = variant && variant->constraints ? *variant->constraints : base.constraints;
  if (auto problem = detail::check_steps(c, who, steps)) report.errors.push_back({"steps", std::move(*problem)});
  if (auto problem = detail::check_cfg_scale(c, who, cfg_scale))
    report.errors.push_back({"cfg_scale", std::move(*problem)});
  if (params.is_null()) return;  // a DTO built in code with `{}`: no parameters
  if (!params.is_object()) {
    report.errors.push_back({"model_specific_params", fmt::format("must be a JSON object, but it is {}.",
                                                                  detail::json_type_name(params))});
    return;
  }
  std::vector<std::string> unknown;
  detail::check_params(c, who, params, "model_specific_params", report.errors, &unknown);
  for (auto& key : unknown)
    if (key != kVariantKey) report.unknown_params.push_back(std::move(key));
}

}  // namespace

ValidationReport Validator::validate(CreateDTO& dto, std::string_view variant) const {
  ValidationReport report;
  check_base_and_type(catalog_, dto.base_model, dto.configuration_type, report);
  if (dto.model_specific_params.is_null()) dto.model_specific_params = nlohmann::json::object();
  std::optional<std::string> sampler = dto.sampler, scheduler = dto.scheduler;
  normalise_names(catalog_.vocabulary(), sampler, scheduler, report);
  dto.sampler = *sampler;
  dto.scheduler = *scheduler;

  const auto* base = catalog_.find(dto.base_model);
  if (!base) return report;
  check_values(*base, variant, dto.steps, dto.cfg_scale, dto.model_specific_params, report);
  return report;
}

ValidationReport Validator::validate(const InferenceConfiguration& c) const {
  ValidationReport report;
  if (!is_uuid(c.id)) report.errors.push_back({"id", fmt::format("is {}, which is not a UUID.", detail::quoted(c.id))});
  if (c.model_id.empty()) report.errors.push_back({"model_id", "is empty; every configuration belongs to a model."});
  if (c.revision < 1)
    report.errors.push_back({"revision", fmt::format("is {}, but revisions start at 1.", c.revision)});
  if (c.updated_at < c.created_at)
    report.errors.push_back({"updated_at", fmt::format("is {}, before created_at {}.", format_timestamp(c.updated_at),
                                                       format_timestamp(c.created_at))});
  check_base_and_type(catalog_, c.base_model, c.configuration_type, report);
  check_stored_name(catalog_.vocabulary(), "sampler", c.sampler, true, report);
  check_stored_name(catalog_.vocabulary(), "scheduler", c.scheduler, false, report);
  if (const auto* base = catalog_.find(c.base_model))
    check_values(*base, {}, c.steps, c.cfg_scale, c.model_specific_params, report);
  return report;
}

ValidationReport Validator::validate(UpdateDTO& update) const {
  ValidationReport report;
  if (update.base_model && !catalog_.find(*update.base_model))
    report.errors.push_back({"base_model", unknown_base_message(catalog_, *update.base_model)});
  if (update.configuration_type && !catalog_.has_type(*update.configuration_type))
    report.errors.push_back({"configuration_type", unknown_type_message(catalog_, *update.configuration_type)});
  normalise_names(catalog_.vocabulary(), update.sampler, update.scheduler, report);
  if (update.model_specific_params && !update.model_specific_params->is_object())
    report.errors.push_back({"model_specific_params",
                             fmt::format("must be a JSON object (a merge patch), but it is {}.",
                                         detail::json_type_name(*update.model_specific_params))});
  return report;
}

void Validator::throw_if_invalid(const ValidationReport& report, std::string_view what) {
  if (report.ok()) return;
  std::string subject(what);
  if (!subject.empty()) subject[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(subject[0])));
  std::vector<std::string> problems;
  for (const auto& e : report.errors) problems.push_back(fmt::format("{} {}", e.field, e.message));
  throw invalid(fmt::format("{} is invalid: {}", subject, join(problems, " ")), report.errors);
}

}  // namespace inferconf
