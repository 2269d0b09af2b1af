#include "rollup_sql.hh"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "storage_common.hh"

namespace vantage::storage_detail {
namespace {

// "ok, route_loss, ..." with each name formatted by `pattern` ("{}", "u.{}", ...).
std::string verdict_list(std::string_view pattern) {
  std::string list;
  for (const std::string_view column : kVerdictColumns) {
    if (!list.empty()) {
      list += ", ";
    }
    list += fmt::format(fmt::runtime(pattern), column);
  }
  return list;
}

// "ok = rollups.ok + excluded.ok, ...": what a stored rollup gains.
std::string added_counts() {
  return verdict_list("{0} = rollups.{0} + excluded.{0}");
}

std::string placeholders(size_t first, size_t count, std::string_view suffix = "") {
  std::string list;
  for (size_t i = 0; i < count; ++i) {
    list += fmt::format("{}${}{}", i == 0 ? "" : ", ", first + i, suffix);
  }
  return list;
}

// The shorter and the longer window each span's rollups give.
std::array<UptimeWindow, 2> windows_of(RollupSpan span) {
  return span == RollupSpan::Hour ? std::array{UptimeWindow::Day, UptimeWindow::Week}
                                  : std::array{UptimeWindow::Month, UptimeWindow::Quarter};
}

std::string_view span_literal(RollupSpan span) {
  return span == RollupSpan::Hour ? "'hour'" : "'day'";
}

}  // namespace

const std::array<std::string_view, kVerdicts> kVerdictColumns = {
    "ok",          "route_loss", "dns_failure", "domain_vanished", "server_down",
    "tls_failure", "http_error", "degraded",    "unknown",         "vantage_isolated"};

RollupDeltas stored_deltas(const std::vector<StoredResult>& batch, const StoreOutcome& outcome,
                           int64_t folded_before_ms, std::string_view backend) {
  RollupDeltas deltas;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (outcome.fates[i] != StoreFate::Stored ||
        to_epoch_ms(batch[i].started_at) >= folded_before_ms) {
      continue;
    }
    const StoredResult& result = batch[i];
    const auto verdict = verdict_from_string(result.verdict);
    if (!verdict) {
      fail(backend, "store_results",
           fmt::format("results[{}]: \"{}\" is not a verdict", i, result.verdict));
    }
    deltas.add(result.domain, result.agent, result.started_at, *verdict, result.latencies);
  }
  return deltas;
}

const std::string& add_to_rollup_sql() {
  static const std::string sql = fmt::format(
      "INSERT INTO rollups (domain, span, start_at, agent, {}, latency) VALUES ($1, $2, $3, $4, "
      "{}, ${}) ON CONFLICT (domain, span, start_at, agent) DO UPDATE SET {}, latency = CASE "
      "WHEN excluded.latency = '' THEN rollups.latency ELSE {}(rollups.latency, "
      "excluded.latency) END",
      verdict_list("{}"), placeholders(5, kVerdicts), 5 + kVerdicts, added_counts(),
      kMergeLatencyFunction);
  return sql;
}

std::string merge_latency_columns(std::string_view stored, std::string_view added) {
  RollupFigures merged;
  merged.decode_latency(stored);
  RollupFigures more;
  more.decode_latency(added);
  merged.merge(more);
  return merged.encode_latency();
}

const std::string& add_to_rollups_sql() {
  static const std::string sql = fmt::format(
      "INSERT INTO rollups (domain, span, start_at, agent, {}, latency) "
      "SELECT u.domain, u.span, u.start_at, u.agent, {}, u.latency "
      "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], {}, ${}::text[]) "
      "AS u(domain, span, start_at, agent, {}, latency) "
      "ORDER BY u.domain, u.span, u.start_at, u.agent "
      "ON CONFLICT (domain, span, start_at, agent) DO UPDATE SET {}, latency = excluded.latency",
      verdict_list("{}"), verdict_list("u.{}"), placeholders(5, kVerdicts, "::bigint[]"),
      5 + kVerdicts, verdict_list("{}"), added_counts());
  return sql;
}

std::string merged_latency(std::string_view stored, const RollupFigures& delta,
                           const RollupKey& key, std::string_view backend) {
  const bool has_latency = std::any_of(delta.latency.begin(), delta.latency.end(),
                                       [](const LatencyHistogram& h) { return h.count() > 0; });
  if (!has_latency) {
    return std::string(stored);
  }
  RollupFigures merged;
  try {
    merged.decode_latency(stored);
  } catch (const std::invalid_argument& error) {
    fail(backend, "store_results",
         fmt::format("rollups.latency of {} {} {} at {}: {}", key.domain, key.agent,
                     to_string(key.span), to_epoch_ms(key.start), error.what()));
  }
  merged.merge(delta);
  return merged.encode_latency();
}

