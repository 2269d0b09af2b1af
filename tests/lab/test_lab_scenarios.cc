// Every fault scenario of the outage lab, asserted through what a user of
// `vantage-agent probe --json` sees from inside the vantage networks: the failure class of each
// layer and the reading. Each case starts from a healthy lab (fresh resolver caches, a recent OK
// cycle remembered as last known), breaks one thing, probes, fixes it, and requires every vantage
// to read OK again within a bounded time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "lab.hh"

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

// One scenario: a healthy baseline, scripts/lab break, the assertions in `probe_and_check`
// (which returns the readings it saw), scripts/lab fix, and every vantage back to OK.
void run_scenario(const std::vector<std::string>& breakage,
                  const std::function<std::string()>& probe_and_check) {
  Lab& lab = Lab::get();
  ScenarioTiming timing;
  timing.scenario = joined(breakage);

  const auto flushed = lab.lab({"flush"});
  INFO(flushed.out + flushed.err);
  REQUIRE(flushed.exit_code == 0);
  for (const auto& run : wait_every_vantage_ok()) {
    INFO("the lab is not healthy before " << timing.scenario << ":\n" << run.describe());
    REQUIRE(run.verdict() == "OK");
  }

  Stopwatch watch;
  Breakage broken(breakage);
  timing.break_s = watch.lap();
  timing.readings = probe_and_check();
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

TEST_CASE(
    "route withdrawal at the origin reads ROUTE_LOSS with NetUnreachable authoritative servers",
    "[lab]") {
  run_scenario({"route-withdrawal"}, [] {
    // Right after the withdrawal the resolvers still answer from their caches: only the direct
    // probes of the authoritative servers and of the addresses show that the routes are gone.
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "ROUTE_LOSS");
      CHECK(run.failures("DnsRecursive") == Classes{"None"});
      CHECK(run.failures("DnsAuthoritative") == Classes{"NetUnreachable"});
      CHECK(all_errno(run, "DnsAuthoritative", ENETUNREACH));
      CHECK(run.failures("Tcp") == Classes{"NetUnreachable"});
      CHECK(all_errno(run, "Tcp", ENETUNREACH));
      CHECK(run.failures("Control") == Classes{"None"});
    }

    // Once the caches are gone the resolvers SERVFAIL, as they did for facebook.com; the last
    // known addresses are what still shows where the problem is.
    const auto flushed = Lab::get().lab({"flush"});
    REQUIRE(flushed.exit_code == 0);
    const auto run = Lab::get().probe("vp1");
    INFO(run.describe());
    CHECK(run.verdict() == "ROUTE_LOSS");
    CHECK(run.failures("DnsRecursive") == Classes{"ServFail"});
    CHECK(run.addresses("recursive").empty());
    CHECK(run.addresses("last_known") == Classes{std::string(kWebV4), std::string(kWebV6)});
    CHECK(run.failures("DnsParent") == Classes{"None"});
    CHECK(run.failures("DnsAuthoritative") == Classes{"NetUnreachable"});
    CHECK(run.failures("Tcp") == Classes{"NetUnreachable"});
    return readings(runs) + "; after flush vp1 " + run.verdict();
  });
}

TEST_CASE("a black-holed route reads ROUTE_LOSS with timeouts", "[lab]") {
  run_scenario({"blackhole"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "ROUTE_LOSS");
      CHECK(run.failures("DnsAuthoritative") == Classes{"Timeout"});
      CHECK(run.failures("Tcp") == Classes{"Timeout"});
      CHECK(run.failures("Control") == Classes{"None"});
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
    }

    // Without their caches the resolvers cannot reach the nameservers either: they time out
    // (or SERVFAIL once they give up), and the last known addresses time out too.
    const auto flushed = Lab::get().lab({"flush"});
    REQUIRE(flushed.exit_code == 0);
    const auto run = Lab::get().probe("vp1");
    INFO(run.describe());
    CHECK(run.verdict() == "ROUTE_LOSS");
    const auto recursive = run.failures("DnsRecursive");
    CHECK((recursive == Classes{"Timeout"} || recursive == Classes{"ServFail"} ||
           recursive == Classes{"ServFail", "Timeout"}));
    CHECK(run.addresses("last_known") == Classes{std::string(kWebV4), std::string(kWebV6)});
    CHECK(run.failures("Tcp") == Classes{"Timeout"});
    return readings(runs) + "; after flush vp1 " + run.verdict();
  });
}

