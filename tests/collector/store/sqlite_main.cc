// test_storage_sqlite: the storage suite on SQLite files in a temp dir, plus what only SQLite has.
#define CATCH_CONFIG_MAIN
#include <fmt/format.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "document_codec.hh"
#include "storage_migrations.hh"
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

// `count` results of vp-1 from seq 1, each with 4 KB of incompressible document.
std::vector<StoredResult> incompressible_batch(size_t count, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<StoredResult> batch = make_batch("vp-1", 1, count);
  for (StoredResult& result : batch) {
    for (int i = 0; i < 4000; ++i) {
      result.document += static_cast<char>('a' + random() % 26);
    }
  }
  return batch;
}

// Gives back every page the database has free, in bounded steps; the pages given back.
uint64_t reclaim_all(Storage& storage) {
  uint64_t reclaimed = 0;
  for (int calls = 0; calls < 1000; ++calls) {
    const uint64_t pages = storage.reclaim_space(64);
    if (pages == 0) {
      break;
    }
    reclaimed += pages;
  }
  return reclaimed;
}

std::string hex(std::string_view bytes) {
  std::string text;
  for (const char byte : bytes) {
    text += fmt::format("{:02x}", static_cast<unsigned char>(byte));
  }
  return text;
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

TEST_CASE("sqlite: documents dropped before their rows give their pages back; the rows stay",
          "[storage][sqlite][retention]") {
  auto storage = sqlite_backend().open_fresh();
  storage->migrate();
  const std::vector<StoredResult> batch = incompressible_batch(500, 13);  // 2 MB of documents
  REQUIRE(storage->store_results(batch).inserted == 500);
  const uint64_t full = storage->size_bytes();

  const TimePoint later = batch.back().started_at + std::chrono::hours(1);
  const TimePoint before_all = batch.front().started_at;
  // Documents and evidence past their retention, every row within its own.
  const RetentionCutoffs cutoffs{later,      later,      before_all, before_all,
                                 before_all, before_all, before_all};
  uint64_t documents = 0;
  for (int calls = 0; calls < 10; ++calls) {
    const uint64_t pruned = storage->prune(cutoffs, 1000).documents;
    if (pruned == 0) {
      break;
    }
    documents += pruned;
  }
  CHECK(documents == 500);
  CHECK(reclaim_all(*storage) > 200);
  CHECK(storage->count_results() == 500);
  const auto kept = all_results(*storage);
  REQUIRE(kept.size() == 500);
  CHECK(kept.front().summary == batch.front().summary);
  CHECK(kept.front().document.empty());
  storage.reset();
  CHECK(std::filesystem::file_size(sqlite_backend().current()) < full / 4);
}

TEST_CASE(
    "sqlite: a version 8 database moves its documents to a table of their own; each stays with "
    "its result, through a VACUUM too",
    "[storage][sqlite][migrate]") {
  auto storage = migrated_before(9);
  StoredResult dropped = make_result("vp-1", 1, "social.example", std::chrono::seconds(1));
  dropped.document.clear();  // retention dropped it before the upgrade
  std::vector<StoredResult> before = {dropped};
  for (const StoredResult& result : incompressible_batch(4, 17)) {
    before.push_back(result);
    before.back().seq += 1;
  }
  for (const StoredResult& result : before) {
    const auto started_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(result.started_at.time_since_epoch())
            .count();
    const std::string document =
        result.document.empty()
            ? "NULL"
            : fmt::format("X'{}'", hex(document_codec::compress(result.document)));
    sqlite_backend().execute(fmt::format(
        "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, document, "
        "received_at, summary, document_zstd) VALUES ('{}', {}, {}, '{}', {}, '{}', '', 0, '{}', "
        "{})",
        result.agent, result.epoch, result.seq, result.domain, started_ms, result.verdict,
        result.summary, document));
  }
  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  CHECK(all_results(*storage) == before);
  // New results go on after the moved ones; re-uploads of the moved ones stay duplicates.
  std::vector<StoredResult> after = make_batch("vp-2", 1, 3);
  REQUIRE(storage->store_results(after).inserted == 3);
  CHECK(counts(storage->store_results(before)) == Counts{.duplicates = 5});

  // A VACUUM renumbers the rows of tables without an explicit integer key: the documents must
  // still be their results'.
  storage.reset();
  sqlite_backend().execute("VACUUM");
  storage = sqlite_backend().reopen();
  std::vector<StoredResult> all = before;
  all.insert(all.end(), after.begin(), after.end());
  std::sort(all.begin(), all.end(), [](const StoredResult& a, const StoredResult& b) {
    return std::tie(a.started_at, a.agent, a.epoch, a.seq) <
           std::tie(b.started_at, b.agent, b.epoch, b.seq);
  });
  CHECK(all_results(*storage) == all);
  // A result that goes takes its document with it.
  const TimePoint later = all.back().started_at + std::chrono::hours(1);
  REQUIRE(storage->prune(RetentionCutoffs{later, later, later, later, later, later, later}, 100)
              .results == 8);
  CHECK(pragma(sqlite_backend().current(), "SELECT COUNT(*) FROM result_documents") == "0");
}

}  // namespace vantage::testing
