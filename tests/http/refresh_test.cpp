// Writes made outside the server (another connection to the same SQLite
// file, another process) become visible within the refresh interval.
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/test_server.hpp"
#include "support/run_process.hpp"

namespace inferconf::testing {
namespace {

// Polls GET target until it answers `status` or `limit` passes.
bool eventually(HttpClient& client, const std::string& target, unsigned status, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (client.get(target).status == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

CreateDTO dto_for(const std::string& model, const std::string& type = "quality") {
  return parse_create_dto(create_body(model, type));
}

TEST(Refresh, WritesThroughAnotherConnectionAppearUpdateAndDisappear) {
  TestServer server;  // refresh every 200 ms
  HttpClient client(server.port());
  auto other = open_store(server.db_uri());  // its own SQLite connection, as another process has
  const auto created = other->create(dto_for("outside"));
  // The bound is generous (the interval is 200 ms) so a loaded machine does not fail the test.
  ASSERT_TRUE(eventually(client, "/v1/models/outside/configurations/quality", 200, std::chrono::seconds(3)));
  EXPECT_EQ(client.get("/v1/configurations/" + created.id).json(), nlohmann::json(created));

  UpdateDTO update;
  update.steps = 42;
  const auto updated = other->update(created.id, update, std::nullopt);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  nlohmann::json seen;
  while (std::chrono::steady_clock::now() < until) {
    seen = client.get("/v1/configurations/" + created.id).json();
    if (seen["revision"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(seen, nlohmann::json(updated));

  other->remove(created.id, std::nullopt);
  EXPECT_TRUE(eventually(client, "/v1/configurations/" + created.id, 404, std::chrono::seconds(3)));
  EXPECT_EQ(client.get("/v1/models/outside/configurations").json()["items"], nlohmann::json::array());
}

TEST(Refresh, AManyRowImportByAnotherConnectionIsAppliedWhole) {
  TestServer server;
  HttpClient client(server.port());
  auto other = open_store(server.db_uri());
  std::vector<CreateDTO> dtos;
  for (int i = 0; i < 600; ++i) dtos.push_back(dto_for("bulk-" + std::to_string(i), i % 2 ? "speed" : "quality"));
  other->create_many(dtos);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t count = 0;
  while (std::chrono::steady_clock::now() < until && count < 600) {
    count = client.get("/readyz").json()["configurations"].get<std::size_t>();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(count, 600u);
  EXPECT_EQ(client.get("/v1/models/bulk-7/configurations/speed").status, 200u);
}

TEST(Refresh, WritesByTheServerAndAnotherConnectionInterleaveWithoutLoss) {
  TestServer server;
  HttpClient client(server.port());
  auto other = open_store(server.db_uri());
  for (int i = 0; i < 20; ++i) {
    if (i % 2)
      other->create(dto_for("mix-" + std::to_string(i)));
    else
      ASSERT_EQ(client.request("POST", "/v1/configurations", server.writer_json(),
                               create_body("mix-" + std::to_string(i)).dump())
                    .status,
                201u);
  }
  ASSERT_TRUE(eventually(client, "/v1/models/mix-19/configurations/quality", 200, std::chrono::seconds(3)));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.get("/v1/models/mix-" + std::to_string(i) + "/configurations/quality").status, 200u) << i;
  }
}

TEST(Refresh, WritesByAnotherProcessAppear) {
  const std::string binary = inferconf_binary();
  if (!std::filesystem::exists(binary)) GTEST_SKIP() << binary << " is not built";
  TestServer server;
  HttpClient client(server.port());
  const auto result = run_process(binary, {"--db", server.db_uri(), "create", "-"},
                                  create_body("from-process", "speed").dump());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(eventually(client, "/v1/models/from-process/configurations/speed", 200, std::chrono::seconds(3)));
}

}  // namespace
}  // namespace inferconf::testing
