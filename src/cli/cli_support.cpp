#include "cli/cli_support.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "inferconf/resolve_request.hpp"

namespace inferconf::cli {

std::string read_input(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw invalid(fmt::format("Cannot read {}: the file does not exist or is not readable.", path));
  buffer << in.rdbuf();
  if (in.bad()) throw invalid(fmt::format("Cannot read {}: an I/O error occurred.", path));
  return buffer.str();
}

std::unique_ptr<Store> open_store_for(const GlobalOptions& opts, const RegistryFieldMap& fields) {
  return open_store(opts.db_uri, StoreOptions{fields});
}

std::shared_ptr<const CatalogBundle> load_bundle_for(const GlobalOptions& opts) {
  return CatalogBundle::load(opts.catalog_dir.empty() ? CatalogBundle::default_dir()
                                                      : std::filesystem::path(opts.catalog_dir));
}

std::string summary(const InferenceConfiguration& c) {
  return fmt::format("{}  {}  {}  {}  rev {}", c.id, c.model_id, c.configuration_type, c.base_model, c.revision);
}

void print_configuration(std::ostream& out, const InferenceConfiguration& c) {
  out << fmt::format("id:                 {}\n", c.id) << fmt::format("model_id:           {}\n", c.model_id)
      << fmt::format("base_model:         {}\n", c.base_model)
      << fmt::format("configuration_type: {}\n", c.configuration_type) << fmt::format("steps:              {}\n", c.steps)
      << fmt::format("cfg_scale:          {}\n", c.cfg_scale) << fmt::format("sampler:            {}\n", c.sampler)
      << fmt::format("scheduler:          {}\n", c.scheduler);
  out << "model_specific_params:\n";
  if (c.model_specific_params.empty()) out << "  (none)\n";
  for (const auto& [k, v] : c.model_specific_params.items())
    out << fmt::format("  {:<18}{}\n", k + ":", v.is_string() ? v.get<std::string>() : v.dump());
  out << fmt::format("created_at:         {}\n", format_timestamp(c.created_at))
      << fmt::format("updated_at:         {}\n", format_timestamp(c.updated_at))
      << fmt::format("revision:           {}\n", c.revision);
}

void print_notes(std::ostream& out, const std::vector<Normalisation>& normalised,
                 const std::vector<std::string>& unknown_params, std::string_view base_model) {
  for (const auto& n : normalised)
    out << fmt::format("note: {} \"{}\" was stored as its canonical name \"{}\".\n", n.field, n.given, n.canonical);
  for (const auto& k : unknown_params)
    out << fmt::format("note: model_specific_params.{} is not a parameter the catalogue knows for {}; it was kept as given.\n",
                       k, base_model);
}

nlohmann::json json_or_text(const std::string& text, std::string_view option) {
  try {
    return parse_json_text(text, option);
  } catch (const Error& e) {
    // The policy names a field for what it refuses in well-formed JSON; a text
    // that is simply not JSON has no field and is taken as a string.
    if (e.field_errors().empty()) return nlohmann::json(text);
    std::vector<FieldError> errors;
    for (const auto& f : e.field_errors())
      errors.push_back({f.field == "$" ? std::string(option) : fmt::format("{} {}", option, f.field), f.message});
    // The message first: the order in which arguments are evaluated is unspecified.
    std::string message =
        fmt::format("{} is \"{}\", which cannot be used: {}", option, text.substr(0, 80), errors.front().message);
    throw invalid(std::move(message), std::move(errors));
  }
}

void print_json(std::ostream& out, const nlohmann::json& j) {
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

HardwareRequest parse_hardware_option(const std::string& text) {
  nlohmann::json value = text;
  if (!text.empty() && text.front() == '{') value = parse_json_text(text, "--hardware");
  std::vector<FieldError> errors;
  auto request = read_hardware_request(value, errors);
  if (!request) {
    for (auto& e : errors) e.field = "--hardware" + e.field.substr(std::string("hardware").size());
    std::string message = "--hardware is not a usable profile:";
    for (const auto& e : errors) message += fmt::format(" {} {}", e.field, e.message);
    throw invalid(message, std::move(errors));
  }
  return *request;
}

}  // namespace inferconf::cli
