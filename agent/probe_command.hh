#pragma once

#include <CLI/CLI.hpp>

namespace vantage {

// `vantage-agent probe TARGET ...`: registers the subcommand; `run_probe_command` runs it after
// parsing and returns the process exit code (0 OK, 1 not OK, 2 usage error).
struct ProbeCommand {
  std::string target;  // DOMAIN, ADDRESS or a URL: https://, http://, tcp://HOST:PORT
  std::vector<std::string> resolvers;
  std::vector<std::string> controls;
  int port = 0;      // 0: from the target, else the kind's default
  std::string path;  // empty: from the target, else "/"
  std::string ca_file;
  bool insecure = false;
  std::string timeout = "5s";
  std::string state_dir;
  std::string asn_database;
  std::vector<int> expect_status;
  std::string body_regex;
  bool json = false;
};

CLI::App* add_probe_command(CLI::App& app, ProbeCommand& command);
int run_probe_command(const ProbeCommand& command);

}  // namespace vantage