const std::string& select_rollups_sql(bool one_domain) {
  static const std::string all = fmt::format(
      "SELECT domain, span, start_at, agent, {}, latency FROM rollups "
      "WHERE span = $1 AND start_at >= $2 ORDER BY domain, start_at, agent LIMIT $3",
      verdict_list("{}"));
  static const std::string one = fmt::format(
      "SELECT domain, span, start_at, agent, {}, latency FROM rollups "
      "WHERE span = $1 AND start_at >= $2 AND domain = $3 ORDER BY domain, start_at, agent "
      "LIMIT $4",
      verdict_list("{}"));
  return one_domain ? one : all;
}

Rollup rollup_of(std::string domain, std::string_view span, int64_t start_at_ms, std::string agent,
                 const std::array<int64_t, kVerdicts>& counts, std::string_view latency,
                 std::string_view backend) {
  Rollup rollup;
  rollup.key.domain = std::move(domain);
  rollup.key.agent = std::move(agent);
  rollup.key.start = from_epoch_ms(start_at_ms);
  if (span == "hour") {
    rollup.key.span = RollupSpan::Hour;
  } else if (span == "day") {
    rollup.key.span = RollupSpan::Day;
  } else {
    fail(backend, "rollups", fmt::format("rollups.span holds \"{}\"", span));
  }
  for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
    rollup.figures.verdicts[verdict] = static_cast<uint64_t>(counts[verdict]);
  }
  try {
    rollup.figures.decode_latency(latency);
  } catch (const std::invalid_argument& error) {
    fail(backend, "rollups",
         fmt::format("rollups.latency of {} {} {} at {}: {}", rollup.key.domain, rollup.key.agent,
                     span, start_at_ms, error.what()));
  }
  return rollup;
}

const std::string& uptime_sql(RollupSpan span, bool one_domain) {
  const auto text = [](RollupSpan of, bool with_domain) {
    std::string total;
    for (const std::string_view column : kVerdictColumns) {
      total += fmt::format("{}{}", total.empty() ? "" : " + ", column);
    }
    const std::string up = "ok + degraded";
    const std::string inconclusive = "unknown + vantage_isolated";
    const auto recent = [](const std::string& sum) {
      return fmt::format("SUM(CASE WHEN start_at >= $1 THEN {} ELSE 0 END)", sum);
    };
    return fmt::format(
        "SELECT domain, {}, {}, {}, SUM({}), SUM({}), SUM({}) FROM rollups "
        "WHERE span = {} AND start_at >= $2{} GROUP BY domain ORDER BY domain",
        recent(up), recent(total), recent(inconclusive), up, total, inconclusive, span_literal(of),
        with_domain ? " AND domain = $3" : "");
  };
  static const std::array<std::string, 4> sql = {
      text(RollupSpan::Hour, false), text(RollupSpan::Hour, true), text(RollupSpan::Day, false),
      text(RollupSpan::Day, true)};
  return sql.at((span == RollupSpan::Hour ? 0 : 2) + (one_domain ? 1 : 0));
}

void add_uptime_row(std::map<std::string, DomainUptime>& uptime, const std::string& domain,
                    RollupSpan span, const std::array<int64_t, 6>& sums) {
  DomainUptime& entry = uptime[domain];
  entry.domain = domain;
  const auto windows = windows_of(span);
  for (size_t i = 0; i < windows.size(); ++i) {
    const auto up = static_cast<uint64_t>(sums[3 * i]);
    const auto all = static_cast<uint64_t>(sums[3 * i + 1]);
    const auto inconclusive = static_cast<uint64_t>(sums[3 * i + 2]);
    entry.windows[static_cast<size_t>(windows[i])] =
        UptimeCounts{.up = up, .down = all - up - inconclusive, .inconclusive = inconclusive};
  }
}

std::vector<DomainUptime> uptime_list(std::map<std::string, DomainUptime>&& uptime) {
  std::vector<DomainUptime> list;
  list.reserve(uptime.size());
  for (auto& [domain, entry] : uptime) {
    list.push_back(std::move(entry));
  }
  return list;
}

std::array<int64_t, 2> uptime_window_starts(RollupSpan span, TimePoint now) {
  const auto windows = windows_of(span);
  return {to_epoch_ms(window_start(windows[0], now)), to_epoch_ms(window_start(windows[1], now))};
}

const std::string& results_not_folded_sql(bool one_domain) {
  static const std::string all{
      "SELECT domain, agent, started_at, verdict, latency FROM results WHERE started_at >= $1"};
  static const std::string one = all + " AND domain = $2";
  return one_domain ? one : all;
}

