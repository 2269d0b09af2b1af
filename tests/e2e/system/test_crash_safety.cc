#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "agent_deployment.hh"
#include "support/net.hh"
#include "support/process.hh"

using namespace vantage;
using namespace vantage::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kAgent = "vp-crash";
constexpr int kTargets = 5;

// Every number the agent ever assigned is stored exactly once, and nothing else is.
void require_exactly_once(const AgentDeployment& deployment) {
  const uint64_t produced = deployment.acknowledged();
  const auto stored = deployment.stored();
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
  CHECK(fs::is_empty(deployment.state_dir() / "spool" / "rejected"));
}

constexpr const char* kBacklogAgent = "vp-backlog";
constexpr uint64_t kBacklog = 30'000;

// Results of another agent, 40 days old: past the results' retention (30 days), so that the
// collector's retention prunes them while the kills go on.
void store_backlog(const AgentDeployment& deployment) {
  auto storage = open_sqlite_storage((deployment.dir() / "collector.db").string());
  storage->migrate();
  const auto start = std::chrono::system_clock::now() - std::chrono::hours(24 * 40);
  for (uint64_t first = 1; first <= kBacklog; first += 1000) {
    std::vector<StoredResult> batch;
    for (uint64_t seq = first; seq < first + 1000; ++seq) {
      batch.push_back(StoredResult{.agent = kBacklogAgent,
                                   .seq = seq,
                                   .domain = "backlog.test",
                                   .started_at = start + std::chrono::seconds(seq),
                                   .verdict = "OK",
                                   .document = fmt::format(R"({{"seq":{}}})", seq),
                                   .summary = ""});
    }
    REQUIRE(storage->store_results(batch).inserted == batch.size());
  }
}

// The rollups count every stored result of the agent once: per hour and per day, a brute-force
// recount of its stored rows; and the backlog, its rows pruned, still counted whole by its days.
void require_rollups_exact(const AgentDeployment& deployment) {
  const auto stored = deployment.stored();
  std::map<RollupKey, std::array<uint64_t, kVerdicts>> expected;
  for (const auto& result : stored) {
    for (const RollupSpan span : {RollupSpan::Hour, RollupSpan::Day}) {
      ++expected[RollupKey{result.domain, result.agent, span, span_start(span, result.started_at)}]
                [static_cast<size_t>(*verdict_from_string(result.verdict))];
    }
  }
  auto storage = open_sqlite_storage((deployment.dir() / "collector.db").string());
  std::map<RollupKey, std::array<uint64_t, kVerdicts>> found;
  uint64_t backlog_counted = 0;
  for (const RollupSpan span : {RollupSpan::Hour, RollupSpan::Day}) {
    for (const Rollup& rollup : storage->rollups("", span, TimePoint{}, 1'000'000)) {
      if (rollup.key.agent == kBacklogAgent) {
        CHECK(span == RollupSpan::Day);  // its hours are past their retention too
        backlog_counted += rollup.figures.cycles();
      } else {
        found[rollup.key] = rollup.figures.verdicts;
      }
    }
  }
  CHECK(found == expected);
  CHECK(backlog_counted == kBacklog);
}

}  // namespace

TEST_CASE(
    "20 kill -9 of the collector and 20 of the agent, while retention prunes, lose no result, "
    "store none twice and count each once in its rollups",
    "[system][crash]") {
  AgentDeployment deployment(kAgent, "crash", kTargets);
  deployment.set_retention("{ every: 1s }");
  store_backlog(deployment);
  deployment.start_collector();
  deployment.start_agent();
  std::mt19937 random(20211004);
  std::uniform_int_distribution<int> pause_ms(100, 500);
  for (int round = 0; round < 40; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    if (round % 2 == 0) {
      deployment.kill_collector();
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random) / 2));
      deployment.start_collector();
    } else {
      deployment.kill_agent();
      deployment.start_agent();
    }
  }
  // Retention ran between the kills (each start begins a pass); it rests between its batches, so
  // what the kills left of the backlog goes now, the collector left running (bounded).
  auto storage = open_sqlite_storage((deployment.dir() / "collector.db").string());
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!storage->results("", kBacklogAgent, TimePoint{}, 1).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
  }
  deployment.stop_agent();
  deployment.drain();
  deployment.stop_collector();
  require_exactly_once(deployment);
  require_rollups_exact(deployment);
  CHECK(storage->results("", kBacklogAgent, TimePoint{}, 10).empty());
}

