// Races over real sockets: the store's unique index and revision checks
// decide, and the server reports exactly what they decided.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "http/http_client.hpp"
#include "http/test_server.hpp"

namespace inferconf::testing {
namespace {

constexpr int kClients = 16;

// Runs fn(i) on kClients threads released at the same moment.
template <class Fn>
void race(Fn fn) {
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      ready.fetch_add(1);
      while (ready.load() < kClients) std::this_thread::yield();
      fn(i);
    });
  for (auto& t : threads) t.join();
}

TEST(Concurrency, SixteenCreatesOfTheSameModelAndTypeGiveOne201AndFifteen409) {
  TestServer server;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<HttpClient>(server.port()));
  std::vector<Reply> replies(kClients);
  race([&](int i) {
    auto body = create_body("contested");
    body["steps"] = 20 + i;  // each client's own document, to see whose won
    replies[i] = clients[i]->request("POST", "/v1/configurations", server.writer_json(), body.dump());
  });
  int created = 0, conflicts = 0;
  std::string winner_id;
  int winner_steps = 0;
  for (int i = 0; i < kClients; ++i) {
    if (replies[i].status == 201) {
      ++created;
      winner_id = replies[i].json()["id"];
      winner_steps = 20 + i;
    } else if (replies[i].status == 409) {
      ++conflicts;
    } else {
      ADD_FAILURE() << "unexpected " << replies[i].status << ": " << replies[i].body;
    }
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(conflicts, kClients - 1);
  for (const auto& r : replies) {
    if (r.status == 409) {
      EXPECT_EQ(r.json()["existing_id"], winner_id) << r.body;
    }
  }
  auto stored = server.store().find_by_model_id("contested");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].id, winner_id);
  EXPECT_EQ(stored[0].steps, winner_steps);
}

TEST(Concurrency, SixteenPatchesWithTheSameIfMatchGiveOne200AndFifteen412) {
  TestServer server;
  HttpClient setup(server.port());
  const auto doc = setup.request("POST", "/v1/configurations", server.writer_json(), create_body("patched").dump()).json();
  const std::string id = doc["id"];
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<HttpClient>(server.port()));
  std::vector<Reply> replies(kClients);
  race([&](int i) {
    auto headers = server.writer_json();
    headers["If-Match"] = "\"" + id + ".1\"";
    replies[i] = clients[i]->request("PATCH", "/v1/configurations/" + id, headers,
                                     nlohmann::json{{"steps", 20 + i}}.dump());
  });
  int ok = 0, stale = 0, winner = -1;
  for (int i = 0; i < kClients; ++i) {
    if (replies[i].status == 200) {
      ++ok, winner = i;
    } else if (replies[i].status == 412) {
      ++stale;
    } else {
      ADD_FAILURE() << "unexpected " << replies[i].status << ": " << replies[i].body;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(stale, kClients - 1);
  auto stored = server.store().get(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->revision, 2);
  EXPECT_EQ(stored->steps, 20 + winner);
  EXPECT_EQ(setup.get("/v1/configurations/" + id).json(), nlohmann::json(*stored));
}

TEST(Concurrency, SixteenPatchesWithoutIfMatchAreAllApplied) {
  TestServer server;
  HttpClient setup(server.port());
  const auto doc = setup.request("POST", "/v1/configurations", server.writer_json(), create_body("merged").dump()).json();
  const std::string id = doc["id"];
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(std::make_unique<HttpClient>(server.port()));
  std::vector<Reply> replies(kClients);
  race([&](int i) {
    // Each client adds its own key: a lost update would lose a key.
    replies[i] = clients[i]->request(
        "PATCH", "/v1/configurations/" + id, server.writer_json(),
        nlohmann::json{{"model_specific_params", {{"client_" + std::to_string(i), i}}}}.dump());
  });
  for (const auto& r : replies) EXPECT_EQ(r.status, 200u) << r.body;
  auto stored = server.store().get(id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->revision, 1 + kClients);
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(stored->model_specific_params.value("client_" + std::to_string(i), -1), i);
  }
  EXPECT_EQ(setup.get("/v1/configurations/" + id).json(), nlohmann::json(*stored));
}

TEST(Concurrency, ReadsDuringWritesAlwaysSeeAWholeDocument) {
  TestServer server;
  HttpClient setup(server.port());
  const auto doc = setup.request("POST", "/v1/configurations", server.writer_json(), create_body("busy").dump()).json();
  const std::string id = doc["id"];
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      HttpClient c(server.port());
      std::int64_t last = 0;
      while (!done) {
        Reply reply = c.get("/v1/models/busy/configurations/quality");
        auto j = reply.json();
        // Revisions only move forward, and body and ETag agree.
        if (reply.status != 200 || j["revision"].get<std::int64_t>() < last ||
            reply.header("etag") != "\"" + id + "." + std::to_string(j["revision"].get<std::int64_t>()) + "\"")
          ++bad;
        last = j["revision"];
        ++reads;
      }
    });
  HttpClient writer(server.port());
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(writer.request("PATCH", "/v1/configurations/" + id, server.writer_json(),
                             nlohmann::json{{"steps", 10 + i}}.dump())
                  .status,
              200u);
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace inferconf::testing
