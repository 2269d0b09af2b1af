#include "correlation.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

#include "expiry_merge.hh"
#include "result_json.hh"
#include "routed_prefix.hh"

namespace vantage {
namespace {

constexpr size_t kRecentCycles = 20;
constexpr size_t kBaselineMinimum = 5;
constexpr size_t kFlapWindow = 10;
constexpr int kFlapChanges = 4;
constexpr size_t kMaxEvidenceLines = 12;
// An agent's interval is the median of its latest spacings; fewer than kMinSpacings tell too
// little (a restarted agent's first cycle comes at a random offset into its interval).
constexpr size_t kPaceSpacings = 16;
constexpr size_t kMinSpacings = 3;
// Vantages with neither an ASN nor a source address all count as this one network.
constexpr std::string_view kUnknownNetwork = "unknown network";

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

std::string network_list(const std::set<std::string>& networks) {
  std::string text;
  for (const auto& network : networks) {
    text += text.empty() ? "" : ", ";
    text += network.empty() ? kUnknownNetwork : network;
  }
  return text;
}

std::string network_of(const VantageCycle& cycle) {
  return cycle.network.empty() && cycle.asn ? network_name(cycle.asn, "") : cycle.network;
}

// Does `word` occur in `text` from `from` on, not as part of a longer word?
bool contains_word(std::string_view text, std::string_view word, size_t from) {
  const auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (auto at = text.find(word, from); at != std::string_view::npos;
       at = text.find(word, at + 1)) {
    const size_t end = at + word.size();
    if ((at == 0 || !is_word(text[at - 1])) && (end == text.size() || !is_word(text[end]))) {
      return true;
    }
  }
  return false;
}

// The failed probe an evidence line describes: the agent writes "CHECK TARGET …: FAILURE (…)"
// (probes' describe()); matched by its parts so that a later wording still matches.
std::optional<ProbeFailure> described_probe(std::string_view line,
                                            const std::vector<ProbeFailure>& failures) {
  for (const auto& failure : failures) {
    const std::string head = fmt::format("{} {}", to_string(failure.check), failure.target);
    if (line.substr(0, head.size()) != head ||
        (line.size() > head.size() && line[head.size()] != ' ' && line[head.size()] != ':')) {
      continue;
    }
    if (contains_word(line, to_string(failure.failure), head.size())) {
      return failure;
    }
  }
  return std::nullopt;
}

std::chrono::microseconds median(std::vector<std::chrono::microseconds> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The median spacing: a skipped cycle (spacing 2x) or a restart (a shorter one) does not move
// it. None while there are too few to tell.
std::optional<std::chrono::milliseconds> median_spacing(
    const std::deque<std::chrono::milliseconds>& spacings) {
  if (spacings.size() < kMinSpacings) {
    return std::nullopt;
  }
  std::vector<std::chrono::milliseconds> sorted(spacings.begin(), spacings.end());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(sorted.size() / 2),
                   sorted.end());
  return sorted[sorted.size() / 2];
}

}  // namespace

std::string network_name(std::optional<int64_t> asn, std::string_view address) {
  if (asn) {
    return fmt::format("AS{}", *asn);
  }
  const auto prefix = RoutedPrefix::covering(address);
  return prefix ? prefix->to_string() : std::string();
}

namespace {

void keep_earliest(std::optional<CorrelationTime>& earliest, std::optional<CorrelationTime> time) {
  if (time && (!earliest || *time < *earliest)) {
    earliest = time;
  }
}

// Adds one probe to the cycle's timings. `https_ok`: the HTTPS phases kept are a successful
// probe's already.
void note_timing(ProbeTimings& timings, const ProbeResult& result, bool& https_ok) {
  CheckTiming& check = timings.checks[static_cast<size_t>(result.check)];
  check.ran = true;
  check.ok = check.ok && result.ok();
  check.slowest =
      std::max(check.slowest, result.timings.total.value_or(std::chrono::microseconds(0)));
  if (result.check == Check::DnsAuthoritative && result.dns) {
    for (const auto& signature : result.dns->signatures) {
      keep_earliest(timings.signature_expiration, signature.expiration);
    }
  }
  if (!is_web_check(result.check)) {
    return;
  }
  if (!timings.https || (!https_ok && result.ok())) {
    timings.https = result.timings;
    https_ok = result.ok();
  }
  if (result.tls) {
    const auto leaf_not_after = parse_time(result.tls->not_after);
    keep_earliest(timings.cert_not_after, leaf_not_after);
    keep_earliest(timings.chain_not_after, leaf_not_after);
    keep_earliest(timings.chain_not_after, parse_time(result.tls->earliest_not_after));
  }
}

}  // namespace

VantageCycle summarize(const std::string& agent, std::optional<int64_t> asn,
                       const CycleResult& cycle) {
  VantageCycle summary;
  summary.domain = cycle.domain;
  summary.agent = agent;
  summary.asn = asn;
  summary.started_at = cycle.started_at;
  summary.duration = cycle.duration;
  summary.verdict = cycle.reading.verdict;
  summary.latency = cycle.duration;
  summary.expiring = cycle.reading.expiring;
  bool https_ok = false;
  // What a user waits for: the web request, or for a tcp target (no request) the connect.
  const bool has_request = std::any_of(cycle.results.begin(), cycle.results.end(),
                                       [](const ProbeResult& r) { return is_web_check(r.check); });
  for (const auto& result : cycle.results) {
    const bool user_facing = has_request ? is_web_check(result.check) : result.check == Check::Tcp;
    if (user_facing && result.ok() && result.timings.total) {
      summary.latency = *result.timings.total;
    }
    if (!result.ok()) {
      summary.failures.push_back({result.check, result.target, result.failure});
    }
    note_timing(summary.timings, result, https_ok);
  }
  for (const auto& line : cycle.reading.evidence) {
    summary.evidence.push_back({line, described_probe(line, summary.failures)});
  }
  // The probes the reading names (the deciding one first) lead its list of failures too.
  const auto rank = [&](const ProbeFailure& failure) {
    const auto named =
        std::find_if(summary.evidence.begin(), summary.evidence.end(),
                     [&](const EvidenceLine& line) { return line.probe == failure; });
    return named - summary.evidence.begin();
  };
  std::stable_sort(summary.failures.begin(), summary.failures.end(),
                   [&](const ProbeFailure& a, const ProbeFailure& b) { return rank(a) < rank(b); });
  return summary;
}

// A vantage's first reading is not taken from its first cycle: it is established, like every
// change, by `enter_after` or `exit_after` cycles in a row. Until then the vantage reports but
// does not count. Starting from OK would show an OK that no cycle showed (a target down from the
// start read UNKNOWN -> OK -> SERVER_DOWN); taking the first cycle as it is would page on one odd
// cycle. Leaving isolation starts over the same way: what the vantage saw before is no guide.
void Correlator::update_vantage(VantageTrack& track, VantageCycle cycle) const {
  const Verdict raw = cycle.verdict;
  if (!track.recent.empty()) {
    // Only the latest cycle's probes and evidence are ever read: do not keep twenty of them.
    track.recent.back().failures = {};
    track.recent.back().evidence = {};
    track.recent.back().expiring = {};
  }
  track.recent.push_back(std::move(cycle));
  if (track.recent.size() > kRecentCycles) {
    track.recent.pop_front();
  }
  if (raw == Verdict::VantageIsolated) {
    track.effective = raw;
  } else {
    if (track.effective == Verdict::VantageIsolated) {
      track.effective.reset();
    }
    if (raw != track.effective) {
      const int needed = raw == Verdict::Ok ? config_.exit_after : config_.enter_after;
      int agreeing = 0;
      for (auto it = track.recent.rbegin(); it != track.recent.rend() && it->verdict == raw; ++it) {
        ++agreeing;
      }
      if (agreeing >= needed) {
        track.effective = raw;
      }
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

bool Correlator::is_fresh(CorrelationTime heard, const Pace& pace, CorrelationTime now) const {
  return heard >= now - freshness_of(pace);
}

void Correlator::stand(Domain& domain, const std::string& agent, const VantageTrack& track) {
  auto& standings = domain.standings;
  auto found = std::lower_bound(
      standings.begin(), standings.end(), agent,
      [](const Standing& standing, const std::string& name) { return *standing.agent < name; });
  if (found == standings.end() || *found->agent != agent) {
    found = standings.insert(found, Standing{});
    found->agent = &agent;
    found->track = &track;
  }
  found->pace = track.pace;
  found->heard = track.heard;
  found->effective = track.effective;
  found->degraded = track.degraded;
}

namespace {

// Where a line of domain evidence goes, in this order.
enum class Rank : uint8_t {
  Deciding,  // a probe a vantage's reading names before any other kind of line
  Proof,     // a line that is not a probe: what proves the network's part
  Backing,   // a probe a reading names after the proof
  Other,     // a probe that failed but no reading names: a warning, never the cause
};

// One line of domain evidence in the making, and who saw it.
struct Witnesses {
  Rank rank = Rank::Other;
  std::set<std::string> vantages;
  std::set<std::string> networks;
  size_t leading = 0;  // vantages whose reading names it first
  size_t naming = 0;   // vantages whose reading names it at its best rank
  size_t first_seen = 0;
};

std::string from_whom(const Witnesses& who) {
  return fmt::format("from {} vantage{} in {}", who.vantages.size(),
                     who.vantages.size() == 1 ? "" : "s", network_list(who.networks));
}

template <typename Key>
Witnesses& witnesses(std::map<Key, Witnesses>& map, const Key& key, size_t& order) {
  const auto [entry, added] = map.try_emplace(key);
  if (added) {
    entry->second.first_seen = order++;
  }
  return entry->second;
}

void named_at(Witnesses& who, Rank rank, bool first) {
  if (rank < who.rank) {
    who.rank = rank;
    who.naming = 0;
    who.leading = 0;
  }
  if (rank == who.rank) {
    ++who.naming;
    who.leading += first ? 1 : 0;
  }
}

// The agreeing vantages' evidence, as their readings order it: the probes that decided (the one
// most of them name first at the top), the lines that prove the network's part, the probes that
// back them, then every other probe that failed. The same probe or line from several vantages is
// one line naming how many and where. A vantage whose reading names no probe (an agent from
// before readings had evidence) adds its failed probes to the last group.
std::vector<std::string> domain_evidence(
    const std::vector<std::pair<const std::string*, const VantageCycle*>>& agreeing) {
  std::map<ProbeFailure, Witnesses> probes;
  std::map<std::string, Witnesses> proofs;
  size_t order = 0;
  for (const auto& [agent, cycle] : agreeing) {
    const std::string network = network_of(*cycle);
    bool deciding = true;
    std::set<ProbeFailure> named;
    for (const auto& line : cycle->evidence) {
      const bool first = &line == &cycle->evidence.front();
      if (!line.probe) {
        deciding = false;
        Witnesses& who = witnesses(proofs, line.text, order);
        named_at(who, Rank::Proof, first);
        who.vantages.insert(*agent);
        who.networks.insert(network);
      } else if (named.insert(*line.probe).second) {
        named_at(witnesses(probes, *line.probe, order), deciding ? Rank::Deciding : Rank::Backing,
                 first);
      }
    }
    for (const auto& failure : cycle->failures) {
      Witnesses& who = witnesses(probes, failure, order);
      who.vantages.insert(*agent);
      who.networks.insert(network);
    }
  }

  struct Line {
    const Witnesses* who;
    std::string text;
  };
  std::vector<Line> lines;
  lines.reserve(probes.size() + proofs.size());
  for (const auto& [probe, who] : probes) {
    lines.push_back({&who, fmt::format("{} {} {} {}", to_string(probe.check), probe.target,
                                       to_string(probe.failure), from_whom(who))});
  }
  for (const auto& [text, who] : proofs) {
    lines.push_back({&who, fmt::format("{} ({})", text, from_whom(who))});
  }
  std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    const auto key = [](const Line& line) {
      const Witnesses& who = *line.who;
      // Larger counts first, then the order the vantages named them in.
      return std::make_tuple(who.rank, -static_cast<int64_t>(who.leading),
                             -static_cast<int64_t>(who.naming),
                             -static_cast<int64_t>(who.vantages.size()), who.first_seen);
    };
    return key(a) < key(b);
  });
  std::vector<std::string> evidence;
  for (size_t i = 0; i < lines.size() && i < kMaxEvidenceLines; ++i) {
    evidence.push_back(std::move(lines[i].text));
  }
  return evidence;
}

}  // namespace

DomainState Correlator::evaluate(const std::string& name, const Domain& domain, CorrelationTime now,
                                 Uncounted& uncounted) const {
  DomainState state;
  state.domain = name;
  ExpiryMerge expiries;
  std::vector<const Standing*> healthy;
  for (const Standing& standing : domain.standings) {
    if (!is_fresh(standing.heard, *standing.pace, now)) {
      uncounted.stale.push_back(standing.agent);
      continue;
    }
    ++state.reporting;
    expiries.add(*standing.agent, standing.track->recent.back().expiring);
    if (standing.effective == Verdict::VantageIsolated) {
      uncounted.isolated.push_back(standing.agent);
      continue;
    }
    if (!standing.effective) {
      uncounted.establishing.push_back(standing.agent);
      continue;
    }
    healthy.push_back(&standing);
  }
  state.healthy = static_cast<int>(healthy.size());
  state.expiring = expiries.take();
  if (state.healthy < config_.min_vantages) {
    state.verdict = Verdict::Unknown;
    return state;
  }

  std::map<Verdict, int> votes;
  std::vector<const Standing*> failing, degraded;
  for (const Standing* standing : healthy) {
    const Verdict effective = *standing->effective;
    if (is_failing(effective)) {
      failing.push_back(standing);
      ++votes[effective];
    } else if (standing->degraded) {
      degraded.push_back(standing);
    }
  }
  state.failing = static_cast<int>(failing.size());
  const double needed = config_.quorum * state.healthy;

  std::vector<const Standing*> agreeing;
  if (!failing.empty()) {
    state.verdict = std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) {
                      return a.second != b.second ? a.second < b.second
                                                  : severity_rank(a.first) > severity_rank(b.first);
                    })->first;
    for (const Standing* standing : failing) {
      if (standing->effective == state.verdict) {
        agreeing.push_back(standing);
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
  std::set<std::string> networks;
  std::vector<std::pair<const std::string*, const VantageCycle*>> latest;
  for (const Standing* standing : agreeing) {
    const VantageCycle& cycle = standing->track->recent.back();
    state.affected_vantages.push_back(*standing->agent);
    asns.insert(cycle.asn.value_or(0));
    networks.insert(network_of(cycle));
    latest.emplace_back(standing->agent, &cycle);
  }
  state.affected_asns.assign(asns.begin(), asns.end());
  for (const auto& network : networks) {
    state.affected_networks.push_back(network.empty() ? std::string(kUnknownNetwork) : network);
  }
  // Global takes a quorum in more than one network: an ASN, or for vantages without one the /24
  // or /48 they connect from. Vantages of unknown network all count as one.
  const bool quorum = static_cast<double>(agreeing.size()) >= needed;
  state.scope = quorum && networks.size() > 1 ? Scope::Global : Scope::Partial;

  state.evidence = domain_evidence(latest);
  if (state.verdict == Verdict::Degraded && state.evidence.empty()) {
    state.evidence.push_back(
        fmt::format("slower than their own baseline or flapping: {} of {} "
                    "usable vantages",
                    agreeing.size(), state.healthy));
  }
  return state;
}

DomainState Correlator::named(const Domain& domain) {
  DomainState state = domain.state;
  if (domain.uncounted) {
    const auto names = [](const std::vector<const std::string*>& agents) {
      std::vector<std::string> out;
      out.reserve(agents.size());
      for (const std::string* agent : agents) {
        out.push_back(*agent);
      }
      return out;
    };
    state.isolated_vantages = names(domain.uncounted->isolated);
    state.establishing_vantages = names(domain.uncounted->establishing);
    state.stale_vantages = names(domain.uncounted->stale);
  }
  return state;
}

std::optional<VerdictChange> Correlator::settle(Domain& domain, DomainState next,
                                                Uncounted uncounted, CorrelationTime now) {
  // Expiry warnings stand beside the verdict and take no hysteresis: current even while a new
  // verdict waits out `settle`.
  domain.state.expiring = next.expiring;
  const DomainState& current = domain.state;
  const auto same = [](const DomainState& a, const DomainState& b) {
    return a.verdict == b.verdict && a.scope == b.scope;
  };
  if (same(next, current)) {
    next.since = current.since == CorrelationTime{} ? now : current.since;
    domain.state = std::move(next);
    domain.uncounted = std::move(uncounted);
    domain.pending.reset();
    return std::nullopt;
  }
  CorrelationTime since = now;
  const bool complete = next.verdict == Verdict::Ok || next.scope == Scope::Global;
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
  VerdictChange change{named(domain), {}};
  domain.state = std::move(next);
  domain.uncounted = std::move(uncounted);
  change.after = named(domain);
  return change;
}

std::optional<VerdictChange> Correlator::reevaluate(const std::string& name, Domain& domain,
                                                    CorrelationTime now) {
  Uncounted uncounted;
  DomainState next = evaluate(name, domain, now, uncounted);
  return settle(domain, std::move(next), std::move(uncounted), now);
}

bool Correlator::take(Domain& domain, const std::string& name, VantageCycle cycle,
                      CorrelationTime now) {
  if (domain.state.domain.empty()) {
    domain.state.domain = name;
    domain.state.since = now;
  }
  const auto entry = domain.vantages.try_emplace(cycle.agent).first;
  const std::string& agent = entry->first;
  VantageTrack& track = entry->second;
  Pace& pace = paces_[agent];
  track.pace = &pace;
  if (!track.recent.empty()) {
    if (cycle.started_at <= track.recent.back().started_at) {
      return false;
    }
    pace.spacings.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
        cycle.started_at - track.recent.back().started_at));
    if (pace.spacings.size() > kPaceSpacings) {
      pace.spacings.pop_front();
    }
    pace.derived = median_spacing(pace.spacings);
  }
  update_vantage(track, std::move(cycle));
  const VantageCycle& latest = track.recent.back();
  track.heard = latest.started_at + latest.duration;
  stand(domain, agent, track);
  return true;
}

void Correlator::report_interval(const std::string& agent, std::chrono::milliseconds interval) {
  paces_[agent].reported = interval;
}

std::optional<std::chrono::milliseconds> Correlator::interval_of(const std::string& agent) const {
  const auto found = paces_.find(agent);
  if (found == paces_.end()) {
    return std::nullopt;
  }
  const Pace& pace = found->second;
  return pace.reported ? pace.reported : pace.derived;
}

std::chrono::milliseconds Correlator::freshness_of(const std::string& agent) const {
  const auto found = paces_.find(agent);
  return found == paces_.end() ? config_.freshness : freshness_of(found->second);
}

std::chrono::milliseconds Correlator::freshness_of(const Pace& pace) const {
  const auto interval = pace.reported ? pace.reported : pace.derived;
  return interval ? std::min(config_.freshness, 2 * *interval) : config_.freshness;
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
    if (auto change = reevaluate(name, domain, now)) {
      changes.push_back(std::move(*change));
    }
  }
  pending_.clear();
  return changes;
}

