#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vantage {

// A rewrite, row by row in C++, of text the two backends' SQL cannot rewrite alike (JSON): after
// the migration's SQL and in its transaction, every row's `column` of `table` becomes what
// `rewrite` makes of it; rows are found again by their `key` columns ("domain, changed_at").
// `rewrite` throws std::invalid_argument for a value it cannot read, and the migration then fails
// naming the row, changing nothing.
struct ColumnRewrite {
  std::string_view table;
  std::string_view key;
  std::string_view column;
  std::string (*rewrite)(std::string_view value) = nullptr;
};

// One step of the collector's schema. Version n is applied after version n-1, in a transaction of
// its own together with its row in schema_migrations. The SQL is one text for both backends
// (BIGINT, TEXT, CHECK, ON CONFLICT read the same in SQLite and PostgreSQL); it may hold several
// statements. Where the engines are best run differently (how space is given back, partitions),
// a backend's own SQL follows the shared text. Never edit a released migration: add the next one.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;  // may be empty when the rewrite or a backend's own SQL does all
  std::optional<ColumnRewrite> rewrite = std::nullopt;
  std::string_view sqlite_sql = {};    // after `sql`, on SQLite only
  std::string_view postgres_sql = {};  // after `sql`, on PostgreSQL only
};

// Created before the first migration, in the same transaction.
inline constexpr std::string_view kSchemaMigrationsTableSql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)";

// In order, versions 1, 2, ...
std::span<const Migration> schema_migrations();
int latest_schema_version();

}  // namespace vantage
