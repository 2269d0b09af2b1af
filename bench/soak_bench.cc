// vantage-soak-bench: a fleet's month of results through the collector's own Storage, in minutes.
// Simulated time runs in the past and never sleeps: every interval each agent stores one batch
// (one result per domain) and every simulated hour retention runs a whole pass with that hour as
// its clock, as the collector's retention thread would. On the way it keeps its own count of what
// every rollup must hold; at the end it checks that the store stayed within what retention allows
// and that rollups and uptime equal that count. Timings of the reads the collector serves are
// reported for day 1 and the last day, never asserted. bench/soak runs it; ctest storage_soak runs
// it at a coarser interval with --check.
//
//   vantage-soak-bench --agents 10 --domains 100 --days 30 --interval 10 --out report.md

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "correlation.hh"
#include "cycle_summary.hh"
#include "domain_state.hh"
#include "reading.hh"
#include "result_json.hh"
#include "rollup.hh"
#include "sample_cycle.hh"
#include "storage.hh"
#include "storage_retention.hh"
#include "vocabulary.hh"

namespace {

using vantage::Check;
using vantage::CheckLatencies;
using vantage::CycleResult;
using vantage::Failure;
using vantage::kTimedChecks;
using vantage::kVerdicts;
using vantage::Rollup;
using vantage::RollupFigures;
using vantage::RollupSpan;
using vantage::Storage;
using vantage::StoredResult;
using vantage::TimePoint;
using vantage::Verdict;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;
// Far more rows than any read here can return: "all of them".
constexpr size_t kNoLimit = 100'000'000;

TimePoint at(int64_t ms) {
  return TimePoint(milliseconds(ms));
}

int64_t ms_of(TimePoint time) {
  return std::chrono::duration_cast<milliseconds>(time.time_since_epoch()).count();
}

size_t index_of(Verdict verdict) {
  return static_cast<size_t>(verdict);
}

size_t index_of(Check check) {
  return static_cast<size_t>(check);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The 1, 5 and 15 minute load averages, "0.52 0.61 0.70"; "unknown" if unreadable.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  std::string five;
  std::string fifteen;
  if (!(in >> one >> five >> fifteen)) {
    return "unknown";
  }
  return one + " " + five + " " + fifteen;
}

// 4320000 -> "4,320,000": the report's counts are read by people.
std::string grouped(uint64_t value) {
  std::string digits = std::to_string(value);
  for (auto comma = static_cast<int64_t>(digits.size()) - 3; comma > 0; comma -= 3) {
    digits.insert(static_cast<size_t>(comma), ",");
  }
  return digits;
}

std::string megabytes(uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

double share(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

struct SoakOptions {
  int agents = 10;
  int domains = 100;
  int days = 30;
  int interval_minutes = 10;
  uint32_t seed = 20261128;
  std::string db;
  std::string out;
  bool check = false;
};

// Short enough that every rule prunes within a month, and as read_retention allows: evidence >=
// documents, results >= evidence, hourly rollups >= results and >= 7 d, daily >= hourly and >= 90
// d. Daily rollups outlive the soak, so all of them must still be there at the end.
vantage::RetentionConfig soak_retention() {
  vantage::RetentionConfig config;
  config.documents = 1 * vantage::RetentionConfig::kDay;
  config.evidence = 3 * vantage::RetentionConfig::kDay;
  config.results = 7 * vantage::RetentionConfig::kDay;
  config.hourly_rollups = 7 * vantage::RetentionConfig::kDay;
  config.daily_rollups = 90 * vantage::RetentionConfig::kDay;
  config.verdict_changes = 400 * vantage::RetentionConfig::kDay;
  config.alerts = 400 * vantage::RetentionConfig::kDay;
  return config;
}

// The fleet's names, and the way back from a stored name to its number.
class Fleet {
 public:
  Fleet(int agents, int domains) {
    for (int i = 0; i < agents; ++i) {
      agents_.push_back(fmt::format("soak-agent-{:02}", i + 1));
      agent_index_.emplace(agents_.back(), i);
    }
    for (int i = 0; i < domains; ++i) {
      domains_.push_back(fmt::format("d{:03}.soak.example", i));
      domain_index_.emplace(domains_.back(), i);
    }
  }
  int agents() const { return static_cast<int>(agents_.size()); }
  int domains() const { return static_cast<int>(domains_.size()); }
  const std::string& agent(int index) const { return agents_.at(static_cast<size_t>(index)); }
  const std::string& domain(int index) const { return domains_.at(static_cast<size_t>(index)); }
  // -1 for a name the soak never wrote.
  int agent_index(const std::string& name) const { return find(agent_index_, name); }
  int domain_index(const std::string& name) const { return find(domain_index_, name); }

 private:
  static int find(const std::unordered_map<std::string, int>& names, const std::string& name) {
    const auto found = names.find(name);
    return found == names.end() ? -1 : found->second;
  }
  std::vector<std::string> agents_;
  std::vector<std::string> domains_;
  std::unordered_map<std::string, int> agent_index_;
  std::unordered_map<std::string, int> domain_index_;
};

// ---------------------------------------------------------------------------------------------
// What happens: outages, slow spells and isolated vantages, planned a day at a time.

struct Episode {
  int domain = -1;  // -1: the vantage `agent` is isolated, for every domain
  int agent = -1;
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // exclusive
  Verdict verdict = Verdict::Ok;
  std::vector<bool> seen_by;  // per agent, for a domain's episode
};

// Per day: kOutages domains down for some or all vantages, kSlowSpells domains DEGRADED for some
// or all, up to kIsolations vantages cut off, each for 30 to 120 minutes; and 1 % of all other
// cycles DEGRADED on their own. About 97 % of the cycles read OK.
constexpr std::pair<int, int> kOutages{6, 12};
constexpr std::pair<int, int> kSlowSpells{10, 20};
constexpr std::pair<int, int> kIsolations{0, 2};
constexpr std::pair<int, int> kEpisodeMinutes{30, 120};
constexpr double kStrayDegraded = 0.01;
constexpr std::array kOutageVerdicts = {Verdict::ServerDown, Verdict::DnsFailure,
                                        Verdict::RouteLoss, Verdict::TlsFailure};

class Scenario {
 public:
  Scenario(const Fleet& fleet, std::mt19937& random) : fleet_(fleet), random_(random) {}

  // Replaces the episodes with those of the day starting at `day_start_ms`; each ends within it.
  void plan_day(int64_t day_start_ms) {
    episodes_.clear();
    std::vector<int> domains(static_cast<size_t>(fleet_.domains()));
    for (size_t i = 0; i < domains.size(); ++i) {
      domains[i] = static_cast<int>(i);
    }
    // Distinct domains, so that a domain's verdict changes never interleave.
    std::shuffle(domains.begin(), domains.end(), random_);
    size_t next = 0;
    const int outages = draw(kOutages);
    for (int i = 0; i < outages && next < domains.size(); ++i, ++next) {
      plan_domain_episode(domains[next], day_start_ms, outage_verdict());
    }
    const int slow = draw(kSlowSpells);
    for (int i = 0; i < slow && next < domains.size(); ++i, ++next) {
      plan_domain_episode(domains[next], day_start_ms, Verdict::Degraded);
    }
    const int isolations = draw(kIsolations);
    for (int i = 0; i < isolations; ++i) {
      Episode episode = timed_episode(day_start_ms);
      episode.agent = draw({0, fleet_.agents() - 1});
      episode.verdict = Verdict::VantageIsolated;
      episodes_.push_back(std::move(episode));
    }
  }

  // What `agent` reads for `domain` at `at_ms`: its isolation first, then the domain's episode,
  // then a stray slow cycle.
  Verdict verdict_of(int agent, int domain, int64_t at_ms) {
    const Episode* found = nullptr;
    for (const Episode& episode : episodes_) {
      if (at_ms < episode.start_ms || at_ms >= episode.end_ms) {
        continue;
      }
      if (episode.domain < 0 && episode.agent == agent) {
        return Verdict::VantageIsolated;
      }
      if (episode.domain == domain && episode.seen_by[static_cast<size_t>(agent)]) {
        found = &episode;
      }
    }
    if (found != nullptr) {
      return found->verdict;
    }
    return std::bernoulli_distribution(kStrayDegraded)(random_) ? Verdict::Degraded : Verdict::Ok;
  }

  // The domain verdict changes of the planned episodes (start and end of each) due at `now_ms`
  // or before, oldest first, each handed out once.
  std::vector<vantage::VerdictRecord> changes_due(int64_t now_ms) {
    std::vector<vantage::VerdictRecord> due;
    std::sort(pending_.begin(), pending_.end(),
              [](const auto& a, const auto& b) { return a.changed_at < b.changed_at; });
    const auto first_later = std::find_if(
        pending_.begin(), pending_.end(),
        [&](const vantage::VerdictRecord& change) { return ms_of(change.changed_at) > now_ms; });
    due.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(first_later));
    pending_.erase(pending_.begin(), first_later);
    return due;
  }

 private:
  int draw(std::pair<int, int> range) {
    return std::uniform_int_distribution<int>(range.first, range.second)(random_);
  }

  Verdict outage_verdict() {
    return kOutageVerdicts[static_cast<size_t>(draw({0, kOutageVerdicts.size() - 1}))];
  }

  // Starts on a whole minute of the day and ends within it.
  Episode timed_episode(int64_t day_start_ms) {
    Episode episode;
    const int minutes = draw(kEpisodeMinutes);
    const int latest_start = 24 * 60 - kEpisodeMinutes.second;
    episode.start_ms = day_start_ms + draw({0, latest_start}) * kMinuteMs;
    episode.end_ms = episode.start_ms + minutes * kMinuteMs;
    return episode;
  }

  // Half the episodes are seen by every vantage, half by some of them (at least one).
  std::vector<bool> who_sees() {
    const auto agents = static_cast<size_t>(fleet_.agents());
    std::vector<bool> seen(agents, true);
    if (agents < 2 || draw({0, 1}) == 0) {
      return seen;
    }
    const auto blind = static_cast<size_t>(draw({1, fleet_.agents() - 1}));
    std::vector<size_t> order(agents);
    for (size_t i = 0; i < agents; ++i) {
      order[i] = i;
    }
    std::shuffle(order.begin(), order.end(), random_);
    for (size_t i = 0; i < blind; ++i) {
      seen[order[i]] = false;
    }
    return seen;
  }

  void plan_domain_episode(int domain, int64_t day_start_ms, Verdict verdict) {
    Episode episode = timed_episode(day_start_ms);
    episode.domain = domain;
    episode.verdict = verdict;
    episode.seen_by = who_sees();
    queue_changes(episode);
    episodes_.push_back(std::move(episode));
  }

  // As correlation would record them: the domain turns to the episode's verdict at its start
  // (global when every vantage sees it) and back to OK at its end.
  void queue_changes(const Episode& episode) {
    vantage::DomainState state;
    state.domain = fleet_.domain(episode.domain);
    state.reporting = fleet_.agents();
    state.healthy = fleet_.agents();
    for (int agent = 0; agent < fleet_.agents(); ++agent) {
      if (episode.seen_by[static_cast<size_t>(agent)]) {
        state.affected_vantages.push_back(fleet_.agent(agent));
      }
    }
    state.failing = static_cast<int>(state.affected_vantages.size());
    const bool everyone = state.failing == fleet_.agents();
    state.verdict = episode.verdict;
    state.scope = everyone ? vantage::Scope::Global : vantage::Scope::Partial;
    state.since = at(episode.start_ms);
    state.evidence.push_back(fmt::format("{} from {} of {} vantages",
                                         vantage::to_string(episode.verdict), state.failing,
                                         fleet_.agents()));
    pending_.push_back(vantage::VerdictRecord{.domain = state.domain,
                                              .changed_at = state.since,
                                              .verdict = state.verdict,
                                              .scope = state.scope,
                                              .previous_verdict = Verdict::Ok,
                                              .state = state});
    vantage::DomainState back = state;
    back.verdict = Verdict::Ok;
    back.scope = vantage::Scope::None;
    back.since = at(episode.end_ms);
    back.failing = 0;
    back.affected_vantages.clear();
    back.evidence.clear();
    pending_.push_back(vantage::VerdictRecord{.domain = back.domain,
                                              .changed_at = back.since,
                                              .verdict = Verdict::Ok,
                                              .scope = vantage::Scope::None,
                                              .previous_verdict = episode.verdict,
                                              .state = back});
  }

  const Fleet& fleet_;
  std::mt19937& random_;
  std::vector<Episode> episodes_;
  std::vector<vantage::VerdictRecord> pending_;
};

// ---------------------------------------------------------------------------------------------
// The documents: the benchmarks' sample cycle, with this cycle's timings and failures.
//
// Building and dumping a cycle's JSON costs about 200 µs, more than storing it. So each (domain,
// verdict) is rendered once, with marker values where the timings go, and each result fills in
// its own start and timings: every document is the engine's JSON, and no two are the same.

struct PlausibleRange {
  int64_t low_us;
  int64_t high_us;
};

// Per timed check (Check order): what a cycle's slowest probe of it takes.
constexpr std::array<PlausibleRange, kTimedChecks> kHealthyLatency = {{
    {5'000, 40'000},    // DnsRecursive
    {8'000, 60'000},    // DnsParent
    {5'000, 50'000},    // DnsAuthoritative
    {10'000, 80'000},   // Tcp
    {50'000, 400'000},  // Https
}};
// A slow cycle: the page takes seconds.
constexpr PlausibleRange kSlowHttps{800'000, 3'000'000};

// Value i of a template is written as kMarkerBase + i * kMarkerStep microseconds: ten digits,
// far above any timing a cycle holds, so that no real number is taken for one.
constexpr int64_t kMarkerBase = 9'100'000'000;
constexpr int64_t kMarkerStep = 1'000;
// The start a template is rendered with: 2000-01-01T00:00:00.123Z.
constexpr int64_t kMarkerTimeMs = 946'684'800'123;

int64_t marker(size_t value) {
  return kMarkerBase + static_cast<int64_t>(value) * kMarkerStep;
}

// Text with holes: the pieces between the markers, and which value fills each hole.
class TextTemplate {
 public:
  TextTemplate() = default;
  // Cuts `text` at every marker of the values 0..values-1 and at every `time_marker` (if not "").
  TextTemplate(const std::string& text, size_t values, const std::string& time_marker) {
    std::vector<std::string> needles;
    for (size_t value = 0; value < values; ++value) {
      needles.push_back(std::to_string(marker(value)));
    }
    if (!time_marker.empty()) {
      needles.push_back(time_marker);
    }
    size_t from = 0;
    // Each round consumes one hole: at most one round per character.
    for (size_t round = 0; round <= text.size(); ++round) {
      size_t nearest = std::string::npos;
      size_t which = 0;
      for (size_t n = 0; n < needles.size(); ++n) {
        const size_t found = text.find(needles[n], from);
        if (found < nearest) {
          nearest = found;
          which = n;
        }
      }
      if (nearest == std::string::npos) {
        break;
      }
      pieces_.push_back(text.substr(from, nearest - from));
      holes_.push_back(which < values ? static_cast<int>(which) : kTimeHole);
      from = nearest + needles[which].size();
    }
    pieces_.push_back(text.substr(from));
  }

  void fill(std::string& out, std::string_view time, const std::vector<int64_t>& values) const {
    out.clear();
    for (size_t i = 0; i < holes_.size(); ++i) {
      out += pieces_[i];
      if (holes_[i] == kTimeHole) {
        out += time;
      } else {
        out += std::to_string(values.at(static_cast<size_t>(holes_[i])));
      }
    }
    out += pieces_.back();
  }

 private:
  static constexpr int kTimeHole = -1;
  std::vector<std::string> pieces_;  // one more than holes_
  std::vector<int> holes_;           // the value that fills each hole, or kTimeHole
};

// One (domain, verdict): its document and summary with holes, and where the values come from.
// Value 0 is the cycle's duration; value 1 + i the time of probe i, when it succeeded.
struct CycleTemplate {
  TextTemplate document;
  TextTemplate summary;
  std::vector<Check> probe_checks;  // per probe
  std::vector<bool> timed;          // per probe: succeeded, and of a timed check
  int64_t waited_us = 0;            // what its failed probes add to the duration
};

struct MadeResult {
  std::string document;
  std::string summary;
  CheckLatencies latencies{};
};

class DocumentMaker {
 public:
  explicit DocumentMaker(const Fleet& fleet) : fleet_(fleet) {}

  // The cycle `agent` uploads for `domain`: timings drawn afresh, probes failed as `verdict`
  // says. Latencies, as the collector takes them from the document (the slowest successful probe
  // of each timed check), for OK and DEGRADED cycles only.
  MadeResult make(int domain, TimePoint started_at, Verdict verdict, std::mt19937& random) {
    const CycleTemplate& cycle = template_of(domain, verdict);
    const CheckLatencies drawn = draw_latencies(verdict == Verdict::Degraded, random);
    std::vector<int64_t> values(1 + cycle.probe_checks.size(), 0);
    values[0] = cycle.waited_us;
    std::array<bool, kTimedChecks> seen{};
    for (size_t check = 0; check < kTimedChecks; ++check) {
      values[0] += drawn[check]->count();
    }
    // The first probe of each check takes the drawn time, the others three quarters of it: the
    // drawn time is the check's slowest probe.
    for (size_t probe = 0; probe < cycle.probe_checks.size(); ++probe) {
      if (!cycle.timed[probe]) {
        continue;
      }
      const size_t check = index_of(cycle.probe_checks[probe]);
      const int64_t took = drawn[check]->count();
      values[1 + probe] = seen[check] ? took * 3 / 4 : took;
      seen[check] = true;
    }
    MadeResult made;
    cycle.document.fill(made.document, vantage::format_time(started_at), values);
    cycle.summary.fill(made.summary, "", values);
    if (verdict == Verdict::Ok || verdict == Verdict::Degraded) {
      made.latencies = drawn;
    }
    return made;
  }

 private:
  static CheckLatencies draw_latencies(bool slow, std::mt19937& random) {
    CheckLatencies latencies{};
    for (size_t check = 0; check < kTimedChecks; ++check) {
      PlausibleRange range = kHealthyLatency[check];
      if (slow && check == index_of(Check::Https)) {
        range = kSlowHttps;
      }
      latencies[check] =
          microseconds(std::uniform_int_distribution<int64_t>(range.low_us, range.high_us)(random));
    }
    return latencies;
  }

  const CycleTemplate& template_of(int domain, Verdict verdict) {
    const auto key = std::pair{domain, verdict};
    auto found = templates_.find(key);
    if (found == templates_.end()) {
      found = templates_.emplace(key, render(domain, verdict)).first;
    }
    return found->second;
  }

  CycleTemplate render(int domain, Verdict verdict) const {
    CycleResult cycle =
        vantage::bench::healthy_cycle(fleet_.domain(domain), at(kMarkerTimeMs), domain);
    if (verdict != Verdict::Ok && verdict != Verdict::Degraded) {
      fail_probes(cycle, verdict);
    }
    CycleTemplate shape;
    for (size_t probe = 0; probe < cycle.results.size(); ++probe) {
      vantage::ProbeResult& result = cycle.results[probe];
      shape.probe_checks.push_back(result.check);
      shape.timed.push_back(result.ok() && index_of(result.check) < kTimedChecks);
      if (!result.ok()) {
        shape.waited_us =
            std::max(shape.waited_us, result.timings.total.value_or(microseconds(0)).count());
        continue;
      }
      const microseconds hole(marker(1 + probe));
      result.timings.total = hole;
      if (result.check == Check::Tcp) {
        result.timings.connect = hole;
      } else if (result.check != Check::Https) {
        result.timings.resolve = hole;
      }
    }
    cycle.duration = microseconds(marker(0));
    cycle.reading = vantage::read_cycle(cycle);
    // The soak decides the reading; read_cycle supplies its summary and evidence lines.
    cycle.reading.verdict = verdict;
    const size_t values = 1 + cycle.results.size();
    shape.document = TextTemplate(vantage::to_json(cycle).dump(), values,
                                  vantage::format_time(at(kMarkerTimeMs)));
    shape.summary = TextTemplate(
        vantage::encode_summary(vantage::summarize("", std::nullopt, cycle)), values, "");
    return shape;
  }

  static void fail_probe(vantage::ProbeResult& probe, Failure failure, vantage::Phase phase,
                         vantage::NativeKind kind, int code, std::string detail) {
    probe.failure = failure;
    probe.phase = phase;
    probe.native_kind = kind;
    probe.native_code = code;
    probe.detail = std::move(detail);
    probe.http_status.reset();
    probe.tls.reset();
    probe.timings.first_byte.reset();
    if (failure == Failure::Timeout) {
      probe.timings.total = microseconds(5'000'000);
    }
  }

  // The probes a cycle of that verdict has failed, with what the engine would record of them.
  static void fail_probes(CycleResult& cycle, Verdict verdict) {
    using vantage::NativeKind;
    using vantage::Phase;
    for (vantage::ProbeResult& probe : cycle.results) {
      const bool web = probe.check == Check::Tcp || probe.check == Check::Https;
      switch (verdict) {
        case Verdict::ServerDown:
          if (web) {
            fail_probe(probe, Failure::ConnRefused, Phase::Connect, NativeKind::Errno, 111,
                       "Connection refused");
          }
          break;
        case Verdict::RouteLoss:
          if (web) {
            fail_probe(probe, Failure::Timeout, Phase::Connect, NativeKind::None, 0,
                       "no answer within 5 s");
          }
          break;
        case Verdict::DnsFailure:
          if (probe.check == Check::DnsRecursive) {
            fail_probe(probe, Failure::ServFail, Phase::Resolve, NativeKind::Rcode, 2, "SERVFAIL");
            probe.dns->rcode = 2;
            probe.dns->answers.clear();
          } else if (probe.check == Check::DnsAuthoritative) {
            fail_probe(probe, Failure::Timeout, Phase::Resolve, NativeKind::None, 0,
                       "no answer within 5 s");
            probe.dns.reset();
          }
          break;
        case Verdict::TlsFailure:
          if (probe.check == Check::Https) {
            fail_probe(probe, Failure::CertExpired, Phase::Tls, NativeKind::X509, 10,
                       "certificate has expired");
          }
          break;
        case Verdict::VantageIsolated:
          fail_probe(probe, Failure::NetUnreachable, Phase::Connect, NativeKind::Errno, 101,
                     "Network is unreachable");
          probe.dns.reset();
          break;
        default:
          break;
      }
    }
  }

  const Fleet& fleet_;
  std::map<std::pair<int, Verdict>, CycleTemplate> templates_;
};

// ---------------------------------------------------------------------------------------------
// The rollups as they must be: every result stored, counted by integer division of its start.

// Ordered by start first, so that forgetting old hours is one erase of a range.
struct TallyKey {
  int64_t start_ms = 0;
  int domain = 0;
  int agent = 0;
  bool operator<(const TallyKey& other) const {
    return std::tie(start_ms, domain, agent) < std::tie(other.start_ms, other.domain, other.agent);
  }
  bool operator==(const TallyKey&) const = default;
};

using TallyMap = std::map<TallyKey, RollupFigures>;

class RollupTally {
 public:
  void add(int domain, int agent, int64_t started_ms, Verdict verdict,
           const CheckLatencies& latencies) {
    add_to(hours_[TallyKey{started_ms - started_ms % kHourMs, domain, agent}], verdict, latencies);
    add_to(days_[TallyKey{started_ms - started_ms % kDayMs, domain, agent}], verdict, latencies);
  }

  // The hours before `ms` are never compared (they lie before the results' cutoff): let them go,
  // so that the count holds about a week of hours and not the whole soak.
  void forget_hours_before(int64_t ms) {
    hours_.erase(hours_.begin(), hours_.lower_bound(TallyKey{ms, -1, -1}));
  }

  const TallyMap& of(RollupSpan span) const { return span == RollupSpan::Hour ? hours_ : days_; }

 private:
  static void add_to(RollupFigures& figures, Verdict verdict, const CheckLatencies& latencies) {
    ++figures.verdicts[index_of(verdict)];
    for (size_t check = 0; check < kTimedChecks; ++check) {
      if (latencies[check]) {
        figures.latency[check].add(*latencies[check]);
      }
    }
  }

  TallyMap hours_;
  TallyMap days_;
};

// ---------------------------------------------------------------------------------------------
// Comparing what the store holds with what it must hold.

// How stored rollups differ from the expected ones, over the starts compared.
struct Comparison {
  size_t expected = 0;
  size_t missing = 0;     // expected, not stored
  size_t unexpected = 0;  // stored, not expected (or twice)
  size_t differing = 0;
  std::string first;  // the first difference found, in words
  bool ok() const { return missing + unexpected + differing == 0; }
  void note(std::string difference) {
    if (first.empty()) {
      first = std::move(difference);
    }
  }
};

std::string describe_key(const Fleet& fleet, const TallyKey& key, RollupSpan span) {
  return fmt::format("{} rollup of {} by {} from {}", vantage::to_string(span),
                     key.domain >= 0 ? fleet.domain(key.domain) : "?",
                     key.agent >= 0 ? fleet.agent(key.agent) : "?",
                     vantage::format_time(at(key.start_ms)));
}

std::string describe_counts(const RollupFigures& figures) {
  std::string text;
  for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
    if (figures.verdicts[verdict] > 0) {
      text +=
          fmt::format("{}{} {}", text.empty() ? "" : ", ",
                      vantage::to_string(static_cast<Verdict>(verdict)), figures.verdicts[verdict]);
    }
  }
  return text.empty() ? "no cycles" : text;
}

std::string describe_difference(const RollupFigures& stored, const RollupFigures& expected) {
  if (stored.verdicts != expected.verdicts) {
    return fmt::format("stored {}, expected {}", describe_counts(stored),
                       describe_counts(expected));
  }
  return fmt::format("same counts, latency stored \"{}\", expected \"{}\"", stored.encode_latency(),
                     expected.encode_latency());
}

// Compares the stored rollups whose start `compared` accepts with the expected ones of such
// starts: every key on both sides, and the figures (only the verdict counts if `verdicts_only`).
template <typename Compared>
Comparison compare_rollups(const Fleet& fleet, RollupSpan span, const TallyMap& expected,
                           const std::vector<Rollup>& stored, Compared compared,
                           bool verdicts_only) {
  Comparison comparison;
  std::set<TallyKey> matched;
  for (const Rollup& rollup : stored) {
    const TallyKey key{ms_of(rollup.key.start), fleet.domain_index(rollup.key.domain),
                       fleet.agent_index(rollup.key.agent)};
    if (rollup.key.span != span || !compared(key.start_ms)) {
      continue;
    }
    const auto found = expected.find(key);
    if (found == expected.end() || !matched.insert(key).second) {
      ++comparison.unexpected;
      comparison.note(fmt::format("unexpected {} ({} {}): {}", describe_key(fleet, key, span),
                                  rollup.key.domain, rollup.key.agent,
                                  describe_counts(rollup.figures)));
      continue;
    }
    const bool same = verdicts_only ? rollup.figures.verdicts == found->second.verdicts
                                    : rollup.figures == found->second;
    if (!same) {
      ++comparison.differing;
      comparison.note(fmt::format("{}: {}", describe_key(fleet, key, span),
                                  describe_difference(rollup.figures, found->second)));
    }
  }
  for (const auto& [key, figures] : expected) {
    if (!compared(key.start_ms)) {
      continue;
    }
    ++comparison.expected;
    if (!matched.contains(key)) {
      ++comparison.missing;
      comparison.note(fmt::format("missing {}: expected {}", describe_key(fleet, key, span),
                                  describe_counts(figures)));
    }
  }
  return comparison;
}

// What the result rows the store kept say, read back in full.
struct RowCensus {
  uint64_t rows = 0;
  uint64_t ok_rows = 0;
  uint64_t with_document = 0;
  uint64_t ok_with_document = 0;
  uint64_t foreign = 0;  // of an agent or domain the soak never wrote
  std::optional<int64_t> oldest_ms;
  TallyMap hours;  // verdict counts per hour, of the hours wholly within the compared window
};

void count_row(RowCensus& census, const Fleet& fleet, const StoredResult& row,
               int64_t hours_from_ms, int64_t now_ms) {
  const int64_t started = ms_of(row.started_at);
  const bool ok = row.verdict == vantage::to_string(Verdict::Ok);
  ++census.rows;
  census.ok_rows += ok ? 1 : 0;
  census.with_document += row.document.empty() ? 0 : 1;
  census.ok_with_document += ok && !row.document.empty() ? 1 : 0;
  census.oldest_ms = std::min(census.oldest_ms.value_or(started), started);
  const int64_t hour = started - started % kHourMs;
  const auto verdict = vantage::verdict_from_string(row.verdict);
  const int domain = fleet.domain_index(row.domain);
  const int agent = fleet.agent_index(row.agent);
  if (!verdict || domain < 0 || agent < 0) {
    ++census.foreign;
    return;
  }
  if (hour >= hours_from_ms && hour + kHourMs <= now_ms) {
    ++census.hours[TallyKey{hour, domain, agent}].verdicts[index_of(*verdict)];
  }
}

// Every row, read in chunks (each read resumes at the last start read, skipping the rows of that
// millisecond it had already), at most `bound` rows; verdicts counted per hour for the hours
// wholly within [hours_from, now).
RowCensus read_rows(Storage& storage, const Fleet& fleet, int64_t hours_from_ms, int64_t now_ms,
                    uint64_t bound) {
  constexpr size_t kChunk = 20'000;
  using RowKey = std::tuple<int64_t, std::string, uint64_t, uint64_t>;
  RowCensus census;
  TimePoint since = at(0);
  std::optional<RowKey> last;
  const uint64_t rounds = bound / (kChunk / 2) + 2;
  for (uint64_t round = 0; round < rounds; ++round) {
    const std::vector<StoredResult> chunk = storage.results("", "", since, kChunk);
    size_t fresh = 0;
    for (const StoredResult& row : chunk) {
      RowKey key{ms_of(row.started_at), row.agent, row.epoch, row.seq};
      if (last && key <= *last) {
        continue;
      }
      ++fresh;
      count_row(census, fleet, row, hours_from_ms, now_ms);
      last = std::move(key);
    }
    if (chunk.size() < kChunk) {
      return census;
    }
    if (fresh == 0) {
      throw std::runtime_error(fmt::format("reading the results: more than {} rows start at {}",
                                           kChunk, vantage::format_time(since)));
    }
    since = at(std::get<0>(*last));
  }
  throw std::runtime_error(fmt::format("reading the results: more than {} rows", bound));
}

// Uptime as rollup.hh defines it, counted from the tally: each window is whole rollups ending
// with the one holding `now` (24 and 168 hours, 30 and 90 UTC days); OK and DEGRADED are up,
// UNKNOWN and VANTAGE_ISOLATED neither, every other verdict down.
struct WindowShape {
  RollupSpan span;
  int64_t length_ms;
  int64_t rollups;
};

WindowShape shape_of(vantage::UptimeWindow window) {
  switch (window) {
    case vantage::UptimeWindow::Day:
      return {RollupSpan::Hour, kHourMs, 24};
    case vantage::UptimeWindow::Week:
      return {RollupSpan::Hour, kHourMs, int64_t{7} * 24};
    case vantage::UptimeWindow::Month:
      return {RollupSpan::Day, kDayMs, 30};
    case vantage::UptimeWindow::Quarter:
      return {RollupSpan::Day, kDayMs, 90};
  }
  throw std::logic_error("unknown uptime window");
}

void add_uptime(vantage::UptimeCounts& counts, const RollupFigures& figures) {
  for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
    const uint64_t cycles = figures.verdicts[verdict];
    switch (static_cast<Verdict>(verdict)) {
      case Verdict::Ok:
      case Verdict::Degraded:
        counts.up += cycles;
        break;
      case Verdict::Unknown:
      case Verdict::VantageIsolated:
        counts.inconclusive += cycles;
        break;
      default:
        counts.down += cycles;
        break;
    }
  }
}

std::map<std::string, vantage::DomainUptime> expected_uptime(const Fleet& fleet,
                                                             const RollupTally& tally,
                                                             int64_t now_ms) {
  std::map<std::string, vantage::DomainUptime> uptime;
  for (size_t w = 0; w < vantage::kUptimeWindows.size(); ++w) {
    const WindowShape shape = shape_of(vantage::kUptimeWindows[w]);
    const int64_t first = now_ms - now_ms % shape.length_ms - (shape.rollups - 1) * shape.length_ms;
    for (const auto& [key, figures] : tally.of(shape.span)) {
      if (key.start_ms < first || key.start_ms > now_ms) {
        continue;
      }
      vantage::DomainUptime& domain = uptime[fleet.domain(key.domain)];
      domain.domain = fleet.domain(key.domain);
      add_uptime(domain.windows[w], figures);
    }
  }
  return uptime;
}

std::string describe_uptime(const vantage::DomainUptime& uptime) {
  std::string text;
  for (size_t w = 0; w < vantage::kUptimeWindows.size(); ++w) {
    const vantage::UptimeCounts& counts = uptime.windows[w];
    text += fmt::format("{}{} up {} down {} inconclusive {}", text.empty() ? "" : "; ",
                        vantage::to_string(vantage::kUptimeWindows[w]), counts.up, counts.down,
                        counts.inconclusive);
  }
  return text;
}

Comparison compare_uptime(const std::map<std::string, vantage::DomainUptime>& expected,
                          const std::vector<vantage::DomainUptime>& stored) {
  Comparison comparison;
  comparison.expected = expected.size();
  std::set<std::string> seen;
  for (const vantage::DomainUptime& uptime : stored) {
    const auto found = expected.find(uptime.domain);
    if (found == expected.end() || !seen.insert(uptime.domain).second) {
      ++comparison.unexpected;
      comparison.note(
          fmt::format("unexpected domain {}: {}", uptime.domain, describe_uptime(uptime)));
    } else if (!(found->second == uptime)) {
      ++comparison.differing;
      comparison.note(fmt::format("{}: stored {}; expected {}", uptime.domain,
                                  describe_uptime(uptime), describe_uptime(found->second)));
    }
  }
  for (const auto& [domain, uptime] : expected) {
    if (!seen.contains(domain)) {
      ++comparison.missing;
      comparison.note(
          fmt::format("missing domain {}: expected {}", domain, describe_uptime(uptime)));
    }
  }
  return comparison;
}

std::string describe_comparison(const Comparison& comparison, std::string_view what) {
  if (comparison.ok()) {
    return fmt::format("{} {}, all equal", grouped(comparison.expected), what);
  }
  return fmt::format("{} {}: {} missing, {} unexpected, {} differ; first: {}",
                     grouped(comparison.expected), what, comparison.missing, comparison.unexpected,
                     comparison.differing, comparison.first);
}

// ---------------------------------------------------------------------------------------------
// The soak.

struct Property {
  std::string name;
  bool passed = false;
  std::string detail;
};

// The reads the collector serves, timed as the store grows.
struct Snapshot {
  int day = 0;
  uint64_t size_bytes = 0;
  uint64_t rows = 0;
  vantage::StorageStats stats;
  double store_us_per_result = 0;  // that day's store_results calls, per result stored
  double history_ms = 0;           // per domain
  double history_rows = 0;         // per domain
  double replay_ms = 0;
  size_t replay_rows = 0;
  double uptime_ms = 0;
  size_t uptime_domains = 0;
  double rollups_ms = 0;      // per domain
  double rollups_rows = 0;    // per domain
  std::string rollups_error;  // what the per-domain read threw, if it did
  double all_rollups_ms = 0;  // the same 24 hours of every domain in one read
  size_t all_rollups_rows = 0;
};

struct DayFigures {
  int day = 0;
  uint64_t rows = 0;
  uint64_t size_bytes = 0;
  double seconds = 0;  // since the soak started
};

// What the soak wrote, and where its time went.
struct Census {
  uint64_t results = 0;
  uint64_t stored = 0;
  std::array<uint64_t, kVerdicts> by_verdict{};
  uint64_t verdict_changes = 0;
  uint64_t batches_not_whole = 0;
  std::string first_batch_problem;
  uint64_t passes = 0;
  vantage::PruneCounts pruned;
  double make_s = 0;       // building documents and summaries
  double store_s = 0;      // in store_results
  double retention_s = 0;  // in run_pass, its rests after each batch included
  double measure_s = 0;
};

// The fastest of three runs: what the read costs, without a neighbour's noise.
template <typename Read>
double best_of_3_ms(Read read) {
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    const auto start = Clock::now();
    read();
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    best = run == 0 ? took : std::min(best, took);
  }
  return best;
}