FoldStep fold_step(const std::vector<UnfoldedResult>& read, size_t batch, int64_t before_ms) {
  if (read.size() < batch || read.empty()) {
    return {.count = read.size(), .folded_before_ms = before_ms};
  }
  // The last millisecond read may have more results than were read: it waits for the next pass.
  const int64_t last = read.back().started_at_ms;
  if (read.front().started_at_ms == last) {
    return {.count = 0, .folded_before_ms = last + 1, .whole_millisecond = true};
  }
  const auto first_of_last = std::find_if(
      read.begin(), read.end(), [&](const UnfoldedResult& r) { return r.started_at_ms == last; });
  return {.count = static_cast<size_t>(first_of_last - read.begin()), .folded_before_ms = last};
}

RollupDeltas deltas_of(const std::vector<UnfoldedResult>& results, size_t count,
                       std::string_view backend, std::string_view operation) {
  RollupDeltas deltas;
  for (size_t i = 0; i < count; ++i) {
    const UnfoldedResult& result = results[i];
    const auto verdict = verdict_from_string(result.verdict);
    if (!verdict) {
      fail(backend, operation,
           fmt::format("results.verdict of {} at {} holds \"{}\"", result.agent,
                       result.started_at_ms, result.verdict));
    }
    CheckLatencies latencies{};
    try {
      latencies = decode_check_latencies(result.latency);
    } catch (const std::invalid_argument& error) {
      fail(backend, operation,
           fmt::format("results.latency of {} at {}: {}", result.agent, result.started_at_ms,
                       error.what()));
    }
    deltas.add(result.domain, result.agent, from_epoch_ms(result.started_at_ms), *verdict,
               latencies);
  }
  return deltas;
}

void add_unfolded(std::vector<Rollup>& stored, const RollupDeltas& unfolded, RollupSpan span,
                  TimePoint since, size_t limit) {
  std::map<RollupKey, size_t> listed;
  for (size_t i = 0; i < stored.size(); ++i) {
    listed.emplace(stored[i].key, i);
  }
  bool added = false;
  for (const auto& [key, figures] : unfolded.by_key()) {
    if (key.span != span || key.start < since) {
      continue;
    }
    if (const auto found = listed.find(key); found != listed.end()) {
      stored[found->second].figures.merge(figures);
    } else {
      stored.push_back(Rollup{.key = key, .figures = figures});
      added = true;
    }
  }
  if (!added) {
    return;
  }
  std::stable_sort(stored.begin(), stored.end(), [](const Rollup& a, const Rollup& b) {
    return std::tie(a.key.domain, a.key.start, a.key.agent) <
           std::tie(b.key.domain, b.key.start, b.key.agent);
  });
  if (stored.size() > limit) {
    stored.resize(limit);
  }
}

const std::string& unfolded_verdicts_sql(bool one_domain) {
  static const std::string all{
      "SELECT domain, started_at - ((started_at % 3600000) + 3600000) % 3600000 AS hour, verdict, "
      "COUNT(*) FROM results WHERE started_at >= $1 GROUP BY domain, hour, verdict"};
  static const std::string one{
      "SELECT domain, started_at - ((started_at % 3600000) + 3600000) % 3600000 AS hour, verdict, "
      "COUNT(*) FROM results WHERE started_at >= $1 AND domain = $2 GROUP BY domain, hour, "
      "verdict"};
  return one_domain ? one : all;
}

void add_unfolded_verdicts(std::map<std::string, DomainUptime>& uptime, const std::string& domain,
                           int64_t hour_ms, std::string_view verdict, int64_t count, TimePoint now,
                           std::string_view backend) {
  const auto read = verdict_from_string(verdict);
  if (!read) {
    fail(backend, "uptime", fmt::format("results.verdict holds \"{}\"", verdict));
  }
  RollupFigures figures;
  figures.verdicts[static_cast<size_t>(*read)] = static_cast<uint64_t>(count);
  const UptimeCounts counts = uptime_counts(figures);
  const TimePoint hour = from_epoch_ms(hour_ms);
  for (const UptimeWindow window : kUptimeWindows) {
    // The hour's day, for the windows of days.
    if (span_start(window_span(window), hour) < window_start(window, now)) {
      continue;
    }
    DomainUptime& entry = uptime[domain];
    entry.domain = domain;
    UptimeCounts& sums = entry.windows[static_cast<size_t>(window)];
    sums.up += counts.up;
    sums.down += counts.down;
    sums.inconclusive += counts.inconclusive;
  }
}

const std::string& prune_rollups_sql(RollupSpan span) {
  const auto sql = [](RollupSpan which) {
    return fmt::format(
        "DELETE FROM rollups WHERE (domain, span, start_at, agent) IN (SELECT domain, span, "
        "start_at, agent FROM rollups WHERE span = {} AND start_at < $1 LIMIT $2)",
        span_literal(which));
  };
  static const std::string hour = sql(RollupSpan::Hour);
  static const std::string day = sql(RollupSpan::Day);
  return span == RollupSpan::Hour ? hour : day;
}

}  // namespace vantage::storage_detail
