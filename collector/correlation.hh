#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cycle.hh"
#include "result.hh"

namespace vantage {

using CorrelationTime = std::chrono::system_clock::time_point;

struct CorrelationConfig {
  double quorum = 0.5;   // share of healthy vantages that must agree for a global verdict
  int min_vantages = 2;  // fewer healthy vantages reporting: UNKNOWN
  int enter_after = 2;   // consecutive failing cycles before a vantage counts as failing
  int exit_after = 2;    // consecutive OK cycles before it counts as recovered
  std::chrono::milliseconds freshness{150'000};  // older readings no longer count
  double degraded_factor = 3.0;  // latency above factor x the vantage's own median...
  std::chrono::milliseconds degraded_floor{100};  // ...and at least this much above it
  // How long a partial, DEGRADED or UNKNOWN verdict must hold before it is entered. Vantages
  // report spread over their interval, so the first to see an outage would otherwise page a
  // "partial" outage seconds before the rest turn it "global". A global verdict and OK are
  // complete pictures and are entered at once.
  std::chrono::milliseconds settle{30'000};
};

// One failed probe of one cycle, as correlation needs it.
struct ProbeFailure {
  Check check = Check::Tcp;
  std::string target;
  Failure failure = Failure::None;
  bool operator==(const ProbeFailure&) const = default;
};

// What correlation keeps of one vantage's cycle.
struct VantageCycle {
  std::string domain;
  std::string agent;
  std::optional<int64_t> asn;
  CorrelationTime started_at;
  Verdict verdict = Verdict::Ok;         // the vantage's own reading
  std::chrono::microseconds latency{0};  // the cycle's HTTPS total, else its duration
  std::vector<ProbeFailure> failures;    // the probes behind a non-OK reading
};

VantageCycle summarize(const std::string& agent, std::optional<int64_t> asn,
                       const CycleResult& cycle);

// A domain's verdict across vantages, as status, explain, metrics and alerts show it.
struct DomainState {
  std::string domain;
  Verdict verdict = Verdict::Unknown;
  std::string scope;  // "global", "partial", or "" for OK and UNKNOWN
  CorrelationTime since;
  int reporting = 0;  // vantages with a fresh reading
  int healthy = 0;    // reporting and not isolated
  int failing = 0;    // healthy and not OK
  std::vector<std::string> affected_vantages;
  std::vector<int64_t> affected_asns;
  std::vector<std::string> isolated_vantages;
  std::vector<std::string> evidence;  // "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3
                                      // vantages in AS64501, AS64502"
};

// One vantage's part in a domain's verdict, as explain shows it.
struct VantageView {
  std::string agent;
  std::optional<int64_t> asn;
  Verdict effective = Verdict::Ok;  // after hysteresis: what counts
  Verdict latest = Verdict::Ok;     // its latest cycle's own reading
  bool degraded = false;
  bool fresh = false;  // its latest cycle is within the freshness window
  CorrelationTime latest_at;
  std::chrono::microseconds latency{0};
  std::vector<ProbeFailure> failures;  // of its latest cycle
};

struct VerdictChange {
  DomainState before;
  DomainState after;
};

// Correlates vantages' readings per domain into SPEC §2 verdicts. Hysteresis lives per vantage:
// a vantage's reading changes only after `enter_after` (into a failure) or `exit_after` (back to
// OK) consecutive cycles agree, so one odd cycle never pages anyone. Isolation applies at once:
// an isolated vantage must never be the cause of an alert. Not thread-safe: the caller
// serialises.
class Correlator {
 public:
  explicit Correlator(CorrelationConfig config) : config_(config) {}

  // Feeds one cycle; returns the domain's change of verdict or scope, if this caused one. A cycle
  // no newer than the vantage's latest for the domain (an upload retried, or replayed after a
  // restart) is ignored, so that it never counts twice towards hysteresis.
  std::optional<VerdictChange> observe(const std::string& domain, VantageCycle cycle,
                                       CorrelationTime now);
  // Feeds one cycle (with the same rule for old ones) without deciding the domain's verdict yet:
  // evaluate_pending() does, once for all the cycles fed since. Deciding is O(vantages of the
  // domain); once per cycle that is O(vantages²) per domain and interval, too much for a fleet.
  void record(const std::string& domain, VantageCycle cycle);
  // Decides every domain fed by record() since the last call; their changes of verdict or scope.
  std::vector<VerdictChange> evaluate_pending(CorrelationTime now);
  // Re-evaluates every domain against the clock (vantages gone silent age out).
  std::vector<VerdictChange> expire(CorrelationTime now);

  // Sets a domain's state as a restarted collector had stored it (verdict, scope, since), before
  // the recent results are replayed; also used to keep `since` across such a replay.
  void restore(const DomainState& state);

  std::vector<DomainState> states() const;
  std::optional<DomainState> state(const std::string& domain) const;
  // The effective (hysteresis-filtered) reading of each vantage for `domain`.
  std::map<std::string, Verdict> vantage_readings(const std::string& domain) const;
  // Every vantage that ever reported the domain, by name.
  std::vector<VantageView> vantages(const std::string& domain, CorrelationTime now) const;

 private:
  struct VantageTrack {
    std::deque<VantageCycle> recent;
    Verdict effective = Verdict::Ok;
    bool degraded = false;
  };
  struct Domain {
    DomainState state;
    std::optional<DomainState> pending;  // a verdict waiting out `settle`
    CorrelationTime pending_since;
    std::map<std::string, VantageTrack> vantages;
  };

  void update_vantage(VantageTrack& track, VantageCycle cycle) const;
  bool is_degraded(const VantageTrack& track) const;
  DomainState evaluate(const std::string& name, const Domain& domain, CorrelationTime now) const;
  std::optional<VerdictChange> settle(Domain& domain, DomainState next, CorrelationTime now);

  // True when the cycle was taken (newer than the vantage's latest for the domain).
  bool take(Domain& domain, const std::string& name, VantageCycle cycle, CorrelationTime now);

  CorrelationConfig config_;
  std::map<std::string, Domain> domains_;
  std::set<std::string> pending_;  // domains record() fed since the last evaluate_pending()
};

}  // namespace vantage
