// Documents through the real parser and the validator: cases/invalid_documents.json
// (each must fail on exactly the listed fields) and cases/valid_documents.json
// (each must pass, with the listed normalisations and unknown parameters).
#include <set>

#include <gtest/gtest.h>

#include "catalog/catalog_test_support.hpp"

namespace inferconf {
namespace {

std::set<std::string> fields_of(const ValidationReport& r) {
  std::set<std::string> fields;
  for (const auto& e : r.errors) fields.insert(e.field);
  return fields;
}

TEST(Documents, InvalidDocumentsFailOnExactlyTheListedFields) {
  const auto cases = testing::read_json(testing::cases_dir() / "invalid_documents.json");
  ASSERT_GE(cases.size(), 30u);
  const Validator validator(testing::shipped_catalog());
  std::set<std::string> names;
  for (const auto& c : cases) {
    const auto name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "duplicate case name";
    auto dto = parse_create_dto(c.at("document"));
    const auto before = dto;
    const auto report = validator.validate(dto, c.value("variant", ""));
    const auto expected = c.at("errors").get<std::set<std::string>>();
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(fields_of(report), expected) << testing::describe(report);
    for (const auto& e : report.errors) {
      // Every message names the value received (sentences a user can act on).
      EXPECT_FALSE(e.message.empty());
      EXPECT_EQ(e.message.back(), '.') << e.message;
    }
    if (c.contains("message")) {
      ASSERT_FALSE(report.errors.empty());
      EXPECT_EQ(report.errors[0].field + " " + report.errors[0].message, c["message"].get<std::string>());
    }
    EXPECT_EQ(dto.model_specific_params, before.model_specific_params) << "parameters must be kept as given";
    EXPECT_THROW(Validator::throw_if_invalid(report, "the configuration"), Error);
  }
}

TEST(Documents, ValidDocumentsPassWithTheirNormalisations) {
  const auto cases = testing::read_json(testing::cases_dir() / "valid_documents.json");
  ASSERT_GE(cases.size(), 10u);
  const Validator validator(testing::shipped_catalog());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    auto dto = parse_create_dto(c.at("document"));
    const auto params = dto.model_specific_params;
    const auto report = validator.validate(dto, c.value("variant", ""));
    EXPECT_TRUE(report.ok()) << testing::describe(report);
    EXPECT_EQ(dto.sampler, c.at("sampler").get<std::string>());
    EXPECT_EQ(dto.scheduler, c.at("scheduler").get<std::string>());
    std::vector<Normalisation> expected;
    for (const auto& n : c.at("normalised")) expected.push_back({n.at("field"), n.at("given"), n.at("canonical")});
    ASSERT_EQ(report.normalised.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(report.normalised[i].field, expected[i].field);
      EXPECT_EQ(report.normalised[i].given, expected[i].given);
      EXPECT_EQ(report.normalised[i].canonical, expected[i].canonical);
    }
    EXPECT_EQ(report.unknown_params, c.at("unknown_params").get<std::vector<std::string>>());
    EXPECT_EQ(dto.model_specific_params, params) << "unknown keys are kept";
    EXPECT_NO_THROW(Validator::throw_if_invalid(report, "the configuration"));
  }
}

}  // namespace
}  // namespace inferconf
