#include <catch2/catch.hpp>

#include "correlation.hh"

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
      if (auto change = correlator.observe("social.example", cycle, now)) {
        changes.push_back(*change);
      }
    }
    ++round;
  }
  DomainState state() const { return *correlator.state("social.example"); }
};

constexpr auto kOk = Verdict::Ok;
constexpr auto kLoss = Verdict::RouteLoss;

}  // namespace

TEST_CASE("every vantage OK reads OK with no scope", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.state().verdict == Verdict::Ok);
  CHECK(fleet.state().scope.empty());
  CHECK(fleet.state().reporting == 3);
  CHECK(fleet.state().healthy == 3);
}

TEST_CASE("route loss seen by every vantage in two ASNs is ROUTE_LOSS global after enter_after",
          "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kOk);
  fleet.cycle(kLoss, kLoss, kLoss);
  CHECK(fleet.state().verdict == Verdict::Ok);  // one failing cycle is not an outage yet
  fleet.cycle(kLoss, kLoss, kLoss);
  const auto state = fleet.state();
  CHECK(state.verdict == Verdict::RouteLoss);
  CHECK(state.scope == "global");
  CHECK(state.failing == 3);
  CHECK(state.affected_asns == std::vector<int64_t>{64501, 64502});
  REQUIRE_FALSE(state.evidence.empty());
  CHECK(state.evidence[0] ==
        "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64501, AS64502");
}

TEST_CASE("recovery returns to OK only after exit_after OK cycles", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kOk);
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
  fleet.cycle(kOk, kOk, kOk);
  fleet.changes.clear();
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kOk, kOk, kOk);
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.changes.empty());
}

TEST_CASE("vantages flapping between OK and failing read DEGRADED", "[correlation]") {
  Fleet fleet;
  for (int i = 0; i < 3; ++i) {
    fleet.cycle(kOk, kOk, kOk);
    fleet.cycle(kLoss, kLoss, kLoss);
  }
  CHECK(fleet.state().verdict == Verdict::Degraded);
}

TEST_CASE("a failure seen from one network only is partial and names that ASN", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kLoss);
  fleet.cycle(kOk, kOk, kLoss);
  const auto state = fleet.state();
  CHECK(state.verdict == Verdict::RouteLoss);
  CHECK(state.scope == "partial");
  CHECK(state.affected_vantages == std::vector<std::string>{"vp3"});
  CHECK(state.affected_asns == std::vector<int64_t>{64502});
}

TEST_CASE("a quorum inside one ASN is still partial", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kLoss, kLoss, kOk);
  fleet.cycle(kLoss, kLoss, kOk);
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
  CHECK(fleet.state().scope == "partial");
  CHECK(fleet.state().affected_asns == std::vector<int64_t>{64501});
}

TEST_CASE("an isolated vantage is excluded at once and causes no verdict", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kOk);
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
  fleet.cycle(kOk, Verdict::VantageIsolated, Verdict::VantageIsolated);
  CHECK(fleet.state().verdict == Verdict::Unknown);
  CHECK(fleet.state().healthy == 1);
}

TEST_CASE("vantages that stop reporting age out to UNKNOWN", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kOk);
  CHECK(fleet.state().verdict == Verdict::Ok);
  const auto changes = fleet.correlator.expire(kStart + 10min);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].after.verdict == Verdict::Unknown);
  CHECK(changes[0].after.reporting == 0);
}

TEST_CASE("the lower layer wins a tie between failing verdicts", "[correlation]") {
  Fleet fleet;
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
  CHECK(fleet.state().scope == "global");
}

TEST_CASE("the since time stays put while the verdict holds", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kLoss, kLoss, kLoss);
  fleet.cycle(kLoss, kLoss, kLoss);
  const auto since = fleet.state().since;
  fleet.cycle(kLoss, kLoss, kLoss);
  CHECK(fleet.state().since == since);
}