TEST_CASE(
    "a web port dropped silently reads SERVER_DOWN: the host and its /24 answer, the route is "
    "present",
    "[lab]") {
  run_scenario({"silent-web-port"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "SERVER_DOWN");
      CHECK(run.failures("DnsRecursive") == Classes{"None"});
      CHECK(run.failures("DnsAuthoritative") == Classes{"None"});
      CHECK(run.failures("Control") == Classes{"None"});
      // No RST, no ICMP: the connects meet silence.
      CHECK(failures_for(run, "Tcp", kWebV4) == Classes{"Timeout"});
      CHECK(failures_for(run, "Tcp", kWebV6) == Classes{"Timeout"});
      // The silence triggered evidence, and the host itself answers something else (an echo,
      // a port unreachable, port 80).
      CHECK(silence_evidence(run, kWebV4) > 0);
      CHECK(failures_for(run, "Liveness", kWebV4).count("None") == 1);
      // The reading proves the route present: the host answers other probes, and the nameservers
      // in the same /24 answer too.
      CHECK_FALSE(first_mention(run.evidence(), EvidenceWords::web_port_route_present()).empty());
    }
    return readings(runs);
  });
}

TEST_CASE("a web host dropped silently, ICMP too, reads SERVER_DOWN: the rest of its /24 answers",
          "[lab]") {
  run_scenario({"silent-web-host"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "SERVER_DOWN");
      CHECK(run.failures("DnsRecursive") == Classes{"None"});
      CHECK(run.failures("DnsAuthoritative") == Classes{"None"});
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
    }
    return readings(runs);
  });
}

TEST_CASE(
    "nameservers dropping DNS silently read DNS_FAILURE while the web server in their /24 serves",
    "[lab]") {
  run_scenario({"silent-dns"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "DNS_FAILURE");
      const auto recursive = run.failures("DnsRecursive");
      CHECK((recursive == Classes{"Timeout"} || recursive == Classes{"ServFail"} ||
             recursive == Classes{"ServFail", "Timeout"}));
      CHECK(run.failures("DnsParent") == Classes{"None"});
      CHECK(run.failures("DnsAuthoritative") == Classes{"Timeout"});
      // The web server's addresses, remembered from the last good cycle, still serve.
      CHECK(run.addresses("last_known") == Classes{std::string(kWebV4), std::string(kWebV6)});
      CHECK(run.failures("Tcp") == Classes{"None"});
      CHECK(run.failures("Https") == Classes{"None"});
      // The nameservers' silence triggered evidence; the hosts themselves answer an echo.
      CHECK(silence_evidence(run, kNs1V4) > 0);
      CHECK(failures_for(run, "Liveness", kNs1V4).count("None") == 1);
      CHECK_FALSE(first_mention(run.evidence(), EvidenceWords::dns_route_present()).empty());
    }
    return readings(runs);
  });
}

TEST_CASE("nginx stopped on a reachable network reads SERVER_DOWN with ConnRefused", "[lab]") {
  run_scenario({"server-down"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "SERVER_DOWN");
      CHECK(run.failures("DnsRecursive") == Classes{"None"});
      CHECK(run.failures("DnsAuthoritative") == Classes{"None"});
      CHECK(run.failures("Tcp") == Classes{"ConnRefused"});
      CHECK(all_errno(run, "Tcp", ECONNREFUSED));
      CHECK(run.results("Https").empty());
    }
    return readings(runs);
  });
}

TEST_CASE("an expired certificate reads TLS_FAILURE with CertExpired", "[lab]") {
  run_scenario({"tls-expired"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "TLS_FAILURE");
      CHECK(run.failures("Tcp") == Classes{"None"});
      CHECK(run.failures("Https") == Classes{"CertExpired"});
    }
    return readings(runs);
  });
}

