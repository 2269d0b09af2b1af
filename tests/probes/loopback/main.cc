// The loopback suite's own main: before any test runs, the binary moves into a network namespace
// of its own, so every daemon it starts, and the agent it probes with, can reach nothing but the
// lab on lo.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "probe_lab.hh"
#include "support/netns.hh"
#include "support/process.hh"

int main(int argc, char* argv[]) {
  namespace lab = vantage::testing;
  Catch::Session session;
  if (int status = session.applyCommandLine(argc, argv); status != 0)
    return status;
  const auto& config = session.configData();
  if (config.showHelp || config.listTests || config.listTestNamesOnly || config.listTags ||
      config.listReporters) {
    return session.run();  // listing needs no lab
  }

  if (geteuid() != 0) {
    return lab::lab_unavailable("the loopback lab needs root to create its network namespace");
  }
  for (const char* program : {"nsd", "unbound", "nginx", "ip"}) {
    if (!lab::find_program(program)) {
      return lab::lab_unavailable(std::string(program) + " is not installed");
    }
  }
  // A missing agent is a broken build, not a machine that cannot run the lab: never a skip.
  const std::filesystem::path agent = lab::agent_path();
  if (agent.empty() || access(agent.c_str(), X_OK) != 0) {
    std::printf(
        "FAILED: no vantage-agent to test at '%s' (build the vantage-agent target, or "
        "set VANTAGE_AGENT)\n",
        agent.c_str());
    return 1;
  }
  if (std::string error = lab::enter_private_network(lab::lab_addresses()); !error.empty()) {
    return lab::lab_unavailable(error);
  }
  lab::become_subreaper();

  const int failed = session.run();
  // Catch2 exits with the number of failed assertions; 77 of them must not read as "skipped".
  return failed == lab::kSkipExitCode ? 1 : failed;
}
