#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "agent_deployment.hh"
#include "support/net.hh"
#include "support/process.hh"

using namespace vantage;
using namespace vantage::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kAgent = "vp-epoch";

// Runs the agent until the collector acknowledged at least `count` results of this state
// directory; then stops it.
void produce(AgentDeployment& deployment, uint64_t count) {
  deployment.start_agent();
  const bool done =
      wait_until([&] { return deployment.acknowledged() >= count; }, {100, 100ms, 8s});
  INFO(deployment.logs());
  REQUIRE(done);
  deployment.stop_agent();
}

// The seqs stored for the agent, by epoch.
std::map<uint64_t, std::set<uint64_t>> stored_by_epoch(const AgentDeployment& deployment) {
  std::map<uint64_t, std::set<uint64_t>> seqs;
  for (const auto& result : deployment.stored()) {
    seqs[result.epoch].insert(result.seq);
  }
  return seqs;
}

std::set<uint64_t> one_to(uint64_t last) {
  std::set<uint64_t> seqs;
  for (uint64_t seq = 1; seq <= last; ++seq) {
    seqs.insert(seq);
  }
  return seqs;
}

}  // namespace

TEST_CASE("an agent whose state directory is wiped starts a new epoch and loses no result",
          "[system][epoch]") {
  AgentDeployment deployment(kAgent, "epoch", 2);
  deployment.start_collector();
  produce(deployment, 5);
  const uint64_t first_epoch = deployment.epoch();
  const uint64_t first_acknowledged = deployment.acknowledged();
  REQUIRE(first_epoch > 0);
  CHECK_THAT(deployment.agent_log(),
             Catch::Contains(fmt::format("state directory new: epoch {}", first_epoch)));

  // A rebuilt machine: the same agent, the same token, an empty state directory.
  fs::remove_all(deployment.state_dir());
  produce(deployment, 5);
  const uint64_t second_epoch = deployment.epoch();
  CHECK(second_epoch > first_epoch);
  deployment.drain();
  // Restarted on the same directory, the agent keeps its epoch.
  CHECK_THAT(deployment.agent_log(),
             Catch::Contains(fmt::format(", epoch {}, spool", second_epoch)));
  deployment.stop_collector();

  const uint64_t produced = deployment.acknowledged();  // drained: every seq it assigned
  const auto stored = stored_by_epoch(deployment);
  INFO(deployment.logs());
  INFO("epoch 1: " << first_epoch << ", acknowledged " << first_acknowledged
                   << "; epoch 2: " << second_epoch << ", produced " << produced);
  // Every result of the new directory is stored under its epoch, none taken for a duplicate of
  // the old directory's numbers, none refused and set aside.
  REQUIRE(stored.contains(second_epoch));
  CHECK(stored.at(second_epoch) == one_to(produced));
  CHECK(fs::is_empty(deployment.state_dir() / "spool" / "rejected"));
  // The old directory's acknowledged results are still there, under their own epoch.
  REQUIRE(stored.contains(first_epoch));
  CHECK(stored.at(first_epoch).size() >= first_acknowledged);
  CHECK(stored.size() == 2);
  CHECK_THAT(deployment.collector_log(),
             Catch::Contains(fmt::format("agent {} started epoch {} (its state directory is new; "
                                         "the previous epoch was {}); sequence restarts at 1",
                                         kAgent, second_epoch, first_epoch)));
}
