#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>

#include "collector_config.hh"
#include "storage.hh"

// The commands that run the collector itself (beside the client commands of cli/cli.hh): they
// read collector.yaml and open the store.
namespace vantage {

// The daemon: serves until SIGINT or SIGTERM, then finishes the requests in progress and closes
// the store. Throws ConfigError for a bad collector.yaml, std::runtime_error if it cannot start.
int serve_command(const std::string& config_file);

// The store of collector.yaml, migrated to this version's schema. Throws StorageError.
std::unique_ptr<Storage> open_migrated(const CollectorConfig& config);

// Prints a new token to `out` (nothing else goes there, so `> agent.token` captures it) and a
// reminder to `err`. Refuses (exit 1) a name that has a token still accepted.
int token_create_command(const std::string& config_file, const std::string& name,
                         bool operator_token, std::ostream& out, std::ostream& err);
// Every token: name, kind, created, last used, accepted or until when; never a secret.
int token_list_command(const std::string& config_file, bool json, std::ostream& out);
// Prints a new token for `name` to `out`; its old ones keep working for `grace`.
int token_rotate_command(const std::string& config_file, const std::string& name,
                         std::chrono::seconds grace, std::ostream& out, std::ostream& err);
// Ends every token of `name` at once (exit 1 if it had none still accepted).
int token_revoke_command(const std::string& config_file, const std::string& name, std::ostream& out,
                         std::ostream& err);

int check_config_command(const std::string& config_file, std::ostream& out);

// Rows, bytes and oldest entry per table, and what retention removes next; `json`: as one JSON
// document. Refuses a database of another schema version.
int db_stats_command(const std::string& config_file, bool json, std::ostream& out);

}  // namespace vantage
