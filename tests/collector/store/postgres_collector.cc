// The deployed pair on PostgreSQL: a real vantage-collector serving from the test's PostgreSQL
// server, two real vantage-agent daemons (in two ASNs) uploading to it, and a collector restart.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "postgres_server.hh"
#include "storage_suite.hh"
#include "support/net.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

namespace vantage::testing {

PostgresServer& postgres_server();
std::string create_database(const std::string& name);

namespace {

using namespace std::chrono_literals;

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace

TEST_CASE(
    "postgres: the collector stores and correlates two agents' uploads and resumes after a "
    "restart",
    "[postgres][collector]") {
  TempDir dir("vantage-pg-collector");
  const std::string conninfo = create_database("vantage_collector_e2e");
  const uint16_t port = free_loopback_port();
  write_text(dir / "collector.yaml",
             fmt::format("listen: \"127.0.0.1:{}\"\nstorage: {{ postgres: \"{}\" }}\n"
                         "correlation: {{ settle: 1s }}\n",
                         port, conninfo));
  for (const auto& [agent, asn] : {std::pair{"vp-a", 64510}, std::pair{"vp-b", 64511}}) {
    const auto token = run_command({VANTAGE_COLLECTOR_PATH, "token", "create", agent, "--config",
                                    (dir / "collector.yaml").string()});
    REQUIRE(token.exit_code == 0);
    write_text(dir / fmt::format("{}.token", agent), first_line(token.out) + "\n");
    // Their resolver is a closed loopback port: every cycle fails at DNS in milliseconds, and
    // nothing leaves the machine.
    write_text(
        dir / fmt::format("{}.yaml", agent),
        fmt::format("agent: {{ name: {0}, state_dir: {1}/{0}, asn: {2} }}\n"
                    "collector: {{ url: \"http://127.0.0.1:{3}\", token_file: {1}/{0}.token }}\n"
                    "dns: {{ resolvers: [\"127.0.0.1:9\"] }}\n"
                    "probe: {{ interval: 300ms, timeout: 200ms }}\n"
                    "targets: [ {{ domain: pg.example }} ]\n",
                    agent, dir.path().string(), asn, port));
  }

  const auto start_collector = [&] {
    ChildProcess collector(
        "collector",
        {VANTAGE_COLLECTOR_PATH, "serve", "--config", (dir / "collector.yaml").string()},
        dir / "collector.log");
    REQUIRE(wait_until([&] {
      collector.expect_running();
      return tcp_accepts("127.0.0.1", port, 200ms);
    }));
    return collector;
  };
  auto collector = start_collector();
  ChildProcess vp_a("vp-a", {VANTAGE_AGENT_PATH, "run", "--config", (dir / "vp-a.yaml").string()},
                    dir / "vp-a.log");
  ChildProcess vp_b("vp-b", {VANTAGE_AGENT_PATH, "run", "--config", (dir / "vp-b.yaml").string()},
                    dir / "vp-b.log");

  auto store = open_postgres_storage(conninfo);
  std::string verdict;
  const bool decided = wait_until(
      [&] {
        const auto latest = store->latest_verdicts();
        verdict = latest.empty() ? ""
                                 : fmt::format("{} {}", to_string(latest.front().verdict),
                                               to_string(latest.front().scope));
        return !latest.empty() && latest.front().verdict != Verdict::Ok &&
               latest.front().verdict != Verdict::Unknown;
      },
      {300, 100ms, 30s});
  INFO(read_text(dir / "collector.log"));
  REQUIRE(decided);
  CHECK_THAT(verdict, Catch::EndsWith(" global"));  // both vantages, two ASNs
  CHECK(store->count_results() >= 4);
  const auto agents = store->agents();
  REQUIRE(agents.size() == 2);
  CHECK(agents[0].asn == 64510);

  // Enough cycles for the collector to tell the agents' interval from their spacing.
  REQUIRE(wait_until([&] { return store->count_results() >= 12; }, {300, 100ms, 30s}));
  vp_a.stop();
  vp_b.stop();
  // Stopped agents stop voting: silent for two of their intervals, the domain goes UNKNOWN.
  const bool unknown = wait_until(
      [&] {
        const auto latest = store->latest_verdicts();
        return !latest.empty() && latest.front().verdict == Verdict::Unknown;
      },
      {300, 100ms, 30s});
  REQUIRE(unknown);
  const auto before = store->verdict_history("pg.example", TimePoint{}, 100);
  const uint64_t stored = store->count_results();
  collector.stop();
  collector = start_collector();
  // The restarted collector takes the stored verdict up again rather than recording it anew.
  std::this_thread::sleep_for(2s);
  CHECK(store->verdict_history("pg.example", TimePoint{}, 100) == before);
  CHECK(store->count_results() == stored);
  CHECK_THAT(read_text(dir / "collector.log"), Catch::Contains("resumed 1 domain verdicts"));
}

}  // namespace vantage::testing
