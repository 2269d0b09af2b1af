// The network evidence suite's own main: it builds four network namespaces of its own (see
// topology.hh), moves into the client's, runs the cases in-process against the probe library,
// and deletes the namespaces again, whatever the outcome.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "support/netns.hh"
#include "support/process.hh"
#include "topology.hh"

int main(int argc, char* argv[]) {
  namespace lab = vantage::testing;
  Catch::Session session;
  if (int status = session.applyCommandLine(argc, argv); status != 0) {
    return status;
  }
  const auto& config = session.configData();
  if (config.showHelp || config.listTests || config.listTestNamesOnly || config.listTags ||
      config.listReporters) {
    return session.run();  // listing needs no namespaces
  }
  if (geteuid() != 0) {
    return lab::lab_unavailable("the network evidence test needs root to build its namespaces");
  }
  if (!lab::find_program("nft")) {
    return lab::lab_unavailable("nft (nftables) is not installed");
  }
  std::string error;
  bool can_run = false;
  auto topology = lab::NetworkTopology::build(error, can_run);
  if (!topology) {
    if (can_run) {
      std::printf("FAILED: cannot build the test network: %s\n", error.c_str());
      return 1;
    }
    return lab::lab_unavailable(error);
  }
  lab::set_topology(topology.get());
  const int failed = session.run();
  lab::set_topology(nullptr);
  topology.reset();
  // Catch2 exits with the number of failed assertions; 77 of them must not read as "skipped".
  return failed == lab::kSkipExitCode ? 1 : failed;
}