TEST_CASE("a collector down for many intervals gets every result when it returns",
          "[system][outage]") {
  AgentDeployment deployment(kAgent, "crash", kTargets);
  deployment.start_collector();
  deployment.start_agent();
  std::this_thread::sleep_for(1s);
  deployment.stop_collector();
  std::this_thread::sleep_for(3s);  // fifteen intervals of results pile up in the spool
  CHECK(deployment.spooled() > 0);
  deployment.start_collector();
  std::this_thread::sleep_for(1s);
  deployment.stop_agent();
  deployment.drain();
  deployment.stop_collector();
  require_exactly_once(deployment);
}

TEST_CASE("a target added on the collector reaches a running agent, and its removal too",
          "[targets]") {
  AgentDeployment deployment(kAgent, "crash", kTargets);
  deployment.write_agent_config(0);
  const auto op = run_command({VANTAGE_COLLECTOR_PATH, "token", "create", "ops", "--operator",
                               "--config", (deployment.dir() / "collector.yaml").string()});
  REQUIRE(op.exit_code == 0);
  const std::string token_env = "VANTAGE_TOKEN=" + op.out.substr(0, op.out.find('\n'));
  deployment.start_collector();
  deployment.start_agent();
  const auto url = deployment.collector_url();
  const auto stored_for = [&](const std::string& domain) {
    size_t count = 0;
    for (const auto& result : deployment.stored()) {
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
  INFO(deployment.logs());
  REQUIRE(arrived);
  CHECK_THAT(read_text(deployment.dir() / "agent.log"),
             Catch::Contains("collector targets: 1 (version 1)"));

  const auto removed = run_command({"/usr/bin/env", token_env, VANTAGE_COLLECTOR_PATH, "targets",
                                    "remove", "central.test", "--url", url});
  REQUIRE(removed.exit_code == 0);
  const bool gone = wait_until(
      [&] {
        return read_text(deployment.dir() / "agent.log").find("target central.test removed") !=
               std::string::npos;
      },
      {300, 100ms, 30s});
  REQUIRE(gone);
  // Nothing new for it once the agent has let it go (a cycle in flight may still land).
  std::this_thread::sleep_for(1s);
  const size_t settled = stored_for("central.test");
  std::this_thread::sleep_for(1s);
  CHECK(stored_for("central.test") == settled);
  deployment.stop_agent();
}

// A torn write (power lost mid-file) leaves half a document in the spool: the collector refuses
// it, and the agent sets it aside rather than retry it forever or lose the results around it.
TEST_CASE("a spooled result torn on disk is set aside and every other result is stored",
          "[system]") {
  AgentDeployment deployment("vp-torn", "torn", 2);
  // No collector yet: the agent spools.
  deployment.start_agent();
  REQUIRE(wait_until([&] { return deployment.spooled() >= 12; }, {200, 50ms, 10s}));
  deployment.stop_agent();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(deployment.state_dir() / "spool")) {
    if (entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  const fs::path torn = files[files.size() / 2];
  const std::string text = read_text(torn);
  write_text(torn, text.substr(0, text.size() / 2));  // what a torn write leaves

  deployment.start_collector();
  deployment.drain();  // bounded: fails if the spool never empties
  CHECK(fs::exists(deployment.state_dir() / "spool" / "rejected" / torn.filename()));
  std::set<uint64_t> stored;
  for (const auto& result : deployment.stored()) {
    stored.insert(result.seq);
  }
  CHECK(stored.size() == files.size() - 1);
  CHECK(stored.count(std::stoull(torn.stem().string())) == 0);
  CHECK_THAT(deployment.agent_log(), Catch::Contains("rejects result seq"));
}
