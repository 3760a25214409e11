// The real server, in-process, on an ephemeral loopback port, over a real
// SQLite file in a fresh folder, with a tokens file of three tokens:
// writer (read-write), reader (read-only :ro) and admin (read-write).
#pragma once

#include <utility>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "http/transport/server.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/store.hpp"

namespace inferconf::testing {

struct TestServerOptions {
  bool auth_reads = false;
  bool require_if_match = false;
  bool with_tokens = true;
  unsigned threads = 2;
  std::chrono::milliseconds refresh_interval{200};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds shutdown_timeout{5000};
  http::LogFormat log_format = http::LogFormat::kJson;
  std::chrono::milliseconds header_timeout{10000};
  std::size_t max_connections = 0;  // 0: the server's default
  std::size_t max_requests_per_connection = 1000;
  std::vector<std::string> allowed_hosts;
  std::function<void()> connection_admitted;  // ServerOptions::connection_admitted
  // The catalogue folder; empty: the source tree's catalog/.
  std::filesystem::path catalog_dir;
  // Serve through a store wrapped around the SQLite one (a test double); null: the SQLite store itself.
  std::function<std::unique_ptr<Store>(Store&)> wrap_store;
};

class TestServer {
 public:
  static constexpr const char* kWriterToken = "icf_test-writer-token-0123456789abcdefghijklmnopq";
  static constexpr const char* kReaderToken = "icf_test-reader-token-0123456789abcdefghijklmnopq";
  static constexpr const char* kAdminToken = "icf_test-admin-token-0123456789abcdefghijklmnopqr";

  explicit TestServer(TestServerOptions options = {});
  // Reuses the folder (and the SQLite file) of an earlier server.
  TestServer(TestServerOptions options, std::filesystem::path dir);
  ~TestServer();

  unsigned short port() const { return server_->port(); }
  Store& store() { return *store_; }
  const Catalog& catalog() const { return *catalog_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string db_uri() const { return "sqlite:" + (dir_ / "inferconf.db").string(); }
  std::filesystem::path log_path() const { return dir_ / "requests.log"; }
  http::Server& server() { return *server_; }
  // Stops the server (graceful shutdown) and waits for run() to return.
  void stop();

  // Every configuration in the store, as one JSON text (for "unchanged" checks).
  std::string store_snapshot();

  std::map<std::string, std::string> auth(const char* token) const {
    return {{"Authorization", std::string("Bearer ") + token}};
  }
  std::map<std::string, std::string> writer_json() const {
    return {{"Authorization", std::string("Bearer ") + kWriterToken}, {"Content-Type", "application/json"}};
  }

 private:
  void start(TestServerOptions options);
  std::filesystem::path dir_;
  bool own_dir_ = true;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> served_store_;  // wrap_store's double, when given
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  int log_fd_ = -1;
};

// A fresh empty folder under the temp directory.
std::filesystem::path fresh_dir(const std::string& prefix);

// A create document for POST /v1/configurations.
nlohmann::json create_body(const std::string& model_id, const std::string& type = "quality",
                           const std::string& base_model = "sdxl");

}  // namespace inferconf::testing
