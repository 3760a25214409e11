// Helpers shared by the command implementations.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "inferconf/catalog.hpp"
#include "inferconf/catalog_bundle.hpp"
#include "inferconf/service.hpp"
#include "inferconf/store.hpp"

namespace inferconf::cli {

// Reads a whole file, or standard input for "-". Throws Error(kInvalid) naming
// the file when it cannot be read.
std::string read_input(const std::string& path);

// The store of --db / INFERCONF_DB / the default, opened by open_store()
// (schema not ensured). fields: the field names of the platform's registry
// documents (populate's --id-field…), which a MongoDB store reads
// `database_models` through.
std::unique_ptr<Store> open_store_for(const GlobalOptions& opts, const RegistryFieldMap& fields = {});
// The catalogue folder of --catalog / INFERCONF_CATALOG / the shipped one,
// loaded once (catalogue, detection rules, engine vocabulary); a command hands
// its parts down.
std::shared_ptr<const CatalogBundle> load_bundle_for(const GlobalOptions& opts);

// One-line summary and multi-line human rendering of a configuration.
std::string summary(const InferenceConfiguration& c);
void print_configuration(std::ostream& out, const InferenceConfiguration& c);
void print_notes(std::ostream& out, const std::vector<Normalisation>& normalised,
                 const std::vector<std::string>& unknown_params, std::string_view base_model);

// Human rendering of resolved parameters, one line per parameter with its source.
void print_resolved(std::ostream& out, const ResolvedParameters& r);

// An option value that is JSON when it reads as JSON ("20", "true", "[1,2]"),
// else the text itself as a string ("euler"). Text that is JSON in form but
// refused by the reading policy (1e400, -0, NaN, a lone surrogate, too deep)
// throws Error(kInvalid) naming `option`, rather than becoming a string.
nlohmann::json json_or_text(const std::string& text, std::string_view option);

// "--hardware NAME" or "--hardware '{...}'": a shipped profile's name, or a
// profile as JSON (text starting with "{"). Throws Error(kInvalid) naming
// every bad field as --hardware.FIELD.
HardwareRequest parse_hardware_option(const std::string& text);

// Writes JSON to out, pretty-printed, with a trailing newline.
void print_json(std::ostream& out, const nlohmann::json& j);

}  // namespace inferconf::cli
