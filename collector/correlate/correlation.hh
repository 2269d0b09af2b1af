#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cycle_result.hh"
#include "domain_state.hh"
#include "result.hh"

namespace vantage {

using CorrelationTime = std::chrono::system_clock::time_point;

struct CorrelationConfig {
  double quorum = 0.5;   // share of healthy vantages that must agree for a global verdict
  int min_vantages = 2;  // fewer healthy vantages reporting: UNKNOWN
  int enter_after = 2;   // consecutive failing cycles before a vantage counts as failing
  int exit_after = 2;    // consecutive OK cycles before it counts as recovered
  // A vantage's reading counts for two of its agent's probe intervals, never longer than this,
  // and this long while the interval is not known yet.
  std::chrono::milliseconds freshness{150'000};
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
  bool operator<(const ProbeFailure& other) const {
    return std::tie(check, target, failure) < std::tie(other.check, other.target, other.failure);
  }
};

// One line of the agent's own reading.evidence: the facts that decided its verdict, deciding
// probe first, then lines that prove or qualify it ("203.0.113.53 answered DNS in the same /24:
// route present").
struct EvidenceLine {
  std::string text;                   // as the agent wrote it
  std::optional<ProbeFailure> probe;  // the failed probe it describes, if it describes one
};

// How each check of a cycle went, for /metrics (what blackbox_exporter users graph): fixed size,
// so that keeping it with every recent cycle costs no allocation.
struct CheckTiming {
  bool ran = false;
  bool ok = true;                        // every probe of the check succeeded
  std::chrono::microseconds slowest{0};  // the slowest probe's total time
};
inline constexpr size_t kCheckCount = static_cast<size_t>(Check::DnsKeys) + 1;
struct ProbeTimings {
  std::array<CheckTiming, kCheckCount> checks{};  // indexed by Check
  // The phases of the HTTPS probe the cycle's latency comes from (the first that succeeded,
  // else the first); none without an HTTPS probe.
  std::optional<Timings> https;
  // The earliest notAfter of a leaf certificate any HTTPS probe of the cycle saw...
  std::optional<std::chrono::system_clock::time_point> cert_not_after;
  // ...of any certificate of their verified chains (the leaf's, or an issuer's that ends first)...
  std::optional<std::chrono::system_clock::time_point> chain_not_after;
  // ...and the earliest expiration of the DNSSEC signatures over the authoritative answers.
  std::optional<std::chrono::system_clock::time_point> signature_expiration;
};

// What correlation keeps of one vantage's cycle.
struct VantageCycle {
  std::string domain;
  std::string agent;
  std::optional<int64_t> asn;
  // The network the vantage counts in for scope: "AS64510", or for a vantage without an ASN the
  // /24 or /48 it connects from ("192.0.2.0/24"); "" when neither is known. network_name().
  std::string network;
  CorrelationTime started_at;
  std::chrono::microseconds duration{0};  // the vantage was last heard of at started_at + this
  Verdict verdict = Verdict::Ok;          // the vantage's own reading
  std::chrono::microseconds latency{0};   // the cycle's HTTPS total, else its duration
  std::vector<ProbeFailure> failures;     // every failed probe, those its evidence names first
  std::vector<EvidenceLine> evidence;     // its reading's evidence, in the agent's order
  std::vector<Expiry> expiring;           // what it saw expire within the target's warn_before
  ProbeTimings timings;
};

// "AS64510" for a known ASN, else the routed prefix (/24, /48) holding `address`, else "".
std::string network_name(std::optional<int64_t> asn, std::string_view address);

VantageCycle summarize(const std::string& agent, std::optional<int64_t> asn,
                       const CycleResult& cycle);

// One vantage's part in a domain's verdict, as explain shows it.
struct VantageView {
  std::string agent;
  std::optional<int64_t> asn;
  std::string network;
  std::optional<Verdict> effective;  // after hysteresis: what counts; none established yet
  Verdict latest = Verdict::Ok;      // its latest cycle's own reading
  bool degraded = false;
  bool fresh = false;  // its latest cycle is within the vantage's freshness window
  CorrelationTime latest_at;
  std::chrono::microseconds latency{0};
  std::vector<ProbeFailure> failures;  // of its latest cycle, those its evidence names first
  std::vector<std::string> evidence;   // its latest reading's evidence lines
  ProbeTimings timings;                // of its latest cycle
};

struct VerdictChange {
  DomainState before;
  DomainState after;
};

// Correlates vantages' readings per domain into verdicts (docs/collector.md). Hysteresis lives
// per vantage: a vantage's reading is established, and changes, only after `enter_after` (a
// failure) or `exit_after` (OK) consecutive cycles agree, so one odd cycle never pages anyone and
// a vantage that has just started counts for nothing rather than for OK. Isolation applies at
// once: an isolated vantage must never be the cause of an alert. A vantage silent for more than
// two of its probe intervals stops counting. Not thread-safe: the caller serialises.
class Correlator {
 public:
  explicit Correlator(CorrelationConfig config) : config_(config) {}

