// Small helpers shared by the store tests.
#pragma once

#include <ostream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "inferconf/dto.hpp"
#include "inferconf/error.hpp"
#include "inferconf/registry.hpp"

namespace inferconf {

// Readable failure messages: GoogleTest finds these by argument-dependent lookup.
inline void PrintTo(const InferenceConfiguration& c, std::ostream* os) { *os << nlohmann::json(c).dump(); }
inline void PrintTo(const ModelRecord& m, std::ostream* os) { *os << nlohmann::json(m).dump(); }
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << to_string(code); }

}  // namespace inferconf

namespace inferconf::testing {

// A realistic SDXL-style create document.
inline CreateDTO make_dto(std::string model_id, std::string type = "quality", std::string base_model = "sdxl",
                          int steps = 30) {
  CreateDTO d;
  d.model_id = std::move(model_id);
  d.base_model = std::move(base_model);
  d.configuration_type = std::move(type);
  d.steps = steps;
  d.cfg_scale = d.configuration_type == "speed" ? 6.0 : 7.0;
  d.sampler = d.configuration_type == "speed" ? "euler_ancestral" : "dpmpp_2m";
  d.scheduler = d.configuration_type == "speed" ? "normal" : "karras";
  d.model_specific_params = {{"width", 1024}, {"height", 1024}, {"clip_skip", -1}};
  return d;
}

// Runs fn, which must throw inferconf::Error with this code and a message;
// returns the error for further checks.
template <class Fn>
Error expect_error(ErrorCode code, Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << "message: " << e.what();
    EXPECT_FALSE(std::string(e.what()).empty());
    return e;
  }
  ADD_FAILURE() << "expected an inferconf::Error with code " << to_string(code) << ", nothing was thrown";
  return Error(ErrorCode::kInternal, "nothing was thrown");
}

}  // namespace inferconf::testing