class Soak {
 public:
  Soak(const SoakOptions& options, Storage& storage)
      : options_(options),
        storage_(storage),
        fleet_(options.agents, options.domains),
        random_(options.seed),
        scenario_(fleet_, random_),
        first_day_ms_(first_day(options.days)),
        end_ms_(first_day_ms_ + options.days * kDayMs),
        interval_ms_(options.interval_minutes * kMinuteMs),
        maker_(fleet_),
        retention_(storage, config_),
        next_tick_ms_(first_day_ms_),
        next_pass_ms_(first_day_ms_ + kHourMs),
        next_seq_(static_cast<size_t>(options.agents), 1) {}

  void run() {
    started_ = Clock::now();
    load_before_ = load_average();
    for (int day = 0; day < options_.days; ++day) {
      simulate_day(day);
    }
    load_after_ = load_average();
  }

  std::vector<Property> check();
  std::string report(const std::vector<Property>& properties, double wall_s) const;

 private:
  // A whole UTC day, `days` + 1 days before today's: every simulated time lies in the past.
  static int64_t first_day(int days) {
    const int64_t now = ms_of(std::chrono::system_clock::now());
    return now - now % kDayMs - (days + 1) * kDayMs;
  }

  // Agents spread their cycles over the first half of the interval, domain by domain; each of
  // (agent, domain) starts at a millisecond of its own within a tick.
  int64_t offset_ms(int agent, int domain) {
    const int64_t spread = interval_ms_ / 2 / options_.domains;
    return domain * spread + int64_t{agent} * 10 +
           std::uniform_int_distribution<int64_t>(0, 9)(random_);
  }

