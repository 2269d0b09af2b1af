#include "monitor.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "cycle_reader.hh"
#include "cycle_summary.hh"
#include "printable.hh"
#include "result_json.hh"
#include "target.hh"

namespace vantage {
namespace {

// Replaying more than this many results at start would hold up serving for long; the newest
// cycles matter most, but replay_results() reads oldest first, so the window is what bounds it.
constexpr size_t kMaxReplayedResults = 500'000;
// Uploads are correlated in passes this often (and before every read), which keeps a verdict
// current within a fraction of a second while deciding each domain once per pass, not once per
// cycle; silent vantages are aged out every kAgeOutEvery passes.
constexpr auto kPassPeriod = std::chrono::milliseconds(200);
constexpr int kAgeOutEvery = 5;

bool same_verdict(const DomainState& a, const DomainState& b) {
  return a.verdict == b.verdict && a.scope == b.scope;
}

AlertEvent firing_event(const DomainState& state) {
  return AlertEvent{.domain = state.domain,
                    .verdict = state.verdict,
                    .scope = state.scope,
                    .since = state.since,
                    .resolved_at = std::nullopt,
                    .resolved_by = ResolvedBy::VerdictChange,
                    .resolved_to = Verdict::Ok,
                    .affected_vantages = state.affected_vantages,
                    .affected_asns = state.affected_asns,
                    .affected_networks = state.affected_networks,
                    .evidence = state.evidence};
}

std::string describe(const DomainState& state) {
  return state.scope == Scope::None
             ? std::string(to_string(state.verdict))
             : fmt::format("{} ({})", to_string(state.verdict), to_string(state.scope));
}

}  // namespace

Monitor::Monitor(Storage& storage, CorrelationConfig config, AlertDispatcher* alerts,
                 const AsnDatabase* asn_database)
    : storage_(storage),
      config_(config),
      alerts_(alerts),
      asn_database_(asn_database),
      correlator_(config) {}

Monitor::~Monitor() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (ageing_.joinable()) {
    ageing_.join();
  }
}

std::optional<int64_t> Monitor::lookup_asn(const std::string& address) const {
  return asn_database_ != nullptr ? asn_database_->lookup(address) : std::nullopt;
}

void Monitor::place(const std::string& agent, const std::string& address,
                    std::optional<int64_t> configured) {
  Placement placement;
  placement.address = address;
  if (configured) {
    placement.asn = configured;
    placement.asn_source = AsnSource::Config;
  } else if ((placement.asn = lookup_asn(address))) {
    placement.asn_source = AsnSource::Lookup;
  }
  placement.network = network_name(placement.asn, address);
  if (!placement.asn) {
    placement.asn_source = placement.network.empty() ? AsnSource::None : AsnSource::Prefix;
    // Scope counts networks: say once how this agent is counted, and again if that changes.
    const auto warned = warned_.find(agent);
    if (warned == warned_.end() || warned->second != placement.network) {
      warned_[agent] = placement.network;
      const char* why = asn_database_ != nullptr ? "not in the ASN database" : "no ASN database";
      if (placement.network.empty()) {
        spdlog::warn(
            "agent {} has no ASN (no agent.asn, {}) and no source address to group it "
            "by (\"{}\"): it counts in one unknown network with every such agent",
            agent, why, address);
      } else {
        spdlog::warn("agent {} has no ASN (no agent.asn, {}): grouping it by its source network {}",
                     agent, why, placement.network);
      }
    }
  }
  placements_[agent] = std::move(placement);
}

