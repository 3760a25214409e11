#include "inferconf/error.hpp"

#include <exception>

namespace inferconf {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalid: return "invalid";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

Error::Error(ErrorCode code, std::string message, std::vector<FieldError> field_errors)
    : std::runtime_error(std::move(message)), code_(code), field_errors_(std::move(field_errors)) {}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return std::string("an exception: ") + e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

Error invalid(std::string message, std::vector<FieldError> field_errors) {
  return Error(ErrorCode::kInvalid, std::move(message), std::move(field_errors));
}
Error not_found(std::string message) { return Error(ErrorCode::kNotFound, std::move(message)); }
Error conflict(std::string message) { return Error(ErrorCode::kConflict, std::move(message)); }
Error unavailable(std::string message) { return Error(ErrorCode::kUnavailable, std::move(message)); }

}  // namespace inferconf