  void simulate_day(int day) {
    const int64_t day_start = first_day_ms_ + day * kDayMs;
    const int64_t day_end = day_start + kDayMs;
    const double store_s_before = census_.store_s;
    const uint64_t stored_before = census_.stored;
    scenario_.plan_day(day_start);
    for (; next_tick_ms_ < day_end; next_tick_ms_ += interval_ms_) {
      run_passes_until(next_tick_ms_);
      record_changes_due(next_tick_ms_);
      store_tick(next_tick_ms_);
    }
    run_passes_until(day_end);
    record_changes_due(day_end);
    tally_.forget_hours_before(day_end - 8 * kDayMs);
    const DayFigures figures{day + 1, storage_.count_results(), storage_.size_bytes(),
                             seconds_since(started_)};
    days_.push_back(figures);
    fmt::print(stderr, "soak: day {}/{}: {} rows, {}, {:.1f} s\n", figures.day, options_.days,
               grouped(figures.rows), megabytes(figures.size_bytes), figures.seconds);
    if (day == 0 || day == options_.days - 1) {
      Snapshot snapshot = measure(day + 1, day_end);
      const uint64_t stored = census_.stored - stored_before;
      snapshot.store_us_per_result =
          stored == 0 ? 0 : (census_.store_s - store_s_before) * 1e6 / static_cast<double>(stored);
      snapshots_.push_back(std::move(snapshot));
    }
  }