void Monitor::resume() {
  const auto now = std::chrono::system_clock::now();
  std::vector<DomainState> held;  // verdicts that held while the collector was away
  {
    std::lock_guard lock(mutex_);
    if (alerts_ != nullptr) {
      removed_ = alerts_->removed_targets();
    }
    const auto removed_after = [this](const std::string& domain, TimePoint time) {
      const auto removed = removed_.find(domain);
      return removed != removed_.end() && time <= removed->second;
    };
    for (const auto& agent : storage_.agents()) {
      place(agent.name, agent.address, agent.asn);
      last_heard_[agent.name] = agent.last_seen;
    }

    std::map<std::string, DomainState> stored;
    for (const auto& record : storage_.latest_verdicts()) {
      if (removed_after(record.domain, record.changed_at)) {
        continue;
      }
      correlator_.restore(record.state);
      stored[record.domain] = record.state;
    }

    const auto results = storage_.replay_results(now - 2 * config_.freshness, kMaxReplayedResults);
    size_t replayed = 0;
    for (const auto& result : results) {
      try {
        // A row stored before there were summaries is summarised from its document when a
        // replay reads it; it leaves the replay window (2 x freshness) soon after the upgrade.
        VantageCycle summary = result.summary.empty()
                                   ? summarize(result.agent, std::nullopt,
                                               cycle_from_json(std::string_view(result.document)))
                                   : decode_summary(result.summary);
        summary.agent = result.agent;
        summary.started_at = result.started_at;
        if (const auto placed = placements_.find(result.agent); placed != placements_.end()) {
          summary.asn = placed->second.asn;
          summary.network = placed->second.network;
        }
        const auto ended = summary.started_at + summary.duration;
        auto& heard = last_heard_[result.agent];
        heard = std::max(heard, std::chrono::time_point_cast<TimePoint::duration>(ended));
        // Rows stored before ingest normalised domains join the domain's one spelling.
        summary.domain = canonical_target_name(result.domain).value_or(result.domain);
        if (removed_after(summary.domain, summary.started_at)) {
          continue;
        }
        const std::string domain = summary.domain;
        correlator_.record(domain, std::move(summary));
        ++replayed;
      } catch (const std::exception& error) {
        spdlog::warn("not replaying result {}/{}: {}", result.agent, result.seq, error.what());
      }
    }

    correlator_.evaluate_pending(now);
    // Compare where the replay ended with what was stored, not the steps in between: a domain
    // whose verdict held keeps its original since; one that changed while we were away is a
    // change now.
    for (const DomainState& current : correlator_.states()) {
      const auto before = stored.find(current.domain);
      if (before != stored.end() && same_verdict(before->second, current)) {
        DomainState kept = current;
        kept.since = before->second.since;
        correlator_.restore(kept);
        held.push_back(kept);
        continue;
      }
      DomainState previous;
      previous.domain = current.domain;
      if (before != stored.end()) {
        previous = before->second;
      } else if (same_verdict(previous, current)) {
        // Never decided and still UNKNOWN (too few vantages replayed): not a change, as it is
        // not one for a domain seen for the first time while running.
        continue;
      }
      apply(VerdictChange{previous, current});
    }
    spdlog::info("resumed {} domain verdicts, replayed {} results of the last {} s", stored.size(),
                 replayed,
                 std::chrono::duration_cast<std::chrono::seconds>(2 * config_.freshness).count());
  }
  flush();
  // The dispatcher has these domains' alerts from the store, and only refreshes them; a store
  // from before alerts were stored has none, and such an alert starts (and is sent) now.
  for (const DomainState& state : held) {
    alert_on(state);
  }
  ageing_ = std::thread([this] { pass_loop(); });
}

void Monitor::observe(const std::string& agent, const std::string& peer,
                      const std::vector<VantageCycle>& cycles) {
  std::lock_guard lock(mutex_);
  auto known = placements_.find(agent);
  if (known == placements_.end() || known->second.address != peer) {
    const bool configured =
        known != placements_.end() && known->second.asn_source == AsnSource::Config;
    place(agent, peer, configured ? known->second.asn : std::nullopt);
    known = placements_.find(agent);
  }
  last_heard_[agent] = std::chrono::system_clock::now();
  for (VantageCycle cycle : cycles) {
    if (const auto removed = removed_.find(cycle.domain);
        removed != removed_.end() && cycle.started_at <= removed->second) {
      continue;  // probed before the operator removed the target
    }
    cycle.agent = agent;
    cycle.asn = known->second.asn;
    cycle.network = known->second.network;
    ++counters_.cycles_observed;
    const std::string domain = cycle.domain;
    correlator_.record(domain, std::move(cycle));
  }
}

void Monitor::decide_pending() {
  for (const auto& change : correlator_.evaluate_pending(std::chrono::system_clock::now())) {
    apply(change);
  }
}

void Monitor::heartbeat(const AgentRecord& agent,
                        std::optional<std::chrono::milliseconds> interval) {
  std::lock_guard lock(mutex_);
  place(agent.name, agent.address, agent.asn);
  last_heard_[agent.name] = std::max(last_heard_[agent.name], agent.last_seen);
  if (interval) {
    correlator_.report_interval(agent.name, *interval);
  }
}

void Monitor::apply(const VerdictChange& change) {
  ++counters_.verdict_changes;
  decided_.push_back(change);
}

void Monitor::flush() {
  const std::lock_guard order(flush_mutex_);
  std::vector<VerdictChange> changes;
  {
    std::lock_guard lock(mutex_);
    changes.swap(decided_);
  }
  for (const VerdictChange& change : changes) {
    const DomainState& after = change.after;
    spdlog::log(after.verdict == Verdict::Ok ? spdlog::level::info : spdlog::level::warn,
                "{}: {} -> {} ({} reporting, {} usable, {} failing){}{}", after.domain,
                describe(change.before), describe(after), after.reporting, after.healthy,
                after.failing, after.evidence.empty() ? "" : ": ",
                after.evidence.empty() ? "" : printable(after.evidence.front()));
    try {
      storage_.record_verdict(VerdictRecord{.domain = after.domain,
                                            .changed_at = after.since,
                                            .verdict = after.verdict,
                                            .scope = after.scope,
                                            .previous_verdict = change.before.verdict,
                                            .state = after});
    } catch (const StorageError& error) {
      // The verdict is still current in memory and still alerts; only its history row is
      // missing.
      {
        std::lock_guard lock(mutex_);
        ++counters_.verdicts_not_stored;
      }
      spdlog::error("verdict change of {} not stored: {}", after.domain, error.what());
    }
    alert_on(after);
  }
}

