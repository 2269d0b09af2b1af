// An agent whose token is revoked keeps every result in its spool, says so once, and delivers
// them all after it is given a new token on reload; a changed collector.url reaches a running
// agent on reload too.
#include <fmt/format.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

#include "agent_deployment.hh"
#include "support/net.hh"
#include "support/process.hh"

using namespace vantage;
using namespace vantage::testing;
using namespace std::chrono_literals;

namespace {

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Every result of the agent's epoch is in the store once: seq 1 to the last, no gap.
void check_all_stored_once(const AgentDeployment& deployment) {
  const auto stored = deployment.stored();
  std::set<uint64_t> seqs;
  for (const auto& result : stored) {
    CHECK(result.epoch == deployment.epoch());
    seqs.insert(result.seq);
  }
  REQUIRE_FALSE(seqs.empty());
  CHECK(seqs.size() == stored.size());
  CHECK(*seqs.begin() == 1);
  CHECK(*seqs.rbegin() == seqs.size());
  CHECK(*seqs.rbegin() == deployment.acknowledged());
}

}  // namespace

TEST_CASE(
    "a revoked agent keeps its results, says so once, and delivers them all after a new token "
    "and a reload",
    "[tokens]") {
  AgentDeployment deployment("vp-revoked", "tok", 2);
  deployment.start_collector();
  deployment.start_agent();
  REQUIRE(wait_until([&] { return deployment.stored().size() >= 5; }, {200, 100ms, 20s}));

  const auto revoked = deployment.collector_command({"token", "revoke", "vp-revoked"});
  REQUIRE(revoked.exit_code == 0);
  // Uploads are refused from now on: the spool grows, nothing is lost.
  const bool refused = wait_until(
      [&] {
        return deployment.spooled() >= 20 &&
               occurrences(deployment.agent_log(), "collector refuses this agent's token") >= 1;
      },
      {300, 100ms, 30s});
  INFO(deployment.logs());
  REQUIRE(refused);
  // Let it retry a few times (backoff 1 s, 2 s, 4 s...): still one line in each log.
  const size_t refusals_before = occurrences(deployment.collector_log(), "HTTP 401");
  std::this_thread::sleep_for(4s);
  CHECK(occurrences(deployment.agent_log(), "collector refuses this agent's token") == 1);
  CHECK(occurrences(deployment.collector_log(), "the agent token of vp-revoked ended") == 1);
  CHECK(refusals_before == 1);
  CHECK_THAT(deployment.agent_log(), Catch::Contains("token rotate NAME"));

  const auto created = deployment.collector_command({"token", "create", "vp-revoked"});
  REQUIRE(created.exit_code == 0);
  write_text(deployment.dir() / "agent.token", created.out);
  deployment.signal_agent(SIGHUP);
  const bool delivered =
      wait_until([&] { return deployment.spooled() <= 2 && deployment.acknowledged() >= 25; },
                 {300, 100ms, 30s});
  INFO(deployment.logs());
  REQUIRE(delivered);
  CHECK_THAT(deployment.agent_log(), Catch::Contains("reload: collector http://127.0.0.1:"));
  deployment.stop_agent();
  deployment.drain();
  check_all_stored_once(deployment);
}

TEST_CASE("a changed collector.url reaches a running agent on reload (SIGHUP)", "[tokens]") {
  AgentDeployment deployment("vp-moved", "moved", 1);
  deployment.start_collector();
  // At first the agent is pointed at a closed port: it spools.
  deployment.write_agent_config(1, fmt::format("http://127.0.0.1:{}", free_loopback_port()));
  deployment.start_agent();
  REQUIRE(wait_until([&] { return deployment.spooled() >= 10; }, {200, 100ms, 20s}));
  CHECK(deployment.stored().empty());

  deployment.write_agent_config(1);
  deployment.signal_agent(SIGHUP);
  const bool delivered =
      wait_until([&] { return deployment.acknowledged() >= 10 && deployment.spooled() <= 2; },
                 {300, 100ms, 30s});
  INFO(deployment.logs());
  REQUIRE(delivered);
  CHECK_THAT(deployment.agent_log(), !Catch::Contains("take effect only after a restart"));
  deployment.stop_agent();
  deployment.drain();
  check_all_stored_once(deployment);
}