  // Retention's passes of every whole hour up to `ms`, each with its hour as the clock.
  void run_passes_until(int64_t ms) {
    for (; next_pass_ms_ <= ms; next_pass_ms_ += kHourMs) {
      const auto start = Clock::now();
      census_.pruned += retention_.run_pass(at(next_pass_ms_));
      census_.retention_s += seconds_since(start);
      ++census_.passes;
    }
  }

  void record_changes_due(int64_t ms) {
    for (const vantage::VerdictRecord& change : scenario_.changes_due(ms)) {
      storage_.record_verdict(change);
      ++census_.verdict_changes;
    }
  }

  // One batch per agent, one result per domain, as an agent uploads a cycle of all its targets.
  void store_tick(int64_t tick_ms) {
    std::vector<StoredResult> batch;
    batch.reserve(static_cast<size_t>(options_.domains));
    for (int agent = 0; agent < options_.agents; ++agent) {
      batch.clear();
      const auto make_start = Clock::now();
      for (int domain = 0; domain < options_.domains; ++domain) {
        batch.push_back(make_result(agent, domain, tick_ms + offset_ms(agent, domain)));
      }
      census_.make_s += seconds_since(make_start);
      const auto store_start = Clock::now();
      const vantage::StoreOutcome outcome = storage_.store_results(batch);
      census_.store_s += seconds_since(store_start);
      count_stored(batch, outcome);
    }
  }

