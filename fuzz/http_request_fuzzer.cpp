// libFuzzer target: the HTTP server in process, without sockets. Arbitrary
// bytes go through Beast's request parser (with the server's limits and
// read-buffer bound), the transport checks (framing, Host, trailers), the
// router and the handlers, over a real SQLite store in a temporary folder;
// jobs meant for the blocking pools run inline. Up to four pipelined
// requests are read from one input. Any exception escaping, and any 500
// answer (which only an unexpected exception produces), is a finding; every
// answer must have a status the OpenAPI document allows for the route and
// method it answered (the operation's responses and the statuses its
// "default" response names; 405 for a method the path does not list; 404 or
// 400 for a path that is no route; the transport's refusals a status every
// operation names) and, when it says JSON, a body that parses.
#include <utility>  // before Asio (Boost 1.74 + g++ 12 in C++20)

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <cctype>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "http/api/api.hpp"
#include "http/api/openapi.hpp"
#include "http/api/problem.hpp"
#include "http/api/routes.hpp"
#include "http/api/tokens.hpp"
#include "http/index/index_sync.hpp"
#include "http/transport/framing.hpp"
#include "http/transport/metrics.hpp"
#include "http/transport/session.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/detect/rules.hpp"
#include "inferconf/interop.hpp"
#include "inferconf/store.hpp"

namespace {

namespace bhttp = boost::beast::http;
using namespace inferconf;

struct World {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<http::IndexSync> sync;
  std::unique_ptr<http::Metrics> metrics;
  std::unique_ptr<http::Api> api;
  http::HostPolicy hosts;
  // "pattern method" (lower-case method, as in the document) -> its statuses.
  std::map<std::string, std::set<unsigned>> allowed;
  std::set<unsigned> transport;  // named by every operation: the head checks' answers

