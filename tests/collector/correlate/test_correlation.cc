#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "correlation.hh"
#include "cycle_summary.hh"
#include "reading.hh"

using namespace vantage;
using namespace std::chrono_literals;

namespace {

const CorrelationTime kStart = CorrelationTime(1764043200s);

VantageCycle reading(const std::string& agent, int64_t asn, Verdict verdict,
                     std::chrono::microseconds latency = 10ms) {
  VantageCycle cycle;
  cycle.agent = agent;
  cycle.asn = asn;
  cycle.verdict = verdict;
  cycle.latency = latency;
  if (verdict == Verdict::RouteLoss) {
    cycle.failures = {{Check::DnsAuthoritative, "203.0.113.53:53", Failure::NetUnreachable},
                      {Check::Tcp, "203.0.113.10:443", Failure::NetUnreachable}};
  }
  return cycle;
}

// One vantage's upload as the collector's Monitor handles it: the cycle is recorded, then the
// domain decided; the domain's changes of verdict or scope.
std::vector<VerdictChange> upload(Correlator& correlator, const VantageCycle& cycle,
                                  CorrelationTime now) {
  correlator.record("social.example", cycle);
  return correlator.evaluate_pending(now);
}

CorrelationConfig without_settle() {
  CorrelationConfig config;
  config.settle = std::chrono::milliseconds(0);
  return config;
}

// Three vantages in two networks, one cycle each per call, `round` intervals after kStart. The
// rules per vantage are easier to read without the domain-level settle time, which has tests of
// its own below.
struct Fleet {
  explicit Fleet(CorrelationConfig config = without_settle()) : correlator(config) {}
  Correlator correlator;
  int round = 0;
  std::vector<VerdictChange> changes;

  void cycle(Verdict vp1, Verdict vp2, Verdict vp3, std::chrono::microseconds latency = 10ms) {
    const auto now = kStart + round * 30s;
    for (auto [agent, asn, verdict] : {std::tuple{"vp1", 64501, vp1}, std::tuple{"vp2", 64501, vp2},
                                       std::tuple{"vp3", 64502, vp3}}) {
      auto cycle = reading(agent, asn, verdict, latency);
      cycle.started_at = now;
      for (auto& change : upload(correlator, cycle, now)) {
        changes.push_back(std::move(change));
      }
    }
    ++round;
  }
  // Two OK rounds: every vantage's reading established as OK (exit_after), the domain OK.
  void warm_up() {
    cycle(Verdict::Ok, Verdict::Ok, Verdict::Ok);
    cycle(Verdict::Ok, Verdict::Ok, Verdict::Ok);
  }
  DomainState state() const { return *correlator.state("social.example"); }
};

constexpr auto kOk = Verdict::Ok;
constexpr auto kLoss = Verdict::RouteLoss;

}  // namespace

TEST_CASE("every vantage OK reads OK with no scope", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  CHECK(fleet.state().verdict == Verdict::Ok);
  CHECK(fleet.state().scope == Scope::None);
  CHECK(fleet.state().reporting == 3);
  CHECK(fleet.state().healthy == 3);
}

TEST_CASE("route loss seen by every vantage in two ASNs is ROUTE_LOSS global after enter_after",
          "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kLoss, kLoss, kLoss);
  CHECK(fleet.state().verdict == Verdict::Ok);  // one failing cycle is not an outage yet
  fleet.cycle(kLoss, kLoss, kLoss);
  const auto state = fleet.state();
  CHECK(state.verdict == Verdict::RouteLoss);
  CHECK(state.scope == Scope::Global);
  CHECK(state.failing == 3);
  CHECK(state.affected_asns == std::vector<int64_t>{64501, 64502});
  CHECK(state.affected_networks == std::vector<std::string>{"AS64501", "AS64502"});
  REQUIRE_FALSE(state.evidence.empty());
  CHECK(state.evidence[0] ==
        "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64501, AS64502");
}

TEST_CASE("recovery returns to OK only after exit_after OK cycles", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  REQUIRE(fleet.changes.size() == 1);  // UNKNOWN -> OK: the domain's first verdict
  fleet.changes.clear();
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.state().verdict == Verdict::Ok);
  // Results arrive one vantage at a time, so the way in and out may pass through "partial".
  REQUIRE(fleet.changes.size() >= 2);
  CHECK(fleet.changes.front().after.verdict == Verdict::RouteLoss);
  CHECK(fleet.changes.back().before.verdict == Verdict::RouteLoss);
  CHECK(fleet.changes.back().after.verdict == Verdict::Ok);
}

