#pragma once

#include <string>

#include "agent_config.hh"

namespace vantage {

// `vantage-agent run`: probes every target each interval, spools every result durably and
// streams the spool to the collector. Returns the exit code when SIGTERM or SIGINT arrives.
int run_agent_daemon(const std::string& config_file, AgentConfig config);

}  // namespace vantage
