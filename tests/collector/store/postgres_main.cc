// test_storage_postgres: the storage suite against a real PostgreSQL server that this binary
// starts in a temp dir (Unix socket only) and always stops, plus what only PostgreSQL has: a
// server that restarts or crashes under a live storage. Without the server binaries (or, as root,
// without the postgres user) it prints SKIPPED and exits 77, unless VANTAGE_REQUIRE_LAB=1.
#define CATCH_CONFIG_RUNNER
#include <fmt/format.h>
#include <libpq-fe.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "postgres_server.hh"
#include "storage_suite.hh"

namespace vantage::testing {
namespace {

constexpr int kSkipExitCode = 77;

std::unique_ptr<PostgresServer> the_server;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

void run_sql(const std::string& conninfo, const std::string& sql) {
  Connection conn(PQconnectdb(conninfo.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(fmt::format("connect {}: {}", conninfo, PQerrorMessage(conn.get())));
  }
  const Result result(PQexec(conn.get(), sql.c_str()), &PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(fmt::format("{}: {}", sql, PQresultErrorMessage(result.get())));
  }
}

// Every open_fresh() is a new database on the one server.
class PostgresBackend final : public StorageBackend {
 public:
  std::string name() const override { return "postgres"; }
  std::unique_ptr<Storage> open_fresh() override {
    const std::string database = fmt::format("vantage_test_{}", ++count_);
    run_sql(the_server->conninfo("postgres"), "CREATE DATABASE " + database);
    current_ = the_server->conninfo(database);
    return open_postgres_storage(current_);
  }
  std::unique_ptr<Storage> reopen() override { return open_postgres_storage(current_); }
  std::unique_ptr<AlertStore> open_alert_store() override {
    return open_postgres_alert_store(current_);
  }
  void execute(const std::string& sql) override { run_sql(current_, sql); }
  const std::string& current() const { return current_; }

 private:
  std::string current_;
  int count_ = 0;
};

PostgresServer& server() {
  return *the_server;
}

PostgresBackend& the_backend() {
  static PostgresBackend backend;
  return backend;
}

}  // namespace

PostgresServer& postgres_server() {
  return *the_server;
}

std::string create_database(const std::string& name) {
  run_sql(the_server->conninfo("postgres"), "CREATE DATABASE " + name);
  return the_server->conninfo(name);
}

StorageBackend& storage_backend() {
  return the_backend();
}

std::string current_conninfo() {
  return the_backend().current();
}

TEST_CASE("postgres: a storage carries on after the server crashed, and nothing committed is lost",
          "[storage][postgres][crash]") {
  auto storage = storage_backend().open_fresh();
  storage->migrate();
  const auto first = make_batch("vp-1", 1, 100);
  REQUIRE(storage->store_results(first).inserted == 100);
  REQUIRE(storage->put_target(target_for("social.example")));

  server().restart(true);  // immediate shutdown: the restart recovers from the WAL

  // The connection died with the server; the next calls reconnect by themselves.
  CHECK(storage->count_results() == 100);
  CHECK(storage->results("", "", TimePoint{}, 1000) == first);
  CHECK(storage->targets_version() == 1);
  CHECK(counts(storage->store_results(make_batch("vp-1", 51, 100))) ==
        Counts{.inserted = 50, .duplicates = 50});
}

TEST_CASE(
    "postgres: while the server is down calls fail with StorageError; they work once it is "
    "back",
    "[storage][postgres][failure]") {
  auto storage = storage_backend().open_fresh();
  storage->migrate();
  REQUIRE(storage->store_results(make_batch("vp-1", 1, 10)).inserted == 10);

  server().stop(false);
  try {
    storage->store_results(make_batch("vp-1", 11, 10));
    server().start();
    FAIL("store_results succeeded with the server stopped");
  } catch (const StorageError& e) {
    server().start();
    const std::string message = e.what();
    CHECK_THAT(message, Catch::StartsWith("postgres") && Catch::Contains("store_results"));
  }
  CHECK(storage->store_results(make_batch("vp-1", 11, 10)).inserted == 10);
  CHECK(storage->count_results() == 20);
}

TEST_CASE("postgres: a server that is not there fails open with StorageError naming connect",
          "[storage][postgres][failure]") {
  CHECK_THROWS_WITH(open_postgres_storage("host=/nonexistent-vantage-dir port=1 dbname=x"),
                    Catch::StartsWith("postgres: connect:"));
}

}  // namespace vantage::testing

int main(int argc, char* argv[]) {
  using vantage::testing::PostgresServer;
  Catch::Session session;
  if (const int status = session.applyCommandLine(argc, argv); status != 0) {
    return status;
  }
  const auto& config = session.configData();
  if (config.showHelp || config.listTests || config.listTestNamesOnly || config.listTags ||
      config.listReporters) {
    return session.run();  // listing needs no server
  }
  const char* require = std::getenv("VANTAGE_REQUIRE_LAB");
  const bool required = require != nullptr && std::string_view(require) == "1";
  if (const std::string why = PostgresServer::unavailable_reason(); !why.empty()) {
    if (required) {
      std::printf("FAILED: %s (VANTAGE_REQUIRE_LAB=1 requires the PostgreSQL tests)\n",
                  why.c_str());
      return 1;
    }
    std::printf("SKIPPED: %s\n", why.c_str());
    return vantage::testing::kSkipExitCode;
  }
  try {
    vantage::testing::the_server = std::make_unique<PostgresServer>();
  } catch (const std::exception& e) {
    std::printf("FAILED: could not start PostgreSQL: %s\n", e.what());
    return 1;
  }
  const int failed = session.run();
  vantage::testing::the_server.reset();
  // Catch2 exits with the number of failed assertions; 77 of them must not read as "skipped".
  return failed == vantage::testing::kSkipExitCode ? 1 : failed;
}
