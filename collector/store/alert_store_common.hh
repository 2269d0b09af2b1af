#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "alert_store.hh"

// The alert store's SQL is the same on both backends; each backend only supplies a session that
// runs one statement at a time. Not part of the AlertStore interface.
namespace vantage::alert_store_detail {

using SqlParam = std::variant<std::monostate, int64_t, std::string>;  // monostate: NULL
using SqlValue = std::optional<std::string>;  // a column as text; nullopt: NULL
using SqlRow = std::vector<SqlValue>;

// One connection. Statements number their parameters ?1, ?2, ... (a PostgreSQL session rewrites
// them to $1, $2, ...). Failures throw StorageError.
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual std::vector<SqlRow> query(std::string_view operation, std::string_view sql,
                                    const std::vector<SqlParam>& params) = 0;
  // A write transaction: a SQLite session takes the write lock at once (BEGIN IMMEDIATE).
  virtual void begin(std::string_view operation) = 0;
  virtual void commit(std::string_view operation) = 0;
  virtual void rollback() noexcept = 0;
  virtual const std::string& backend() const = 0;  // "sqlite PATH", "postgres DB"
};

std::unique_ptr<AlertStore> make_alert_store(std::unique_ptr<SqlSession> session);

}  // namespace vantage::alert_store_detail
