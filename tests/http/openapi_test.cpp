// The OpenAPI document names every route of the route table with each of
// its methods, every field of every DTO the API sends or accepts, and every
// problem type. Adding a route or a DTO field without documenting it fails here.
#include <set>

#include <gtest/gtest.h>

#include "inferconf/interop.hpp"

#include "http/api/openapi.hpp"
#include "http/api/problem.hpp"
#include "http/api/routes.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/dto.hpp"
#include "inferconf/service.hpp"

namespace inferconf::testing {
namespace {

const nlohmann::json& doc() {
  static const nlohmann::json d = http::openapi_document();
  return d;
}

// "Name" or "Name/property" for an inline object schema.
const nlohmann::json& schema(const std::string& name) {
  const auto slash = name.find('/');
  const auto& s = doc()["components"]["schemas"].at(name.substr(0, slash));
  return slash == std::string::npos ? s : s["properties"].at(name.substr(slash + 1));
}

void expect_documented(const nlohmann::json& value, const std::string& schema_name) {
  const auto& props = schema(schema_name)["properties"];
  for (const auto& [key, v] : value.items())
    EXPECT_TRUE(props.contains(key)) << schema_name << " does not document the field \"" << key << "\"";
}

TEST(OpenApi, IsOpenApi31WithEveryRouteAndMethod) {
  EXPECT_EQ(doc()["openapi"], "3.1.0");
  for (const auto& spec : http::routes()) {
    const std::string path(spec.pattern);
    ASSERT_TRUE(doc()["paths"].contains(path)) << path << " is missing from the OpenAPI document";
    for (auto method : spec.methods) {
      std::string m(boost::beast::http::to_string(method));
      for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      ASSERT_TRUE(doc()["paths"][path].contains(m)) << m << " " << path << " is missing";
      EXPECT_TRUE(doc()["paths"][path][m]["responses"].contains("default")) << m << " " << path;
    }
  }
  EXPECT_EQ(doc()["paths"].size(), http::routes().size()) << "the document has a path the server does not serve";
}

TEST(OpenApi, DocumentsNoOperationTheRouteTableLacks) {
  for (const auto& spec : http::routes()) {
    for (const auto& [method, op] : doc()["paths"][std::string(spec.pattern)].items()) {
      if (method == "parameters" || method == "options") continue;
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      EXPECT_NE(spec.operation(boost::beast::http::string_to_verb(upper)), nullptr)
          << method << " " << spec.pattern << " is documented but the route table has no such operation";
    }
  }
}

// The query parameters the route table lets through to each handler are
// exactly those the document lists for the operation.
TEST(OpenApi, DocumentsExactlyTheQueryParametersOfEachOperation) {
  for (const auto& spec : http::routes()) {
    for (const auto& op : spec.operations) {
      std::string m(boost::beast::http::to_string(op.method));
      for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::set<std::string> documented;
      for (nlohmann::json p : doc()["paths"][std::string(spec.pattern)][m].value("parameters", nlohmann::json::array())) {
        if (p.contains("$ref"))
          p = doc().at(nlohmann::json::json_pointer(p["$ref"].get<std::string>().substr(1)));
        if (p["in"] == "query") documented.insert(p["name"].get<std::string>());
      }
      const std::set<std::string> accepted(op.query.begin(), op.query.end());
      EXPECT_EQ(documented, accepted) << m << " " << spec.pattern;
    }
  }
}

TEST(OpenApi, DocumentsOptionsOnEveryPath) {
  for (const auto& [path, item] : doc()["paths"].items()) {
    ASSERT_TRUE(item.contains("options")) << path;
    EXPECT_TRUE(item["options"]["responses"].contains("204")) << path;
  }
}

TEST(OpenApi, DocumentsTheQueryRuleAndServerErrorsOfResolve) {
  const auto& op = doc()["paths"]["/v1/resolve"]["post"];
  EXPECT_NE(op["parameters"][0]["description"].get<std::string>().find("?&"), std::string::npos);
  EXPECT_TRUE(op["responses"].contains("500"));
  EXPECT_TRUE(op["responses"].contains("503"));
  EXPECT_TRUE(schema("Problem")["properties"].contains("request_id"));
}

TEST(OpenApi, EveryRefResolves) {
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& j) {
    if (j.is_object()) {
      if (auto it = j.find("$ref"); it != j.end()) {
        const std::string ref = *it;
        ASSERT_TRUE(ref.starts_with("#/")) << ref;
        EXPECT_NO_THROW((void)doc().at(nlohmann::json::json_pointer(ref.substr(1)))) << ref << " does not resolve";
      }
      for (const auto& [k, v] : j.items()) walk(v);
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(doc());
}

TEST(OpenApi, DocumentsEveryDtoField) {
  InferenceConfiguration c;
  c.id = new_uuid_v7();
  expect_documented(nlohmann::json(c), "InferenceConfiguration");
  EXPECT_EQ(schema("InferenceConfiguration")["properties"].size(), nlohmann::json(c).size());

  CreateDTO create;
  expect_documented(nlohmann::json(create), "InferenceConfigurationCreate");
  UpdateDTO update;
  update.base_model = update.configuration_type = update.sampler = update.scheduler = "x";
  update.steps = 1;
  update.cfg_scale = 1;
  update.model_specific_params = nlohmann::json::object();
  expect_documented(nlohmann::json(update), "InferenceConfigurationUpdate");

  ResolvedParameters resolved;
  resolved.problems.push_back({"f", "m"});
  resolved.normalised.push_back({"sampler", "Euler a", "euler_ancestral"});
  resolved.unknown_params.push_back("guidance");
  resolved.notes.push_back({"overrides.guidance", "m"});
  const nlohmann::json r = resolved;
  expect_documented(r, "ResolvedParameters");
  expect_documented(r["problems"][0], "FieldError");
  expect_documented(r["normalised"][0], "Normalisation");
  expect_documented(nlohmann::json{{"model_id", ""}, {"configuration_type", ""}, {"base_model", ""}, {"variant", ""},
                                   {"overrides", nlohmann::json::object()}, {"strict", true}, {"as_of", ""},
                                   {"hardware", ""}},
                    "ResolveRequest");
  // Every field the resolve parser accepts is documented and nothing else is.
  EXPECT_EQ(schema("ResolveRequest")["properties"].size(), 9u);
  HardwarePlan plan;
  plan.profile.id = "inline";
  plan.estimate.dtypes = {{"diffusion_model", WeightDtype::kBf16}, {"t5xxl", WeightDtype::kFp8E4m3fn}, {"vae", WeightDtype::kBf16}};
  plan.adjustments.push_back({"width", 1280, 1104, "why"});
  resolved.hardware = plan;
  const nlohmann::json planned = resolved;
  expect_documented(planned, "ResolvedParameters");
  expect_documented(planned["hardware"], "HardwarePlan");
  expect_documented(planned["hardware"]["weight_dtypes"], "HardwarePlan/weight_dtypes");
  expect_documented(nlohmann::json{{"prompt", ""}, {"negative_prompt", ""}, {"seed", 1}, {"checkpoint", ""},
                                   {"allow_substitute", true}},
                    "ExportOptions");
  expect_documented(nlohmann::json(Substitution{"sampler", "a", "b", "c"}), "Substitution");
}

TEST(OpenApi, DocumentsEveryFieldOfARevision) {
  Revision r;
  r.configuration_id = new_uuid_v7();
  r.document.id = r.configuration_id;
  r.reason = "why";
  const nlohmann::json j = r;
  expect_documented(j, "Revision");
  for (const auto& required : schema("Revision")["required"]) EXPECT_TRUE(j.contains(required)) << required;
  Revision prune;
  prune.operation = RevisionOperation::kPrune;
  expect_documented(nlohmann::json(prune), "Revision");
  // Every operation the store records is in the enum, and nothing else.
  std::set<std::string> names;
  for (const auto& n : schema("RevisionOperation")["enum"]) {
    names.insert(n.get<std::string>());
    EXPECT_TRUE(parse_revision_operation(n.get<std::string>()).has_value()) << n;
  }
  EXPECT_EQ(names.size(), 7u);
  // A reason is accepted in the body of every write that has one.
  for (const char* body : {"InferenceConfigurationCreate", "InferenceConfigurationUpdate", "RollbackRequest",
                           "RestoreRequest"})
    EXPECT_TRUE(schema(body)["properties"].contains("reason")) << body;
}

TEST(OpenApi, DocumentsTheCatalogueAsServed) {
  const Catalog catalog = Catalog::load(std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog");
  const auto all = catalog.to_json();
  expect_documented(all, "Catalog");
  for (const auto& b : all["base_models"]) {
    expect_documented(b, "BaseModel");
    for (const auto& [type, preset] : b["presets"].items()) expect_documented(preset, "Preset");
  }
}

TEST(OpenApi, DocumentsEveryProblemTypeAndField) {
  const auto& types = schema("Problem")["properties"]["type"]["enum"];
  for (const auto& t : http::problem_types())
    EXPECT_NE(std::find(types.begin(), types.end(), "urn:inferconf:problem:" + std::string(t.slug)), types.end())
        << t.slug;
  Error e = conflict("taken");
  e.with_existing_id("x");
  auto response = http::problem_for(e);
  expect_documented(nlohmann::json::parse(response.body), "Problem");
  auto validation = http::problem_for(invalid("bad", {{"steps", "too many"}}));
  expect_documented(nlohmann::json::parse(validation.body), "Problem");
}

}  // namespace
}  // namespace inferconf::testing