TEST_CASE("a single failing cycle never changes the verdict", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.changes.clear();
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kOk, kOk, kOk);
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.changes.empty());
}

TEST_CASE("vantages flapping between OK and failing read DEGRADED", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  for (int i = 0; i < 3; ++i) {
    fleet.cycle(kOk, kOk, kOk);
    fleet.cycle(kLoss, kLoss, kLoss);
  }
  CHECK(fleet.state().verdict == Verdict::Degraded);
}

TEST_CASE("a failure seen from one network only is partial and names that ASN", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kOk, kOk, kLoss);
  fleet.cycle(kOk, kOk, kLoss);
  const auto state = fleet.state();
  CHECK(state.verdict == Verdict::RouteLoss);
  CHECK(state.scope == Scope::Partial);
  CHECK(state.affected_vantages == std::vector<std::string>{"vp3"});
  CHECK(state.affected_asns == std::vector<int64_t>{64502});
}

TEST_CASE("a quorum inside one ASN is still partial", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kLoss, kLoss, kOk);
  fleet.cycle(kLoss, kLoss, kOk);
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
  CHECK(fleet.state().scope == Scope::Partial);
  CHECK(fleet.state().affected_asns == std::vector<int64_t>{64501});
}

TEST_CASE("an isolated vantage is excluded at once and causes no verdict", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.changes.clear();
  fleet.cycle(kOk, kOk, Verdict::VantageIsolated);
  fleet.cycle(kOk, kOk, Verdict::VantageIsolated);
  const auto state = fleet.state();
  CHECK(state.verdict == Verdict::Ok);
  CHECK(state.healthy == 2);
  CHECK(state.isolated_vantages == std::vector<std::string>{"vp3"});
  CHECK(fleet.changes.empty());
}

TEST_CASE("too few healthy vantages is UNKNOWN", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kOk, Verdict::VantageIsolated, Verdict::VantageIsolated);
  CHECK(fleet.state().verdict == Verdict::Unknown);
  CHECK(fleet.state().healthy == 1);
  CHECK(fleet.state().isolated_vantages == std::vector<std::string>{"vp2", "vp3"});
}

TEST_CASE("vantages that stop reporting age out to UNKNOWN", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  CHECK(fleet.state().verdict == Verdict::Ok);
  const auto changes = fleet.correlator.expire(kStart + 10min);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.verdict == Verdict::Unknown);
  CHECK(changes[0].after.reporting == 0);
  CHECK(changes[0].after.stale_vantages == std::vector<std::string>{"vp1", "vp2", "vp3"});
}

TEST_CASE("the lower layer wins a tie between failing verdicts", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  for (int i = 0; i < 2; ++i) {
    fleet.cycle(Verdict::HttpError, kLoss, kOk);
  }
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
}

TEST_CASE("latency far above each vantage's own baseline is DEGRADED, one slow cycle is not",
          "[correlation]") {
  Fleet fleet;
  for (int i = 0; i < 6; ++i) {
    fleet.cycle(kOk, kOk, kOk, 10ms);
  }
  fleet.cycle(kOk, kOk, kOk, 900ms);
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kOk, kOk, kOk, 900ms);
  CHECK(fleet.state().verdict == Verdict::Degraded);
  CHECK(fleet.state().scope == Scope::Global);
}

TEST_CASE("the since time stays put while the verdict holds", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kLoss, kLoss, kLoss);
  const auto since = fleet.state().since;
  fleet.cycle(kLoss, kLoss, kLoss);
  CHECK(fleet.state().since == since);
}

TEST_CASE("a cycle uploaded twice counts once towards hysteresis", "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kLoss, kLoss, kLoss);
  // The agents' retried uploads of the same failing cycles: not a second failing round.
  const auto retried_at = kStart + 2 * 30s;
  for (const auto* agent : {"vp1", "vp2", "vp3"}) {
    auto cycle = reading(agent, std::string(agent) == "vp3" ? 64502 : 64501, kLoss);
    cycle.started_at = retried_at;
    CHECK(upload(fleet.correlator, cycle, retried_at + 1s).empty());
  }
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kLoss, kLoss, kLoss);
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
}

