// Turns libmongoc's bson_error_t into inferconf::Error with a sentence a user
// can act on. The server's own message is always kept: operators search for it.
#pragma once

#include <string_view>

#include <bson/bson.h>

#include "inferconf/error.hpp"

namespace inferconf::mongo {

// Code 11000 (and the legacy 11001 / 12582): a unique index refused the write.
bool is_duplicate_key(const bson_error_t& error) noexcept;
// A write errors entry in a reply (insert_many, bulk) that is a duplicate key.
bool is_duplicate_key_code(std::int64_t code) noexcept;

// `what` says what inferconf was doing ("read configuration 1234…"), `where`
// names the store (describe(), credentials removed). Network failures,
// timeouts, "not primary", authentication failures and write concern errors
// are kUnavailable; a server rejecting a malformed command is kInternal.
Error driver_error(const bson_error_t& error, std::string_view what, std::string_view where);

}  // namespace inferconf::mongo
