#pragma once

#include <CLI/CLI.hpp>

#include "target.hh"

namespace vantage {

// `vantage-agent probe TARGET ...`: registers the subcommand; `run_probe_command` runs it after
// parsing and returns the process exit code (0 OK, 1 not OK, 2 usage error).
struct ProbeCommand {
  TargetArguments target;
  std::vector<std::string> resolvers;
  std::vector<std::string> controls;
  std::string timeout = "5s";
  std::string state_dir;
  std::string asn_database;
  bool json = false;
};

CLI::App* add_probe_command(CLI::App& app, ProbeCommand& command);
int run_probe_command(const ProbeCommand& command);

}  // namespace vantage
