#include "correlation.hh"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace vantage {
namespace {

constexpr size_t kRecentCycles = 20;
constexpr size_t kBaselineMinimum = 5;
constexpr size_t kFlapWindow = 10;
constexpr int kFlapChanges = 4;
constexpr size_t kMaxEvidenceLines = 12;

// Which failing verdict wins a tie: the lower layer explains the higher ones.
int severity_rank(Verdict verdict) {
  constexpr Verdict kOrder[] = {Verdict::DomainVanished, Verdict::RouteLoss,  Verdict::DnsFailure,
                                Verdict::ServerDown,     Verdict::TlsFailure, Verdict::HttpError,
                                Verdict::Unknown,        Verdict::Degraded};
  for (int i = 0; i < static_cast<int>(std::size(kOrder)); ++i) {
    if (kOrder[i] == verdict) {
      return i;
    }
  }
  return static_cast<int>(std::size(kOrder));
}

bool is_failing(Verdict verdict) {
  return verdict != Verdict::Ok && verdict != Verdict::Degraded &&
         verdict != Verdict::VantageIsolated;
}

std::string asn_list(const std::set<int64_t>& asns) {
  std::string text;
  for (const auto asn : asns) {
    text += text.empty() ? "" : ", ";
    text += asn == 0 ? std::string("unknown AS") : fmt::format("AS{}", asn);
  }
  return text;
}

std::chrono::microseconds median(std::vector<std::chrono::microseconds> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

VantageCycle summarize(const std::string& agent, std::optional<int64_t> asn,
                       const CycleResult& cycle) {
  VantageCycle summary;
  summary.domain = cycle.domain;
  summary.agent = agent;
  summary.asn = asn;
  summary.started_at = cycle.started_at;
  summary.verdict = cycle.reading.verdict;
  summary.latency = cycle.duration;
  for (const auto& result : cycle.results) {
    if (result.check == Check::Https && result.ok() && result.timings.total) {
      summary.latency = *result.timings.total;
    }
    if (!result.ok()) {
      summary.failures.push_back({result.check, result.target, result.failure});
    }
  }
  return summary;
}

void Correlator::update_vantage(VantageTrack& track, VantageCycle cycle) const {
  const Verdict raw = cycle.verdict;
  track.recent.push_back(std::move(cycle));
  if (track.recent.size() > kRecentCycles) {
    track.recent.pop_front();
  }
  if (raw == Verdict::VantageIsolated || track.effective == Verdict::VantageIsolated) {
    track.effective = raw;
  } else if (raw != track.effective) {
    const int needed = raw == Verdict::Ok ? config_.exit_after : config_.enter_after;
    int agreeing = 0;
    for (auto it = track.recent.rbegin(); it != track.recent.rend() && it->verdict == raw; ++it) {
      ++agreeing;
    }
    if (agreeing >= needed) {
      track.effective = raw;
    }
  }
  track.degraded = track.effective == Verdict::Ok && is_degraded(track);
}

// Slow against its own baseline for `enter_after` cycles in a row, or flapping.
bool Correlator::is_degraded(const VantageTrack& track) const {
  const size_t window = static_cast<size_t>(std::max(1, config_.enter_after));
  if (track.recent.size() >= kBaselineMinimum + window) {
    std::vector<std::chrono::microseconds> baseline;
    for (size_t i = 0; i + window < track.recent.size(); ++i) {
      if (track.recent[i].verdict == Verdict::Ok) {
        baseline.push_back(track.recent[i].latency);
      }
    }
    if (baseline.size() >= kBaselineMinimum) {
      const auto typical = median(baseline);
      const auto limit = std::max(
          std::chrono::duration_cast<std::chrono::microseconds>(typical * config_.degraded_factor),
          typical + std::chrono::duration_cast<std::chrono::microseconds>(config_.degraded_floor));
      const bool slow =
          std::all_of(track.recent.end() - static_cast<long>(window), track.recent.end(),
                      [&](const VantageCycle& cycle) { return cycle.latency > limit; });
      if (slow) {
        return true;
      }
    }
  }
  int changes = 0;
  const size_t start = track.recent.size() > kFlapWindow ? track.recent.size() - kFlapWindow : 0;
  for (size_t i = start + 1; i < track.recent.size(); ++i) {
    changes += track.recent[i].verdict != track.recent[i - 1].verdict ? 1 : 0;
  }
  return changes >= kFlapChanges;
}

DomainState Correlator::evaluate(const std::string& name, const Domain& domain,
                                 CorrelationTime now) const {
  DomainState state;
  state.domain = name;
  std::vector<std::pair<const std::string*, const VantageTrack*>> healthy;
  for (const auto& [agent, track] : domain.vantages) {
    if (track.recent.empty() || track.recent.back().started_at < now - config_.freshness) {
      continue;
    }
    ++state.reporting;
    if (track.effective == Verdict::VantageIsolated) {
      state.isolated_vantages.push_back(agent);
      continue;
    }
    healthy.emplace_back(&agent, &track);
  }
  state.healthy = static_cast<int>(healthy.size());
  if (state.healthy < config_.min_vantages) {
    state.verdict = Verdict::Unknown;
    return state;
  }

  std::map<Verdict, int> votes;
  std::vector<std::pair<const std::string*, const VantageTrack*>> failing, degraded;
  for (const auto& entry : healthy) {
    if (is_failing(entry.second->effective)) {
      failing.push_back(entry);
      ++votes[entry.second->effective];
    } else if (entry.second->degraded) {
      degraded.push_back(entry);
    }
  }
  state.failing = static_cast<int>(failing.size());
  const double needed = config_.quorum * state.healthy;

  std::vector<std::pair<const std::string*, const VantageTrack*>> agreeing;
  if (!failing.empty()) {
    state.verdict = std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second < b.second
                                                  : severity_rank(a.first) > severity_rank(b.first);
                    })->first;
    for (const auto& entry : failing) {
      if (entry.second->effective == state.verdict) {
        agreeing.push_back(entry);
      }
    }
  } else if (!degraded.empty() && static_cast<double>(degraded.size()) >= needed) {
    state.verdict = Verdict::Degraded;
    agreeing = degraded;
  } else {
    state.verdict = Verdict::Ok;
    return state;
  }

