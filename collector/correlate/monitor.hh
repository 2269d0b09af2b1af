#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alerts.hh"
#include "asn_database.hh"
#include "correlation.hh"
#include "storage.hh"
#include "vocabulary.hh"

namespace vantage {

struct MonitorCounters {
  uint64_t cycles_observed = 0;
  uint64_t verdict_changes = 0;
  uint64_t verdicts_not_stored = 0;  // the store failed; the change was logged and alerted anyway
};

// A domain's verdict with every vantage's part in it: what `explain` shows.
struct Explanation {
  DomainState state;
  std::vector<VantageView> vantages;
};

// Where an agent counts, and whether it still does: what `agents` shows beside its heartbeat.
struct AgentStanding {
  std::optional<int64_t> asn;
  AsnSource asn_source = AsnSource::None;
  std::string network;  // "AS64510", or the source /24 or /48 without an ASN; "" if neither
  std::optional<std::chrono::milliseconds> interval;  // its probe interval, once known
  std::chrono::milliseconds freshness{0};             // silent longer than this: stale
  bool stale = false;  // nothing heard from it for longer than `freshness`
};

// The collector's live view: correlates the stored cycles in passes five times a second and
// before every read (so what status, explain and /metrics show is current, and a change is
// stored and alerted within 200 ms of the deciding upload), ages out silent vantages once a
// second, stores every verdict change with its evidence and hands it to the dispatcher, which
// stores the alert before it sends anything. Decisions are made under the monitor's lock; the
// writes and the hand-over happen after it is released, in the order the changes were decided,
// so a slow database never holds up uploads and reads. Safe to call from the HTTP server's
// threads.
class Monitor {
 public:
  // `alerts` and `asn_database` may be null (no alerting; no ASN lookup).
  Monitor(Storage& storage, CorrelationConfig config, AlertDispatcher* alerts,
          const AsnDatabase* asn_database);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // After a restart: takes up the stored verdicts (keeping their `since`), replays the results of
  // the last two freshness windows to rebuild each vantage's hysteresis and baseline, and stores
  // and alerts what changed while the collector was away (the dispatcher holds the alerts that
  // were firing, from the store). A domain whose target was removed comes back only with cycles
  // that started after the removal. Then starts the ageing. Call once, before serving.
  void resume();

  // An operator removed the domain's target: status and explain no longer show it, its alert
  // ends (resolved_by target_removed), and cycles of it that started before now are ignored.
  // It comes back with an agent's newer cycle of it (an agent that probes it on its own).
  void forget(const std::string& domain);

  // Cycles an agent uploaded and the store accepted. `peer` is the address it connected from.
  void observe(const std::string& agent, const std::string& peer,
               const std::vector<VantageCycle>& cycles);
  // An agent's heartbeat: its configured ASN, or the ASN database's for its address, or its
  // source network; and its probe interval if it sent one.
  void heartbeat(const AgentRecord& agent,
                 std::optional<std::chrono::milliseconds> interval = std::nullopt);

  // The reads decide the cycles still pending first, hence not const.
  std::vector<DomainState> states();
  // Those of `domains` alone (one without a state is left out): a public page's few domains
  // without copying every domain of the fleet on each anonymous request.
  std::vector<DomainState> states(const std::vector<std::string>& domains);
  std::optional<Explanation> explain(const std::string& domain);
  // Every domain's explanation as of one instant, by domain: the operator UI's overview.
  std::vector<Explanation> explanations();
  // Agents whose latest fresh cycle of some domain found their own control targets failing.
  std::set<std::string> isolated_agents();
  // How the agent counts now; `last_seen` is its latest heartbeat, for an agent this collector
  // has not heard from since it started.
  AgentStanding standing(const std::string& agent, TimePoint last_seen);
  MonitorCounters counters() const;
  const CorrelationConfig& config() const { return config_; }

 private:
  // Queues the change (mutex_ held); flush() stores and alerts it.
  void apply(const VerdictChange& change);
  // Stores and alerts the queued changes, in order. Call without mutex_.
  void flush();
  void alert_on(const DomainState& state);
  std::optional<int64_t> lookup_asn(const std::string& address) const;
  // Places the agent in a network (mutex_ held): its configured ASN, else the ASN database's for
  // `address`, else the /24 or /48 of `address`, which it says once in the log.
  void place(const std::string& agent, const std::string& address,
             std::optional<int64_t> configured);
  void decide_pending();  // mutex_ held
  void pass_loop();

  Storage& storage_;
  CorrelationConfig config_;
  AlertDispatcher* alerts_;
  const AsnDatabase* asn_database_;

  mutable std::mutex mutex_;  // everything below
  Correlator correlator_;
  struct Placement {
    std::optional<int64_t> asn;
    AsnSource asn_source = AsnSource::None;
    std::string network;
    std::string address;
  };
  std::map<std::string, Placement> placements_;  // per agent, once it was heard from
  std::map<std::string, TimePoint> last_heard_;  // per agent: latest upload or heartbeat
  std::map<std::string, std::string> warned_;    // per agent: the network the log named
  std::map<std::string, TimePoint> removed_;     // per domain whose target was removed
  std::vector<VerdictChange> decided_;           // changes flush() has not taken yet
  MonitorCounters counters_;

  // Held by flush() while it writes and alerts: keeps the changes in the order they were decided
  // when several threads flush at once. Taken before mutex_, never after.
  std::mutex flush_mutex_;

  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  std::thread ageing_;  // runs pass_loop()
};

}  // namespace vantage
