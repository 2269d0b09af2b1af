#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "storage.hh"
#include "storage_migrations.hh"

// The collector's closed sets and verdict states read back from their columns, for both backends.
// A value outside its set is a StorageError naming the backend, the operation, the table and
// column, and the value: never a silent default.
namespace vantage::storage_detail {

TokenKind token_kind_column(std::string_view text, std::string_view backend,
                            std::string_view operation);

// The text of a verdict_changes row's columns, as selected.
struct VerdictRow {
  std::string domain;
  int64_t changed_at_ms = 0;
  std::string_view verdict;
  std::string_view scope;
  std::string_view previous_verdict;
  std::string_view state;
};
VerdictRecord verdict_record(const VerdictRow& row, std::string_view backend,
                             std::string_view operation);

// The column names of a ColumnRewrite's key: "domain, changed_at" -> {"domain", "changed_at"}.
std::vector<std::string> split_columns(std::string_view key);
// The new value of one row of a migration's ColumnRewrite: `row` holds the key columns' text, then
// the column's. A value the rewrite cannot read is a StorageError naming the table, column and row.
std::string rewritten(const ColumnRewrite& rewrite, const std::vector<std::string>& row,
                      std::string_view backend, std::string_view operation);

}  // namespace vantage::storage_detail