  std::set<int64_t> asns;
  for (const auto& [agent, track] : agreeing) {
    state.affected_vantages.push_back(*agent);
    asns.insert(track->recent.back().asn.value_or(0));
  }
  state.affected_asns.assign(asns.begin(), asns.end());
  const bool quorum = static_cast<double>(agreeing.size()) >= needed;
  state.scope = quorum && asns.size() > 1 ? "global" : "partial";

  // Evidence: the same failed probe seen from several vantages is one line naming them all.
  std::map<std::tuple<Check, std::string, Failure>,
           std::pair<std::set<std::string>, std::set<int64_t>>>
      seen;
  for (const auto& [agent, track] : agreeing) {
    for (const auto& failure : track->recent.back().failures) {
      auto& [vantages, failure_asns] = seen[{failure.check, failure.target, failure.failure}];
      vantages.insert(*agent);
      failure_asns.insert(track->recent.back().asn.value_or(0));
    }
  }
  std::vector<std::pair<size_t, std::string>> lines;
  for (const auto& [key, who] : seen) {
    const auto& [check, target, failure] = key;
    lines.emplace_back(who.first.size(),
                       fmt::format("{} {} {} from {} vantage{} in {}", to_string(check), target,
                                   to_string(failure), who.first.size(),
                                   who.first.size() == 1 ? "" : "s", asn_list(who.second)));
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < lines.size() && i < kMaxEvidenceLines; ++i) {
    state.evidence.push_back(lines[i].second);
  }
  if (state.verdict == Verdict::Degraded && state.evidence.empty()) {
    state.evidence.push_back(
        fmt::format("slower than their own baseline or flapping: {} of {} "
                    "healthy vantages",
                    agreeing.size(), state.healthy));
  }
  return state;
}

