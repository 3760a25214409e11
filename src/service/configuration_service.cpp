#include <fmt/format.h>

#include "inferconf/service.hpp"

namespace inferconf {

WriteResult ConfigurationService::create(CreateDTO dto) {
  Validator validator(catalog_);
  const auto report = validator.validate(dto);
  Validator::throw_if_invalid(report, "The configuration to create");
  return WriteResult{store_.create(dto), report.normalised, report.unknown_params};
}

WriteResult ConfigurationService::update(std::string_view id, UpdateDTO update,
                                         std::optional<std::int64_t> expected_revision) {
  Validator validator(catalog_);
  const auto names = validator.validate(update);
  Validator::throw_if_invalid(names, "The update");
  // Validate the document the update produces, then write it only if nobody
  // changed it meanwhile. Without an expected revision from the caller, a
  // concurrent writer makes us re-read and re-validate (nothing is lost).
  for (int attempt = 0;; ++attempt) {
    auto current = store_.get(id);
    if (!current) throw not_found(fmt::format("No configuration has the id \"{}\".", id));
    if (expected_revision && current->revision != *expected_revision)
      throw conflict(fmt::format("The configuration {} is at revision {}, not {}: it changed since you read it. "
                                 "Read it again and retry.",
                                 id, current->revision, *expected_revision))
          .as_revision_mismatch();
    auto merged = *current;
    apply_update(merged, update);
    auto dto = to_create_dto(merged);
    auto report = validator.validate(dto);
    Validator::throw_if_invalid(report, "The updated configuration");
    report.normalised.insert(report.normalised.begin(), names.normalised.begin(), names.normalised.end());
    try {
      return WriteResult{store_.replace(id, dto, expected_revision.value_or(current->revision)), report.normalised,
                         report.unknown_params};
    } catch (const Error& e) {
      if (expected_revision || !e.is_revision_mismatch() || attempt >= 64) throw;
    }
  }
}

void ConfigurationService::remove(std::string_view id, std::optional<std::int64_t> expected_revision) {
  store_.remove(id, expected_revision);
}

}  // namespace inferconf