  World() {
    dir = std::filesystem::temp_directory_path() / ("inferconf-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = open_store("sqlite:" + (dir / "inferconf.db").string());
    store->ensure_schema();
    const auto catalog_dir = std::filesystem::path(INFERCONF_SOURCE_DIR) / "catalog";
    catalog = std::make_unique<Catalog>(Catalog::load(catalog_dir));
    sync = std::make_unique<http::IndexSync>(*store, *catalog);
    sync->load();
    metrics = std::make_unique<http::Metrics>(1);
    http::ApiOptions options;
    // The seed corpus uses this token ("Authorization: Bearer icf_fuzz-writer").
    options.tokens = std::make_shared<const http::TokenTable>(
        http::TokenTable::parse(http::token_file_line("writer", "icf_fuzz-writer", false) + "\n" +
                                    http::token_file_line("reader", "icf_fuzz-reader", true) + "\n",
                                "fuzz tokens"));
    options.vocabulary = std::make_shared<const EngineVocabulary>(
        EngineVocabulary::load(EngineVocabulary::file_in(catalog_dir), *catalog));
    options.rules = detect::load_rules(catalog_dir);
    http::ServerStatus status;
    status.metrics_text = [this] { return metrics->render(http::MetricsGauges{}); };
    status.store_error = [this] { metrics->store_error(); };
    status.accepting = [] { return true; };
    api = std::make_unique<http::Api>(*sync, *catalog, options, std::move(status));
    hosts.loopback_only = true;
    read_allowed_statuses();
  }

  void read_allowed_statuses() {
    const std::regex status_code("\\b[1-5][0-9][0-9]\\b");
    bool first = true;
    const nlohmann::json document = http::openapi_document();
    for (const auto& [path, item] : document["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        if (method == "parameters") continue;
        std::set<unsigned> codes;
        for (const auto& [code, response] : op["responses"].items()) {
          if (code != "default") {
            codes.insert(static_cast<unsigned>(std::stoul(code)));
            continue;
          }
          const std::string text = response.value("description", std::string());
          for (std::sregex_iterator m(text.begin(), text.end(), status_code), end; m != end; ++m)
            codes.insert(static_cast<unsigned>(std::stoul(m->str())));
        }
        if (first) {
          transport = codes;
          first = false;
        } else {
          std::erase_if(transport, [&](unsigned c) { return !codes.count(c); });
        }
        allowed[path + " " + method] = std::move(codes);
      }
    }
    if (transport.empty() || allowed.empty()) std::abort();  // the document lost its responses
  }

  // The statuses the document allows for a request answered by the Api.
  const std::set<unsigned>& allowed_for(http::RouteId id, bhttp::verb method) const {
    static const std::set<unsigned> no_route{400, 404};  // 400: a segment that is not valid percent-encoded UTF-8
    static const std::set<unsigned> no_method{405};
    if (id == http::RouteId::kUnmatched) return no_route;
    std::string name(bhttp::to_string(method == bhttp::verb::head ? bhttp::verb::get : method));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto it = allowed.find(std::string(http::route(id).pattern) + " " + name);
    return it == allowed.end() ? no_method : it->second;
  }
};

World& world() {
  static World& w = *new World;  // never destroyed: the store outlives every run
  return w;
}

void check(const http::Response& r, const std::set<unsigned>& allowed) {
  if (!allowed.count(r.status)) std::abort();  // a status the document does not allow here
  if (r.status == 500) std::abort();           // only an unexpected exception answers 500
  if (r.content_type == http::kJson || r.content_type == http::kProblemJson) {
    const std::string_view body = r.body_view();
    if (!body.empty() && !nlohmann::json::accept(body)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int request = 0; request < 4 && !input.empty(); ++request) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(http::kHeaderLimit);
    parser.body_limit(http::kBodyLimit);
    // The session's buffer holds at most kReadBufferLimit unparsed bytes and
    // receives them in pieces: feed the parser the same way.
    boost::beast::flat_buffer buffer{http::kReadBufferLimit};
    boost::beast::error_code ec;
    std::size_t header_fields = 0;
    bool header_checked = false, refused = false;
    while (!parser.is_done()) {
      const std::size_t room = buffer.max_size() - buffer.size();
      if (room == 0) {
        ec = bhttp::error::buffer_overflow;
        break;
      }
      const std::size_t n = std::min({room, input.size(), std::size_t{4096}});
      if (n == 0) {
        ec = bhttp::error::partial_message;
        break;
      }
      auto dst = buffer.prepare(n);
      std::memcpy(dst.data(), input.data(), n);
      buffer.commit(n);
      input.remove_prefix(n);
      for (;;) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == bhttp::error::need_more) {
          ec = {};
          break;
        }
        if (ec) break;
        if (parser.is_header_done() && !header_checked) {
          header_checked = true;
          if (auto answer = http::check_request_head(parser.get().base(), parser.get().version(), w.hosts)) {
            check(*answer, w.transport);
            refused = true;
            break;
          }
          header_fields = static_cast<std::size_t>(
              std::distance(parser.get().base().begin(), parser.get().base().end()));
        }
        if (parser.is_done() || used == 0) break;
      }
      if (ec || refused) break;
    }
    if (refused || ec) return 0;  // the session answers these itself and closes
    if (std::distance(parser.get().base().begin(), parser.get().base().end()) !=
        static_cast<std::ptrdiff_t>(header_fields))
      return 0;  // trailers: refused by the session
    auto& req = parser.get();
    http::Request r;
    r.method = req.method();
    r.target = req.target();
    r.headers = &req.base();
    r.body = std::move(req.body());
    const bhttp::verb method = r.method;
    http::Outcome outcome = w.api->handle(std::move(r));  // must not throw
    const std::set<unsigned>& allowed = w.allowed_for(outcome.route, method);
    if (outcome.now)
      check(*outcome.now, allowed);
    else if (outcome.later)
      check(outcome.later(), allowed);
    else
      std::abort();
    // What the buffer still holds belongs to the next request.
    std::string rest(static_cast<const char*>(buffer.data().data()), buffer.size());
    static thread_local std::string carry;
    carry = rest + std::string(input);
    input = carry;
  }
  return 0;
}
