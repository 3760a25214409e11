// Runs every case of cases/dto_cases.json: a document (or raw JSON text) for a
// DTO kind, and either "valid" or the field paths that must be reported.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "inferconf/dto.hpp"
#include "inferconf/registry.hpp"

namespace inferconf {
namespace {

struct DtoCase {
  std::string name;
  nlohmann::json spec;
};

std::vector<DtoCase> load_cases() {
  std::ifstream in(std::string(INFERCONF_SOURCE_DIR) + "/tests/model/cases/dto_cases.json");
  std::stringstream s;
  s << in.rdbuf();
  std::vector<DtoCase> cases;
  for (auto& c : nlohmann::json::parse(s.str())) cases.push_back({c["name"].get<std::string>(), c});
  return cases;
}

// Placeholders keep the case file readable.
std::string case_text(const nlohmann::json& spec) {
  if (spec.contains("text_hex")) {
    std::string hex = spec["text_hex"], out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
  }
  if (spec.contains("text")) {
    std::string t = spec["text"];
    if (t == "DEEP100") return std::string(100, '[') + std::string(100, ']');
    return t;
  }
  std::string t = spec["document"].dump();
  if (auto p = t.find("LONG300"); p != std::string::npos) t.replace(p, 7, std::string(300, 'x'));
  return t;
}

void parse_as(const std::string& kind, const std::string& text) {
  const auto j = parse_json_text(text);
  if (kind == "create")
    parse_create_dto(j);
  else if (kind == "update")
    parse_update_dto(j);
  else if (kind == "configuration")
    parse_configuration(j);
  else if (kind == "registry")
    parse_model_record(j);
  else
    FAIL() << "unknown kind " << kind;
}

class DtoCaseTest : public ::testing::TestWithParam<DtoCase> {};

TEST_P(DtoCaseTest, ParsesOrReportsEveryProblem) {
  const auto& spec = GetParam().spec;
  const std::string kind = spec["kind"];
  const std::string text = case_text(spec);
  if (spec.value("valid", false)) {
    EXPECT_NO_THROW(parse_as(kind, text));
    return;
  }
  try {
    parse_as(kind, text);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalid);
    std::string all = e.what();
    std::vector<std::string> fields;
    for (const auto& f : e.field_errors()) {
      fields.push_back(f.field);
      all += "\n" + f.field + ": " + f.message;
      EXPECT_FALSE(f.message.empty());
    }
    if (spec.contains("fields")) {
      auto expected = spec["fields"].get<std::vector<std::string>>();
      std::sort(expected.begin(), expected.end());
      std::sort(fields.begin(), fields.end());
      EXPECT_EQ(fields, expected) << all;
    }
    if (spec.contains("message_contains")) {
      EXPECT_NE(all.find(spec["message_contains"].get<std::string>()), std::string::npos) << all;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, DtoCaseTest, ::testing::ValuesIn(load_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(DtoRoundTrip, CreateDtoSurvivesJson) {
  CreateDTO dto{"m1", "flux_dev", "quality", 25, 1.0, "euler", "simple", {{"guidance", 3.5}, {"width", 1024}}};
  const nlohmann::json j = dto;
  EXPECT_EQ(parse_create_dto(j), dto);
}

TEST(DtoRoundTrip, ConfigurationSurvivesJsonWithMilliseconds) {
  InferenceConfiguration c = make_configuration({"m1", "sdxl", "speed", 15, 6.0, "euler_ancestral", "normal", {{"width", 1024}}});
  c.id = new_uuid_v7();
  c.created_at = *parse_timestamp("2024-01-01T00:00:00.123Z");
  c.updated_at = *parse_timestamp("2024-01-02T03:04:05.678Z");
  c.revision = 4;
  const nlohmann::json j = c;
  EXPECT_EQ(j["created_at"], "2024-01-01T00:00:00.123Z");
  EXPECT_EQ(parse_configuration(j), c);
}

TEST(DtoRoundTrip, SeedDocumentWithoutRevisionReadsAsRevisionOne) {
  const auto c = parse_configuration(nlohmann::json::parse(R"({"id": "0b7f7c5e-6f0c-4a53-9d41-2b8d3c1e9f00",
    "model_id": "m", "base_model": "sdxl", "configuration_type": "quality", "steps": 20, "cfg_scale": 7.5,
    "sampler": "euler_a", "scheduler": "normal", "model_specific_params": {},
    "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"})"));
  EXPECT_EQ(c.revision, 1);
  EXPECT_EQ(format_timestamp(c.created_at), "2024-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace inferconf
