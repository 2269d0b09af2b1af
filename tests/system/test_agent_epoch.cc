#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "storage.hh"
#include "support/net.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

using namespace vantage;
using namespace vantage::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kAgent = "vp-epoch";

// A collector on SQLite and one agent whose two targets fail fast at DNS (a closed loopback
// port), so that it produces a result every 100 ms or so without leaving the machine.
class Deployment {
 public:
  Deployment() : port_(free_loopback_port()) {
    write_text(dir_ / "collector.yaml",
               fmt::format("listen: \"127.0.0.1:{}\"\nstorage: {{ sqlite: {} }}\n", port_,
                           (dir_ / "collector.db").string()));
    const auto created = run_command({VANTAGE_COLLECTOR_PATH, "token", "create", kAgent, "--config",
                                      (dir_ / "collector.yaml").string()});
    REQUIRE(created.exit_code == 0);
    write_text(dir_ / "agent.token", created.out);
    write_agent_config(true);
  }

  void write_agent_config(bool with_targets) {
    write_text(
        dir_ / "agent.yaml",
        fmt::format("agent: {{ name: {}, state_dir: {} }}\n"
                    "collector: {{ url: \"http://127.0.0.1:{}\", token_file: {} }}\n"
                    "dns: {{ resolvers: [\"127.0.0.1:9\"] }}\n"
                    "probe: {{ interval: 200ms, timeout: 100ms }}\n"
                    "targets: {}\n",
                    kAgent, state_dir().string(), port_, (dir_ / "agent.token").string(),
                    with_targets ? "[ { domain: epoch1.test }, { domain: epoch2.test } ]" : "[]"));
  }

  void start_collector() {
    collector_.emplace("collector",
                       std::vector<std::string>{VANTAGE_COLLECTOR_PATH, "serve", "--config",
                                                (dir_ / "collector.yaml").string()},
                       dir_ / "collector.log");
    REQUIRE(wait_until([&] {
      collector_->expect_running();
      return tcp_accepts("127.0.0.1", port_, 200ms);
    }));
  }
  void stop_collector() {
    collector_->stop(10s);
    collector_.reset();
  }
  void start_agent() {
    agent_.emplace("agent",
                   std::vector<std::string>{VANTAGE_AGENT_PATH, "run", "--config",
                                            (dir_ / "agent.yaml").string()},
                   dir_ / "agent.log");
  }
  void stop_agent() {
    agent_->stop(10s);
    agent_.reset();
  }

  // Runs the agent until the collector acknowledged at least `count` results of this state
  // directory; then stops it.
  void produce(uint64_t count) {
    start_agent();
    const bool done = wait_until([&] { return acknowledged() >= count; }, {100, 100ms, 8s});
    INFO(logs());
    REQUIRE(done);
    stop_agent();
  }
  // Lets the agent deliver what is left in its spool, producing nothing more.
  void drain() {
    write_agent_config(false);
    const size_t starts_before = starts();
    start_agent();
    // Started (past its start line, so it has read its state) and delivered everything.
    const bool drained =
        wait_until([&] { return starts() > starts_before && spooled() == 0; }, {100, 100ms, 8s});
    INFO(logs());
    REQUIRE(drained);
    stop_agent();
  }

  fs::path state_dir() const { return dir_ / "state"; }
  uint64_t epoch() const {
    const auto text = read_text(state_dir() / "epoch");
    return text.empty() ? 0 : std::stoull(text);
  }
  uint64_t acknowledged() const {
    const auto text = read_text(state_dir() / "spool" / "acknowledged");
    return text.empty() ? 0 : std::stoull(text);
  }
  size_t spooled() const {
    size_t count = 0;
    for (const auto& entry : fs::directory_iterator(state_dir() / "spool")) {
      count += entry.path().extension() == ".json" ? 1 : 0;
    }
    return count;
  }
  // The seqs stored for the agent, by epoch.
  std::map<uint64_t, std::set<uint64_t>> stored() const {
    auto storage = open_sqlite_storage((dir_ / "collector.db").string());
    std::map<uint64_t, std::set<uint64_t>> seqs;
    for (const auto& result : storage->results("", kAgent, TimePoint{}, 100'000)) {
      seqs[result.epoch].insert(result.seq);
    }
    return seqs;
  }
  size_t starts() const {
    const std::string log = agent_log();
    size_t count = 0;
    for (size_t at = log.find(" starting: "); at != std::string::npos;
         at = log.find(" starting: ", at + 1)) {
      ++count;
    }
    return count;
  }
  std::string collector_log() const { return read_text(dir_ / "collector.log"); }
  std::string agent_log() const { return read_text(dir_ / "agent.log"); }
  std::string logs() const { return agent_log() + "\n---\n" + collector_log(); }

 private:
  TempDir dir_{"vantage-epoch"};
  uint16_t port_;
  std::optional<ChildProcess> collector_;
  std::optional<ChildProcess> agent_;
};

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
  Deployment deployment;
  deployment.start_collector();
  deployment.produce(5);
  const uint64_t first_epoch = deployment.epoch();
  const uint64_t first_acknowledged = deployment.acknowledged();
  REQUIRE(first_epoch > 0);
  CHECK_THAT(deployment.agent_log(),
             Catch::Contains(fmt::format("state directory new: epoch {}", first_epoch)));

  // A rebuilt machine: the same agent, the same token, an empty state directory.
  fs::remove_all(deployment.state_dir());
  deployment.produce(5);
  const uint64_t second_epoch = deployment.epoch();
  CHECK(second_epoch > first_epoch);
  deployment.drain();
  // Restarted on the same directory, the agent keeps its epoch.
  CHECK_THAT(deployment.agent_log(),
             Catch::Contains(fmt::format(", epoch {}, spool", second_epoch)));
  deployment.stop_collector();

  const uint64_t produced = deployment.acknowledged();  // drained: every seq it assigned
  const auto stored = deployment.stored();
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
