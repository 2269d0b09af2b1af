#pragma once

#include <span>
#include <string_view>

namespace vantage {

// One step of the collector's schema. Version n is applied after version n-1, in a transaction of
// its own together with its row in schema_migrations. The SQL is one text for both backends
// (BIGINT, TEXT, CHECK, ON CONFLICT read the same in SQLite and PostgreSQL); it may hold several
// statements. Never edit a released migration: add the next one.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

// Created before the first migration, in the same transaction.
inline constexpr std::string_view kSchemaMigrationsTableSql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)";

// In order, versions 1, 2, ...
std::span<const Migration> schema_migrations();
int latest_schema_version();

}  // namespace vantage