std::optional<VerdictChange> Correlator::settle(Domain& domain, DomainState next,
                                                CorrelationTime now) {
  const DomainState& current = domain.state;
  const auto same = [](const DomainState& a, const DomainState& b) {
    return a.verdict == b.verdict && a.scope == b.scope;
  };
  if (same(next, current)) {
    next.since = current.since == CorrelationTime{} ? now : current.since;
    domain.state = std::move(next);
    domain.pending.reset();
    return std::nullopt;
  }
  CorrelationTime since = now;
  const bool complete = next.verdict == Verdict::Ok || next.scope == "global";
  if (!complete) {
    if (!domain.pending || !same(*domain.pending, next)) {
      domain.pending_since = now;
    }
    domain.pending = next;
    if (now - domain.pending_since < config_.settle) {
      return std::nullopt;
    }
    since = domain.pending_since;
  }
  domain.pending.reset();
  next.since = since;
  VerdictChange change{current, next};
  domain.state = std::move(next);
  return change;
}

bool Correlator::take(Domain& domain, const std::string& name, VantageCycle cycle,
                      CorrelationTime now) {
  if (domain.state.domain.empty()) {
    domain.state.domain = name;
    domain.state.since = now;
  }
  auto& track = domain.vantages[cycle.agent];
  if (!track.recent.empty() && cycle.started_at <= track.recent.back().started_at) {
    return false;
  }
  update_vantage(track, std::move(cycle));
  return true;
}

std::optional<VerdictChange> Correlator::observe(const std::string& name, VantageCycle cycle,
                                                 CorrelationTime now) {
  auto& domain = domains_[name];
  if (!take(domain, name, std::move(cycle), now)) {
    return std::nullopt;
  }
  return settle(domain, evaluate(name, domain, now), now);
}

void Correlator::record(const std::string& name, VantageCycle cycle) {
  auto& domain = domains_[name];
  // The domain's first `since` is only a placeholder until evaluate_pending() decides it.
  if (take(domain, name, std::move(cycle), std::chrono::system_clock::now())) {
    pending_.insert(name);
  }
}

std::vector<VerdictChange> Correlator::evaluate_pending(CorrelationTime now) {
  std::vector<VerdictChange> changes;
  for (const auto& name : pending_) {
    auto& domain = domains_[name];
    if (auto change = settle(domain, evaluate(name, domain, now), now)) {
      changes.push_back(std::move(*change));
    }
  }
  pending_.clear();
  return changes;
}

std::vector<VerdictChange> Correlator::expire(CorrelationTime now) {
  std::vector<VerdictChange> changes;
  for (auto& [name, domain] : domains_) {
    if (auto change = settle(domain, evaluate(name, domain, now), now)) {
      changes.push_back(std::move(*change));
    }
  }
  return changes;
}

void Correlator::restore(const DomainState& state) {
  auto& domain = domains_[state.domain];
  domain.state = state;
}

std::vector<VantageView> Correlator::vantages(const std::string& name, CorrelationTime now) const {
  std::vector<VantageView> views;
  const auto found = domains_.find(name);
  if (found == domains_.end()) {
    return views;
  }
  for (const auto& [agent, track] : found->second.vantages) {
    if (track.recent.empty()) {
      continue;
    }
    const VantageCycle& latest = track.recent.back();
    views.push_back(VantageView{.agent = agent,
                                .asn = latest.asn,
                                .effective = track.effective,
                                .latest = latest.verdict,
                                .degraded = track.degraded,
                                .fresh = latest.started_at >= now - config_.freshness,
                                .latest_at = latest.started_at,
                                .latency = latest.latency,
                                .failures = latest.failures});
  }
  return views;
}

std::vector<DomainState> Correlator::states() const {
  std::vector<DomainState> all;
  for (const auto& [name, domain] : domains_) {
    all.push_back(domain.state);
  }
  return all;
}

std::optional<DomainState> Correlator::state(const std::string& name) const {
  const auto found = domains_.find(name);
  if (found == domains_.end()) {
    return std::nullopt;
  }
  return found->second.state;
}

std::map<std::string, Verdict> Correlator::vantage_readings(const std::string& name) const {
  std::map<std::string, Verdict> readings;
  const auto found = domains_.find(name);
  if (found != domains_.end()) {
    for (const auto& [agent, track] : found->second.vantages) {
      readings[agent] = track.effective;
    }
  }
  return readings;
}

}  // namespace vantage
