// The alert store on SQLite: a second connection to the collector's database file, beside the
// main Storage's. WAL lets both read at once; writers take the write lock when their transaction
// begins (BEGIN IMMEDIATE) and wait out the other's on the busy timeout.

#include <fmt/format.h>
#include <sqlite3.h>

#include <type_traits>

#include "alert_store_common.hh"
#include "storage_common.hh"

namespace vantage {
namespace {

using alert_store_detail::SqlParam;
using alert_store_detail::SqlRow;

using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;
using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

class SqliteSession final : public alert_store_detail::SqlSession {
 public:
  SqliteSession(const std::string& path, const SqliteOptions& options)
      : backend_(fmt::format("sqlite {}", path)) {
    sqlite3* raw = nullptr;
    // The store's mutex serialises every use of the connection.
    const int code =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (code != SQLITE_OK) {
      if (!db_) {
        storage_detail::fail(backend_, "open alert store", sqlite3_errstr(code));
      }
      fail("open alert store");
    }
    sqlite3_extended_result_codes(db_.get(), 1);
    sqlite3_busy_timeout(db_.get(), static_cast<int>(options.busy_timeout.count()));
    // The main Storage put the file in WAL mode; the setting is per connection only for
    // synchronous.
    exec("open alert store",
         options.sync_every_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  }

  std::vector<SqlRow> query(std::string_view operation, std::string_view sql,
                            const std::vector<SqlParam>& params) override {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
        SQLITE_OK) {
      fail(operation);
    }
    const Statement statement(raw, &sqlite3_finalize);
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const int code = std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              return sqlite3_bind_int64(raw, index, value);
            } else if constexpr (std::is_same_v<T, std::string>) {
              return sqlite3_bind_text64(raw, index, value.data(), value.size(), SQLITE_STATIC,
                                         SQLITE_UTF8);
            } else {
              return sqlite3_bind_null(raw, index);
            }
          },
          params[i]);
      if (code != SQLITE_OK) {
        fail(operation);
      }
    }
    std::vector<SqlRow> rows;
    for (;;) {
      const int code = sqlite3_step(raw);
      if (code == SQLITE_DONE) {
        return rows;
      }
      if (code != SQLITE_ROW) {
        fail(operation);
      }
      SqlRow row;
      for (int column = 0; column < sqlite3_column_count(raw); ++column) {
        if (sqlite3_column_type(raw, column) == SQLITE_NULL) {
          row.emplace_back();
          continue;
        }
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, column));
        row.emplace_back(std::string(text, sqlite3_column_bytes(raw, column)));
      }
      rows.push_back(std::move(row));
    }
  }

  void begin(std::string_view operation) override { exec(operation, "BEGIN IMMEDIATE"); }
  void commit(std::string_view operation) override { exec(operation, "COMMIT"); }
  void rollback() noexcept override {
    // After some errors (SQLITE_FULL, SQLITE_IOERR) SQLite has rolled back already.
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  const std::string& backend() const override { return backend_; }

 private:
  void exec(std::string_view operation, const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      fail(operation);
    }
  }
  [[noreturn]] void fail(std::string_view operation) const {
    storage_detail::fail(backend_, operation, sqlite3_errmsg(db_.get()));
  }

  std::string backend_;
  Database db_{nullptr, &sqlite3_close_v2};
};

}  // namespace

std::unique_ptr<AlertStore> open_sqlite_alert_store(const std::string& path,
                                                    const SqliteOptions& options) {
  return alert_store_detail::make_alert_store(std::make_unique<SqliteSession>(path, options));
}

}  // namespace vantage