TEST_CASE("replayed cycles after a restore rebuild each vantage's reading", "[correlation]") {
  Fleet fleet;
  DomainState stored;
  stored.domain = "social.example";
  stored.verdict = Verdict::RouteLoss;
  stored.scope = Scope::Global;
  stored.since = kStart - 1h;
  fleet.correlator.restore(stored);
  CHECK(fleet.state().since == kStart - 1h);
  // Replayed cycles rebuild each vantage's hysteresis (the collector compares the state after the
  // replay, not the steps within it, with the stored one).
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kLoss, kLoss, kLoss);
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
  auto views = fleet.correlator.vantages("social.example", kStart + 1min);
  REQUIRE(views.size() == 3);
  CHECK(views[0].agent == "vp1");
  CHECK(views[0].effective == Verdict::RouteLoss);
  CHECK(views[0].network == "AS64501");
  CHECK(views[0].fresh);
  CHECK(views[0].failures.size() == 2);
  CHECK(views[2].asn == 64502);
}

TEST_CASE("a partial verdict waits out settle; a global one is entered at once", "[correlation]") {
  CorrelationConfig config;
  config.settle = 45s;
  Fleet fleet(config);
  fleet.warm_up();  // OK is a complete picture: entered at once, no settle
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kOk, kOk, kLoss);
  fleet.cycle(kOk, kOk, kLoss);  // vp3 counts as failing from here: partial, pending
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kOk, kOk, kLoss);  // 30 s pending
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kOk, kOk, kLoss);  // 60 s pending
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
  CHECK(fleet.state().scope == Scope::Partial);
  CHECK(fleet.state().since == kStart + 3 * 30s);  // when it began, not when it was entered

  Fleet everyone(config);
  everyone.warm_up();
  everyone.cycle(kLoss, kLoss, kLoss);
  everyone.cycle(kLoss, kLoss, kLoss);
  CHECK(everyone.state().verdict == Verdict::RouteLoss);
  CHECK(everyone.state().scope == Scope::Global);
  REQUIRE(everyone.changes.size() == 2);  // UNKNOWN -> OK -> ROUTE_LOSS global, no partial step
  CHECK(everyone.changes[1].before.verdict == Verdict::Ok);
}

TEST_CASE("vantages reporting one after another never page a partial step", "[correlation]") {
  CorrelationConfig config;
  config.settle = 30s;
  Correlator correlator(config);
  std::vector<VerdictChange> changes;
  // vp1 reports at :00, vp2 at :10, vp3 at :20 of every 30 s interval; OK twice, then failing.
  for (int round = 0; round < 5; ++round) {
    const auto verdict = round < 2 ? kOk : kLoss;
    int offset = 0;
    for (auto [agent, asn] :
         {std::pair{"vp1", 64501}, std::pair{"vp2", 64501}, std::pair{"vp3", 64502}}) {
      const auto now = kStart + round * 30s + offset * 10s;
      auto cycle = reading(agent, asn, verdict);
      cycle.started_at = now;
      for (auto& change : upload(correlator, cycle, now)) {
        changes.push_back(std::move(change));
      }
      for (auto& expired : correlator.expire(now + 5s)) {
        changes.push_back(expired);
      }
      ++offset;
    }
  }
  REQUIRE(changes.size() == 2);  // UNKNOWN -> OK, OK -> ROUTE_LOSS global
  CHECK(changes[0].after.verdict == Verdict::Ok);
  CHECK(changes[1].after.verdict == Verdict::RouteLoss);
  CHECK(changes[1].after.scope == Scope::Global);
}

