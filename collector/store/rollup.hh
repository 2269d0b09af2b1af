#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "result.hh"

// Rollups: per domain, vantage and hour (and day), how many cycles read each verdict and how long
// each check took. They are kept when the results they count are pruned, and are the source of
// uptime. Results are folded into their rollups after they are stored, in bulk, up to a point
// in time the store keeps with the rollups (the fold mark): a result that started before the
// mark is in its rollups, one that started at or after it is not yet, and readers add those to
// what the rollups hold. A result stored late, for a time the fold has passed, is added to its
// rollups in the transaction that stores it. So a rollup counts each stored result exactly once,
// and the upload's transaction writes no rollup while the mark lags the results.
namespace vantage {

using TimePoint = std::chrono::system_clock::time_point;

// The checks a cycle times: those every cycle runs (Control, Liveness and Path run only to
// explain a failure).
constexpr size_t kTimedChecks = static_cast<size_t>(Check::Http) + 1;
constexpr size_t kVerdicts = static_cast<size_t>(Verdict::VantageIsolated) + 1;

// Per timed check, the slowest of its probes that succeeded in one cycle: what a user of the
// domain waited for at that layer. nullopt: no probe of that check succeeded.
using CheckLatencies = std::array<std::optional<std::chrono::microseconds>, kTimedChecks>;

// The fold passes results in steps of ten minutes, once a step has been over for a minute: a
// rollup then gains a step's results in one write (20 of an agent probing every 30 s), and what
// readers add to the rollups is at most about eleven minutes of results.
constexpr std::chrono::minutes kFoldStep{10};
constexpr std::chrono::minutes kFoldDelay{1};
// What the fold may pass at `now`: the start of the step that holds now - kFoldDelay.
TimePoint fold_before(TimePoint now);

enum class RollupSpan : uint8_t { Hour, Day };
std::string_view to_string(RollupSpan span);  // "hour", "day"
std::chrono::milliseconds span_length(RollupSpan span);
// The start of the hour (or UTC day) holding `time`.
TimePoint span_start(RollupSpan span, TimePoint time);
// The rollups of `span` that start before this have ended by `cutoff`: everything they count
// started before it, and they go with the results of before it.
TimePoint ended_by(RollupSpan span, TimePoint cutoff);

// One result's latencies as its row keeps them until they are folded into its rollups: the
// microseconds of each timed check, in Check order, comma-separated, empty where it has none
// ("12034,,48213,91002,"); "" when it has none at all. Rows written before http targets existed
// hold one field fewer (no Http), and read as such.
std::string encode_check_latencies(const CheckLatencies& latencies);
// Throws std::invalid_argument for text encode_check_latencies does not write.
CheckLatencies decode_check_latencies(std::string_view text);

// Latencies in buckets whose bounds are the same in every histogram (four per power of two, each
// about 19% wider than the one before), so that histograms of many hours and vantages merge by
// adding counts, and a quantile read from the sum is within one bucket of the exact one.
class LatencyHistogram {
 public:
  void add(std::chrono::microseconds latency);
  void merge(const LatencyHistogram& other);
  uint64_t count() const { return count_; }
  std::chrono::microseconds max() const { return max_; }
  // The upper bound of the bucket holding the q-th quantile (0 < q <= 1), but never more than the
  // largest latency added; nullopt when empty. Reads high by at most one bucket: a tail read from
  // it is never better than the truth.
  std::optional<std::chrono::microseconds> quantile(double q) const;

  // "max bucket:count bucket:count ...", e.g. "48213 61:3 62:10"; "" when empty.
  std::string encode() const;
  // Throws std::invalid_argument for text encode() does not write.
  static LatencyHistogram decode(std::string_view text);

  bool operator==(const LatencyHistogram&) const = default;

 private:
  std::map<int, uint64_t> buckets_;  // bucket index: count
  uint64_t count_ = 0;
  std::chrono::microseconds max_{0};
};

// What one rollup holds.
struct RollupFigures {
  std::array<uint64_t, kVerdicts> verdicts{};  // cycles read each verdict, by Verdict
  std::array<LatencyHistogram, kTimedChecks> latency;

  uint64_t cycles() const;
  void add(Verdict verdict, const CheckLatencies& latencies);
  void merge(const RollupFigures& other);

  // The latency column: "Tcp 48213 61:3 62:10;Https ...", checks with samples only, by Check.
  std::string encode_latency() const;
  // Throws std::invalid_argument for text encode_latency() does not write.
  void decode_latency(std::string_view text);

  bool operator==(const RollupFigures&) const = default;
};

struct RollupKey {
  std::string domain;
  std::string agent;
  RollupSpan span = RollupSpan::Hour;
  TimePoint start;
  bool operator<(const RollupKey& other) const {
    return std::tie(domain, agent, span, start) <
           std::tie(other.domain, other.agent, other.span, other.start);
  }
  bool operator==(const RollupKey&) const = default;
};

struct Rollup {
  RollupKey key;
  RollupFigures figures;
  bool operator==(const Rollup&) const = default;
};

// What one result adds, to the rollup of its hour and to that of its day; rollups of many results
// summed per key (the order of the keys is the order the store locks them in).
class RollupDeltas {
 public:
  void add(const std::string& domain, const std::string& agent, TimePoint started_at,
           Verdict verdict, const CheckLatencies& latencies);
  const std::map<RollupKey, RollupFigures>& by_key() const { return by_key_; }
  bool empty() const { return by_key_.empty(); }

 private:
  std::map<RollupKey, RollupFigures> by_key_;
};

// Uptime over one window: the cycles of its rollups. Cycles whose own vantage could not judge
// (UNKNOWN, VANTAGE_ISOLATED) count for neither side; OK and DEGRADED (it answered, slowly) are
// up; every other verdict is down.
struct UptimeCounts {
  uint64_t up = 0;
  uint64_t down = 0;
  uint64_t inconclusive = 0;
  // up / (up + down); nullopt when no cycle counted.
  std::optional<double> ratio() const;
  bool operator==(const UptimeCounts&) const = default;
};
UptimeCounts uptime_counts(const RollupFigures& figures);

// The windows uptime is given for. Each is whole rollups ending with the current one: 24 h is
// this hour and the 23 before it, 30 d today (UTC) and the 29 days before.
enum class UptimeWindow : uint8_t { Day, Week, Month, Quarter };
constexpr std::array kUptimeWindows = {UptimeWindow::Day, UptimeWindow::Week, UptimeWindow::Month,
                                       UptimeWindow::Quarter};
std::string_view to_string(UptimeWindow window);  // "24h", "7d", "30d", "90d"
RollupSpan window_span(UptimeWindow window);      // hours for 24h and 7d, days for 30d and 90d
// The start of the window's oldest rollup at `now`.
TimePoint window_start(UptimeWindow window, TimePoint now);

// One domain's uptime, over each window, in kUptimeWindows' order.
struct DomainUptime {
  std::string domain;
  std::array<UptimeCounts, kUptimeWindows.size()> windows;
  bool operator==(const DomainUptime&) const = default;
};

}  // namespace vantage
