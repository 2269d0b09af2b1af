// The whole system on the outage lab: three vantage-agent daemons (vp1 and vp2 in AS64510, vp3 in
// AS64511), a vantage-collector and a real Prometheus Alertmanager, started by scripts/fleet. Each
// step breaks the lab the way the Internet breaks and asserts what an operator sees through the
// collector's CLI and in Alertmanager, within the time the design promises.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lab.hh"

namespace vantage::lab {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// scripts/fleet's timings: agents probe every 5 s with a 2 s timeout, enter_after and exit_after
// are 2, a partial verdict settles for 5 s. A verdict entered by the whole fleet must show within
// enter_after x interval + timeout, plus one interval for the phase the break lands in and a few
// seconds for uploads and the CLI.
constexpr auto kInterval = 5s;
constexpr auto kTimeout = 2s;
constexpr int kExitAfter = 2;
constexpr auto kEnterBound = 2 * kInterval + kTimeout + kInterval + 3s;  // 20 s
constexpr auto kPartialBound = kEnterBound + 5s;                         // + settle
// Recovery also waits for BGP to converge and resolvers to answer again after scripts/lab fix.
constexpr auto kRecoverBound = 2 * kInterval + kTimeout + kInterval + 10s;
constexpr auto kAlertBound = 10s;
// A silent address costs a cycle its evidence stage (liveness probes and a traceroute, each bounded
// by the probe timeout) on top of the connect that timed out.
constexpr auto kSilentEnterBound = kEnterBound + 2 * kTimeout;  // 24 s

std::string fleet_script() {
  return (Lab::get().script().parent_path() / "fleet").string();
}

CommandResult fleet(const std::vector<std::string>& args, std::chrono::seconds timeout = 60s) {
  std::vector<std::string> argv = {fleet_script()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout);
}

json fleet_json(const std::vector<std::string>& args) {
  const auto result = fleet(args);
  INFO(result.out << result.err);
  REQUIRE(result.exit_code == 0);
  return json::parse(result.out, nullptr, false);
}

json domain_status() {
  for (const auto& entry : fleet_json({"cli", "status", "--json"})) {
    if (entry.value("domain", "") == kDomain) {
      return entry;
    }
  }
  return json::object();
}

// Polls `ready` every 0.5 s until it holds or `bound` has passed; returns the seconds it took, or
// a negative number if it never held.
template <typename Ready>
double seconds_until(Ready ready, std::chrono::seconds bound) {
  const auto start = Clock::now();
  while (Clock::now() - start < bound) {
    if (ready()) {
      return std::chrono::duration<double>(Clock::now() - start).count();
    }
    std::this_thread::sleep_for(500ms);
  }
  return -1;
}

// A JSON array of strings as one text, a line each, for matchers.
std::string lines(const json& array) {
  std::string text;
  for (const auto& line : array) {
    text += (line.is_string() ? line.get<std::string>() : line.dump()) + "\n";
  }
  return text;
}

// Every evidence line of `explain --json`: the domain's, then each vantage's.
json explained_evidence() {
  const json explained = fleet_json({"cli", "explain", std::string(kDomain), "--json"});
  json lines = json::array();
  for (const auto& line : explained.value("evidence", json::array())) {
    lines.push_back(line);
  }
  for (const auto& vantage : explained.value("vantages", json::array())) {
    for (const auto& line : vantage.value("evidence", json::array())) {
      lines.push_back(line);
    }
  }
  return lines;
}

bool verdict_is(const std::string& verdict, const std::string& scope) {
  const json state = domain_status();
  return state.value("verdict", "") == verdict && state.value("scope", "") == scope;
}

// The alerts Alertmanager holds for the domain, as "VERDICT/scope".
std::vector<std::string> alertmanager_alerts() {
  std::vector<std::string> held;
  for (const auto& alert : fleet_json({"alertmanager"})) {
    const json labels = alert.value("labels", json::object());
    if (labels.value("domain", "") == kDomain &&
        labels.value("alertname", "") == "VantageVerdict") {
      held.push_back(labels.value("verdict", "") + "/" + labels.value("scope", ""));
    }
  }
  return held;
}

size_t firing_alerts() {
  size_t firing = 0;
  const json listed = fleet_json({"cli", "alerts", "--json"});
  for (const auto& alert : listed.value("alerts", json::array())) {
    firing += alert.value("status", "") == "firing" ? 1 : 0;
  }
  return firing;
}

void record(const std::string& scenario, const std::string& reading, double to_verdict,
            double back_to_ok) {
  ScenarioTiming timing;
  timing.scenario = "fleet: " + scenario;
  timing.readings = reading;
  timing.probe_s = to_verdict;
  timing.back_to_ok_s = back_to_ok;
  record_timing(timing);
}

// The domain OK with every vantage usable: reporting, not isolated, its reading established.
bool fully_ok() {
  const json state = domain_status();
  return state.value("verdict", "") == "OK" && state.value("scope", "") == "" &&
         state.value("healthy", 0) == static_cast<int>(kVantageCount);
}

// Fixes the lab and waits until the collector reads OK again from every vantage with no alert
// firing; the seconds that took.
double fix_and_recover(Breakage& breakage) {
  // Otherwise "recovered" would hold before the fix and measure nothing.
  REQUIRE_FALSE(fully_ok());
  const auto fix_started = Clock::now();
  REQUIRE(breakage.fix().exit_code == 0);
  const double took = seconds_until(fully_ok, kRecoverBound);
  INFO("bound " << kRecoverBound.count() << " s; status: " << domain_status().dump(2));
  REQUIRE(took >= 0);
  // Every vantage needs exit_after OK cycles, one interval apart and begun after the repair, to
  // count again: a recovery faster than that skipped the hysteresis. (1 s for a cycle that began
  // just before the repair took hold.)
  const std::chrono::duration<double> since_fix = Clock::now() - fix_started;
  CHECK(since_fix >= (kExitAfter - 1) * kInterval - 1s);
  CHECK(seconds_until([] { return firing_alerts() == 0; }, kAlertBound) >= 0);
  return took;
}

class Fleet {
 public:
  Fleet() {
    setenv("VANTAGE_COLLECTOR", VANTAGE_COLLECTOR_PATH, 1);
    setenv("VANTAGE_AGENT", Lab::get().agent().c_str(), 1);
    const auto up = fleet({"up"}, 90s);
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
  }
  ~Fleet() { fleet({"down"}); }
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;
};

}  // namespace