TEST_CASE("cycles recorded in bulk are decided once, with the same outcome as one by one",
          "[correlation]") {
  Correlator bulk{without_settle()};
  Fleet one_by_one;
  for (int round = 0; round < 4; ++round) {
    const auto verdict = round < 2 ? kOk : kLoss;
    one_by_one.cycle(verdict, verdict, verdict);
    const auto now = kStart + round * 30s;
    for (auto [agent, asn] :
         {std::pair{"vp1", 64501}, std::pair{"vp2", 64501}, std::pair{"vp3", 64502}}) {
      auto cycle = reading(agent, asn, verdict);
      cycle.started_at = now;
      bulk.record("social.example", cycle);
      bulk.record("social.example", cycle);  // a retried upload: still one cycle
    }
    const auto changes = bulk.evaluate_pending(now);
    // Round 0: no reading established yet; round 2: one failing cycle only.
    CHECK(changes.size() == (round == 1 || round == 3 ? 1U : 0U));
    CHECK(bulk.evaluate_pending(now).empty());  // nothing new: nothing to decide
  }
  CHECK(bulk.state("social.example")->verdict == Verdict::RouteLoss);
  CHECK(bulk.state("social.example")->scope == Scope::Global);
  CHECK(bulk.state("social.example")->evidence == one_by_one.state().evidence);
}

namespace {

// A SERVER_DOWN cycle as an agent reads it: the refused TCP probe decided it and leads the
// reading's evidence; the parent server that refused a DNS query is only a warning.
VantageCycle server_down(const std::string& agent, int64_t asn, CorrelationTime at) {
  CycleResult cycle;
  cycle.domain = "social.example";
  cycle.started_at = at;
  const auto failed = [](Check check, std::string target, Failure failure) {
    ProbeResult probe;
    probe.check = check;
    probe.target = std::move(target);
    probe.failure = failure;
    return probe;
  };
  cycle.results.push_back(failed(Check::DnsParent, "192.0.2.53:53", Failure::ConnRefused));
  cycle.results.push_back(failed(Check::Tcp, "203.0.113.80:443", Failure::ConnRefused));
  cycle.reading.verdict = Verdict::ServerDown;
  cycle.reading.evidence = {"Tcp 203.0.113.80:443 social.example: ConnRefused (errno 111)",
                            "203.0.113.53 answered DNS in the same /24: route present"};
  cycle.reading.warnings = {"DnsParent 192.0.2.53:53 social.example NS: ConnRefused (errno 111)"};
  return summarize(agent, asn, cycle);
}

}  // namespace

TEST_CASE("the probe that decided the vantages' verdict is the first evidence, warnings last",
          "[correlation]") {
  Correlator correlator{without_settle()};
  for (int round = 0; round < 2; ++round) {
    const auto now = kStart + round * 30s;
    for (auto [agent, asn] :
         {std::pair{"vp1", 64501}, std::pair{"vp2", 64501}, std::pair{"vp3", 64502}}) {
      upload(correlator, server_down(agent, asn, now), now);
    }
  }
  const auto state = *correlator.state("social.example");
  CHECK(state.verdict == Verdict::ServerDown);
  CHECK(state.scope == Scope::Global);
  CHECK(state.evidence ==
        std::vector<std::string>{
            "Tcp 203.0.113.80:443 ConnRefused from 3 vantages in AS64501, AS64502",
            "203.0.113.53 answered DNS in the same /24: route present (from 3 vantages in "
            "AS64501, AS64502)",
            "DnsParent 192.0.2.53:53 ConnRefused from 3 vantages in AS64501, AS64502"});
  // Each vantage's own list of failed probes leads with the one its reading named.
  const auto views = correlator.vantages("social.example", kStart + 30s);
  REQUIRE(views.size() == 3);
  CHECK(views[0].failures.front().check == Check::Tcp);
  CHECK(views[0].evidence.size() == 2);
}

TEST_CASE("an evidence line is matched to its probe by check, target and failure",
          "[correlation]") {
  CycleResult cycle;
  cycle.reading.verdict = Verdict::DnsFailure;
  ProbeResult refused;
  refused.check = Check::DnsAuthoritative;
  refused.target = "203.0.113.53:53";
  refused.failure = Failure::Refused;
  cycle.results = {refused};
  cycle.reading.evidence = {"DnsAuthoritative 203.0.113.53:53 social.example A: Refused (rcode 5)",
                            "DnsAuthoritative 203.0.113.5:53 social.example A: Refused",
                            "DnsAuthoritative 203.0.113.53:53 answered: RefusedLater"};
  const auto summary = summarize("vp1", 64501, cycle);
  REQUIRE(summary.evidence.size() == 3);
  CHECK(summary.evidence[0].probe ==
        ProbeFailure{Check::DnsAuthoritative, "203.0.113.53:53", Failure::Refused});
  CHECK_FALSE(summary.evidence[1].probe);  // another server
  CHECK_FALSE(summary.evidence[2].probe);  // not the failure's name, only a word that starts so
}