// UNKNOWN neither fires nor resolves: too few vantages can tell nothing, so an alert that was
// active stays active until vantages say otherwise. The dispatcher decides the rest.
void Monitor::alert_on(const DomainState& state) {
  if (alerts_ != nullptr && state.verdict != Verdict::Unknown) {
    alerts_->notify(firing_event(state));
  }
}

void Monitor::forget(const std::string& domain) {
  const auto now = std::chrono::system_clock::now();
  flush();  // a change decided before the removal goes out first
  const std::lock_guard order(flush_mutex_);
  TimePoint horizon = now;
  {
    std::lock_guard lock(mutex_);
    // Cycles dated ahead of our clock (an agent's clock runs fast) are from before the removal
    // too.
    for (const auto& vantage : correlator_.vantages(domain, now)) {
      horizon = std::max(horizon, vantage.latest_at);
    }
    correlator_.forget(domain);
    removed_[domain] = horizon;
    // Changes of the domain decided since the flush above are dropped with it.
    std::erase_if(decided_,
                  [&](const VerdictChange& change) { return change.after.domain == domain; });
  }
  if (alerts_ != nullptr) {
    alerts_->target_removed(domain, now, horizon);
  }
}

void Monitor::pass_loop() {
  std::unique_lock stop_lock(stop_mutex_);
  int pass = 0;
  while (!stop_signal_.wait_for(stop_lock, kPassPeriod, [this] { return stopping_; })) {
    {
      std::lock_guard lock(mutex_);
      decide_pending();
      if (++pass % kAgeOutEvery == 0) {
        for (const auto& change : correlator_.expire(std::chrono::system_clock::now())) {
          apply(change);
        }
      }
    }
    flush();
  }
}

std::vector<DomainState> Monitor::states() {
  std::vector<DomainState> states;
  {
    std::lock_guard lock(mutex_);
    decide_pending();
    states = correlator_.states();
  }
  flush();
  return states;
}

std::vector<DomainState> Monitor::states(const std::vector<std::string>& domains) {
  std::vector<DomainState> states;
  {
    std::lock_guard lock(mutex_);
    decide_pending();
    for (const auto& domain : domains) {
      if (auto state = correlator_.state(domain)) {
        states.push_back(std::move(*state));
      }
    }
  }
  flush();
  return states;
}

std::optional<Explanation> Monitor::explain(const std::string& domain) {
  std::optional<Explanation> explanation;
  {
    std::lock_guard lock(mutex_);
    decide_pending();
    if (auto state = correlator_.state(domain)) {
      explanation =
          Explanation{*state, correlator_.vantages(domain, std::chrono::system_clock::now())};
    }
  }
  flush();
  return explanation;
}

std::vector<Explanation> Monitor::explanations() {
  std::vector<Explanation> all;
  {
    std::lock_guard lock(mutex_);
    decide_pending();
    const auto now = std::chrono::system_clock::now();
    for (DomainState& state : correlator_.states()) {
      auto vantages = correlator_.vantages(state.domain, now);
      all.push_back(Explanation{std::move(state), std::move(vantages)});
    }
  }
  flush();
  return all;
}

std::set<std::string> Monitor::isolated_agents() {
  std::set<std::string> isolated;
  {
    std::lock_guard lock(mutex_);
    decide_pending();
    for (const auto& state : correlator_.states()) {
      isolated.insert(state.isolated_vantages.begin(), state.isolated_vantages.end());
    }
  }
  flush();
  return isolated;
}

AgentStanding Monitor::standing(const std::string& agent, TimePoint last_seen) {
  std::lock_guard lock(mutex_);
  AgentStanding standing;
  if (const auto placed = placements_.find(agent); placed != placements_.end()) {
    standing.asn = placed->second.asn;
    standing.asn_source = placed->second.asn_source;
    standing.network = placed->second.network;
  }
  standing.interval = correlator_.interval_of(agent);
  standing.freshness = correlator_.freshness_of(agent);
  TimePoint heard = last_seen;
  if (const auto found = last_heard_.find(agent); found != last_heard_.end()) {
    heard = std::max(heard, found->second);
  }
  standing.stale = heard < std::chrono::system_clock::now() - standing.freshness;
  return standing;
}

MonitorCounters Monitor::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace vantage
