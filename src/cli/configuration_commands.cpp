// init, create, get, list, update, delete: the configuration store from the command line.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "cli/write_context.hpp"
#include "inferconf/service.hpp"

namespace inferconf::cli {

namespace {

nlohmann::json write_result_json(const WriteResult& r) {
  nlohmann::json j = r.configuration;
  auto& n = j["normalised"] = nlohmann::json::array();
  for (const auto& x : r.normalised) n.push_back({{"field", x.field}, {"given", x.given}, {"canonical", x.canonical}});
  j["unknown_params"] = r.unknown_params;
  return j;
}

}  // namespace

void register_init_command(CLI::App& app, GlobalOptions& opts) {
  auto* cmd = app.add_subcommand("init", "Create the store's tables/collections and indexes (idempotent)");
  cmd->callback([&opts] {
    auto store = open_store_for(opts);
    store->ensure_schema();
    if (opts.json)
      print_json(*opts.out, {{"store", store->describe()}, {"status", "ready"}});
    else
      *opts.out << "Initialised " << store->describe() << ": tables and indexes are in place.\n";
  });
}

void register_configuration_commands(CLI::App& app, GlobalOptions& opts) {
  {
    auto* cmd = app.add_subcommand("create", "Create a configuration from a CreateDTO JSON document (FILE, or - for stdin)");
    auto file = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "JSON file with the CreateDTO, or - for standard input")->required();
    auto who = add_write_context_options(*cmd);
    cmd->callback([&opts, file, who] {
      auto dto = parse_create_dto(parse_json_text(read_input(*file), fmt::format("The document in {}", *file)));
      auto store = open_store_for(opts);
      store->ensure_schema();
      const auto bundle = load_bundle_for(opts);
      const Catalog& catalog = bundle->catalog();
      ConfigurationService service(*store, catalog);
      const auto result = service.create(std::move(dto), write_context_of(*who));
      if (opts.json) {
        print_json(*opts.out, write_result_json(result));
      } else {
        *opts.out << "Created " << summary(result.configuration) << '\n';
        print_notes(*opts.out, result.normalised, result.unknown_params, result.configuration.base_model);
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("get", "Show one configuration by id");
    auto id = std::make_shared<std::string>();
    cmd->add_option("ID", *id, "Configuration id (UUID)")->required();
    cmd->callback([&opts, id] {
      auto store = open_store_for(opts);
      auto c = store->get(*id);
      if (!c) throw not_found(fmt::format("No configuration has the id \"{}\"; `inferconf list` shows the ids.", *id));
      if (opts.json)
        print_json(*opts.out, *c);
      else
        print_configuration(*opts.out, *c);
    });
  }
  {
    struct ListArgs {
      std::string model_id, base_model, type, cursor;
      std::size_t limit = 50;
      bool all = false;
    };
    auto a = std::make_shared<ListArgs>();
    auto* cmd = app.add_subcommand("list", "List configurations, optionally filtered, a page at a time");
    cmd->add_option("--model-id", a->model_id, "Only this model's configurations");
    cmd->add_option("--base-model", a->base_model, "Only configurations of this base model");
    cmd->add_option("--type", a->type, "Only this configuration type (quality, speed)");
    cmd->add_option("--limit", a->limit, "Page size, 1 to 1000")->capture_default_str();
    cmd->add_option("--cursor", a->cursor, "Continue after the page that printed this cursor");
    cmd->add_flag("--all", a->all, "Print every page");
    cmd->callback([&opts, a] {
      auto store = open_store_for(opts);
      ConfigurationFilter f;
      if (!a->model_id.empty()) f.model_id = a->model_id;
      if (!a->base_model.empty()) f.base_model = a->base_model;
      if (!a->type.empty()) f.configuration_type = a->type;
      std::optional<std::string> cursor;
      if (!a->cursor.empty()) cursor = a->cursor;
      nlohmann::json items = nlohmann::json::array();
      std::optional<std::string> next;
      do {
        auto page = store->list(f, a->limit, cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
        for (const auto& c : page.items) {
          if (opts.json)
            items.push_back(c);
          else
            *opts.out << summary(c) << '\n';
        }
        next = page.next_cursor;
        cursor = next;
      } while (a->all && next);
      if (opts.json)
        print_json(*opts.out, {{"items", items}, {"next_cursor", next ? nlohmann::json(*next) : nlohmann::json(nullptr)}});
      else if (next)
        *opts.out << "more: inferconf list --cursor " << *next << '\n';
    });
  }
  {
    auto* cmd = app.add_subcommand("update", "Update a configuration with an UpdateDTO JSON document (merge patch)");
    auto id = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    auto revision = std::make_shared<std::int64_t>(0);
    cmd->add_option("ID", *id, "Configuration id")->required();
    cmd->add_option("FILE", *file, "JSON file with the UpdateDTO, or - for standard input")->required();
    cmd->add_option("--if-revision", *revision, "Fail with exit 4 unless the stored revision is this one");
    auto who = add_write_context_options(*cmd);
    cmd->callback([&opts, id, file, revision, who] {
      auto update = parse_update_dto(parse_json_text(read_input(*file), fmt::format("The document in {}", *file)));
      auto store = open_store_for(opts);
      const auto bundle = load_bundle_for(opts);
      const Catalog& catalog = bundle->catalog();
      ConfigurationService service(*store, catalog);
      const auto result =
          service.update(*id, std::move(update), *revision > 0 ? std::optional<std::int64_t>(*revision) : std::nullopt,
                         write_context_of(*who));
      if (opts.json) {
        print_json(*opts.out, write_result_json(result));
      } else {
        *opts.out << "Updated " << summary(result.configuration) << '\n';
        print_notes(*opts.out, result.normalised, result.unknown_params, result.configuration.base_model);
      }
    });
  }
  {
    auto* cmd = app.add_subcommand("delete", "Delete a configuration");
    auto id = std::make_shared<std::string>();
    auto revision = std::make_shared<std::int64_t>(0);
    cmd->add_option("ID", *id, "Configuration id")->required();
    cmd->add_option("--if-revision", *revision, "Fail with exit 4 unless the stored revision is this one");
    auto who = add_write_context_options(*cmd);
    cmd->callback([&opts, id, revision, who] {
      auto store = open_store_for(opts);
      store->remove(*id, *revision > 0 ? std::optional<std::int64_t>(*revision) : std::nullopt,
                    write_context_of(*who));
      if (opts.json)
        print_json(*opts.out, {{"deleted", *id}});
      else
        *opts.out << "Deleted " << *id << '\n';
    });
  }
}

}  // namespace inferconf::cli
