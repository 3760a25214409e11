#include "store/mongo/errors.hpp"

#include <string>
#include <utility>

#include <fmt/format.h>
#include <mongoc/mongoc.h>

namespace inferconf::mongo {

namespace {

// Server codes meaning the primary moved or the node is going away: the
// driver already retried once (retryable writes/reads), so the user can only
// wait for the election to finish and try again.
bool is_not_primary(std::uint32_t code) {
  switch (code) {
    case 10107:  // NotWritablePrimary
    case 13435:  // NotPrimaryNoSecondaryOk
    case 13436:  // NotPrimaryOrSecondary
    case 189:    // PrimarySteppedDown
    case 11600:  // InterruptedAtShutdown
    case 11602:  // InterruptedDueToReplStateChange
    case 91:     // ShutdownInProgress
      return true;
    default:
      return false;
  }
}

// Errors the server sent (with error API version 2 they carry the server's
// code; the legacy domains are kept for replies read through older paths).
bool from_server(const bson_error_t& e) {
  return e.domain == MONGOC_ERROR_SERVER || e.domain == MONGOC_ERROR_QUERY || e.domain == MONGOC_ERROR_COLLECTION;
}

// The driver's own codes share numbers with the server's (13 and 18 among
// them), so a code means something only together with its domain.
bool is_auth_failure(const bson_error_t& e) {
  return (e.domain == MONGOC_ERROR_CLIENT && e.code == MONGOC_ERROR_CLIENT_AUTHENTICATE) ||
         (from_server(e) && e.code == 18 /* AuthenticationFailed */);
}

bool is_unauthorized(const bson_error_t& e) { return from_server(e) && e.code == 13; }

// The privilege (docs/MONGODB.md, "Privileges") the command named in the
// server's "not authorized on DB to execute command { NAME: … }" needs.
std::string missing_privilege(std::string_view message) {
  static const std::pair<std::string_view, std::string_view> kCommands[] = {
      {"$changeStream", "changeStream and find"}, {"createIndexes", "createIndex"},
      {"listIndexes", "listIndexes"},             {"listCollections", "listCollections"},
      {"insert", "insert"},                       {"update", "update"},
      {"delete", "remove"},                       {"find", "find"},
      {"getMore", "find"},                        {"aggregate", "find"},
      {"count", "find"},                          {"collStats", "collStats"},
  };
  for (const auto& [command, privilege] : kCommands)
    if (message.find(std::string("{ ") + std::string(command) + ":") != std::string_view::npos ||
        (command == "$changeStream" && message.find(command) != std::string_view::npos))
      return std::string(privilege);
  return {};
}

bool is_too_large(const bson_error_t& e) {
  if (e.domain == MONGOC_ERROR_BSON) return true;  // the driver refuses a document over maxBsonObjectSize
  return from_server(e) && (e.code == 10334 /* BSONObjectTooLarge */ || e.code == 17419 || e.code == 17420);
}

// Codes a server returns for a command inferconf built wrongly: a bug, not an outage.
bool is_malformed_command(const bson_error_t& e) {
  if (!from_server(e)) return false;
  switch (e.code) {
    case 2:   // BadValue
    case 9:   // FailedToParse
    case 14:  // TypeMismatch
    case 40:  // ConflictingUpdateOperators
    case 52:  // DollarPrefixedFieldName
      return true;
    default:
      return false;
  }
}

}  // namespace

bool is_duplicate_key_code(std::int64_t code) noexcept { return code == 11000 || code == 11001 || code == 12582; }

bool is_duplicate_key(const bson_error_t& error) noexcept {
  return from_server(error) && is_duplicate_key_code(error.code);
}

Error driver_error(const bson_error_t& e, std::string_view what, std::string_view where) {
  const std::string message = e.message;
  if (e.domain == MONGOC_ERROR_WRITE_CONCERN) {
    return unavailable(fmt::format(
        "MongoDB at {} did not confirm the write to {} (write concern error {}: {}); it may or may not have been "
        "applied. Check the replica set's health, then read the data back before retrying.",
        where, what, e.code, message));
  }
  if (is_unauthorized(e)) {
    const std::string privilege = missing_privilege(message);
    return unavailable(fmt::format(
        "The MongoDB user of {} is not allowed to {} (error 13 Unauthorized: {}). Grant it {} on the database (the "
        "built-in readWrite role on the database has every privilege inferconf needs; see docs/MONGODB.md, "
        "\"Privileges\").",
        where, what, message,
        privilege.empty() ? std::string("the privilege this command needs") : "the " + privilege + " privilege"));
  }
  if (is_too_large(e)) {
    return invalid(fmt::format(
        "MongoDB at {} refused to {}: {} (error {}.{}). A document may not exceed the server's maximum BSON size "
        "(16 MiB); make model_specific_params smaller, or write fewer configurations per batch.",
        where, what, message, e.domain, e.code));
  }
  if (e.domain == MONGOC_ERROR_COMMAND && e.code == MONGOC_ERROR_COMMAND_INVALID_ARG) {
    // The driver refused the request before sending it: a document key it
    // will not send (empty, with a dot, starting with $) or an option of the
    // connection string a command cannot use.
    return invalid(fmt::format(
        "The MongoDB driver refused to {} at {}: {}. Keys of model_specific_params must not be empty, contain "
        "\".\" or start with \"$\"; otherwise check the options of the connection string against "
        "docs/MONGODB.md.",
        what, where, message));
  }
  if (is_auth_failure(e)) {
    return unavailable(fmt::format(
        "MongoDB at {} refused the credentials while trying to {}: {}. Check the user name, the password and "
        "authSource in the connection string, and that the user has readWrite on the database.",
        where, what, message));
  }
  if (e.domain == MONGOC_ERROR_SERVER_SELECTION) {
    return unavailable(fmt::format(
        "No usable MongoDB server at {} to {}: {}. Check that mongod is running and reachable at the hosts of the "
        "connection string (and, for a replica set, that replicaSet names the set and a primary is elected).",
        where, what, message));
  }
  if (e.domain == MONGOC_ERROR_STREAM || e.domain == MONGOC_ERROR_PROTOCOL) {
    return unavailable(fmt::format(
        "The connection to MongoDB at {} failed while trying to {}: {}. If this was a write, it may or may not have "
        "been applied; read the data back before retrying.",
        where, what, message));
  }
  if (from_server(e) && is_not_primary(e.code)) {
    return unavailable(fmt::format(
        "MongoDB at {} has no writable primary right now (error {}: {}) so inferconf could not {}; the replica set "
        "is probably electing a new primary. Try again in a few seconds.",
        where, e.code, message, what));
  }
  if (from_server(e) && (e.code == 50 /* MaxTimeMSExpired */ || e.code == 89 /* NetworkTimeout */ ||
                         e.code == 6 /* HostUnreachable */ || e.code == 7 /* HostNotFound */)) {
    return unavailable(fmt::format(
        "MongoDB at {} timed out while trying to {} (error {}: {}); the server is overloaded or a node is "
        "unreachable. Try again; if it keeps happening, check the server's load and indexes (`inferconf validate`): "
        "inferconf bounds each read at 20 s, and socketTimeoutMS in the connection string bounds each round trip.",
        where, what, e.code, message));
  }
  if (is_malformed_command(e)) {
    return Error(ErrorCode::kInternal,
                 fmt::format("MongoDB at {} rejected inferconf's command to {} (error {}: {}); this is a bug in "
                             "inferconf, please report it.",
                             where, what, e.code, message));
  }
  return unavailable(fmt::format("MongoDB at {} could not {} (error {}.{}: {}).", where, what, e.domain, e.code, message));
}

}  // namespace inferconf::mongo
