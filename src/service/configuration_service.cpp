#include <fmt/format.h>

#include "inferconf/service.hpp"

namespace inferconf {

WriteResult ConfigurationService::create(CreateDTO dto, const WriteContext& context) {
  Validator validator(catalog_);
  const auto report = validator.validate(dto);
  Validator::throw_if_invalid(report, "The configuration to create");
  return WriteResult{store_.create(dto, context), report.normalised, report.unknown_params};
}

WriteResult ConfigurationService::update(std::string_view id, UpdateDTO update,
                                         std::optional<std::int64_t> expected_revision,
                                         const WriteContext& context) {
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
      return WriteResult{store_.replace(id, dto, expected_revision.value_or(current->revision), context), report.normalised,
                         report.unknown_params};
    } catch (const Error& e) {
      if (expected_revision || !e.is_revision_mismatch() || attempt >= 64) throw;
    }
  }
}

void ConfigurationService::remove(std::string_view id, std::optional<std::int64_t> expected_revision,
                                  const WriteContext& context) {
  store_.remove(id, expected_revision, context);
}

namespace {

// The catalogue's verdict on an old document, as a rollback or restore would
// write it: kInvalid naming each problem (nothing is written then).
ValidationReport validate_old_document(const Validator& validator, const InferenceConfiguration& document,
                                       const std::string& what) {
  auto report = validator.validate(document);
  Validator::throw_if_invalid(report, what);
  return report;
}

}  // namespace

WriteResult ConfigurationService::rollback(std::string_view id, std::int64_t to_revision,
                                           std::optional<std::int64_t> expected_revision,
                                           const WriteContext& context) {
  const auto target = store_.get_revision(id, to_revision);
  if (!target)
    throw not_found(fmt::format("The configuration {} has no revision {} (never made, or pruned); `inferconf "
                                "history {}` lists the revisions it has.",
                                id, to_revision, id));
  if (!target->is_tombstone()) {
    // The stored document, unchanged: validation only says whether today's
    // catalogue still accepts it (aliases are not rewritten by a rollback).
    Validator validator(catalog_);
    const auto report = validate_old_document(
        validator, target->document,
        fmt::format("Revision {} of the configuration {}, which the rollback would restore,", to_revision, id));
    return WriteResult{store_.rollback(id, to_revision, expected_revision, context), report.normalised,
                       report.unknown_params};
  }
  // The store names the problem of a tombstone target.
  return WriteResult{store_.rollback(id, to_revision, expected_revision, context), {}, {}};
}

WriteResult ConfigurationService::restore(std::string_view id, std::optional<std::int64_t> expected_revision,
                                          const WriteContext& context) {
  const auto page = store_.revisions(id, 1, std::nullopt);
  if (!page.items.empty() && page.items.front().is_tombstone()) {
    Validator validator(catalog_);
    const auto report = validate_old_document(
        validator, page.items.front().document,
        fmt::format("The deleted configuration {}, which the restore would bring back,", id));
    // The tombstone validated is the one restored: a delete in between makes it a revision mismatch.
    return WriteResult{store_.restore(id, expected_revision.value_or(page.items.front().revision), context),
                       report.normalised, report.unknown_params};
  }
  // Not deleted, or no history: the store says which.
  return WriteResult{store_.restore(id, expected_revision, context), {}, {}};
}

}  // namespace inferconf