  StoredResult make_result(int agent, int domain, int64_t started_ms) {
    const Verdict verdict = scenario_.verdict_of(agent, domain, started_ms);
    MadeResult made = maker_.make(domain, at(started_ms), verdict, random_);
    return StoredResult{.agent = fleet_.agent(agent),
                        .epoch = 1,
                        .seq = next_seq_[static_cast<size_t>(agent)]++,
                        .domain = fleet_.domain(domain),
                        .started_at = at(started_ms),
                        .verdict = std::string(vantage::to_string(verdict)),
                        .document = std::move(made.document),
                        .summary = std::move(made.summary),
                        .latencies = made.latencies};
  }

  // Into the tally goes what the store says it stored, and nothing else: a batch stored in part
  // is a failure of its own, and must not also turn up as rollups that differ.
  void count_stored(const std::vector<StoredResult>& batch, const vantage::StoreOutcome& outcome) {
    census_.results += batch.size();
    if (outcome.inserted != batch.size() && census_.batches_not_whole++ == 0) {
      census_.first_batch_problem = fmt::format(
          "batch of {} results of {} from {}: {} inserted, {} duplicates, {} conflicts",
          batch.size(), batch.front().agent, vantage::format_time(batch.front().started_at),
          outcome.inserted, outcome.duplicates, outcome.conflicts);
    }
    for (size_t i = 0; i < batch.size() && i < outcome.fates.size(); ++i) {
      if (outcome.fates[i] != vantage::StoreFate::Stored) {
        continue;
      }
      const StoredResult& result = batch[i];
      const Verdict verdict = *vantage::verdict_from_string(result.verdict);
      ++census_.stored;
      ++census_.by_verdict[index_of(verdict)];
      tally_.add(fleet_.domain_index(result.domain), fleet_.agent_index(result.agent),
                 ms_of(result.started_at), verdict, result.latencies);
    }
  }

