// vantage-collector db stats: what the store holds, table by table, and what retention removes
// next. Reads the database directly, like token create, beside a running serve.

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "collector_config.hh"
#include "commands.hh"
#include "duration.hh"
#include "result_json.hh"
#include "storage_migrations.hh"

namespace vantage {
namespace {

// "1.4 GB", "487.3 MB", "8.0 KB", "512 B": powers of 1,000, as df -H and the sizing table.
std::string human_bytes(uint64_t bytes) {
  constexpr const char* kUnits[] = {"KB", "MB", "GB", "TB"};
  if (bytes < 1000) {
    return fmt::format("{} B", bytes);
  }
  auto value = static_cast<double>(bytes) / 1000;
  size_t unit = 0;
  for (; value >= 1000 && unit + 1 < std::size(kUnits); ++unit) {
    value /= 1000;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string with_commas(uint64_t value) {
  const std::string digits = std::to_string(value);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      grouped += ',';
    }
    grouped += digits[i];
  }
  return grouped;
}

nlohmann::json stats_json(const StorageStats& stats, uint64_t size, int version,
                          const RetentionConfig& retention) {
  nlohmann::json tables = nlohmann::json::array();
  for (const TableStats& table : stats.tables) {
    tables.push_back(
        {{"table", table.table},
         {"rows", table.rows},
         {"bytes", table.bytes ? nlohmann::json(*table.bytes) : nullptr},
         {"oldest", table.oldest ? nlohmann::json(format_time(*table.oldest)) : nullptr}});
  }
  return {{"size_bytes", size},
          {"schema_version", version},
          {"tables", tables},
          {"documents", stats.documents},
          {"retention",
           {{"documents", format_period(retention.documents)},
            {"evidence", format_period(retention.evidence)},
            {"results", format_period(retention.results)},
            {"verdict_changes", format_period(retention.verdict_changes)},
            {"alerts", format_period(retention.alerts)},
            {"hourly_rollups", format_period(retention.hourly_rollups)},
            {"daily_rollups", format_period(retention.daily_rollups)}}},
          {"due",
           {{"documents", stats.due.documents},
            {"results", stats.due.results},
            {"verdict_changes", stats.due.verdict_changes},
            {"alerts", stats.due.alerts},
            {"rollups", stats.due.rollups}}}};
}

}  // namespace

int db_stats_command(const std::string& config_file, bool json, std::ostream& out) {
  const CollectorConfig config = load_collector_config(config_file);
  const auto storage = open_storage(config.storage);
  const int version = storage->schema_version();
  if (version != latest_schema_version()) {
    throw StorageError(
        fmt::format("the database has schema version {}, this collector reads {}: {}", version,
                    latest_schema_version(),
                    version < latest_schema_version() ? "serve migrates it at its next start"
                                                      : "run a newer collector"));
  }
  const StorageStats stats =
      storage->stats(config.retention.cutoffs(std::chrono::system_clock::now()));
  const uint64_t size = storage->size_bytes();
  if (json) {
    out << stats_json(stats, size, version, config.retention).dump(2) << '\n';
    return 0;
  }
  const std::string where = config.storage.kind == StorageConfig::Kind::Sqlite
                                ? fmt::format("sqlite {}", config.storage.location)
                                : std::string("postgres");
  out << fmt::format("{}: {} on disk, schema version {}\n\n", where, human_bytes(size), version);
  out << fmt::format("{:<18} {:>12} {:>10}  {}\n", "TABLE", "ROWS", "ON DISK", "OLDEST");
  uint64_t results = 0;
  for (const TableStats& table : stats.tables) {
    out << fmt::format("{:<18} {:>12} {:>10}  {}\n", table.table, with_commas(table.rows),
                       table.bytes ? human_bytes(*table.bytes) : "?",
                       table.oldest ? format_time(*table.oldest) : "-");
    results = table.table == "results" ? table.rows : results;
  }
  const RetentionConfig& retention = config.retention;
  out << fmt::format("\n{} of {} results hold their cycle document.\n",
                     with_commas(stats.documents), with_commas(results));
  out << fmt::format(
      "Retention ({}) removes next: {} documents, {} results, {} verdict changes, {} alerts, {} "
      "rollups.\n",
      retention.describe(), with_commas(stats.due.documents), with_commas(stats.due.results),
      with_commas(stats.due.verdict_changes), with_commas(stats.due.alerts),
      with_commas(stats.due.rollups));
  return 0;
}

}  // namespace vantage
