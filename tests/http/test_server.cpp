#include "http/test_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "http/api/tokens.hpp"
#include "inferconf/hardware.hpp"

namespace inferconf::testing {

std::filesystem::path fresh_dir(const std::string& prefix) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

nlohmann::json create_body(const std::string& model_id, const std::string& type, const std::string& base_model) {
  const bool quality = type == "quality";
  return {{"model_id", model_id},
          {"base_model", base_model},
          {"configuration_type", type},
          {"steps", quality ? 30 : 15},
          {"cfg_scale", quality ? 7.5 : 6.0},
          {"sampler", quality ? "dpmpp_2m" : "euler_ancestral"},
          {"scheduler", quality ? "karras" : "normal"},
          {"model_specific_params", {{"width", 1024}, {"height", 1024}, {"clip_skip", -1}}}};
}

TestServer::TestServer(TestServerOptions options) : dir_(fresh_dir("inferconf-http")) { start(options); }

TestServer::TestServer(TestServerOptions options, std::filesystem::path dir) : dir_(std::move(dir)), own_dir_(false) {
  start(options);
}

void TestServer::start(TestServerOptions o) {
  store_ = open_store(db_uri());
  store_->ensure_schema();
  const auto catalog_dir =
      o.catalog_dir.empty() ? std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog" : o.catalog_dir;
  catalog_ = std::make_unique<Catalog>(Catalog::load(catalog_dir));
  http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = o.threads;
  options.refresh_interval = o.refresh_interval;
  options.limits.request_timeout = o.request_timeout;
  options.limits.write_timeout = o.request_timeout;
  options.limits.header_timeout = o.header_timeout;
  options.limits.max_requests_per_connection = o.max_requests_per_connection;
  options.max_connections = o.max_connections;
  options.allowed_hosts = o.allowed_hosts;
  options.connection_admitted = o.connection_admitted;
  options.shutdown_timeout = o.shutdown_timeout;
  options.api.auth_reads = o.auth_reads;
  options.api.require_if_match = o.require_if_match;
  options.log_format = o.log_format;
  options.api.rules = detect::load_rules(catalog_dir);
  options.api.vocabulary =
      std::make_shared<const EngineVocabulary>(EngineVocabulary::load(EngineVocabulary::file_in(catalog_dir), *catalog_));
  if (std::filesystem::exists(HardwareCatalog::file_in(catalog_dir)))
    options.api.hardware =
        std::make_shared<const HardwareCatalog>(HardwareCatalog::load(HardwareCatalog::file_in(catalog_dir), *catalog_));
  if (o.with_tokens) {
    const std::string text = "# test tokens\n" + http::token_file_line("writer", kWriterToken, false) + "\n" +
                             http::token_file_line("reader", kReaderToken, true) + "\n" +
                             http::token_file_line("admin", kAdminToken, false) + ":rw\n";
    options.api.tokens = std::make_shared<const http::TokenTable>(http::TokenTable::parse(text, "test tokens"));
  }
  log_fd_ = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  options.log_fd = log_fd_;
  if (o.wrap_store) served_store_ = o.wrap_store(*store_);
  server_ = std::make_unique<http::Server>(served_store_ ? *served_store_ : *store_, *catalog_, options);
  thread_ = std::thread([this] { server_->run(); });
}

void TestServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

TestServer::~TestServer() {
  stop();
  server_.reset();
  served_store_.reset();
  store_.reset();
  if (log_fd_ >= 0) ::close(log_fd_);
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string TestServer::store_snapshot() {
  nlohmann::json all = nlohmann::json::array();
  store_->for_each_configuration([&](const InferenceConfiguration& c) {
    all.push_back(c);
    return true;
  });
  return all.dump();
}

}  // namespace inferconf::testing
