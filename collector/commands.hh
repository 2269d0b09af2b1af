#pragma once

#include <ostream>
#include <string>

// The commands that run the collector itself (beside the client commands of cli/cli.hh): they
// read collector.yaml and open the store.
namespace vantage {

// The daemon: serves until SIGINT or SIGTERM, then finishes the requests in progress and closes
// the store. Throws ConfigError for a bad collector.yaml, std::runtime_error if it cannot start.
int serve_command(const std::string& config_file);

// Prints a new token to `out` (nothing else goes there, so `> agent.token` captures it) and a
// reminder to `err`.
int token_create_command(const std::string& config_file, const std::string& name,
                         bool operator_token, std::ostream& out, std::ostream& err);

int check_config_command(const std::string& config_file, std::ostream& out);

// Rows, bytes and oldest entry per table, and what retention removes next; `json`: as one JSON
// document. Refuses a database of another schema version.
int db_stats_command(const std::string& config_file, bool json, std::ostream& out);

}  // namespace vantage
