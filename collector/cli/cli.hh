#pragma once

#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "target.hh"

namespace vantage {

inline constexpr std::string_view kDefaultCollectorUrl = "http://127.0.0.1:8470";

// A mistake in how a command was called (exit 2), as opposed to a request that failed (exit 1).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What every command that talks to a running collector takes.
struct ClientOptions {
  std::string url = std::string(kDefaultCollectorUrl);
  std::string token_file;  // empty: VANTAGE_TOKEN
  std::string ca_file;
  bool json = false;
};

// The token from --token-file, else from VANTAGE_TOKEN; UsageError if neither gives one.
std::string read_client_token(const std::string& token_file);

// The client commands. Each prints to `out` (a table, or stable JSON with --json), returns the
// exit code (0 done, 1 the request failed) and throws UsageError or ClientError.
int targets_list_command(const ClientOptions& options, std::ostream& out);
// `targets add TARGET`; UsageError when the arguments do not describe a target.
int targets_add_command(const ClientOptions& options, const TargetArguments& arguments,
                        std::ostream& out);
int targets_remove_command(const ClientOptions& options, const std::string& domain,
                           std::ostream& out);
int agents_command(const ClientOptions& options, std::ostream& out);
// Every domain's verdict: one row per domain.
int status_command(const ClientOptions& options, std::ostream& out);
// One domain's verdict told for a human at 3 a.m.: what it means, scope, since, evidence, every
// vantage's reading, the alert and its delivery, recent changes.
int explain_command(const ClientOptions& options, const std::string& domain, std::ostream& out);
// The domain's verdict changes since `since` ("1h", "30m", or an RFC 3339 time).
int history_command(const ClientOptions& options, const std::string& domain,
                    const std::string& since, std::ostream& out);
// Active alerts, then recent ended ones, with each receiver's delivery state.
int alerts_command(const ClientOptions& options, std::ostream& out);

}  // namespace vantage
