// The domain model: one inference configuration, as the seed's
// `inference_configurations` collection stores it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace inferconf {

// UTC instant with millisecond precision; RFC 3339 with `Z` on the wire.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

Timestamp now_utc();
// "2024-01-01T00:00:00.000Z"
std::string format_timestamp(Timestamp t);
// Accepts RFC 3339 / ISO 8601 date-times with `Z` or a numeric offset, with or
// without fractional seconds (the seed's documents use "2024-01-01T00:00:00Z").
// Returns nullopt when the text is not such a date-time.
std::optional<Timestamp> parse_timestamp(std::string_view text);

// A time-ordered (version 7, RFC 9562) UUID in its canonical 36-character
// lower-case form. Ids made by one thread sort in the order they were made.
std::string new_uuid_v7();
bool is_uuid(std::string_view text);

struct InferenceConfiguration {
  std::string id;                  // UUID v7 (documents written by others may hold any UUID)
  std::string model_id;            // indexed
  std::string base_model;          // indexed; a catalogue base model id
  std::string configuration_type;  // "quality" | "speed" (declared in the catalogue)
  int steps = 0;
  double cfg_scale = 0.0;
  std::string sampler;    // canonical (ComfyUI) name
  std::string scheduler;  // canonical (ComfyUI) name
  nlohmann::json model_specific_params = nlohmann::json::object();
  Timestamp created_at{};
  Timestamp updated_at{};
  std::int64_t revision = 1;  // 1 on create, +1 on every update

  friend bool operator==(const InferenceConfiguration&, const InferenceConfiguration&) = default;
};

}  // namespace inferconf
