#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rollup.hh"
#include "storage.hh"

// The rollups table as both backends read and write it (schema version 8): a column per verdict,
// in Verdict's order, and the latency histograms as text. Parameters are written $1, $2, ... in
// the order they first appear, which SQLite numbers as PostgreSQL does.
namespace vantage::storage_detail {

// "ok", "route_loss", ...: the column of each verdict's count, by Verdict.
extern const std::array<std::string_view, kVerdicts> kVerdictColumns;

// What the results of `batch` that `outcome` says were stored, and that started before the fold
// mark `folded_before_ms`, add to their rollups (the later ones the fold adds). Throws
// StorageError naming the backend for a verdict that is not a verdict's name.
RollupDeltas stored_deltas(const std::vector<StoredResult>& batch, const StoreOutcome& outcome,
                           int64_t folded_before_ms, std::string_view backend);

// Adds one rollup's figures to its row, creating it (SQLite): $1 domain, $2 span, $3 start_at,
// $4 agent, $5... the counts in kVerdictColumns' order, then the latency column of the figures
// added, merged into the row's by the connection's function kMergeLatencyFunction.
const std::string& add_to_rollup_sql();
// merge_latency_columns(stored, added), as SQL calls it.
inline constexpr std::string_view kMergeLatencyFunction = "vantage_merge_latency";
// The latency column holding both columns' samples. Throws std::invalid_argument for a column the
// collector does not write.
std::string merge_latency_columns(std::string_view stored, std::string_view added);
// The same for many rollups at once (PostgreSQL): each parameter an array, one element per
// rollup, the rows written in the order of (domain, span, start_at, agent); the last, the latency
// column each row is to hold, merged by the caller (merged_latency) with the one it read.
const std::string& add_to_rollups_sql();
// A rollup's latency column once `delta`'s latencies are added to `stored` (its column before);
// `stored` itself when `delta` has none. Throws StorageError naming the backend and the rollup for
// a stored column the collector does not write.
std::string merged_latency(std::string_view stored, const RollupFigures& delta,
                           const RollupKey& key, std::string_view backend);

// domain, span, start_at, agent, the verdict counts, latency; of $1 span from $2 start_at on, by
// domain, start_at, agent: at most $3 rows, or with `one_domain` of $3 domain only, at most $4.
const std::string& select_rollups_sql(bool one_domain);
// The columns select_rollups_sql() reads, as a Rollup; throws StorageError naming the backend for
// a span or latency text the collector does not write.
Rollup rollup_of(std::string domain, std::string_view span, int64_t start_at_ms, std::string agent,
                 const std::array<int64_t, kVerdicts>& counts, std::string_view latency,
                 std::string_view backend);

// Per domain, of the rollups of `span` from $2 on: the up, all and inconclusive cycles (rollup.hh:
// UptimeCounts) of those from $1 on, then of all of them; with `one_domain` of $3 domain only;
// by domain. $1 is the start of the shorter window, $2 of the longer.
const std::string& uptime_sql(RollupSpan span, bool one_domain);
// Adds the columns after domain of one row of uptime_sql(span) to `uptime`'s entry for `domain`.
void add_uptime_row(std::map<std::string, DomainUptime>& uptime, const std::string& domain,
                    RollupSpan span, const std::array<int64_t, 6>& sums);
// The entries of `uptime`, by domain.
std::vector<DomainUptime> uptime_list(std::map<std::string, DomainUptime>&& uptime);
// The uptime query's parameters $1 and $2 for `span` at `now`, as epoch milliseconds.
std::array<int64_t, 2> uptime_window_starts(RollupSpan span, TimePoint now);

// The fold mark (rollup.hh): results that started before it are in their rollups.
inline constexpr std::string_view kFoldMarkSql =
    "SELECT folded_before FROM rollup_fold WHERE id = 1";
inline constexpr std::string_view kSetFoldMarkSql =
    "UPDATE rollup_fold SET folded_before = $1 WHERE id = 1";
// A stored result as the fold reads it: domain, agent, started_at, verdict, latency
// (encode_check_latencies; NULL in rows stored before schema version 10, all folded).
// Of $1 <= started_at < $2, by start, at most $3.
inline constexpr std::string_view kUnfoldedResultsSql =
    "SELECT domain, agent, started_at, verdict, latency FROM results "
    "WHERE started_at >= $1 AND started_at < $2 ORDER BY started_at LIMIT $3";
// Of started_at = $1: when a whole fold batch started in one millisecond.
inline constexpr std::string_view kResultsStartedAtSql =
    "SELECT domain, agent, started_at, verdict, latency FROM results WHERE started_at = $1";
// Of started_at >= $1 (and with `one_domain` of $2 domain only): what readers add to the rollups.
const std::string& results_not_folded_sql(bool one_domain);

struct UnfoldedResult {
  std::string domain;
  std::string agent;
  int64_t started_at_ms = 0;
  std::string verdict;
  std::string latency;  // "" also for NULL
};

// What one fold pass takes of the results it read (kUnfoldedResultsSql, at most `batch`, before
// `before_ms`): the first `count`, and the mark then. When all `batch` started in one millisecond,
// `whole_millisecond` says to read all of that millisecond (kResultsStartedAtSql) and take them.
struct FoldStep {
  size_t count = 0;
  int64_t folded_before_ms = 0;
  bool whole_millisecond = false;
};
FoldStep fold_step(const std::vector<UnfoldedResult>& read, size_t batch, int64_t before_ms);

// What the results add to their rollups. Throws StorageError naming the backend and `operation`
// for a verdict or latency the collector does not write.
RollupDeltas deltas_of(const std::vector<UnfoldedResult>& results, size_t count,
                       std::string_view backend, std::string_view operation);
// `stored` (rollups of `span` from `since`, by domain, start and agent, at most `limit`) with the
// results not folded yet added: their figures merged into the same key's, new keys inserted in
// order, at most `limit` in all.
void add_unfolded(std::vector<Rollup>& stored, const RollupDeltas& unfolded, RollupSpan span,
                  TimePoint since, size_t limit);
// Of the results that started at or after $1 (and with `one_domain` of $2 domain only): per
// domain, hour (start, epoch ms) and verdict, how many. What uptime adds to the rollups, read
// without the latencies it does not need.
const std::string& unfolded_verdicts_sql(bool one_domain);
// Adds one row of unfolded_verdicts_sql to the uptime windows at `now` that hold its hour. Throws
// StorageError naming the backend for a verdict that is not a verdict's name.
void add_unfolded_verdicts(std::map<std::string, DomainUptime>& uptime, const std::string& domain,
                           int64_t hour_ms, std::string_view verdict, int64_t count, TimePoint now,
                           std::string_view backend);

// Deletes at most $2 rollups of `span` that started before $1 (the cutoff less one span: those
// that ended before it).
const std::string& prune_rollups_sql(RollupSpan span);

}  // namespace vantage::storage_detail