  // Up to 20 domains spread over the list: the ones whose reads are timed.
  std::vector<std::string> timed_domains() const {
    const int count = std::min(20, options_.domains);
    std::vector<std::string> domains;
    domains.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      domains.push_back(fleet_.domain(i * options_.domains / count));
    }
    return domains;
  }

  Snapshot measure(int day, int64_t now_ms) {
    const auto start = Clock::now();
    Snapshot snapshot;
    snapshot.day = day;
    snapshot.size_bytes = storage_.size_bytes();
    snapshot.rows = storage_.count_results();
    snapshot.stats = storage_.stats(config_.cutoffs(at(now_ms)));
    const std::vector<std::string> domains = timed_domains();
    const auto per_domain = static_cast<double>(domains.size());
    size_t history_rows = 0;
    snapshot.history_ms =
        best_of_3_ms([&] {
          history_rows = 0;
          for (const std::string& domain : domains) {
            history_rows += storage_.verdict_history(domain, at(now_ms - kDayMs), 1000).size();
          }
        }) /
        per_domain;
    snapshot.history_rows = static_cast<double>(history_rows) / per_domain;
    // A restart replays the last 10 minutes; at a coarser interval those hold no cycle, so the
    // last interval: each vantage's latest cycle of each domain, what correlation resumes from.
    const int64_t replayed_ms = std::max(10 * kMinuteMs, interval_ms_);
    snapshot.replay_ms = best_of_3_ms([&] {
      snapshot.replay_rows = storage_.replay_results(at(now_ms - replayed_ms), 1'000'000).size();
    });
    snapshot.uptime_ms =
        best_of_3_ms([&] { snapshot.uptime_domains = storage_.uptime("", at(now_ms)).size(); });
    time_rollups(snapshot, domains, now_ms);
    census_.measure_s += seconds_since(start);
    return snapshot;
  }

  // The hourly rollups of the last 24 hours: per domain, as explain reads them, and of all
  // domains in one read. A per-domain read that fails is reported, not fatal: the other figures
  // of the soak still mean something.
  void time_rollups(Snapshot& snapshot, const std::vector<std::string>& domains, int64_t now_ms) {
    const TimePoint since = at(now_ms - kDayMs);
    try {
      size_t rows = 0;
      snapshot.rollups_ms =
          best_of_3_ms([&] {
            rows = 0;
            for (const std::string& domain : domains) {
              rows += storage_.rollups(domain, RollupSpan::Hour, since, kNoLimit).size();
            }
          }) /
          static_cast<double>(domains.size());
      snapshot.rollups_rows = static_cast<double>(rows) / static_cast<double>(domains.size());
    } catch (const vantage::StorageError& error) {
      snapshot.rollups_error = error.what();
    }
    snapshot.all_rollups_ms = best_of_3_ms([&] {
      snapshot.all_rollups_rows = storage_.rollups("", RollupSpan::Hour, since, kNoLimit).size();
    });
  }

  Property check_stored_whole() const;
  Property check_retention(const RowCensus& rows) const;
  Property check_steady_size() const;
  Property check_rollups();
  Property check_rollups_against_rows(const RowCensus& rows);
  Property check_uptime();

  std::string report_parameters() const;
  std::string report_size(const RowCensus& rows) const;
  std::string report_tables() const;
  std::string report_timings() const;
  std::string report_time(double wall_s) const;

  const SoakOptions options_;
  Storage& storage_;
  const vantage::RetentionConfig config_ = soak_retention();
  const Fleet fleet_;
  std::mt19937 random_;
  Scenario scenario_;
  const int64_t first_day_ms_;
  const int64_t end_ms_;
  const int64_t interval_ms_;
  DocumentMaker maker_;
  vantage::StorageRetention retention_;
  int64_t next_tick_ms_;
  int64_t next_pass_ms_;
  std::vector<uint64_t> next_seq_;
  RollupTally tally_;
  Census census_;
  std::vector<DayFigures> days_;
  std::vector<Snapshot> snapshots_;
  RowCensus final_rows_;
  Clock::time_point started_;
  double checks_s_ = 0;
  std::string load_before_;
  std::string load_after_;
};

}  // namespace

