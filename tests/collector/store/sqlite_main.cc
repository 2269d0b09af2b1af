// test_storage_sqlite: the storage suite on SQLite files in a temp dir, plus what only SQLite has.
#define CATCH_CONFIG_MAIN
#include <fmt/format.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "storage_suite.hh"

namespace vantage::testing {
namespace {

class SqliteBackend final : public StorageBackend {
 public:
  std::string name() const override { return "sqlite"; }
  std::unique_ptr<Storage> open_fresh() override {
    current_ = dir_.path() / fmt::format("collector-{}.db", ++count_);
    return open_sqlite_storage(current_.string());
  }
  std::unique_ptr<Storage> reopen() override { return open_sqlite_storage(current_.string()); }
  std::unique_ptr<AlertStore> open_alert_store() override {
    return open_sqlite_alert_store(current_.string());
  }
  void execute(const std::string& sql) override {
    sqlite3* raw = nullptr;
    const int opened = sqlite3_open(current_.c_str(), &raw);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
    if (opened != SQLITE_OK) {
      throw std::runtime_error(fmt::format("open {}: {}", current_.string(), sqlite3_errmsg(raw)));
    }
    sqlite3_busy_timeout(db.get(), 5000);
    if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(fmt::format("{}: {}", sql, sqlite3_errmsg(db.get())));
    }
  }
  const std::filesystem::path& current() const { return current_; }

 private:
  ScratchDir dir_{"vantage-storage-sqlite"};
  std::filesystem::path current_;
  int count_ = 0;
};

SqliteBackend& sqlite_backend() {
  static SqliteBackend backend;
  return backend;
}

std::string pragma(const std::filesystem::path& path, const char* sql) {
  sqlite3* raw = nullptr;
  sqlite3_open(path.c_str(), &raw);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db.get(), sql, -1, &statement, nullptr) == SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> owned(statement, &sqlite3_finalize);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  return reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
}

}  // namespace

StorageBackend& storage_backend() {
  return sqlite_backend();
}

TEST_CASE("sqlite: the database file is in WAL mode", "[storage][sqlite]") {
  auto storage = sqlite_backend().open_fresh();
  storage->migrate();
  CHECK(pragma(sqlite_backend().current(), "PRAGMA journal_mode") == "wal");
}

TEST_CASE("sqlite: a database in a missing directory fails to open, naming the path",
          "[storage][sqlite][failure]") {
  const std::string path = "/nonexistent-vantage-dir/collector.db";
  CHECK_THROWS_WITH(open_sqlite_storage(path),
                    Catch::StartsWith("sqlite " + path) && Catch::Contains("open"));
}

TEST_CASE("sqlite: a file that is not a database fails with StorageError, not a crash",
          "[storage][sqlite][failure]") {
  ScratchDir dir("vantage-storage-sqlite-junk");
  const auto path = dir.path() / "junk.db";
  {
    std::unique_ptr<FILE, decltype(&fclose)> file(fopen(path.c_str(), "w"), &fclose);
    REQUIRE(file);
    for (int i = 0; i < 100; ++i) {
      fputs("this is not an SQLite database, just text. ", file.get());
    }
  }
  CHECK_THROWS_AS(
      [&] {
        auto storage = open_sqlite_storage(path.string());
        storage->migrate();
      }(),
      StorageError);
}

TEST_CASE("sqlite: sync_every_commit=false still stores and reads back", "[storage][sqlite]") {
  ScratchDir dir("vantage-storage-sqlite-normal");
  const auto path = (dir.path() / "normal.db").string();
  auto storage = open_sqlite_storage(path, SqliteOptions{.sync_every_commit = false});
  storage->migrate();
  const auto batch = make_batch("vp-1", 1, 10);
  CHECK(storage->store_results(batch).inserted == 10);
  CHECK(storage->results("", "", TimePoint{}, 100) == batch);
}

TEST_CASE("sqlite: a new database gives the pages pruning freed back, and the file shrinks",
          "[storage][sqlite][retention]") {
  auto storage = sqlite_backend().open_fresh();
  storage->migrate();
  CHECK(pragma(sqlite_backend().current(), "PRAGMA auto_vacuum") == "2");  // INCREMENTAL
  std::mt19937 random(11);
  std::vector<StoredResult> batch = make_batch("vp-1", 1, 500);
  for (StoredResult& result : batch) {
    for (int i = 0; i < 4000; ++i) {  // incompressible: 2 MB of documents in all
      result.document += static_cast<char>('a' + random() % 26);
    }
  }
  REQUIRE(storage->store_results(batch).inserted == 500);
  const uint64_t full = storage->size_bytes();
  CHECK(full > 1'000'000);

  const TimePoint later = batch.back().started_at + std::chrono::hours(1);
  PruneCounts pruned;
  for (int calls = 0; calls < 10 && (calls == 0 || pruned.total() > 0); ++calls) {
    pruned =
        storage->prune(RetentionCutoffs{later, later, later, later, later, later, later}, 1000);
  }
  uint64_t reclaimed = 0;
  for (int calls = 0; calls < 100; ++calls) {
    const uint64_t pages = storage->reclaim_space(64);
    CHECK(pages <= 64);  // bounded, as asked
    if (pages == 0) {
      break;
    }
    reclaimed += pages;
  }
  CHECK(reclaimed > 200);
  CHECK(storage->count_results() == 0);
  // The file itself shrinks at the next checkpoint: here, as the connection closes.
  storage.reset();
  CHECK(std::filesystem::file_size(sqlite_backend().current()) < full / 4);
}

}  // namespace vantage::testing