TEST_CASE("a vantage failing from its first cycle never passes through OK", "[correlation]") {
  CorrelationConfig config = without_settle();
  config.min_vantages = 1;
  Correlator correlator(config);
  std::vector<VerdictChange> changes;
  for (int round = 0; round < 3; ++round) {
    const auto now = kStart + round * 30s;
    auto cycle = reading("vp1", 64501, Verdict::ServerDown);
    cycle.started_at = now;
    for (auto& change : upload(correlator, cycle, now)) {
      changes.push_back(std::move(change));
    }
    if (round == 0) {
      // One cycle establishes nothing: the vantage reports, but counts neither as OK nor down.
      const auto state = *correlator.state("social.example");
      CHECK(state.verdict == Verdict::Unknown);
      CHECK(state.reporting == 1);
      CHECK(state.healthy == 0);
      CHECK(state.establishing_vantages == std::vector<std::string>{"vp1"});
      const auto views = correlator.vantages("social.example", now);
      REQUIRE(views.size() == 1);
      CHECK_FALSE(views[0].effective);
    }
  }
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].before.verdict == Verdict::Unknown);
  CHECK(changes[0].after.verdict == Verdict::ServerDown);
}

TEST_CASE("a vantage back from isolation counts again only after its cycles agree",
          "[correlation]") {
  Fleet fleet;
  fleet.warm_up();
  fleet.cycle(kOk, kOk, Verdict::VantageIsolated);
  fleet.cycle(kOk, kOk, kLoss);  // one odd cycle on the way back: not a failing vantage
  CHECK(fleet.state().verdict == Verdict::Ok);
  CHECK(fleet.state().establishing_vantages == std::vector<std::string>{"vp3"});
  CHECK(fleet.state().healthy == 2);
  fleet.cycle(kOk, kOk, kOk);
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.state().healthy == 3);
  CHECK(fleet.state().establishing_vantages.empty());
}

TEST_CASE(
    "an agent's interval comes from the spacing of its cycles, and two of them silent is "
    "stale",
    "[correlation]") {
  Correlator correlator{without_settle()};
  CHECK_FALSE(correlator.interval_of("vp1"));
  CHECK(correlator.freshness_of("vp1") == CorrelationConfig{}.freshness);
  // vp1 every 10 s (a restart once, 3 s after a cycle), vp2 and vp3 every 30 s.
  const std::vector<std::chrono::seconds> vp1_at = {0s, 10s, 13s, 23s, 33s, 43s, 53s};
  for (const auto at : vp1_at) {
    auto cycle = reading("vp1", 64501, kOk);
    cycle.started_at = kStart + at;
    upload(correlator, cycle, kStart + at);
  }
  for (const auto at : {0s, 30s, 60s}) {
    for (auto [agent, asn] : {std::pair{"vp2", 64501}, std::pair{"vp3", 64502}}) {
      auto cycle = reading(agent, asn, kOk);
      cycle.started_at = kStart + at;
      upload(correlator, cycle, kStart + at);
    }
  }
  CHECK(correlator.interval_of("vp1") == 10s);
  CHECK(correlator.freshness_of("vp1") == 20s);
  CHECK_FALSE(correlator.interval_of("vp2"));  // two spacings are not enough to tell
  CHECK(correlator.state("social.example")->reporting == 3);

  // vp1 was last heard of at :53; at 1:14 that is more than two of its intervals ago.
  const auto changes = correlator.expire(kStart + 74s);
  CHECK(correlator.state("social.example")->reporting == 2);
  CHECK(correlator.state("social.example")->stale_vantages == std::vector<std::string>{"vp1"});
  CHECK(changes.empty());  // vp2 and vp3 still read OK
  const auto views = correlator.vantages("social.example", kStart + 74s);
  CHECK_FALSE(views[0].fresh);
  CHECK(views[1].fresh);

  // An interval the agent states wins over the one derived, but never beyond `freshness`.
  correlator.report_interval("vp2", 5min);
  CHECK(correlator.interval_of("vp2") == 5min);
  CHECK(correlator.freshness_of("vp2") == CorrelationConfig{}.freshness);
}