TEST_CASE("a certificate for another name reads TLS_FAILURE with CertNameMismatch", "[lab]") {
  run_scenario({"tls-wrong-name"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "TLS_FAILURE");
      CHECK(run.failures("Tcp") == Classes{"None"});
      CHECK(run.failures("Https") == Classes{"CertNameMismatch"});
      for (const auto& https : run.results("Https")) {
        // The certificate that was rejected is still described, so the user sees whose it is.
        CHECK_THAT(https["tls"].value("subject", ""), Catch::Contains("other.example"));
      }
    }
    return readings(runs);
  });
}

TEST_CASE("HTTP 503 from the origin reads HTTP_ERROR with HttpStatus 503", "[lab]") {
  run_scenario({"http-503"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "HTTP_ERROR");
      CHECK(run.failures("Https") == Classes{"HttpStatus"});
      for (const auto& https : run.results("Https")) {
        CHECK(https.value("http_status", 0) == 503);
      }
    }
    return readings(runs);
  });
}

TEST_CASE("a delegation removed at the parent reads DOMAIN_VANISHED with NXDOMAIN", "[lab]") {
  run_scenario({"delegation-removed"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "DOMAIN_VANISHED");
      CHECK(run.failures("DnsParent") == Classes{"NxDomain"});
      CHECK(run.failures("DnsRecursive") == Classes{"NxDomain"});
    }
    return readings(runs);
  });
}

TEST_CASE("authoritative servers answering REFUSED on a reachable network read DNS_FAILURE",
          "[lab]") {
  run_scenario({"dns-refused"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "DNS_FAILURE");
      CHECK(run.failures("DnsAuthoritative") == Classes{"Refused"});
      CHECK(run.failures("DnsRecursive") == Classes{"ServFail"});
      // The network is fine: the last known addresses still accept connections.
      CHECK(run.failures("Tcp") == Classes{"None"});
    }
    return readings(runs);
  });
}

TEST_CASE("authoritative servers answering SERVFAIL on a reachable network read DNS_FAILURE",
          "[lab]") {
  run_scenario({"dns-servfail"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "DNS_FAILURE");
      CHECK(run.failures("DnsAuthoritative") == Classes{"ServFail"});
      CHECK(run.failures("DnsRecursive") == Classes{"ServFail"});
      CHECK(run.failures("Tcp") == Classes{"None"});
    }
    return readings(runs);
  });
}

TEST_CASE("lame authoritative servers (referrals without AA) read DNS_FAILURE with Lame", "[lab]") {
  run_scenario({"dns-lame"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      CHECK(run.verdict() == "DNS_FAILURE");
      CHECK(run.failures("DnsAuthoritative") == Classes{"Lame"});
      CHECK(run.failures("Tcp") == Classes{"None"});
    }
    return readings(runs);
  });
}

TEST_CASE("a vantage whose uplink is cut reads VANTAGE_ISOLATED, and the others still read OK",
          "[lab]") {
  run_scenario({"isolate-vantage", "vp2"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      if (run.vantage == "vp2") {
        CHECK(run.verdict() == "VANTAGE_ISOLATED");
        CHECK(run.failures("Control") == Classes{"NetUnreachable"});
      } else {
        CHECK(run.verdict() == "OK");
      }
    }
    return readings(runs);
  });
}

TEST_CASE("a route filtered for one vantage's network reads ROUTE_LOSS there and OK elsewhere",
          "[lab]") {
  run_scenario({"partial", "vp1"}, [] {
    const auto runs = probe_every_vantage();
    for (const auto& run : runs) {
      INFO(run.describe());
      if (run.vantage == "vp1") {
        CHECK(run.verdict() == "ROUTE_LOSS");
        CHECK(run.failures("DnsAuthoritative") == Classes{"NetUnreachable"});
        CHECK(run.failures("Tcp") == Classes{"NetUnreachable"});
        CHECK(run.failures("Control") == Classes{"None"});
      } else {
        CHECK(run.verdict() == "OK");
      }
    }
    return readings(runs);
  });
}

}  // namespace vantage::lab
