// The MongoDB Store ("mongodb://HOST[,HOST…]/DB?options" or "mongodb+srv://…"),
// on the official C driver. Collections are the seed's: `inference_configurations`
// and `database_models`; see docs/MONGODB.md for deployment notes.
#pragma once

#include <memory>
#include <string_view>

#include "inferconf/registry.hpp"
#include "inferconf/store.hpp"

namespace inferconf {

// Parses the connection string, starts the driver's connection pool and pings
// the deployment (authenticating), so a bad URI is kInvalid and an unreachable
// server or wrong credentials kUnavailable here rather than on first use.
// `map` names the fields of the platform's `database_models` documents.
// Rejects w=0: inferconf never reports an unacknowledged write as done.
std::unique_ptr<Store> open_mongo_store(std::string_view uri, const RegistryFieldMap& map = {});

// The connection string with user name and password removed, for messages.
std::string redact_mongo_uri(std::string_view uri);

}  // namespace inferconf
