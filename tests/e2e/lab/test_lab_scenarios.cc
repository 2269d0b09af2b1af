// Every fault scenario of the outage lab, asserted through what a user of
// `vantage-agent probe --json` sees from inside the vantage networks: the reading and the failure
// class of each layer, as the scenario's file says (tests/e2e/lab/scenarios), and the evidence
// particular to a scenario, below. Each case starts from a healthy lab (fresh resolver caches, a
// recent OK cycle remembered as last known), breaks one thing, probes, fixes it, and requires
// every vantage to read OK again within a bounded time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lab.hh"
#include "scenario.hh"

namespace vantage::lab {
namespace {

using namespace std::chrono_literals;
using Classes = std::set<std::string>;

// How long a fixed scenario may take to read OK again everywhere (scripts/lab fix has already
// waited for BGP to converge and flushed the resolvers; this covers what is left).
constexpr auto kBackToOk = 30s;

class Stopwatch {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::string joined(const std::vector<std::string>& words) {
  std::string line;
  for (const auto& word : words) {
    line += (line.empty() ? "" : " ") + word;
  }
  return line;
}

// "all ROUTE_LOSS" or "vp1 ROUTE_LOSS, vp2 OK, ..." for the timing table.
std::string readings(const std::vector<ProbeRun>& runs) {
  const bool same = std::all_of(runs.begin(), runs.end(), [&](const ProbeRun& run) {
    return run.verdict() == runs.front().verdict();
  });
  if (same && !runs.empty()) {
    return "all " + runs.front().verdict();
  }
  std::string line;
  for (const auto& run : runs) {
    line += (line.empty() ? "" : ", ") + run.vantage + " " + run.verdict();
  }
  return line;
}

// Every result of `check` failed with the same errno.
bool all_errno(const ProbeRun& run, std::string_view check, int expected) {
  const auto results = run.results(check);
  return !results.empty() && std::all_of(results.begin(), results.end(), [&](const auto& r) {
    return r.value("native_kind", "") == "errno" && r.value("native_code", 0) == expected;
  });
}

// Every result of `check` for `address`.
Classes failures_for(const ProbeRun& run, std::string_view check, std::string_view address) {
  Classes classes;
  for (const auto& result : run.results_for(check, address)) {
    classes.insert(result.value("failure", "?"));
  }
  return classes;
}

// The evidence a silent address triggers: what it answers (Liveness) and where the path to it
// stops (Path).
size_t silence_evidence(const ProbeRun& run, std::string_view address) {
  return run.results_for("Liveness", address).size() + run.results_for("Path", address).size();
}

// The addresses that answered the traceroute to `address` (one Path result), in TTL order.
std::vector<std::string> path_hops(const ProbeRun& run, std::string_view address) {
  std::vector<std::string> hops;
  for (const auto& result : run.results_for("Path", address)) {
    if (result.contains("path")) {
      for (const auto& hop : result["path"].value("hops", nlohmann::json::array())) {
        if (!hop.value("address", "").empty()) {
          hops.push_back(hop.value("address", ""));
        }
      }
    }
  }
  return hops;
}

// Every vantage probed once, in parallel; all of them or the test ends here.
std::vector<ProbeRun> probe_every_vantage() {
  auto runs = Lab::get().probe_all();
  REQUIRE(runs.size() == kVantageCount);
  return runs;
}

// Waits (bounded) for every vantage to read OK; all of them are there or the test ends here.
std::vector<ProbeRun> wait_every_vantage_ok() {
  auto runs = Lab::get().wait_all_ok(kBackToOk);
  REQUIRE(runs.size() == kVantageCount);
  return runs;
}

// What a scenario's file cannot say: the evidence particular to it, checked on each probe the
// file's expectations apply to.
struct ScenarioEvidence {
  std::function<void(const ProbeRun&)> during;
  std::function<void(const ProbeRun&)> after_flush;
};

std::string joined(const Classes& classes) {
  std::string line;
  for (const auto& one : classes) {
    line += (line.empty() ? "" : ",") + one;
  }
  return line.empty() ? "absent" : line;
}

void check_expected(const ProbeRun& run, const Expectation& expected) {
  CHECK(run.verdict() == expected.verdict);
  for (const auto& [check, alternatives] : expected.failures) {
    const Classes got = run.failures(check);
    std::string allowed;
    for (const auto& classes : alternatives) {
      allowed += (allowed.empty() ? "" : " or ") + joined(classes);
    }
    INFO(check << " failure classes: " << joined(got) << ", expected " << allowed);
    CHECK(std::find(alternatives.begin(), alternatives.end(), got) != alternatives.end());
  }
}

// One scenario: a healthy baseline, scripts/lab break, the probes checked against the scenario's
// file and `evidence`, scripts/lab fix, and every vantage back to OK.
void run_scenario(const Scenario& scenario, const ScenarioEvidence& evidence) {
  Lab& lab = Lab::get();
  ScenarioTiming timing;
  timing.scenario = joined(scenario.break_args());

  const auto flushed = lab.lab({"flush"});
  INFO(flushed.out + flushed.err);
  REQUIRE(flushed.exit_code == 0);
  for (const auto& run : wait_every_vantage_ok()) {
    INFO("the lab is not healthy before " << timing.scenario << ":\n" << run.describe());
    REQUIRE(run.verdict() == "OK");
  }

  Stopwatch watch;
  Breakage broken(scenario.break_args());
  timing.break_s = watch.lap();
  const auto runs = probe_every_vantage();
  for (const auto& run : runs) {
    INFO(run.describe());
    if (scenario.vantage.empty() || run.vantage == scenario.vantage) {
      check_expected(run, scenario.during);
      if (evidence.during) {
        evidence.during(run);
      }
    } else {
      CHECK(run.verdict() == scenario.others);
    }
  }
  timing.readings = readings(runs);
  if (scenario.after_flush) {
    const auto flushed_now = lab.lab({"flush"});
    REQUIRE(flushed_now.exit_code == 0);
    const auto run =
        lab.probe(scenario.vantage.empty() ? vantages().front().name : scenario.vantage);
    INFO("after scripts/lab flush:\n" << run.describe());
    check_expected(run, *scenario.after_flush);
    if (evidence.after_flush) {
      evidence.after_flush(run);
    }
    timing.readings += "; after flush " + run.vantage + " " + run.verdict();
  }
  timing.probe_s = watch.lap();
  const auto fixed = broken.fix();
  timing.fix_s = watch.lap();
  INFO(fixed.out + fixed.err);
  REQUIRE(fixed.exit_code == 0);
  const auto after = wait_every_vantage_ok();
  timing.back_to_ok_s = watch.lap();
  for (const auto& run : after) {
    INFO("not OK again " << kBackToOk.count() << " s after scripts/lab fix:\n" << run.describe());
    CHECK(run.verdict() == "OK");
  }
  record_timing(timing);
}

const Classes kWebAddresses = {std::string(kWebV4), std::string(kWebV6)};

const std::map<std::string, ScenarioEvidence>& scenario_evidence() {
  static const std::map<std::string, ScenarioEvidence> kEvidence = {
      {"route-withdrawal",
       {[](const ProbeRun& run) {
          // Right after the withdrawal the resolvers still answer from their caches: only the
          // direct probes of the authoritative servers and of the addresses show the loss.
          CHECK(all_errno(run, "DnsAuthoritative", ENETUNREACH));
          CHECK(all_errno(run, "Tcp", ENETUNREACH));
        },
        [](const ProbeRun& run) {
          // The last known addresses are what still shows where the problem is.
          CHECK(run.addresses("recursive").empty());
          CHECK(run.addresses("last_known") == kWebAddresses);
        }}},
      {"blackhole",
       {[](const ProbeRun& run) {
          // Silence alone is not route loss: the proof is a path that dies before the origin's
          // network (the ISP drops every packet, so nothing past it answers) while nothing in the
          // origin's /24 answers anything.
          const auto paths = run.results("Path");
          CHECK(!paths.empty());
          for (const auto& path : paths) {
            INFO(path.dump());
            CHECK(path.value("failure", "None") != "None");
          }
          CHECK(failures_for(run, "Path", kWebV4).count("None") == 0);
          CHECK(path_hops(run, kWebV4).empty());
          CHECK(failures_for(run, "Liveness", kWebV4).count("None") == 0);
          CHECK(failures_for(run, "Liveness", kNs1V4).count("None") == 0);
          CHECK_FALSE(first_mention(run.evidence(), EvidenceWords::route_lost()).empty());
        },
        [](const ProbeRun& run) { CHECK(run.addresses("last_known") == kWebAddresses); }}},
      {"silent-web-port",
       {[](const ProbeRun& run) {
          // No RST, no ICMP: the connects meet silence.
          CHECK(failures_for(run, "Tcp", kWebV4) == Classes{"Timeout"});
          CHECK(failures_for(run, "Tcp", kWebV6) == Classes{"Timeout"});
          // The silence triggered evidence, and the host itself answers something else (an echo,
          // a port unreachable, port 80).
          CHECK(silence_evidence(run, kWebV4) > 0);
          CHECK(failures_for(run, "Liveness", kWebV4).count("None") == 1);
          // The reading proves the route present: the host answers other probes, and the
          // nameservers in the same /24 answer too.
          CHECK_FALSE(
              first_mention(run.evidence(), EvidenceWords::web_port_route_present()).empty());
        },
        nullptr}},
      {"silent-web-host",
       {[](const ProbeRun& run) {
          CHECK(failures_for(run, "Tcp", kWebV4) == Classes{"Timeout"});
          CHECK(failures_for(run, "Tcp", kWebV6) == Classes{"Timeout"});
          // The host answers nothing at all ...
          CHECK(silence_evidence(run, kWebV4) > 0);
          CHECK(failures_for(run, "Liveness", kWebV4).count("None") == 0);
          // ... but the path reaches the origin's own router before the silence, and the
          // nameservers in the same /24 answer.
          const auto hops = path_hops(run, kWebV4);
          CHECK(std::find(hops.begin(), hops.end(), kOriginRouterV4) != hops.end());
          CHECK(std::find(hops.begin(), hops.end(), kWebV4) == hops.end());
          CHECK_FALSE(first_mention(run.evidence(), EvidenceWords::web_route_present()).empty());
        },
        nullptr}},
      {"silent-dns",
       {[](const ProbeRun& run) {
          // The web server's addresses, remembered from the last good cycle, still serve.
          CHECK(run.addresses("last_known") == kWebAddresses);
          // The nameservers' silence triggered evidence; the hosts themselves answer an echo.
          CHECK(silence_evidence(run, kNs1V4) > 0);
          CHECK(failures_for(run, "Liveness", kNs1V4).count("None") == 1);
          CHECK_FALSE(first_mention(run.evidence(), EvidenceWords::dns_route_present()).empty());
        },
        nullptr}},
      {"server-down",
       {[](const ProbeRun& run) { CHECK(all_errno(run, "Tcp", ECONNREFUSED)); }, nullptr}},
      {"tls-wrong-name",
       {[](const ProbeRun& run) {
          for (const auto& https : run.results("Https")) {
            // The certificate that was rejected is still described, so the user sees whose it is.
            CHECK_THAT(https["tls"].value("subject", ""), Catch::Contains("other.example"));
          }
        },
        nullptr}},
      {"http-503",
       {[](const ProbeRun& run) {
          for (const auto& https : run.results("Https")) {
            CHECK(https.value("http_status", 0) == 503);
          }
        },
        nullptr}},
  };
  return kEvidence;
}

}  // namespace

TEST_CASE("the healthy lab reads OK from every vantage, over IPv4 and IPv6", "[lab]") {
  Stopwatch watch;
  const auto runs = wait_every_vantage_ok();
  for (const auto& run : runs) {
    INFO(run.describe());
    CHECK(run.verdict() == "OK");
    CHECK(run.failures("Control") == Classes{"None"});
    CHECK(run.failures("DnsRecursive") == Classes{"None"});
    CHECK(run.failures("DnsParent") == Classes{"None"});
    CHECK(run.failures("DnsAuthoritative") == Classes{"None"});
    CHECK(run.failures("Tcp") == Classes{"None"});
    CHECK(run.failures("Https") == Classes{"None"});
    CHECK(run.addresses("recursive") == Classes{std::string(kWebV4), std::string(kWebV6)});
    CHECK(run.doc["nameservers"].size() == 2);
    for (const auto& https : run.results("Https")) {
      CHECK(https.value("http_status", 0) == 200);
    }
  }
  record_timing({"(healthy)", readings(runs), 0, watch.lap(), 0, 0});
}

TEST_CASE("every scenario reads as its file says, and every vantage reads OK after the fix",
          "[lab]") {
  const auto scenarios = load_scenarios(scenario_dir(Lab::get().script()));
  REQUIRE(!scenarios.empty());
  std::set<std::string> names;
  for (const auto& scenario : scenarios) {
    names.insert(scenario.name);
  }
  for (const auto& [name, evidence] : scenario_evidence()) {
    INFO("evidence for " << name << ", which has no file in " << scenario_dir(Lab::get().script()));
    CHECK(names.count(name) == 1);
  }
  for (const auto& scenario : scenarios) {
    // `test_lab -c NAME` runs one scenario.
    DYNAMIC_SECTION(scenario.name) {
      const auto found = scenario_evidence().find(scenario.name);
      run_scenario(scenario,
                   found == scenario_evidence().end() ? ScenarioEvidence{} : found->second);
    }
  }
}

}  // namespace vantage::lab
