// What only PostgreSQL has: results in a partition per UTC day of their start (the migration
// that brings them, store_results making the partitions, retention dropping them). The tables are
// read through a connection of the test's own.
#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage_migrations.hh"
#include "storage_suite.hh"

namespace vantage::testing {

std::string current_conninfo();

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The first column of every row of `sql`, run on the current database.
std::vector<std::string> first_column(const std::string& sql) {
  const Connection conn(PQconnectdb(current_conninfo().c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(PQerrorMessage(conn.get()));
  }
  const Result result(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error(fmt::format("{}: {}", sql, PQresultErrorMessage(result.get())));
  }
  std::vector<std::string> values;
  for (int row = 0; row < PQntuples(result.get()); ++row) {
    values.emplace_back(PQgetvalue(result.get(), row, 0));
  }
  return values;
}

// The partitions of results, by name.
std::vector<std::string> partitions() {
  return first_column(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'results'::regclass ORDER BY 1");
}

// "partition rows" for each partition holding rows, by name.
std::vector<std::string> rows_per_partition() {
  return first_column(
      "SELECT tableoid::regclass::text || ' ' || COUNT(*) FROM results GROUP BY tableoid "
      "ORDER BY 1");
}

// A result of `agent` started `offset` after 2026-01-01T00:00:00Z (the suite's start of time).
StoredResult result_at(const std::string& agent, uint64_t seq, milliseconds offset) {
  return make_result(agent, seq, "social.example", offset);
}

// The version whose migration partitions results, found by what it does, not by its number.
int partitioning_version() {
  for (const Migration& migration : schema_migrations()) {
    if (migration.postgres_sql.find("PARTITION BY RANGE (started_at)") != std::string_view::npos) {
      return migration.version;
    }
  }
  throw std::logic_error("no migration partitions results");
}

RetentionCutoffs nothing_before_start() {
  const TimePoint start = make_result("x", 0).started_at;
  return RetentionCutoffs{start, start, start, start, start, start, start};
}

PruneCounts prune_all(Storage& storage, const RetentionCutoffs& cutoffs, size_t batch) {
  PruneCounts total;
  for (int calls = 0; calls < 100; ++calls) {
    const PruneCounts pruned = storage.prune(cutoffs, batch);
    if (pruned.total() == 0) {
      return total;
    }
    total += pruned;
  }
  FAIL("prune still removed rows after 100 calls");
  return total;
}

}  // namespace

TEST_CASE("postgres: results are stored in a partition per UTC day of their start",
          "[storage][postgres][partitions]") {
  auto storage = fresh_migrated();
  CHECK(partitions().empty());
  const std::vector<StoredResult> batch = {
      result_at("vp-1", 1, milliseconds(1000)), result_at("vp-1", 2, hours(24) - milliseconds(1)),
      result_at("vp-1", 3, hours(24)), result_at("vp-1", 4, hours(24 * 3) + hours(5))};
  REQUIRE(storage->store_results(batch).inserted == 4);
  CHECK(partitions() ==
        std::vector<std::string>{"results_d20260101", "results_d20260102", "results_d20260104"});
  CHECK(rows_per_partition() == std::vector<std::string>{"results_d20260101 2",
                                                         "results_d20260102 1",
                                                         "results_d20260104 1"});
  CHECK(all_results(*storage) == batch);
  // Every partition has the parent's key and indexes.
  CHECK(first_column("SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'results_d20260102'") ==
        std::vector<std::string>{"5"});
}

TEST_CASE("postgres: two collectors storing results of the same new days at once both succeed",
          "[storage][postgres][partitions]") {
  auto first = fresh_migrated();
  auto second = storage_backend().reopen();
  // Each batch reaches into the same eight new days.
  const auto batch_of = [](const std::string& agent) {
    std::vector<StoredResult> batch;
    for (uint64_t seq = 1; seq <= 40; ++seq) {
      batch.push_back(result_at(agent, seq, hours(24 * static_cast<int64_t>(seq % 8) + 1)));
    }
    return batch;
  };
  StoreOutcome first_outcome;
  StoreOutcome second_outcome;
  std::thread one([&] { first_outcome = first->store_results(batch_of("vp-1")); });
  std::thread two([&] { second_outcome = second->store_results(batch_of("vp-2")); });
  one.join();
  two.join();
  CHECK(first_outcome.inserted == 40);
  CHECK(second_outcome.inserted == 40);
  CHECK(partitions().size() == 8);
  CHECK(first->count_results() == 80);
}

TEST_CASE(
    "postgres: a key is stored once across partitions; the same seq with a start on another "
    "day is a conflict",
    "[storage][postgres][partitions][conflict]") {
  auto storage = fresh_migrated();
  const StoredResult stored = result_at("vp-1", 1, hours(1));
  REQUIRE(storage->store_results({stored}).inserted == 1);
  CHECK(counts(storage->store_results({stored})) == Counts{.duplicates = 1});

  StoredResult other_day = result_at("vp-1", 1, hours(24 * 2));
  other_day.document = "another cycle";
  const StoredResult fresh = result_at("vp-1", 2, hours(24 * 2));
  const StoreOutcome outcome = storage->store_results({fresh, other_day});
  CHECK(counts(outcome) == Counts{.conflicts = 1});
  CHECK(outcome.fates == std::vector<StoreFate>{StoreFate::Withheld, StoreFate::Conflict});
  CHECK(all_results(*storage) == std::vector<StoredResult>{stored});

  // Two collectors storing one key with two starts at once: one is stored, the other conflicts.
  auto other = storage_backend().reopen();
  for (uint64_t seq = 10; seq < 20; ++seq) {
    StoreOutcome a;
    StoreOutcome b;
    std::thread one([&] { a = storage->store_results({result_at("vp-2", seq, hours(1))}); });
    std::thread two([&] {
      StoredResult later = result_at("vp-2", seq, hours(24 * 5));
      later.document += " later";
      b = other->store_results({later});
    });
    one.join();
    two.join();
    CHECK(a.inserted + b.inserted == 1);
    CHECK(a.conflicts + b.conflicts == 1);
  }
  CHECK(first_column("SELECT COUNT(*) FROM (SELECT agent, epoch, seq FROM results "
                     "GROUP BY agent, epoch, seq HAVING COUNT(*) > 1) twice") ==
        std::vector<std::string>{"0"});
}

TEST_CASE(
    "postgres: retention drops the partitions of days before the cutoff whole and deletes the "
    "rows before it in the cutoff's day; documents go in several partitions",
    "[storage][postgres][partitions][retention]") {
  auto storage = fresh_migrated();
  std::vector<StoredResult> batch;
  uint64_t seq = 0;
  // Three results in each of the first four days, at 01:00, 11:00 and 21:00, all OK.
  for (int day = 0; day < 4; ++day) {
    for (const int hour : {1, 11, 21}) {
      StoredResult result = result_at("vp-1", ++seq, hours(24 * day + hour));
      result.verdict = "OK";
      batch.push_back(result);
    }
  }
  REQUIRE(storage->store_results(batch).inserted == 12);
  REQUIRE(partitions().size() == 4);

  // Results before the third day's noon: two days whole and two results of the third.
  RetentionCutoffs cutoffs = nothing_before_start();
  cutoffs.results = batch[0].started_at - hours(1) + hours(24 * 2 + 12);
  // OK documents before the fourth day's noon: those of the third day's 21:00 and of the fourth's
  // 01:00 and 11:00, in two partitions.
  cutoffs.documents = batch[0].started_at - hours(1) + hours(24 * 3 + 12);
  const StorageStats before = storage->stats(cutoffs);
  CHECK(before.due == PruneCounts{.documents = 3, .results = 8});
  const auto results_table = std::find_if(before.tables.begin(), before.tables.end(),
                                          [](const TableStats& t) { return t.table == "results"; });
  REQUIRE(results_table != before.tables.end());
  CHECK(results_table->rows == 12);
  CHECK(results_table->oldest == batch[0].started_at);
  REQUIRE(results_table->bytes);
  CHECK(*results_table->bytes > 4 * 8192);  // the partitions' pages, not the empty parent's 0

  CHECK(prune_all(*storage, cutoffs, 1) == before.due);
  CHECK(partitions() == std::vector<std::string>{"results_d20260103", "results_d20260104"});
  CHECK(rows_per_partition() ==
        std::vector<std::string>{"results_d20260103 1", "results_d20260104 3"});
  const auto kept = all_results(*storage);
  REQUIRE(kept.size() == 4);
  CHECK(kept.front().started_at >= cutoffs.results);
  CHECK(kept[0].document.empty());
  CHECK(kept[1].document.empty());
  CHECK(kept[2].document.empty());
  CHECK(kept[3] == batch[11]);  // its document is younger than the cutoff
  CHECK(storage->stats(cutoffs).due == PruneCounts{});
  // A late upload into a dropped day makes the partition again.
  REQUIRE(storage->store_results({batch[0]}).inserted == 1);
  CHECK(partitions().front() == "results_d20260101");
}

TEST_CASE(
    "postgres: migrating results to day partitions keeps every row of every day, the rollups, "
    "and re-uploads stay duplicates",
    "[storage][postgres][partitions][migrate]") {
  const int version = partitioning_version();
  auto storage = migrated_before(version);
  StorageBackend& backend = storage_backend();
  std::vector<StoredResult> before;
  for (uint64_t seq = 1; seq <= 9; ++seq) {
    // Three a day over three days; their documents as text, as a collector before version 7
    // left them, and summaries.
    StoredResult result = result_at("vp-1", seq, hours(24 * ((seq - 1) / 3) + seq));
    result.summary = fmt::format(R"([1,"OK",{},0,[],[]])", seq);
    backend.execute(fmt::format(
        "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, "
        "document, received_at, summary) VALUES ('vp-1', 0, {}, 'social.example', {}, "
        "'{}', '{}', 0, '{}')",
        seq, std::chrono::duration_cast<milliseconds>(result.started_at.time_since_epoch()).count(),
        result.verdict, result.document, result.summary));
    before.push_back(result);
  }
  backend.execute(
      "INSERT INTO rollups (domain, span, start_at, agent, ok, route_loss, dns_failure, "
      "domain_vanished, server_down, tls_failure, http_error, degraded, unknown, "
      "vantage_isolated, latency) SELECT domain, 'day', started_at - started_at % 86400000, "
      "agent, SUM(CASE WHEN verdict = 'OK' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN verdict = 'ROUTE_LOSS' THEN 1 ELSE 0 END), 0, 0, 0, 0, 0, 0, 0, 0, '' "
      "FROM results GROUP BY 1, 2, 3, 4");
  // Read as rows: the storage's own reader needs the latest schema.
  const std::string kRollupRows =
      "SELECT domain || ' ' || span || ' ' || start_at || ' ' || agent || ' ' || ok FROM rollups "
      "ORDER BY start_at";
  const auto rollups = first_column(kRollupRows);
  REQUIRE(rollups.size() == 3);

  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  CHECK(partitions() ==
        std::vector<std::string>{"results_d20260101", "results_d20260102", "results_d20260103"});
  CHECK(rows_per_partition() == std::vector<std::string>{"results_d20260101 3",
                                                         "results_d20260102 3",
                                                         "results_d20260103 3"});
  CHECK(first_column("SELECT to_regclass('results_unpartitioned') IS NULL") ==
        std::vector<std::string>{"t"});
  CHECK(all_results(*storage) == before);
  CHECK(first_column(kRollupRows) == rollups);
  // The stored results were all in the rollups before: none is folded again.
  const auto read = storage->rollups("", RollupSpan::Day, TimePoint{}, 100);
  REQUIRE(read.size() == 3);
  for (const Rollup& day : read) {
    CHECK(day.figures.cycles() == 3);  // each day's three results, OK or ROUTE_LOSS
  }
  CHECK(counts(storage->store_results(before)) == Counts{.duplicates = 9});
  StoredResult changed = before[4];
  changed.document += " ";
  CHECK(counts(storage->store_results({changed})) == Counts{.conflicts = 1});
  CHECK(storage->compress_text_documents(100) == 9);
  CHECK(all_results(*storage) == before);
  CHECK(storage->store_results({result_at("vp-1", 10, hours(24 * 4))}).inserted == 1);
  CHECK(partitions().back() == "results_d20260105");
}

}  // namespace vantage::testing