namespace {

std::vector<Property> Soak::check() {
  const auto start = Clock::now();
  const int64_t cutoff = ms_of(config_.cutoffs(at(end_ms_)).results);
  // The hours that lie wholly within what results retention keeps.
  const int64_t first_whole_hour = (cutoff + kHourMs - 1) / kHourMs * kHourMs;
  final_rows_ =
      read_rows(storage_, fleet_, first_whole_hour, end_ms_, storage_.count_results() + 1);
  std::vector<Property> properties = {check_stored_whole(),
                                      check_retention(final_rows_),
                                      check_steady_size(),
                                      check_rollups(),
                                      check_rollups_against_rows(final_rows_),
                                      check_uptime()};
  checks_s_ = seconds_since(start);
  return properties;
}

Property Soak::check_stored_whole() const {
  Property property{
      .name = "every batch stored whole", .passed = census_.batches_not_whole == 0, .detail = {}};
  property.detail =
      property.passed
          ? fmt::format("{} results in {} batches, each inserted", grouped(census_.results),
                        grouped(census_.results / static_cast<uint64_t>(options_.domains)))
          : fmt::format("{} batches not inserted whole; first: {}", census_.batches_not_whole,
                        census_.first_batch_problem);
  return property;
}

Property Soak::check_retention(const RowCensus& rows) const {
  const TimePoint now = at(end_ms_);
  const int64_t cutoff = ms_of(config_.cutoffs(now).results);
  const vantage::PruneCounts& due = snapshots_.back().stats.due;
  const double bound = static_cast<double>(options_.agents) * options_.domains *
                       static_cast<double>(7 * kDayMs + kHourMs) /
                       static_cast<double>(interval_ms_);
  const bool none_older = !rows.oldest_ms || *rows.oldest_ms >= cutoff;
  const bool within_bound = static_cast<double>(rows.rows) <= bound;
  Property property{.name = "a. within retention",
                    .passed = none_older && due.total() == 0 && within_bound,
                    .detail = {}};
  property.detail = fmt::format(
      "oldest row {} ({} the results' cutoff {}); after the final pass nothing due (documents {}, "
      "results {}, verdict changes {}, alerts {}, rollups {}); {} rows {} agents × domains × "
      "(7 d + 1 h) / interval = {}",
      rows.oldest_ms ? vantage::format_time(at(*rows.oldest_ms)) : "none",
      none_older ? "not before" : "BEFORE", vantage::format_time(at(cutoff)), due.documents,
      due.results, due.verdict_changes, due.alerts, due.rollups, grouped(rows.rows),
      within_bound ? "≤" : "ABOVE", grouped(static_cast<uint64_t>(bound)));
  return property;
}

Property Soak::check_steady_size() const {
  // Results retention (7 d) is full from the end of day 7 on: day 8 is the first steady day.
  constexpr size_t kSteadyDay = 8;
  Property property{
      .name = "b. size steady once results retention is full", .passed = false, .detail = {}};
  if (days_.size() <= kSteadyDay) {
    property.passed = true;
    property.detail = fmt::format("not applicable: needs more than {} days", kSteadyDay);
    return property;
  }
  const uint64_t steady = days_[kSteadyDay - 1].size_bytes;
  const uint64_t last = days_.back().size_bytes;
  // Daily rollups are kept 90 days, longer than the soak: each day adds one per agent and domain,
  // which retention rightly keeps. They are allowed for at the size a rollup row has at the end.
  uint64_t rollup_row_bytes = 0;
  for (const vantage::TableStats& table : snapshots_.back().stats.tables) {
    if (table.table == "rollups" && table.rows > 0) {
      rollup_row_bytes = table.bytes.value_or(0) / table.rows;
    }
  }
  const uint64_t daily_rollups_since =
      static_cast<uint64_t>(days_.back().day - static_cast<int>(kSteadyDay)) *
      static_cast<uint64_t>(options_.agents) * static_cast<uint64_t>(options_.domains);
  const uint64_t allowed = daily_rollups_since * rollup_row_bytes;
  property.passed =
      static_cast<double>(last) <= 1.5 * static_cast<double>(steady) + static_cast<double>(allowed);
  property.detail = fmt::format(
      "day {}: {} {} 1.5 × day {}: {} (× {:.2f}) + the {} daily rollups added since at {} bytes "
      "each: {}",
      days_.back().day, megabytes(last), property.passed ? "≤" : "ABOVE", kSteadyDay,
      megabytes(steady), static_cast<double>(last) / static_cast<double>(steady),
      grouped(daily_rollups_since), rollup_row_bytes, megabytes(allowed));
  return property;
}

Property Soak::check_rollups() {
  const int64_t cutoff = ms_of(config_.cutoffs(at(end_ms_)).results);
  const Comparison hours = compare_rollups(
      fleet_, RollupSpan::Hour, tally_.of(RollupSpan::Hour),
      storage_.rollups("", RollupSpan::Hour, at(cutoff), kNoLimit),
      [&](int64_t start) { return start >= cutoff; }, false);
  const Comparison days = compare_rollups(
      fleet_, RollupSpan::Day, tally_.of(RollupSpan::Day),
      storage_.rollups("", RollupSpan::Day, at(0), kNoLimit), [](int64_t) { return true; }, false);
  return Property{.name = "c. rollups equal the recount",
                  .passed = hours.ok() && days.ok(),
                  .detail = fmt::format("hourly since the results' cutoff: {}; daily, all: {}",
                                        describe_comparison(hours, "rollups"),
                                        describe_comparison(days, "rollups"))};
}

Property Soak::check_rollups_against_rows(const RowCensus& rows) {
  const int64_t cutoff = ms_of(config_.cutoffs(at(end_ms_)).results);
  const int64_t first_whole_hour = (cutoff + kHourMs - 1) / kHourMs * kHourMs;
  const auto whole = [&](int64_t start) {
    return start >= first_whole_hour && start + kHourMs <= end_ms_;
  };
  const Comparison comparison = compare_rollups(
      fleet_, RollupSpan::Hour, rows.hours,
      storage_.rollups("", RollupSpan::Hour, at(first_whole_hour), kNoLimit), whole, true);
  Property property{.name = "c. hourly verdict counts equal the stored rows",
                    .passed = comparison.ok() && rows.foreign == 0,
                    .detail = {}};
  property.detail = fmt::format("{} rows read back; {}", grouped(rows.rows),
                                describe_comparison(comparison, "hourly rollups"));
  if (rows.foreign > 0) {
    property.detail +=
        fmt::format("; {} rows of an agent, domain or verdict never written", rows.foreign);
  }
  return property;
}

Property Soak::check_uptime() {
  const Comparison comparison =
      compare_uptime(expected_uptime(fleet_, tally_, end_ms_), storage_.uptime("", at(end_ms_)));
  return Property{.name = "d. uptime equals the recount",
                  .passed = comparison.ok(),
                  .detail = describe_comparison(comparison, "domains × 24h, 7d, 30d, 90d")};
}

// ---------------------------------------------------------------------------------------------
// The report.

std::string Soak::report_parameters() const {
  std::string mix;
  for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
    if (census_.by_verdict[verdict] > 0) {
      mix += fmt::format("{}{} {:.2f} %", mix.empty() ? "" : ", ",
                         vantage::to_string(static_cast<Verdict>(verdict)),
                         share(census_.by_verdict[verdict], census_.stored));
    }
  }
  const vantage::PruneCounts& pruned = census_.pruned;
  std::string text = "| parameter | value |\n|---|---|\n";
  text += fmt::format(
      "| fleet | {} agents × {} domains, a cycle every {} min: one batch of {} results per agent "
      "per interval |\n",
      options_.agents, options_.domains, options_.interval_minutes, options_.domains);
  text += fmt::format("| simulated time | {} days, {} to {} (UTC) |\n", options_.days,
                      vantage::format_time(at(first_day_ms_)).substr(0, 10),
                      vantage::format_time(at(end_ms_)).substr(0, 10));
  text += fmt::format("| retention | {}; a pass every simulated hour |\n", config_.describe());
  text += fmt::format("| results written | {} ({} stored) |\n", grouped(census_.results),
                      grouped(census_.stored));
  text += fmt::format("| readings | {} |\n", mix);
  text += fmt::format("| verdict changes recorded | {} |\n", grouped(census_.verdict_changes));
  text += fmt::format(
      "| retention | {} passes pruned {} documents, {} results, {} verdict changes, {} rollups |\n",
      grouped(census_.passes), grouped(pruned.documents), grouped(pruned.results),
      grouped(pruned.verdict_changes), grouped(pruned.rollups));
  text += fmt::format("| seed | {} |\n", options_.seed);
  return text;
}

std::string Soak::report_size(const RowCensus& rows) const {
  const auto day_column = [&](size_t day) -> const DayFigures* {
    return day >= 1 && day <= days_.size() ? &days_[day - 1] : nullptr;
  };
  const std::array<size_t, 3> columns = {1, 8, days_.size()};
  std::string text = fmt::format("| | day 1 | day 8 | day {} |\n|---|---|---|---|\n", days_.size());
  const auto row = [&](std::string_view label, const auto& cell) {
    text += fmt::format("| {} |", label);
    for (const size_t day : columns) {
      const DayFigures* figures = day_column(day);
      text += fmt::format(" {} |", figures != nullptr ? cell(*figures) : std::string("—"));
    }
    text += '\n';
  };
  row("database (file + WAL)",
      [](const DayFigures& figures) { return megabytes(figures.size_bytes); });
  row("result rows kept", [](const DayFigures& figures) { return grouped(figures.rows); });
  row("bytes per stored result", [](const DayFigures& figures) {
    return figures.rows == 0 ? std::string("—") : grouped(figures.size_bytes / figures.rows);
  });
  const uint64_t size = days_.back().size_bytes;
  text += fmt::format(
      "\nAt the end: {} rows kept, {} of them OK; {} ({:.1f} %) still hold their document ({} of "
      "the OK rows: documents 1 d, evidence 3 d). On disk {} bytes per stored result and {} per OK "
      "result (the database's size over the rows, over the OK rows).\n",
      grouped(rows.rows), grouped(rows.ok_rows), grouped(rows.with_document),
      share(rows.with_document, rows.rows), grouped(rows.ok_with_document),
      rows.rows == 0 ? std::string("—") : grouped(size / rows.rows),
      rows.ok_rows == 0 ? std::string("—") : grouped(size / rows.ok_rows));
  return text;
}

