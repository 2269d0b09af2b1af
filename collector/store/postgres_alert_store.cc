// The alert store on PostgreSQL: a libpq connection of its own to the collector's database,
// beside the main Storage's. A connection found dead (server restart) is re-opened at the start
// of the next statement outside a transaction.

#include <fmt/format.h>
#include <libpq-fe.h>

#include <array>
#include <type_traits>

#include "alert_store_common.hh"
#include "storage_common.hh"

namespace vantage {
namespace {

using alert_store_detail::SqlParam;
using alert_store_detail::SqlRow;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// ?1, ?2, ... as PostgreSQL numbers parameters: $1, $2, ... (the statements hold no other '?').
std::string postgres_sql(std::string_view sql) {
  std::string text(sql);
  for (char& c : text) {
    if (c == '?') {
      c = '$';
    }
  }
  return text;
}

void quiet_notice(void* /*arg*/, const char* /*message*/) {}

class PostgresSession final : public alert_store_detail::SqlSession {
 public:
  explicit PostgresSession(std::string conninfo) : conninfo_(std::move(conninfo)) {
    connect("open alert store");
    backend_ = fmt::format("postgres {}", PQdb(conn_.get()));
  }

  std::vector<SqlRow> query(std::string_view operation, std::string_view sql,
                            const std::vector<SqlParam>& params) override {
    if (!in_transaction_ && PQstatus(conn_.get()) != CONNECTION_OK) {
      connect(operation);
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              texts[i] = std::to_string(value);
              values[i] = texts[i].c_str();
            } else if constexpr (std::is_same_v<T, std::string>) {
              texts[i] = value;
              values[i] = texts[i].c_str();
            }
          },
          params[i]);
    }
    const std::string text = postgres_sql(sql);
    const Result result(PQexecParams(conn_.get(), text.c_str(), static_cast<int>(params.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0),
                        &PQclear);
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      fail(operation, result.get());
    }
    std::vector<SqlRow> rows;
    for (int row = 0; row < PQntuples(result.get()); ++row) {
      SqlRow values_of_row;
      for (int column = 0; column < PQnfields(result.get()); ++column) {
        if (PQgetisnull(result.get(), row, column) != 0) {
          values_of_row.emplace_back();
        } else {
          values_of_row.emplace_back(std::string(PQgetvalue(result.get(), row, column),
                                                 PQgetlength(result.get(), row, column)));
        }
      }
      rows.push_back(std::move(values_of_row));
    }
    return rows;
  }

  void begin(std::string_view operation) override {
    query(operation, "BEGIN", {});
    in_transaction_ = true;
  }
  void commit(std::string_view operation) override {
    in_transaction_ = false;
    query(operation, "COMMIT", {});
  }
  void rollback() noexcept override {
    in_transaction_ = false;
    if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK &&
        PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      const Result rollback(PQexec(conn_.get(), "ROLLBACK"), &PQclear);
    }
  }
  const std::string& backend() const override { return backend_; }

 private:
  void connect(std::string_view operation) {
    // The conninfo is expanded in place of dbname, after these defaults, so anything it sets wins.
    const std::array<const char*, 4> keywords = {"connect_timeout", "fallback_application_name",
                                                 "dbname", nullptr};
    const std::array<const char*, 4> values = {"10", "vantage-collector alerts", conninfo_.c_str(),
                                               nullptr};
    conn_.reset(PQconnectdbParams(keywords.data(), values.data(), 1));
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      const std::string message = conn_ ? PQerrorMessage(conn_.get()) : "out of memory";
      conn_.reset();
      storage_detail::fail(backend_, operation, "cannot connect: " + one_line(message));
    }
    PQsetNoticeProcessor(conn_.get(), &quiet_notice, nullptr);
    if (PQsetClientEncoding(conn_.get(), "UTF8") != 0) {
      fail(operation, nullptr);
    }
  }

  [[noreturn]] void fail(std::string_view operation, const PGresult* result) const {
    const char* message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message == nullptr || *message == '\0') {
      message = conn_ ? PQerrorMessage(conn_.get()) : "no connection";
    }
    storage_detail::fail(backend_, operation, one_line(message));
  }

  static std::string one_line(std::string_view text) {
    std::string line(text);
    for (char& c : line) {
      if (c == '\n' || c == '\t') {
        c = ' ';
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    return line;
  }

  std::string conninfo_;
  std::string backend_ = "postgres";
  Connection conn_{nullptr, &PQfinish};
  bool in_transaction_ = false;
};

}  // namespace

std::unique_ptr<AlertStore> open_postgres_alert_store(const std::string& conninfo) {
  return alert_store_detail::make_alert_store(std::make_unique<PostgresSession>(conninfo));
}

}  // namespace vantage
