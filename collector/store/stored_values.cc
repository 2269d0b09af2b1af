#include "stored_values.hh"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "printable.hh"
#include "storage_common.hh"
#include "verdict_state_format.hh"

namespace vantage::storage_detail {
namespace {

[[noreturn]] void bad_value(std::string_view column, std::string_view value, std::string_view what,
                            std::string_view backend, std::string_view operation) {
  fail(backend, operation,
       fmt::format("{} holds \"{}\", which is not {}", column, printable(value), what));
}

Verdict verdict_column(std::string_view column, std::string_view text, std::string_view backend,
                       std::string_view operation) {
  const auto verdict = verdict_from_string(text);
  if (!verdict) {
    bad_value(column, text, "a verdict", backend, operation);
  }
  return *verdict;
}

}  // namespace

TokenKind token_kind_column(std::string_view text, std::string_view backend,
                            std::string_view operation) {
  const auto kind = token_kind_from_string(text);
  if (!kind) {
    bad_value("tokens.kind", text, "a token kind (agent, operator)", backend, operation);
  }
  return *kind;
}

VerdictRecord verdict_record(const VerdictRow& row, std::string_view backend,
                             std::string_view operation) {
  VerdictRecord record;
  record.domain = row.domain;
  record.changed_at = from_epoch_ms(row.changed_at_ms);
  record.verdict = verdict_column("verdict_changes.verdict", row.verdict, backend, operation);
  const auto scope = scope_from_string(row.scope);
  if (!scope) {
    bad_value("verdict_changes.scope", row.scope, "a scope (global, partial or empty)", backend,
              operation);
  }
  record.scope = *scope;
  record.previous_verdict =
      verdict_column("verdict_changes.previous_verdict", row.previous_verdict, backend, operation);
  try {
    record.state = decode_verdict_state(row.state, record);
  } catch (const std::invalid_argument& error) {
    fail(backend, operation,
         fmt::format("verdict_changes.state of {} at {} ms cannot be read: {}",
                     printable(row.domain), row.changed_at_ms, error.what()));
  }
  return record;
}

std::vector<std::string> split_columns(std::string_view key) {
  std::vector<std::string> columns;
  while (!key.empty()) {
    const auto comma = std::min(key.find(','), key.size());
    std::string_view column = key.substr(0, comma);
    while (!column.empty() && column.front() == ' ') {
      column.remove_prefix(1);
    }
    columns.emplace_back(column);
    key.remove_prefix(std::min(comma + 1, key.size()));
  }
  return columns;
}

std::string rewritten(const ColumnRewrite& rewrite, const std::vector<std::string>& row,
                      std::string_view backend, std::string_view operation) {
  try {
    return rewrite.rewrite(row.back());
  } catch (const std::invalid_argument& error) {
    std::string key;
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      key += fmt::format("{}{}", i == 0 ? "" : ", ", printable(row[i]));
    }
    fail(backend, operation,
         fmt::format("{}.{} of the row ({}) = ({}) cannot be converted: {}", rewrite.table,
                     rewrite.column, rewrite.key, key, error.what()));
  }
}

}  // namespace vantage::storage_detail
