#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "storage.hh"
#include "support/net.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

using namespace vantage;
using namespace vantage::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kAgent = "vp-crash";
constexpr int kTargets = 5;

// A collector on SQLite and one agent whose targets fail fast at DNS (its resolver is a closed
// loopback port), so it produces a result every few milliseconds without leaving the machine.
class Pair {
 public:
  Pair() : port_(free_loopback_port()) {
    write_text(dir_ / "collector.yaml",
               fmt::format("listen: \"127.0.0.1:{}\"\nstorage: {{ sqlite: {} }}\n", port_,
                           (dir_ / "collector.db").string()));
    const auto created = run_command({VANTAGE_COLLECTOR_PATH, "token", "create", kAgent, "--config",
                                      (dir_ / "collector.yaml").string()});
    REQUIRE(created.exit_code == 0);
    write_text(dir_ / "agent.token", last_line(created.out) + "\n");
    write_agent_config(kTargets);
  }

  void write_agent_config(int targets) {
    std::string text = fmt::format(
        "agent: {{ name: {}, state_dir: {} }}\n"
        "collector: {{ url: \"http://127.0.0.1:{}\", token_file: {} }}\n"
        "dns: {{ resolvers: [\"127.0.0.1:9\"] }}\n"
        "probe: {{ interval: 200ms, timeout: 100ms }}\n"
        "targets:\n",
        kAgent, (dir_ / "state").string(), port_, (dir_ / "agent.token").string());
    for (int i = 1; i <= targets; ++i) {
      text += fmt::format("  - {{ domain: crash{}.test }}\n", i);
    }
    if (targets == 0) {
      text += "  []\n";
    }
    write_text(dir_ / "agent.yaml", text);
  }

  void start_collector() {
    collector_.emplace("collector",
                       std::vector<std::string>{VANTAGE_COLLECTOR_PATH, "serve", "--config",
                                                (dir_ / "collector.yaml").string()},
                       dir_ / "collector.log");
    const bool up = wait_until([&] {
      collector_->expect_running();
      return tcp_accepts("127.0.0.1", port_, 200ms);
    });
    REQUIRE(up);
  }
  void start_agent() {
    agent_.emplace("agent",
                   std::vector<std::string>{VANTAGE_AGENT_PATH, "run", "--config",
                                            (dir_ / "agent.yaml").string()},
                   dir_ / "agent.log");
  }
  static void kill_hard(std::optional<ChildProcess>& process) {
    ::kill(process->pid(), SIGKILL);
    process->stop();
    process.reset();
  }
  void kill_collector() { kill_hard(collector_); }
  void kill_agent() { kill_hard(agent_); }
  void stop_agent() {
    agent_->stop(10s);
    agent_.reset();
  }
  void stop_collector() {
    collector_->stop(10s);
    collector_.reset();
  }

  size_t spooled() const {
    size_t count = 0;
    for (const auto& entry : fs::directory_iterator(dir_ / "state" / "spool")) {
      count += entry.path().extension() == ".json" ? 1 : 0;
    }
    return count;
  }
  uint64_t acknowledged() const {
    const auto text = read_text(dir_ / "state" / "spool" / "acknowledged");
    return text.empty() ? 0 : std::stoull(text);
  }
  std::vector<StoredResult> stored() const {
    auto storage = open_sqlite_storage((dir_ / "collector.db").string());
    return storage->results("", kAgent, TimePoint{}, 1'000'000);
  }
  std::string logs() const {
    return read_text(dir_ / "agent.log").substr(0, 4000) + "\n---\n" +
           read_text(dir_ / "collector.log").substr(0, 4000);
  }
  const fs::path& dir() const { return dir_.path(); }
  std::string collector_url() const { return fmt::format("http://127.0.0.1:{}", port_); }

 private:
  static std::string last_line(const std::string& text) {
    std::string line, last;
    for (char c : text) {
      if (c == '\n') {
        if (!line.empty()) {
          last = line;
        }
        line.clear();
      } else {
        line += c;
      }
    }
    return line.empty() ? last : line;
  }

  TempDir dir_{"vantage-crash"};
  uint16_t port_;
  std::optional<ChildProcess> collector_;
  std::optional<ChildProcess> agent_;
};