TEST_CASE("a cycle uploaded twice counts once towards hysteresis", "[correlation]") {
  Fleet fleet;
  fleet.cycle(kOk, kOk, kOk);
  fleet.cycle(kLoss, kLoss, kLoss);
  // The agents' retried uploads of the same failing cycles: not a second failing round.
  const auto retried_at = kStart + 30s;
  for (const auto* agent : {"vp1", "vp2", "vp3"}) {
    auto cycle = reading(agent, std::string(agent) == "vp3" ? 64502 : 64501, kLoss);
    cycle.started_at = retried_at;
    CHECK_FALSE(fleet.correlator.observe("social.example", cycle, retried_at + 1s));
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
  stored.scope = "global";
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
  CHECK(views[0].fresh);
  CHECK(views[0].failures.size() == 2);
  CHECK(views[2].asn == 64502);
}

TEST_CASE("a partial verdict waits out settle; a global one is entered at once", "[correlation]") {
  CorrelationConfig config;
  config.settle = 45s;
  Fleet fleet(config);
  fleet.cycle(kOk, kOk, kOk);
  fleet.cycle(kOk, kOk, kLoss);
  fleet.cycle(kOk, kOk, kLoss);  // vp3 counts as failing from here: partial, pending
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kOk, kOk, kLoss);  // 30 s pending
  CHECK(fleet.state().verdict == Verdict::Ok);
  fleet.cycle(kOk, kOk, kLoss);  // 60 s pending
  CHECK(fleet.state().verdict == Verdict::RouteLoss);
  CHECK(fleet.state().scope == "partial");
  CHECK(fleet.state().since == kStart + 2 * 30s);  // when it began, not when it was entered

  Fleet everyone(config);
  everyone.cycle(kOk, kOk, kOk);
  everyone.cycle(kLoss, kLoss, kLoss);
  everyone.cycle(kLoss, kLoss, kLoss);
  CHECK(everyone.state().verdict == Verdict::RouteLoss);
  CHECK(everyone.state().scope == "global");
  REQUIRE(everyone.changes.size() == 2);  // UNKNOWN -> OK -> ROUTE_LOSS global, no partial step
  CHECK(everyone.changes[1].before.verdict == Verdict::Ok);
}

TEST_CASE("vantages reporting one after another never page a partial step", "[correlation]") {
  CorrelationConfig config;
  config.settle = 30s;
  Correlator correlator(config);
  std::vector<VerdictChange> changes;
  // vp1 reports at :00, vp2 at :10, vp3 at :20 of every 30 s interval.
  for (int round = 0; round < 4; ++round) {
    const auto verdict = round == 0 ? kOk : kLoss;
    int offset = 0;
    for (auto [agent, asn] :
         {std::pair{"vp1", 64501}, std::pair{"vp2", 64501}, std::pair{"vp3", 64502}}) {
      const auto now = kStart + round * 30s + offset * 10s;
      auto cycle = reading(agent, asn, verdict);
      cycle.started_at = now;
      if (auto change = correlator.observe("social.example", cycle, now)) {
        changes.push_back(*change);
      }
      for (auto& expired : correlator.expire(now + 5s)) {
        changes.push_back(expired);
      }
      ++offset;
    }
  }
  REQUIRE(changes.size() == 2);
  CHECK(changes[1].after.verdict == Verdict::RouteLoss);
  CHECK(changes[1].after.scope == "global");
}

TEST_CASE("cycles recorded in bulk are decided once, with the same outcome as one by one",
          "[correlation]") {
  Correlator bulk{without_settle()};
  Fleet one_by_one;
  for (int round = 0; round < 3; ++round) {
    const auto verdict = round == 0 ? kOk : kLoss;
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
    CHECK(changes.size() == (round == 1 ? 0U : 1U));  // round 1: one failing cycle only
    CHECK(bulk.evaluate_pending(now).empty());        // nothing new: nothing to decide
  }
  CHECK(bulk.state("social.example")->verdict == Verdict::RouteLoss);
  CHECK(bulk.state("social.example")->scope == "global");
  CHECK(bulk.state("social.example")->evidence == one_by_one.state().evidence);
}