TEST_CASE("vantages without an ASN count by their source network: two /24s are global",
          "[correlation]") {
  CHECK(network_name(64510, "192.0.2.7") == "AS64510");
  CHECK(network_name(std::nullopt, "192.0.2.7") == "192.0.2.0/24");
  CHECK(network_name(std::nullopt, "2001:db8:500:7::1") == "2001:db8:500::/48");
  CHECK(network_name(std::nullopt, "?").empty());

  const auto run = [](std::vector<std::pair<std::string, std::string>> vantages) {
    Correlator correlator{without_settle()};
    for (int round = 0; round < 4; ++round) {
      const auto now = kStart + round * 30s;
      for (const auto& [agent, address] : vantages) {
        VantageCycle cycle;
        cycle.agent = agent;
        cycle.network = network_name(std::nullopt, address);
        cycle.verdict = round < 2 ? kOk : kLoss;
        cycle.failures = {{Check::Tcp, "203.0.113.10:443", Failure::NetUnreachable}};
        cycle.started_at = now;
        upload(correlator, cycle, now);
      }
    }
    return *correlator.state("social.example");
  };
  const auto apart = run({{"vp1", "127.0.2.1"}, {"vp2", "127.0.3.1"}});
  CHECK(apart.verdict == Verdict::RouteLoss);
  CHECK(apart.scope == Scope::Global);
  CHECK(apart.affected_asns == std::vector<int64_t>{0});
  CHECK(apart.affected_networks == std::vector<std::string>{"127.0.2.0/24", "127.0.3.0/24"});
  CHECK(apart.evidence[0] ==
        "Tcp 203.0.113.10:443 NetUnreachable from 2 vantages in 127.0.2.0/24, 127.0.3.0/24");

  const auto together = run({{"vp1", "127.0.2.1"}, {"vp2", "127.0.2.2"}});
  CHECK(together.scope == Scope::Partial);
  CHECK(together.affected_networks == std::vector<std::string>{"127.0.2.0/24"});
}

namespace {

// A vantage whose own validating resolver fails DNSSEC for social.example while the zone's
// servers answer, read as its agent reads it.
VantageCycle dnssec_bogus(const std::string& agent, int64_t asn, const std::string& resolver,
                          CorrelationTime at) {
  CycleResult cycle;
  cycle.domain = "social.example";
  cycle.started_at = at;
  cycle.nameservers = {{"ns1.social.example", {"203.0.113.53"}}};
  for (const char* subject : {"social.example A", "social.example AAAA"}) {
    ProbeResult recursive;
    recursive.check = Check::DnsRecursive;
    recursive.target = resolver;
    recursive.subject = subject;
    recursive.failure = Failure::SignatureExpired;
    recursive.native_kind = NativeKind::Ede;
    recursive.native_code = 7;
    recursive.detail = "SERVFAIL, Signature Expired";
    cycle.results.push_back(recursive);
  }
  ProbeResult authoritative;
  authoritative.check = Check::DnsAuthoritative;
  authoritative.target = "203.0.113.53:53";
  cycle.results.push_back(authoritative);
  cycle.reading = read_cycle(cycle);
  return summarize(agent, asn, cycle);
}

}  // namespace

TEST_CASE(
    "DNSSEC failing at the resolvers of three networks is DNS_FAILURE global, said once "
    "with the networks",
    "[correlation][dnssec]") {
  Correlator correlator{without_settle()};
  for (int round = 0; round < 2; ++round) {
    const auto now = kStart + round * 30s;
    for (auto [agent, asn, resolver] :
         {std::tuple{"vp1", 64501, "192.0.2.153:53"}, std::tuple{"vp2", 64502, "198.51.100.153:53"},
          std::tuple{"vp3", 64503, "203.0.113.153:53"}}) {
      upload(correlator, dnssec_bogus(agent, asn, resolver, now), now);
    }
  }
  const auto state = *correlator.state("social.example");
  CHECK(state.verdict == Verdict::DnsFailure);
  CHECK(state.scope == Scope::Global);
  REQUIRE(state.evidence.size() == 4);
  CHECK(state.evidence[0] ==
        "DnsRecursive 192.0.2.153:53 SignatureExpired from 1 vantage in AS64501");
  CHECK(state.evidence[3] ==
        "DNSSEC bogus (EDE 7, Signature Expired) from resolvers; the authoritative servers answer "
        "(from 3 vantages in AS64501, AS64502, AS64503)");
}

