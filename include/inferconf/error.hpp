// Errors shared by every layer of inferconf.
//
// Operations that can fail throw inferconf::Error. Its code says what kind of
// failure it is (and so which HTTP status / exit code it becomes); its message
// is a sentence a user can act on; field_errors lists every problem of an
// invalid document at once, each naming the field path, the value received and
// what is allowed.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace inferconf {

enum class ErrorCode {
  kInvalid,      // the input breaks a rule (HTTP 400/422, exit 2)
  kNotFound,     // the thing asked for does not exist (404, exit 3)
  kConflict,     // duplicate (model_id, configuration_type) or stale revision (409/412, exit 4)
  kUnavailable,  // the store cannot be reached, opened or written (503, exit 1)
  kInternal,     // a bug or an unexpected state (500, exit 1)
};

// "invalid", "not_found", "conflict", "unavailable", "internal".
const char* to_string(ErrorCode code) noexcept;

struct FieldError {
  std::string field;    // JSON path, e.g. "model_specific_params.width"
  std::string message;  // names the value received and what is allowed
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, std::vector<FieldError> field_errors = {});

  ErrorCode code() const noexcept { return code_; }
  const std::vector<FieldError>& field_errors() const noexcept { return field_errors_; }

  // For kConflict on a duplicate (model_id, configuration_type): the id of the
  // configuration that already exists, when the store knows it; else empty.
  const std::string& existing_id() const noexcept { return existing_id_; }
  Error& with_existing_id(std::string id) {
    existing_id_ = std::move(id);
    return *this;
  }
  // For kConflict on a stale revision: true (HTTP 412 rather than 409).
  bool is_revision_mismatch() const noexcept { return revision_mismatch_; }
  Error& as_revision_mismatch() {
    revision_mismatch_ = true;
    return *this;
  }
  // For kUnavailable from a store that lacks the capability asked for (a
  // store without change history): true. It is how the store is set up, not
  // an outage, so retrying cannot help.
  bool is_unsupported() const noexcept { return unsupported_; }
  Error& as_unsupported() {
    unsupported_ = true;
    return *this;
  }

 private:
  ErrorCode code_;
  std::vector<FieldError> field_errors_;
  std::string existing_id_;
  bool revision_mismatch_ = false;
  bool unsupported_ = false;
};

// What the exception being handled is, for a log line or a kInternal message
// at a thread's top-level guard: "an exception: <what()>" for a
// std::exception, "an exception that is not a std::exception"
// otherwise. Call only inside a catch block.
std::string describe_current_exception();

// Convenience constructors.
Error invalid(std::string message, std::vector<FieldError> field_errors = {});
Error not_found(std::string message);
Error conflict(std::string message);
Error unavailable(std::string message);

}  // namespace inferconf