std::vector<VerdictChange> Correlator::expire(CorrelationTime now) {
  std::vector<VerdictChange> changes;
  for (auto& [name, domain] : domains_) {
    if (auto change = reevaluate(name, domain, now)) {
      changes.push_back(std::move(*change));
    }
  }
  return changes;
}

void Correlator::restore(const DomainState& state) {
  auto& domain = domains_[state.domain];
  domain.state = state;
  domain.uncounted.reset();
}

void Correlator::forget(const std::string& domain) {
  domains_.erase(domain);
  pending_.erase(domain);
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
    std::vector<std::string> evidence;
    for (const auto& line : latest.evidence) {
      evidence.push_back(line.text);
    }
    views.push_back(VantageView{.agent = agent,
                                .asn = latest.asn,
                                .network = network_of(latest),
                                .effective = track.effective,
                                .latest = latest.verdict,
                                .degraded = track.degraded,
                                .fresh = is_fresh(track.heard, *track.pace, now),
                                .latest_at = latest.started_at,
                                .latency = latest.latency,
                                .failures = latest.failures,
                                .evidence = std::move(evidence),
                                .timings = latest.timings});
  }
  return views;
}

std::vector<DomainState> Correlator::states() const {
  std::vector<DomainState> all;
  for (const auto& [name, domain] : domains_) {
    all.push_back(named(domain));
  }
  return all;
}

std::optional<DomainState> Correlator::state(const std::string& name) const {
  const auto found = domains_.find(name);
  if (found == domains_.end()) {
    return std::nullopt;
  }
  return named(found->second);
}

}  // namespace vantage