std::string Soak::report_tables() const {
  std::string text = "| table | rows | bytes | oldest |\n|---|---|---|---|\n";
  for (const vantage::TableStats& table : snapshots_.back().stats.tables) {
    text += fmt::format("| {} | {} | {} | {} |\n", table.table, grouped(table.rows),
                        table.bytes ? grouped(*table.bytes) : std::string("—"),
                        table.oldest ? vantage::format_time(*table.oldest) : std::string("—"));
  }
  return text;
}

std::string Soak::report_timings() const {
  const Snapshot& first = snapshots_.front();
  const Snapshot& last = snapshots_.back();
  std::string text = fmt::format(
      "| read (best of 3) | day {} | day {} | ratio |\n|---|---|---|---|\n", first.day, last.day);
  const auto row = [&](std::string_view label, double a, double b, const std::string& a_note,
                       const std::string& b_note, std::string_view unit) {
    text += fmt::format("| {} | {:.3f} {}{} | {:.3f} {}{} | {} |\n", label, a, unit, a_note, b,
                        unit, b_note, a > 0 ? fmt::format("{:.2f}", b / a) : std::string("—"));
  };
  row("store_results, per result stored that day", first.store_us_per_result,
      last.store_us_per_result, "", "", "µs");
  row("verdict_history(domain, 24 h), per domain (20 domains)", first.history_ms, last.history_ms,
      fmt::format(" ({:.1f} rows)", first.history_rows),
      fmt::format(" ({:.1f} rows)", last.history_rows), "ms");
  row(fmt::format("replay_results(now − {} min)", std::max(int64_t{10}, interval_ms_ / kMinuteMs)),
      first.replay_ms, last.replay_ms, fmt::format(" ({} rows)", grouped(first.replay_rows)),
      fmt::format(" ({} rows)", grouped(last.replay_rows)), "ms");
  row("uptime(\"\", now)", first.uptime_ms, last.uptime_ms,
      fmt::format(" ({} domains)", first.uptime_domains),
      fmt::format(" ({} domains)", last.uptime_domains), "ms");
  if (first.rollups_error.empty() && last.rollups_error.empty()) {
    row("rollups(domain, hour, 24 h), per domain (20 domains)", first.rollups_ms, last.rollups_ms,
        fmt::format(" ({:.0f} rows)", first.rollups_rows),
        fmt::format(" ({:.0f} rows)", last.rollups_rows), "ms");
  } else {
    text +=
        fmt::format("| rollups(domain, hour, 24 h), per domain | failed: {} | failed: {} | — |\n",
                    first.rollups_error, last.rollups_error);
  }
  row("rollups(\"\", hour, 24 h), every domain", first.all_rollups_ms, last.all_rollups_ms,
      fmt::format(" ({} rows)", grouped(first.all_rollups_rows)),
      fmt::format(" ({} rows)", grouped(last.all_rollups_rows)), "ms");
  return text;
}

std::string Soak::report_time(double wall_s) const {
  return fmt::format(
      "Wall time {:.0f} s: building documents and summaries {:.0f} s, store_results {:.0f} s, "
      "retention's {} passes {:.0f} s (with the rest run_pass takes after each batch, four times "
      "the batch's time and at least 10 ms), timed reads and stats {:.0f} s, final checks {:.0f} "
      "s. Load average {} at the start, {} at the end: other work on the machine slows every "
      "figure.\n",
      wall_s, census_.make_s, census_.store_s, grouped(census_.passes), census_.retention_s,
      census_.measure_s, checks_s_, load_before_, load_after_);
}

#ifndef VANTAGE_BENCH_BUILD_TYPE
#define VANTAGE_BENCH_BUILD_TYPE "unknown"
#endif

std::string Soak::report(const std::vector<Property>& properties, double wall_s) const {
  std::string text = fmt::format(
      "# Storage soak: {} days of {} agents × {} domains on SQLite\n\n"
      "`vantage-soak-bench --agents {} --domains {} --days {} --interval {} --seed {}`, run {} "
      "({} build). Simulated time, no sleeping; timings are reported, not asserted.\n\n",
      options_.days, options_.agents, options_.domains, options_.agents, options_.domains,
      options_.days, options_.interval_minutes, options_.seed,
      vantage::format_time(std::chrono::system_clock::now()).substr(0, 16) + " UTC",
      VANTAGE_BENCH_BUILD_TYPE);
  text += report_parameters();
  text += "\n## Size on disk\n\n" + report_size(final_rows_);
  text += fmt::format("\n## Tables at the end (`stats`, day {})\n\n", days_.back().day) +
          report_tables();
  text += "\n## Timings\n\n" + report_timings();
  text += "\n## Properties\n\n| property | result | detail |\n|---|---|---|\n";
  for (const Property& property : properties) {
    text += fmt::format("| {} | {} | {} |\n", property.name, property.passed ? "pass" : "**FAIL**",
                        property.detail);
  }
  text += "\n" + report_time(wall_s);
  return text;
}

// ---------------------------------------------------------------------------------------------
// main

// A directory of our own for the database, removed with everything in it when the soak ends.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != 0 ? base : "/tmp") + "/vantage-soak.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error(fmt::format("cannot create a temp dir like {}", pattern));
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    throw std::runtime_error(fmt::format("cannot write {}", path));
  }
}

int run_soak(const SoakOptions& options) {
  const auto started = Clock::now();
  std::optional<TempDir> temp;
  std::string db = options.db;
  if (db.empty()) {
    temp.emplace();
    db = temp->path() + "/soak.db";
  } else if (std::filesystem::exists(db)) {
    throw std::runtime_error(fmt::format("{} exists: the soak needs a fresh database", db));
  }
  const std::unique_ptr<Storage> storage = vantage::open_sqlite_storage(db);
  storage->migrate();
  Soak soak(options, *storage);
  soak.run();
  const std::vector<Property> properties = soak.check();
  const std::string report = soak.report(properties, seconds_since(started));
  fmt::print("{}", report);
  if (!options.out.empty()) {
    write_file(options.out, report);
  }
  int status = 0;
  for (const Property& property : properties) {
    if (!property.passed) {
      fmt::print(stderr, "vantage-soak-bench: property failed: {}: {}\n", property.name,
                 property.detail);
      status = options.check ? 1 : status;
    }
  }
  return status;
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "Stores a fleet's results of many simulated days through the collector's Storage, with "
      "retention every simulated hour, then checks size, retention, rollups and uptime."};
  SoakOptions options;
  app.add_option("--agents", options.agents, "simulated agents")->check(CLI::Range(1, 99));
  app.add_option("--domains", options.domains, "domains, each probed by every agent")
      ->check(CLI::Range(1, 1000));
  app.add_option("--days", options.days, "simulated days")->check(CLI::Range(1, 60));
  app.add_option("--interval", options.interval_minutes, "minutes between an agent's cycles")
      ->check(CLI::Range(1, 1440));
  app.add_option("--seed", options.seed, "seed of the random outages and timings");
  app.add_option("--db", options.db, "SQLite file to create (default: in a temp dir, removed)");
  app.add_option("--out", options.out, "also write the report (markdown) to FILE");
  app.add_flag("--check", options.check, "exit 1 when a property fails");
  CLI11_PARSE(app, argc, argv);
  try {
    return run_soak(options);
  } catch (const std::exception& error) {
    fmt::print(stderr, "vantage-soak-bench: {}\n", error.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (...) {
    std::fputs("vantage-soak-bench: unexpected error\n", stderr);
    return 1;
  }
}