  // Feeds one cycle without deciding the domain's verdict yet: evaluate_pending() does, once for
  // all the cycles fed since. Deciding is O(vantages of the domain); once per cycle that would be
  // O(vantages²) per domain and interval, too much for a fleet. A cycle no newer than the
  // vantage's latest for the domain (an upload retried, or replayed after a restart) is ignored,
  // so that it never counts twice towards hysteresis.
  void record(const std::string& domain, VantageCycle cycle);
  // Decides every domain fed by record() since the last call; their changes of verdict or scope.
  std::vector<VerdictChange> evaluate_pending(CorrelationTime now);
  // Re-evaluates every domain against the clock (vantages gone silent age out).
  std::vector<VerdictChange> expire(CorrelationTime now);

  // Sets a domain's state as a restarted collector had stored it (verdict, scope, since), before
  // the recent results are replayed; also used to keep `since` across such a replay.
  void restore(const DomainState& state);
  // Drops everything known of the domain (its target was removed).
  void forget(const std::string& domain);

  std::vector<DomainState> states() const;
  std::optional<DomainState> state(const std::string& domain) const;
  // Every vantage that ever reported the domain, by name.
  std::vector<VantageView> vantages(const std::string& domain, CorrelationTime now) const;

  // An agent's probe interval as it said it (a heartbeat's interval_ms); it takes precedence
  // over the one derived from the spacing of its cycles.
  void report_interval(const std::string& agent, std::chrono::milliseconds interval);
  // The agent's probe interval: reported, else the median spacing of its recent cycles of each
  // domain; nullopt until a few cycles have been seen.
  std::optional<std::chrono::milliseconds> interval_of(const std::string& agent) const;
  // How long the agent's latest reading counts, and how long it may stay silent before it is
  // stale: two of its intervals, never more than `freshness`; `freshness` while the interval is
  // unknown.
  std::chrono::milliseconds freshness_of(const std::string& agent) const;

 private:
  // What the collector learns of an agent's probe interval.
  struct Pace {
    std::deque<std::chrono::milliseconds> spacings;  // between its consecutive cycles of a domain
    std::optional<std::chrono::milliseconds> reported;
    // The median of `spacings`, kept as they change: every pass asks every vantage of every
    // domain how fresh it is, and recomputing the median there was a quarter of ingest's CPU.
    std::optional<std::chrono::milliseconds> derived;
  };
  struct VantageTrack {
    std::deque<VantageCycle> recent;
    std::optional<Verdict> effective;  // none until enough cycles agree
    bool degraded = false;
    const Pace* pace = nullptr;  // its agent's, in paces_ (map nodes stay put)
    // When the vantage was last heard of: the end of its latest cycle, not its start, so that a
    // cycle that ran long (path traces after a timeout) does not make its vantage look silent.
    CorrelationTime heard;
  };
  // What evaluate() reads of a vantage, kept beside the others of its domain, by agent name:
  // a pass reads every vantage of every fed domain, and walking the map's nodes and each
  // vantage's latest cycle was most of correlation's CPU with a thousand vantages.
  struct Standing {
    const std::string* agent = nullptr;  // its key in Domain::vantages
    const VantageTrack* track = nullptr;
    const Pace* pace = nullptr;
    CorrelationTime heard;  // the end of its latest cycle
    std::optional<Verdict> effective;
    bool degraded = false;
  };
  // The vantages a domain's verdict does not count, as evaluate() found them: their names are
  // copied into a DomainState when it is read or changes, not on every pass.
  struct Uncounted {
    std::vector<const std::string*> isolated, establishing, stale;  // keys of Domain::vantages
  };
  struct Domain {
    DomainState state;  // its lists of vantages not counted are in `uncounted`, once evaluated
    std::optional<Uncounted> uncounted;  // none: `state` is as restore() set it, names and all
    std::optional<DomainState> pending;  // a verdict waiting out `settle`
    CorrelationTime pending_since;
    std::map<std::string, VantageTrack> vantages;
    std::vector<Standing> standings;  // one per vantage with a cycle, by agent name
  };

  void update_vantage(VantageTrack& track, VantageCycle cycle) const;
  std::chrono::milliseconds freshness_of(const Pace& pace) const;
  bool is_fresh(CorrelationTime heard, const Pace& pace, CorrelationTime now) const;
  static void stand(Domain& domain, const std::string& agent, const VantageTrack& track);
  bool is_degraded(const VantageTrack& track) const;
  DomainState evaluate(const std::string& name, const Domain& domain, CorrelationTime now,
                       Uncounted& uncounted) const;
  std::optional<VerdictChange> settle(Domain& domain, DomainState next, Uncounted uncounted,
                                      CorrelationTime now);
  std::optional<VerdictChange> reevaluate(const std::string& name, Domain& domain,
                                          CorrelationTime now);
  // The domain's state with the names of the vantages it does not count.
  static DomainState named(const Domain& domain);

  // True when the cycle was taken (newer than the vantage's latest for the domain).
  bool take(Domain& domain, const std::string& name, VantageCycle cycle, CorrelationTime now);

  CorrelationConfig config_;
  std::map<std::string, Domain> domains_;
  std::set<std::string> pending_;      // domains record() fed since the last evaluate_pending()
  std::map<std::string, Pace> paces_;  // per agent
};

}  // namespace vantage
