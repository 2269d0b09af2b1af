#include "storage_common.hh"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "document_codec.hh"

namespace vantage::storage_detail {
namespace {

// The tables db stats reports, and the column that dates their entries ("" for none).
struct TableWithAge {
  std::string_view name;
  std::string_view time_column;
};
constexpr std::array<TableWithAge, 9> kStatsTables = {{
    {"results", "started_at"},
    {"rollups", "start_at"},
    {"verdict_changes", "changed_at"},
    {"alerts", "since"},
    {"alert_deliveries", ""},
    {"agents", ""},
    {"tokens", ""},
    {"targets", ""},
    {"removed_targets", ""},
}};

}  // namespace

int64_t to_epoch_ms(TimePoint time) {
  return std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

TimePoint from_epoch_ms(int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

int64_t now_epoch_ms() {
  return to_epoch_ms(std::chrono::system_clock::now());
}

std::string encode_expect_status(const std::vector<int>& codes) {
  return nlohmann::json(codes).dump();
}

std::vector<int> decode_expect_status(std::string_view json, std::string_view backend) {
  try {
    return nlohmann::json::parse(json).get<std::vector<int>>();
  } catch (const nlohmann::json::exception& e) {
    fail(backend, "targets",
         fmt::format("expect_status '{}' is not a list of codes: {}", json, e.what()));
  }
}

TargetKind decode_target_kind(std::string_view text, std::string_view backend) {
  const auto kind = target_kind_from_string(text);
  if (!kind) {
    fail(backend, "targets", fmt::format("kind '{}' is not https, http or tcp", text));
  }
  return *kind;
}

namespace {

int64_t checked_number(std::string_view name, uint64_t value, std::string_view backend,
                       std::string_view operation) {
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    fail(backend, operation,
         fmt::format("{} {} is beyond the largest storable, {}", name, value,
                     std::numeric_limits<int64_t>::max()));
  }
  return static_cast<int64_t>(value);
}

}  // namespace

int64_t checked_seq(uint64_t seq, std::string_view backend, std::string_view operation) {
  return checked_number("seq", seq, backend, operation);
}

int64_t checked_epoch(uint64_t epoch, std::string_view backend, std::string_view operation) {
  return checked_number("epoch", epoch, backend, operation);
}

bool same_result(const StoredForm& stored, const StoredResult& incoming, std::string_view backend) {
  if (stored.compressed) {
    return document_codec::decompress(*stored.compressed, backend) == incoming.document;
  }
  if (!stored.text.empty()) {
    return stored.text == incoming.document;
  }
  return stored.started_at_ms == to_epoch_ms(incoming.started_at) &&
         stored.domain == incoming.domain;
}

StorageStats collect_stats(
    const RetentionCutoffs& cutoffs, const IntegerQuery& integer,
    const std::function<std::optional<uint64_t>(std::string_view)>& table_bytes) {
  const auto count = [&](const std::string& sql, const std::vector<int64_t>& parameters = {}) {
    return static_cast<uint64_t>(integer(sql, parameters).value_or(0));
  };
  StorageStats stats;
  for (const TableWithAge& table : kStatsTables) {
    TableStats& row = stats.tables.emplace_back();
    row.table = table.name;
    row.rows = count(fmt::format("SELECT COUNT(*) FROM {}", table.name));
    row.bytes = table_bytes(table.name);
    if (!table.time_column.empty()) {
      if (const auto oldest =
              integer(fmt::format("SELECT MIN({}) FROM {}", table.time_column, table.name), {})) {
        row.oldest = from_epoch_ms(*oldest);
      }
    }
  }
  std::stable_sort(stats.tables.begin(), stats.tables.end(),
                   [](const TableStats& a, const TableStats& b) {
                     return a.bytes.value_or(0) > b.bytes.value_or(0);
                   });
  // Each through an index of its own (the retention indexes of schema version 7).
  stats.documents =
      count("SELECT COUNT(*) FROM results WHERE document_zstd IS NOT NULL AND verdict = 'OK'") +
      count("SELECT COUNT(*) FROM results WHERE document_zstd IS NOT NULL AND verdict <> 'OK'") +
      count("SELECT COUNT(*) FROM results WHERE document <> ''");
  const int64_t results_cutoff = to_epoch_ms(cutoffs.results);
  stats.due.documents =
      count(
          "SELECT COUNT(*) FROM results WHERE document_zstd IS NOT NULL AND verdict = 'OK' "
          "AND started_at < $1 AND started_at >= $2",
          {to_epoch_ms(cutoffs.documents), results_cutoff}) +
      count(
          "SELECT COUNT(*) FROM results WHERE document_zstd IS NOT NULL AND verdict <> 'OK' "
          "AND started_at < $1 AND started_at >= $2",
          {to_epoch_ms(cutoffs.evidence), results_cutoff});
  stats.due.results = count("SELECT COUNT(*) FROM results WHERE started_at < $1", {results_cutoff});
  stats.due.verdict_changes = count(
      "SELECT COUNT(*) FROM verdict_changes v WHERE changed_at < $1 AND changed_at < "
      "(SELECT MAX(changed_at) FROM verdict_changes w WHERE w.domain = v.domain)",
      {to_epoch_ms(cutoffs.verdict_changes)});
  stats.due.alerts =
      count("SELECT COUNT(*) FROM alerts WHERE resolved_at < $1", {to_epoch_ms(cutoffs.alerts)});
  // A rollup goes once it ended before its cutoff.
  stats.due.rollups = count("SELECT COUNT(*) FROM rollups WHERE span = 'hour' AND start_at < $1",
                            {to_epoch_ms(ended_by(RollupSpan::Hour, cutoffs.hourly_rollups))}) +
                      count("SELECT COUNT(*) FROM rollups WHERE span = 'day' AND start_at < $1",
                            {to_epoch_ms(ended_by(RollupSpan::Day, cutoffs.daily_rollups))});
  return stats;
}

int64_t limit_value(size_t limit) {
  constexpr auto kMax = static_cast<size_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(limit > kMax ? kMax : limit);
}

StoreOutcome decide_fates(const std::vector<StoredResult>& batch,
                          const std::vector<SeenResult>& seen) {
  StoreOutcome outcome;
  outcome.fates.reserve(batch.size());
  std::map<std::tuple<std::string_view, uint64_t, uint64_t>, size_t> first;
  for (size_t i = 0; i < batch.size(); ++i) {
    const StoredResult& result = batch[i];
    const auto [earlier, is_first] = first.try_emplace({result.agent, result.epoch, result.seq}, i);
    StoreFate fate = StoreFate::Stored;
    if (!is_first) {
      fate = batch[earlier->second].document == result.document ? StoreFate::Duplicate
                                                                : StoreFate::Conflict;
    } else if (!seen[i].inserted) {
      fate = seen[i].same_as_stored ? StoreFate::Duplicate : StoreFate::Conflict;
    }
    outcome.fates.push_back(fate);
  }
  const auto count = [&](StoreFate fate) {
    return static_cast<size_t>(std::count(outcome.fates.begin(), outcome.fates.end(), fate));
  };
  outcome.conflicts = count(StoreFate::Conflict);
  if (outcome.conflicts > 0) {
    std::replace(outcome.fates.begin(), outcome.fates.end(), StoreFate::Stored,
                 StoreFate::Withheld);
  }
  outcome.inserted = count(StoreFate::Stored);
  outcome.duplicates = count(StoreFate::Duplicate);
  return outcome;
}

void fail(std::string_view backend, std::string_view operation, std::string_view message) {
  throw StorageError(fmt::format("{}: {}: {}", backend, operation, message));
}

}  // namespace vantage::storage_detail

namespace vantage {

PruneCounts& PruneCounts::operator+=(const PruneCounts& other) {
  documents += other.documents;
  results += other.results;
  verdict_changes += other.verdict_changes;
  alerts += other.alerts;
  rollups += other.rollups;
  return *this;
}

}  // namespace vantage