TEST_CASE("the fleet tells route loss, isolation, partial loss and a dead server apart",
          "[fleet]") {
  Fleet running;
  REQUIRE(seconds_until(fully_ok, 40s) >= 0);
  const json agents = fleet_json({"cli", "agents", "--json"});
  REQUIRE(agents.size() == kVantageCount);
  CHECK(agents[2]["name"] == "vp3");
  CHECK(agents[2]["asn"] == 64511);  // from the lab's MaxMind database: vp3.yaml has no asn
  CHECK(agents[2]["asn_source"] == "lookup");

  SECTION("route withdrawal: ROUTE_LOSS global and an alert in Alertmanager, then resolved") {
    Breakage withdrawal({"route-withdrawal"});
    const double entered =
        seconds_until([] { return verdict_is("ROUTE_LOSS", "global"); }, kEnterBound);
    INFO("bound " << kEnterBound.count() << " s");
    REQUIRE(entered >= 0);
    const json state = domain_status();
    CHECK(state["affected_asns"] == json({64510, 64511}));
    // In any order: the collector may list the web addresses or the nameservers first.
    CHECK_THAT(lines(state["evidence"]),
               Catch::Matches("[\\s\\S]*DnsAuthoritative .* NetUnreachable from [23] vantages in "
                              "AS64510, AS64511[\\s\\S]*"));
    CHECK(seconds_until(
              [] { return alertmanager_alerts() == std::vector<std::string>{"ROUTE_LOSS/global"}; },
              kAlertBound) >= 0);
    const auto explained = fleet({"cli", "explain", std::string(kDomain)});
    CHECK_THAT(explained.out, Catch::Contains("ROUTE_LOSS (global)"));
    CHECK_THAT(explained.out, Catch::Contains("BGP withdrawal"));

    const double recovered = fix_and_recover(withdrawal);
    // Resolved alerts leave Alertmanager's list.
    CHECK(seconds_until([] { return alertmanager_alerts().empty(); }, kAlertBound) >= 0);
    const json alerts = fleet_json({"cli", "alerts", "--json"})["alerts"];
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]["status"] == "resolved");
    CHECK(alerts[0]["resolved_by"] == "OK");
    REQUIRE(alerts[0]["deliveries"].size() == 2);  // scripts/fleet: Alertmanager and a webhook
    for (const auto& delivery : alerts[0]["deliveries"]) {
      CHECK(delivery["state"] == "delivered");
    }
    record("route-withdrawal", "ROUTE_LOSS global", entered, recovered);
  }

  SECTION("route withdrawal in a browser: the operator UI and the public status page") {
    Breakage withdrawal({"route-withdrawal"});
    REQUIRE(seconds_until([] { return verdict_is("ROUTE_LOSS", "global"); }, kEnterBound) >= 0);
    REQUIRE(seconds_until([] { return firing_alerts() == 1; }, kAlertBound) >= 0);
    const std::filesystem::path fleet_dir = Lab::get().dir() / "fleet";
    // An agent token no lab agent uses, for the agent whose words are markup.
    const auto token = run({VANTAGE_COLLECTOR_PATH, "token", "create", "xss-probe", "--config",
                            (fleet_dir / "collector.yaml").string()},
                           30s);
    REQUIRE(token.exit_code == 0);
    std::ofstream(fleet_dir / "xss-probe.token") << token.out;
    // Chromium runs in the management network, where the collector listens.
    const auto checked = run({"ip",
                              "netns",
                              "exec",
                              "vlab-mgmt",
                              "python3",
                              VANTAGE_BROWSER_CHECK,
                              "--url",
                              "http://198.51.100.225:8470",
                              "--operator-token-file",
                              (fleet_dir / "operator.token").string(),
                              "--xss-token-file",
                              (fleet_dir / "xss-probe.token").string(),
                              "--agent",
                              Lab::get().agent().string(),
                              "--domain",
                              std::string(kDomain),
                              "--verdict",
                              "ROUTE_LOSS",
                              "--scope",
                              "global",
                              "--out",
                              VANTAGE_SCREENSHOT_DIR},
                             180s);
    INFO(checked.out << checked.err);
    CHECK(checked.exit_code == 0);
    CHECK_THAT(checked.out, !Catch::Contains("FAIL"));
  }

  SECTION("one vantage's uplink cut: that vantage isolated, the domain OK, no alert") {
    Breakage isolation({"isolate-vantage", "vp3"});
    const double isolated = seconds_until(
        [] {
          for (const auto& agent : fleet_json({"cli", "agents", "--json"})) {
            if (agent["name"] == "vp3") {
              return agent["isolated"] == true;
            }
          }
          return false;
        },
        kEnterBound);
    REQUIRE(isolated >= 0);
    const json state = domain_status();
    CHECK(state["verdict"] == "OK");
    CHECK(state["isolated_vantages"] == json({"vp3"}));
    CHECK(state["healthy"] == 2);
    std::this_thread::sleep_for(kInterval);  // another cycle: still nothing fires
    CHECK(firing_alerts() == 0);
    CHECK(alertmanager_alerts().empty());
    record("isolate-vantage vp3", "vp3 isolated, OK", isolated, fix_and_recover(isolation));
  }

  SECTION("a route lost by one vantage network only: partial, naming its ASN") {
    Breakage partial({"partial", "vp3"});
    const double entered =
        seconds_until([] { return verdict_is("ROUTE_LOSS", "partial"); }, kPartialBound);
    REQUIRE(entered >= 0);
    const json state = domain_status();
    CHECK(state["affected_vantages"] == json({"vp3"}));
    CHECK(state["affected_asns"] == json({64511}));
    CHECK(
        seconds_until(
            [] { return alertmanager_alerts() == std::vector<std::string>{"ROUTE_LOSS/partial"}; },
            kAlertBound) >= 0);
    record("partial vp3", "ROUTE_LOSS partial AS64511", entered, fix_and_recover(partial));
  }

  SECTION(
      "the web server stopped in a maintenance window, then its port dropped silently under a "
      "silence: SERVER_DOWN global both times, paged only once nothing holds it back") {
    // The window outlasts the verdict's entry (kEnterBound) with room for the checks; it starts
    // at the whole second, so it may end up to a second early.
    constexpr auto kWindow = 40s;
    const auto window_added = Clock::now();
    const auto window = fleet({"cli", "maintenance", "add", std::string(kDomain), "--start", "now",
                               "--duration", "40s", "--reason", "lab: planned web server restart"});
    INFO(window.out << window.err);
    REQUIRE(window.exit_code == 0);
    Breakage down({"server-down"});
    const double entered =
        seconds_until([] { return verdict_is("SERVER_DOWN", "global"); }, kEnterBound);
    REQUIRE(entered >= 0);
    CHECK_THAT(domain_status()["evidence"][0].get<std::string>(),
               Catch::Matches(".*:443 ConnRefused from [23] vantages in AS64510, AS64511"));
    // Recorded, shown as in maintenance, and sent to no receiver while the window is on.
    const json held = fleet_json({"cli", "alerts", "--json"})["alerts"];
    REQUIRE(held.size() == 1);
    CHECK(held[0]["verdict"] == "SERVER_DOWN");
    CHECK(held[0]["muted"]["kind"] == "maintenance");
    CHECK(held[0]["muted"]["why"] == "lab: planned web server restart");
    CHECK_THAT(fleet({"cli", "alerts"}).out, Catch::Contains("in maintenance"));
    while (Clock::now() < window_added + kWindow - 3s) {
      CHECK(alertmanager_alerts().empty());
      CHECK(fleet({"webhook"}).out.find("SERVER_DOWN") == std::string::npos);
      std::this_thread::sleep_for(2s);
    }
    // The fault outlasted the window: it pages when the window ends.
    const double paged = seconds_until(
        [] { return alertmanager_alerts() == std::vector<std::string>{"SERVER_DOWN/global"}; },
        std::chrono::duration_cast<std::chrono::seconds>(kWindow + kAlertBound));
    REQUIRE(paged >= 0);
    CHECK(Clock::now() >= window_added + kWindow - 1s);
    CHECK(fleet({"webhook"}).out.find("SERVER_DOWN") != std::string::npos);
    record("server-down", "SERVER_DOWN global", entered, fix_and_recover(down));

    // Silence instead of an RST: only the nameservers in the same /24, which still answer, tell
    // a dead server from a lost route. (On the same fleet, to keep the suite short.) A silence of
    // SERVER_DOWN holds its alert back, listed with who and why, until it is expired.
    const auto silenced = fleet({"cli", "silence", "add", std::string(kDomain), "--verdict",
                                 "SERVER_DOWN", "--for", "1h", "--comment", "lab: known, INC-7"});
    INFO(silenced.out << silenced.err);
    REQUIRE(silenced.exit_code == 0);
    Breakage silent({"silent-web-port"});
    const double silent_entered =
        seconds_until([] { return verdict_is("SERVER_DOWN", "global"); }, kSilentEnterBound);
    INFO("bound " << kSilentEnterBound.count() << " s; status: " << domain_status().dump(2));
    REQUIRE(silent_entered >= 0);
    CHECK(domain_status()["affected_asns"] == json({64510, 64511}));
    const json evidence = explained_evidence();
    INFO("explain --json evidence: " << evidence.dump(2));
    CHECK_FALSE(first_mention(evidence, EvidenceWords::web_port_route_present()).empty());
    const auto listed = fleet({"cli", "alerts"});
    CHECK_THAT(listed.out, Catch::Contains("silenced"));
    CHECK_THAT(listed.out, Catch::Contains(": lab: known, INC-7"));
    CHECK(seconds_until([] { return !alertmanager_alerts().empty(); }, kAlertBound) < 0);
    REQUIRE(fleet({"cli", "silence", "expire", "1"}).exit_code == 0);
    CHECK(
        seconds_until(
            [] { return alertmanager_alerts() == std::vector<std::string>{"SERVER_DOWN/global"}; },
            kAlertBound) >= 0);
    record("silent-web-port", "SERVER_DOWN global", silent_entered, fix_and_recover(silent));
  }
}

}  // namespace vantage::lab