// Lets the agent drain its spool into a running collector, with no targets producing more.
void drain(Pair& pair) {
  pair.write_agent_config(0);
  pair.start_agent();
  const bool drained = wait_until([&] { return pair.spooled() == 0; }, {600, 100ms, 60s});
  INFO(pair.logs());
  REQUIRE(drained);
  pair.stop_agent();
}

// Every number the agent ever assigned is stored exactly once, and nothing else is.
void require_exactly_once(const Pair& pair) {
  const uint64_t produced = pair.acknowledged();
  const auto stored = pair.stored();
  INFO("produced " << produced << ", stored " << stored.size());
  REQUIRE(produced > 0);
  std::set<uint64_t> seqs;
  for (const auto& result : stored) {
    CHECK(result.agent == kAgent);
    CHECK(result.domain.rfind("crash", 0) == 0);
    seqs.insert(result.seq);
  }
  CHECK(seqs.size() == stored.size());
  CHECK(stored.size() == produced);
  CHECK(*seqs.begin() == 1);
  CHECK(*seqs.rbegin() == produced);
  CHECK(fs::is_empty(pair.dir() / "state" / "spool" / "rejected"));
}

}  // namespace

TEST_CASE("20 kill -9 of the collector and 20 of the agent lose no result and store none twice",
          "[system][crash]") {
  Pair pair;
  pair.start_collector();
  pair.start_agent();
  std::mt19937 random(20211004);
  std::uniform_int_distribution<int> pause_ms(100, 500);
  for (int round = 0; round < 40; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    if (round % 2 == 0) {
      pair.kill_collector();
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random) / 2));
      pair.start_collector();
    } else {
      pair.kill_agent();
      pair.start_agent();
    }
  }
  std::this_thread::sleep_for(1s);
  pair.stop_agent();
  drain(pair);
  pair.stop_collector();
  require_exactly_once(pair);
}

TEST_CASE("a collector down for many intervals gets every result when it returns",
          "[system][outage]") {
  Pair pair;
  pair.start_collector();
  pair.start_agent();
  std::this_thread::sleep_for(1s);
  pair.stop_collector();
  std::this_thread::sleep_for(3s);  // fifteen intervals of results pile up in the spool
  CHECK(pair.spooled() > 0);
  pair.start_collector();
  std::this_thread::sleep_for(1s);
  pair.stop_agent();
  drain(pair);
  pair.stop_collector();
  require_exactly_once(pair);
}

TEST_CASE("a target added on the collector reaches a running agent, and its removal too",
          "[targets]") {
  Pair pair;
  pair.write_agent_config(0);
  const auto op = run_command({VANTAGE_COLLECTOR_PATH, "token", "create", "ops", "--operator",
                               "--config", (pair.dir() / "collector.yaml").string()});
  REQUIRE(op.exit_code == 0);
  const std::string token_env = "VANTAGE_TOKEN=" + op.out.substr(0, op.out.find('\n'));
  pair.start_collector();
  pair.start_agent();
  const auto url = pair.collector_url();
  const auto stored_for = [&](const std::string& domain) {
    size_t count = 0;
    for (const auto& result : pair.stored()) {
      count += result.domain == domain ? 1 : 0;
    }
    return count;
  };

  const auto added = run_command({"/usr/bin/env", token_env, VANTAGE_COLLECTOR_PATH, "targets",
                                  "add", "central.test", "--url", url});
  REQUIRE(added.exit_code == 0);
  // The agent polls every max(10 s, interval / 2); the first results follow within a cycle.
  const bool arrived =
      wait_until([&] { return stored_for("central.test") > 0; }, {300, 100ms, 30s});
  INFO(pair.logs());
  REQUIRE(arrived);
  CHECK_THAT(read_text(pair.dir() / "agent.log"),
             Catch::Contains("collector targets: 1 (version 1)"));

  const auto removed = run_command({"/usr/bin/env", token_env, VANTAGE_COLLECTOR_PATH, "targets",
                                    "remove", "central.test", "--url", url});
  REQUIRE(removed.exit_code == 0);
  const bool gone = wait_until(
      [&] {
        return read_text(pair.dir() / "agent.log").find("target central.test removed") !=
               std::string::npos;
      },
      {300, 100ms, 30s});
  REQUIRE(gone);
  // Nothing new for it once the agent has let it go (a cycle in flight may still land).
  std::this_thread::sleep_for(1s);
  const size_t settled = stored_for("central.test");
  std::this_thread::sleep_for(1s);
  CHECK(stored_for("central.test") == settled);
  pair.stop_agent();
}