TEST_CASE(
    "what vantages see expire is one warning per certificate beside an OK verdict, naming "
    "every address and who saw it",
    "[correlation][expiry]") {
  Correlator correlator{without_settle()};
  const auto expiring = [](const std::string& address, const char* text) {
    return Expiry{ExpiryKind::Certificate,
                  "CN=social.example",
                  std::chrono::sys_seconds(1764979200s),
                  {address},
                  2,
                  text};
  };
  for (int round = 0; round < 2; ++round) {
    const auto now = kStart + round * 30s;
    auto vp1 = reading("vp1", 64501, Verdict::Ok);
    vp1.started_at = now;
    vp1.expiring = {expiring("203.0.113.80:443", "seen by vp1")};
    auto vp2 = reading("vp2", 64502, Verdict::Ok);
    vp2.started_at = now;
    vp2.expiring = {expiring("[2001:db8::80]:443", "seen by vp2")};
    auto vp3 = reading("vp3", 64503, Verdict::Ok);
    vp3.started_at = now;
    upload(correlator, vp1, now);
    upload(correlator, vp2, now);
    upload(correlator, vp3, now);
  }
  const auto state = *correlator.state("social.example");
  CHECK(state.verdict == Verdict::Ok);
  REQUIRE(state.expiring.size() == 1);
  CHECK(state.expiring[0].kind == ExpiryKind::Certificate);
  CHECK(state.expiring[0].at == std::vector<std::string>{"203.0.113.80:443", "[2001:db8::80]:443"});
  CHECK(state.expiring[0].vantages == std::vector<std::string>{"vp1", "vp2"});
  CHECK(state.expiring[0].text == "seen by vp1");

  // Renewed: the next cycles see nothing expiring and the warning is gone.
  const auto later = kStart + 60s;
  for (const char* agent : {"vp1", "vp2", "vp3"}) {
    auto renewed = reading(agent, 64501, Verdict::Ok);
    renewed.started_at = later;
    upload(correlator, renewed, later);
  }
  CHECK(correlator.state("social.example")->expiring.empty());
}

TEST_CASE(
    "a stored summary keeps the expiry warnings, so a restarted collector shows them from its "
    "replay",
    "[correlation][expiry]") {
  auto cycle = reading("vp1", 64501, Verdict::Ok);
  CHECK(nlohmann::json::parse(encode_summary(cycle)).size() == 6);
  cycle.expiring = {{ExpiryKind::Signature,
                     "key 6331 (algorithm 13) of social.example",
                     std::chrono::sys_seconds(1764979200s),
                     {"192.0.2.53:53", "[2001:db8::53]:53"},
                     2,
                     "DNSSEC signatures by key 6331 (algorithm 13) of social.example expire ..."}};
  const VantageCycle back = decode_summary(encode_summary(cycle));
  CHECK(back.verdict == Verdict::Ok);
  CHECK(back.expiring == cycle.expiring);
}

TEST_CASE("expiry warnings are current while a new verdict waits out its settle time",
          "[correlation][expiry]") {
  Correlator correlator{CorrelationConfig{}};  // settle: 30 s
  const Expiry soon{ExpiryKind::Certificate,
                    "CN=social.example",
                    std::chrono::sys_seconds(1764979200s),
                    {"203.0.113.80:443"},
                    1,
                    "soon"};
  for (int round = 0; round < 4; ++round) {
    const auto now = kStart + round * 5s;
    for (auto [agent, asn] : {std::pair{"vp1", 64501}, std::pair{"vp2", 64502}}) {
      // From the third round on vp1 reads ROUTE_LOSS (partial: settles for 30 s); it warns
      // only in the last round, when that verdict is already waiting.
      const bool failing = round >= 2 && std::string(agent) == "vp1";
      auto cycle = reading(agent, asn, failing ? Verdict::RouteLoss : Verdict::Ok);
      cycle.started_at = now;
      if (failing && round == 3) {
        cycle.expiring = {soon};
      }
      upload(correlator, cycle, now);
    }
  }
  const auto state = *correlator.state("social.example");
  CHECK(state.verdict == Verdict::Ok);  // the partial verdict has not settled yet
  REQUIRE(state.expiring.size() == 1);
  CHECK(state.expiring[0].vantages == std::vector<std::string>{"vp1"});
}
