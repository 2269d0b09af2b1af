#pragma once

#include <optional>
#include <string>

#include "cli.hh"

namespace vantage {

// The client commands' settings, each from the first place that gives it: a flag (`given`), the
// environment (VANTAGE_URL, VANTAGE_CA, VANTAGE_TOKEN), the client file, the default. So an
// operator names the collector once instead of on every command.
//
// The client file is $VANTAGE_CLIENT_CONFIG, else $XDG_CONFIG_HOME/vantage/client.yaml, else
// ~/.config/vantage/client.yaml; none is fine, one that is there but wrong is a ConfigError
// naming its file, line and key (exit 2):
//   url: https://collector.example.net:8470
//   ca_file: ca.pem              # relative paths: to the client file's directory
//   token_file: operator.token
ClientOptions resolve_client_options(const ClientOptions& given);

// The client file's path as the rule above finds it; nullopt when no variable names a directory
// to look in (no HOME).
std::optional<std::string> client_file_path();

}  // namespace vantage
