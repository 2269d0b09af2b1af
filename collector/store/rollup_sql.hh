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

// What the results of `batch` that `outcome` says were stored add to their rollups. Throws
// StorageError naming the backend for a verdict that is not a verdict's name.
RollupDeltas stored_deltas(const std::vector<StoredResult>& batch, const StoreOutcome& outcome,
                           std::string_view backend);

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

// Deletes at most $2 rollups of `span` that started before $1 (the cutoff less one span: those
// that ended before it).
const std::string& prune_rollups_sql(RollupSpan span);

}  // namespace vantage::storage_detail
