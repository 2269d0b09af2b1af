// The storage behaviours every backend must show. Compiled into test_storage_sqlite and
// test_storage_postgres; storage_backend() is the only difference between them.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include "storage_migrations.hh"
#include "storage_suite.hh"

namespace vantage {
// What Catch prints for a failed comparison.
std::ostream& operator<<(std::ostream& out, const StoredResult& result) {
  return out << "{" << result.agent << " epoch " << result.epoch << " #" << result.seq << " "
             << result.domain << " @" << result.started_at.time_since_epoch().count() << " "
             << result.verdict << " " << result.document.size() << " bytes}";
}
std::ostream& operator<<(std::ostream& out, const StoreOutcome& outcome) {
  return out << "{inserted " << outcome.inserted << ", duplicates " << outcome.duplicates
             << ", conflicts " << outcome.conflicts << "}";
}
}  // namespace vantage

namespace vantage::testing {
std::ostream& operator<<(std::ostream& out, const Counts& counts) {
  return out << "{inserted " << counts.inserted << ", duplicates " << counts.duplicates
             << ", conflicts " << counts.conflicts << "}";
}
}  // namespace vantage::testing

namespace vantage::testing {
namespace {

using std::chrono::milliseconds;

// Base time of make_result(): the suite's results start at or after it.
TimePoint test_epoch() {
  return make_result("x", 0).started_at;
}

// Waits (bounded) for one byte from a child; false on timeout or end of file.
bool read_byte(int fd, char& byte, milliseconds timeout) {
  pollfd poll_fd{.fd = fd, .events = POLLIN, .revents = 0};
  if (poll(&poll_fd, 1, static_cast<int>(timeout.count())) != 1) {
    return false;
  }
  return read(fd, &byte, 1) == 1;
}

struct Child {
  pid_t pid = -1;
  int from_child = -1;
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (from_child >= 0) {
      close(from_child);
    }
  }
  void kill_now() {
    REQUIRE(kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    pid = -1;
    CHECK(WIFSIGNALED(status));
  }
};

// Forks a child that opens its own storage on the current database, writes 's', stores `batch`,
// writes 'd' and waits to be killed. Nothing in the child returns into Catch.
void start_storing_child(Child& child, const std::vector<StoredResult>& batch) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  child.pid = fork();
  REQUIRE(child.pid >= 0);
  if (child.pid == 0) {
    close(fds[0]);
    try {
      auto storage = storage_backend().reopen();
      if (write(fds[1], "s", 1) != 1) {
        _exit(2);
      }
      storage->store_results(batch);
      if (write(fds[1], "d", 1) != 1) {
        _exit(2);
      }
    } catch (...) {
      _exit(3);
    }
    for (;;) {
      pause();
    }
  }
  close(fds[1]);
  child.from_child = fds[0];
}

}  // namespace

TEST_CASE("a new database has schema version 0; migrate reaches the latest, twice is harmless",
          "[storage][migrate]") {
  auto storage = storage_backend().open_fresh();
  CHECK(storage->schema_version() == 0);
  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  REQUIRE(storage->store_results(make_batch("vp-1", 1, 3)).inserted == 3);
  REQUIRE(storage->put_target(target_for("social.example")));

  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  CHECK(storage->count_results() == 3);
  CHECK(storage->targets_version() == 1);
  // Another process starting later migrates nothing either.
  auto again = storage_backend().reopen();
  again->migrate();
  CHECK(again->schema_version() == latest_schema_version());
  CHECK(again->count_results() == 3);
}

TEST_CASE("two collectors migrating a new database at once both succeed, each step applied once",
          "[storage][migrate]") {
  storage_backend().open_fresh();
  auto first = storage_backend().reopen();
  auto second = storage_backend().reopen();
  std::atomic<int> failures = 0;
  auto migrate = [&failures](Storage& storage) {
    try {
      storage.migrate();
    } catch (const StorageError& e) {
      WARN(e.what());
      ++failures;
    }
  };
  std::thread one(migrate, std::ref(*first));
  std::thread two(migrate, std::ref(*second));
  one.join();
  two.join();
  CHECK(failures == 0);
  CHECK(first->schema_version() == latest_schema_version());
  CHECK(first->targets_version() == 0);  // the single-row counter was inserted once
}

TEST_CASE("a database migrated by a newer collector is refused, naming both versions",
          "[storage][migrate]") {
  auto storage = fresh_migrated();
  storage_backend().execute(
      "INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'future', 0)");
  CHECK(storage->schema_version() == 99);
  try {
    storage->migrate();
    FAIL("migrate() accepted schema version 99");
  } catch (const StorageError& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("migrate") && Catch::Contains("99") &&
                            Catch::Contains(std::to_string(latest_schema_version())));
  }
}

TEST_CASE("before migrate, calls fail with StorageError naming backend and operation",
          "[storage][migrate]") {
  auto storage = storage_backend().open_fresh();
  try {
    storage->store_results(make_batch("vp-1", 1, 2));
    FAIL("store_results worked on an unmigrated database");
  } catch (const StorageError& e) {
    const std::string message = e.what();
    CHECK_THAT(message,
               Catch::StartsWith(storage_backend().name()) && Catch::Contains("store_results"));
  }
  CHECK_THROWS_AS(storage->targets_version(), StorageError);
  // The failure left the connection usable.
  storage->migrate();
  CHECK(storage->store_results(make_batch("vp-1", 1, 2)).inserted == 2);
}

TEST_CASE("a batch is stored and reads back identical", "[storage][results]") {
  auto storage = fresh_migrated();
  std::vector<StoredResult> batch = make_batch("vp-fra-1", 1, 6);
  // Text that escaping or encoding would break: quotes, backslashes, control characters,
  // non-ASCII, array-literal syntax, the word NULL, an empty document, a large one.
  batch[0].document = R"({"detail":"say \"hi\"","path":"C:\\dir\\","x":"a,b{c}"})";
  batch[1].document = "line one\nline two\ttabbed\r\n";
  batch[2].document = "NULL";
  batch[3].document = "";
  batch[4].document = std::string(300 * 1024, 'x') + "ü — 𝄞 日本";
  batch[5].domain = "xn--bcher-kva.example";
  batch[5].agent = "vp \"quoted\" \\ agent";
  batch[5].seq = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

  const StoreOutcome outcome = storage->store_results(batch);
  CHECK(counts(outcome) == Counts{.inserted = 6, .duplicates = 0});
  CHECK(storage->count_results() == 6);

  std::vector<StoredResult> stored = all_results(*storage);
  auto by_key = [](const StoredResult& a, const StoredResult& b) {
    return std::tie(a.agent, a.seq) < std::tie(b.agent, b.seq);
  };
  std::sort(stored.begin(), stored.end(), by_key);
  std::sort(batch.begin(), batch.end(), by_key);
  REQUIRE(stored.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    CHECK(stored[i] == batch[i]);
  }
}

TEST_CASE("times are kept to the millisecond, rounded down", "[storage][results]") {
  auto storage = fresh_migrated();
  StoredResult result = make_result("vp-1", 1);
  const TimePoint exact = result.started_at;
  result.started_at = exact + std::chrono::microseconds(999);
  REQUIRE(storage->store_results({result}).inserted == 1);
  const auto stored = all_results(*storage);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].started_at == exact);
}

TEST_CASE("an empty batch stores nothing and counts nothing", "[storage][results]") {
  auto storage = fresh_migrated();
  CHECK(counts(storage->store_results({})) == Counts{});
  CHECK(storage->count_results() == 0);
}

TEST_CASE("the same batch again counts all duplicates and stores nothing", "[storage][results]") {
  auto storage = fresh_migrated();
  const auto batch = make_batch("vp-1", 1, 50);
  REQUIRE(counts(storage->store_results(batch)) == Counts{.inserted = 50, .duplicates = 0});
  const StoreOutcome again = storage->store_results(batch);
  CHECK(counts(again) == Counts{.inserted = 0, .duplicates = 50});
  CHECK(again.fates == std::vector<StoreFate>(50, StoreFate::Duplicate));
  CHECK(storage->count_results() == 50);
  CHECK(all_results(*storage) == batch);
}

TEST_CASE(
    "a stored seq sent again with another document is a conflict, and stores none of the batch",
    "[storage][results][conflict]") {
  auto storage = fresh_migrated();
  const auto stored = make_batch("vp-1", 1, 5);
  REQUIRE(storage->store_results(stored).inserted == 5);
  // New 6, the same 2, seq 3 with another document, new 7: one seq cannot be two cycles.
  std::vector<StoredResult> batch = {make_result("vp-1", 6), stored[1], stored[2],
                                     make_result("vp-1", 7)};
  batch[2].document = "another cycle";
  const StoreOutcome outcome = storage->store_results(batch);
  CHECK(counts(outcome) == Counts{.inserted = 0, .duplicates = 1, .conflicts = 1});
  CHECK(outcome.fates == std::vector<StoreFate>{StoreFate::Withheld, StoreFate::Duplicate,
                                                StoreFate::Conflict, StoreFate::Withheld});
  CHECK(storage->count_results() == 5);
  CHECK(storage_backend().reopen()->count_results() == 5);  // also as others see it
  CHECK(all_results(*storage) == stored);

  // Without the conflict the same batch goes in, and the store took no harm.
  batch.erase(batch.begin() + 2);
  const StoreOutcome retried = storage->store_results(batch);
  CHECK(retried.fates ==
        std::vector<StoreFate>{StoreFate::Stored, StoreFate::Duplicate, StoreFate::Stored});
  CHECK(storage->count_results() == 7);
}

TEST_CASE("a seq twice in one batch with two documents is a conflict",
          "[storage][results][conflict]") {
  auto storage = fresh_migrated();
  auto batch = make_batch("vp-1", 1, 3);
  batch.push_back(batch[0]);
  batch.back().document = "another cycle";
  const StoreOutcome outcome = storage->store_results(batch);
  CHECK(counts(outcome) == Counts{.inserted = 0, .duplicates = 0, .conflicts = 1});
  CHECK(outcome.fates.back() == StoreFate::Conflict);
  CHECK(storage->count_results() == 0);
  batch.pop_back();
  batch.push_back(batch[0]);  // the same document twice is a duplicate, as before
  CHECK(counts(storage->store_results(batch)) == Counts{.inserted = 3, .duplicates = 1});
}

TEST_CASE(
    "a batch mixing new and stored seqs inserts only the new, and a seq repeated within "
    "the batch counts once",
    "[storage][results]") {
  auto storage = fresh_migrated();
  REQUIRE(storage->store_results(make_batch("vp-1", 1, 10)).inserted == 10);
  // 6..15 of vp-1 (6..10 stored), 1..3 of vp-2 (new: same seqs, other agent), 15 of vp-1 again.
  auto batch = make_batch("vp-1", 6, 10);
  const auto other = make_batch("vp-2", 1, 3);
  batch.insert(batch.end(), other.begin(), other.end());
  batch.push_back(make_result("vp-1", 15));
  CHECK(counts(storage->store_results(batch)) == Counts{.inserted = 8, .duplicates = 6});
  CHECK(storage->count_results() == 18);
  CHECK(storage->results("", "vp-1", TimePoint{}, 100).size() == 15);
  CHECK(storage->results("", "vp-2", TimePoint{}, 100).size() == 3);
}

TEST_CASE("a batch with a row the database rejects stores none of it, and the store stays usable",
          "[storage][results][failure]") {
  auto storage = fresh_migrated();
  REQUIRE(storage->store_results(make_batch("vp-1", 1, 5)).inserted == 5);
  // New rows before and after the bad one; an empty agent violates the table's CHECK, so the
  // database fails the statement after it inserted the first rows of the batch.
  auto batch = make_batch("vp-1", 6, 5);
  batch.insert(batch.begin() + 3, make_result("", 100));
  try {
    storage->store_results(batch);
    FAIL("a batch with an empty agent was accepted");
  } catch (const StorageError& e) {
    const std::string message = e.what();
    CHECK_THAT(message,
               Catch::StartsWith(storage_backend().name()) && Catch::Contains("store_results"));
  }
  CHECK(storage->count_results() == 5);
  CHECK(storage_backend().reopen()->count_results() == 5);  // also as others see it

  batch.erase(batch.begin() + 3);
  CHECK(counts(storage->store_results(batch)) == Counts{.inserted = 5, .duplicates = 0});
  CHECK(storage->count_results() == 10);
}

TEST_CASE("a batch with a seq beyond the signed 64-bit range is refused whole",
          "[storage][results][failure]") {
  auto storage = fresh_migrated();
  auto batch = make_batch("vp-1", 1, 3);
  batch.push_back(
      make_result("vp-1", static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1));
  CHECK_THROWS_WITH(storage->store_results(batch),
                    Catch::Contains("store_results") && Catch::Contains("seq"));
  CHECK(storage->count_results() == 0);
}

TEST_CASE("threads storing overlapping batches at once store each (agent, seq) exactly once",
          "[storage][results][concurrency]") {
  // Overlap: thread 0 stores seqs 1..1500, thread 1 stores 501..2000 (rows within each of its
  // batches shuffled), both in batches of 100; plus one repeated batch. "shared" runs both
  // threads on one storage object, "separate" gives each its own connection, so only the
  // database's key can keep them apart.
  const bool separate = GENERATE(false, true);
  INFO((separate ? "a connection per thread" : "one shared storage"));
  auto storage = fresh_migrated();
  auto second = separate ? storage_backend().reopen() : nullptr;

  constexpr size_t kBatch = 100;
  std::atomic<size_t> inserted = 0;
  std::atomic<size_t> duplicates = 0;
  std::atomic<int> failures = 0;
  auto store = [&](Storage& target, uint64_t first, uint64_t last, unsigned seed) {
    std::mt19937 shuffle(seed);
    try {
      for (uint64_t seq = first; seq <= last; seq += kBatch) {
        auto batch = make_batch("vp-1", seq, kBatch);
        std::shuffle(batch.begin(), batch.end(), shuffle);
        const StoreOutcome outcome = target.store_results(batch);
        inserted += outcome.inserted;
        duplicates += outcome.duplicates;
      }
    } catch (const StorageError& e) {
      WARN(e.what());
      ++failures;
    }
  };
  std::thread one(store, std::ref(*storage), 1, 1500, 1);
  std::thread two(store, std::ref(second ? *second : *storage), 501, 2000, 2);
  one.join();
  two.join();
  REQUIRE(failures == 0);
  CHECK(inserted == 2000);
  CHECK(duplicates == 1000);
  CHECK(storage->count_results() == 2000);
  std::set<uint64_t> seqs;
  for (const auto& result : all_results(*storage)) {
    CHECK(seqs.insert(result.seq).second);
  }
  CHECK(seqs.size() == 2000);
  CHECK(*seqs.begin() == 1);
  CHECK(*seqs.rbegin() == 2000);
}

TEST_CASE("uploads stored at once each learn their own outcome; a conflict stores none of its own",
          "[storage][results][concurrency][conflict]") {
  // Eight uploads at a time (the backends commit uploads that wait for the writer together):
  // agent vp-0's always holds a stored seq with another document, the other seven are new.
  auto storage = fresh_migrated();
  const auto first = make_batch("vp-0", 1, 10);
  REQUIRE(storage->store_results(first).inserted == 10);
  constexpr size_t kUploads = 8;
  constexpr uint64_t kRounds = 15;
  constexpr size_t kBatch = 10;
  std::barrier round(kUploads);
  std::vector<std::vector<StoreOutcome>> outcomes(kUploads);
  std::atomic<int> failures = 0;
  auto upload = [&](size_t index) {
    const std::string agent = fmt::format("vp-{}", index);
    try {
      for (uint64_t k = 0; k < kRounds; ++k) {
        std::vector<StoredResult> batch;
        if (index == 0) {
          batch = {make_result(agent, 100 + k), first[0]};
          batch[1].document = "another cycle";
        } else {
          batch = make_batch(agent, 1 + k * kBatch, kBatch);
        }
        round.arrive_and_wait();
        outcomes[index].push_back(storage->store_results(batch));
      }
    } catch (const StorageError& e) {
      WARN(e.what());
      ++failures;
    }
  };
  std::vector<std::thread> threads;
  for (size_t index = 0; index < kUploads; ++index) {
    threads.emplace_back(upload, index);
  }
  for (auto& thread : threads) {
    thread.join();
  }
  REQUIRE(failures == 0);
  for (const StoreOutcome& outcome : outcomes[0]) {
    CHECK(outcome.fates == std::vector<StoreFate>{StoreFate::Withheld, StoreFate::Conflict});
  }
  for (size_t index = 1; index < kUploads; ++index) {
    for (const StoreOutcome& outcome : outcomes[index]) {
      CHECK(counts(outcome) == Counts{.inserted = kBatch});
      CHECK(outcome.fates == std::vector<StoreFate>(kBatch, StoreFate::Stored));
    }
  }
  CHECK(storage->count_results() == 10 + (kUploads - 1) * kRounds * kBatch);
  CHECK(storage->results("", "vp-0", test_epoch(), 100) == first);
}

TEST_CASE("results filter by domain, agent and since, oldest first, at most limit",
          "[storage][results]") {
  auto storage = fresh_migrated();
  // vp-1 and vp-2 each report social.example and mail.example; result k starts at k seconds.
  std::vector<StoredResult> batch;
  for (uint64_t k = 1; k <= 8; ++k) {
    const std::string agent = k % 2 == 1 ? "vp-1" : "vp-2";
    const std::string domain = k <= 4 ? "social.example" : "mail.example";
    batch.push_back(make_result(agent, k, domain, milliseconds(k * 1000)));
  }
  batch.push_back(make_result("vp-2", 100, "social.example", milliseconds(3000)));  // ties k=3
  REQUIRE(storage->store_results(batch).inserted == 9);
  auto seqs = [](const std::vector<StoredResult>& results) {
    std::vector<uint64_t> found;
    for (const auto& result : results) {
      found.push_back(result.seq);
    }
    return found;
  };
  const TimePoint origin = test_epoch();
  using V = std::vector<uint64_t>;

  // Oldest first; equal times by agent, then seq.
  CHECK(seqs(storage->results("", "", origin, 100)) == V{1, 2, 3, 100, 4, 5, 6, 7, 8});
  CHECK(seqs(storage->results("social.example", "", origin, 100)) == V{1, 2, 3, 100, 4});
  CHECK(seqs(storage->results("", "vp-2", origin, 100)) == V{2, 100, 4, 6, 8});
  CHECK(seqs(storage->results("mail.example", "vp-1", origin, 100)) == V{5, 7});
  // since is inclusive.
  CHECK(seqs(storage->results("", "", origin + milliseconds(5000), 100)) == V{5, 6, 7, 8});
  CHECK(seqs(storage->results("social.example", "vp-2", origin + milliseconds(3000), 100)) ==
        V{100, 4});
  CHECK(seqs(storage->results("", "", origin + milliseconds(8001), 100)).empty());
  // limit keeps the oldest.
  CHECK(seqs(storage->results("", "", origin, 3)) == V{1, 2, 3});
  CHECK(seqs(storage->results("mail.example", "", origin, 1)) == V{5});
  CHECK(storage->results("", "", origin, 0).empty());
  // Filters that match nothing.
  CHECK(storage->results("nothing.example", "", origin, 100).empty());
  CHECK(storage->results("", "vp-9", origin, 100).empty());
}

namespace {

// A verdict change of `domain` at test_epoch() + `at_ms`, with a state that uses every field.
VerdictRecord verdict_change(const std::string& domain, int64_t at_ms, Verdict verdict, Scope scope,
                             Verdict previous) {
  DomainState state{.domain = domain,
                    .verdict = verdict,
                    .scope = scope,
                    .since = test_epoch() + milliseconds(at_ms),
                    .reporting = 3,
                    .healthy = 2,
                    .failing = verdict == Verdict::Ok ? 0 : 2,
                    .affected_vantages = {"vp1", "vp3"},
                    .affected_asns = {64501, 0},
                    .affected_networks = {"AS64501", "192.0.2.0/24"},
                    .isolated_vantages = {"vp2"},
                    .establishing_vantages = {"vp4"},
                    .stale_vantages = {"vp5"},
                    .evidence = {"Tcp 203.0.113.80:443 NetUnreachable from 2 vantages"},
                    .expiring = {}};
  return VerdictRecord{.domain = domain,
                       .changed_at = state.since,
                       .verdict = verdict,
                       .scope = scope,
                       .previous_verdict = previous,
                       .state = state};
}

}  // namespace

TEST_CASE("verdict changes read back per domain, oldest first, and the latest of each domain",
          "[storage][verdicts]") {
  auto storage = fresh_migrated();
  CHECK(storage->latest_verdicts().empty());
  const auto social_down =
      verdict_change("social.example", 1000, Verdict::RouteLoss, Scope::Global, Verdict::Ok);
  const auto social_up =
      verdict_change("social.example", 5000, Verdict::Ok, Scope::None, Verdict::RouteLoss);
  const auto shop_partial =
      verdict_change("shop.example", 2000, Verdict::ServerDown, Scope::Partial, Verdict::Ok);
  storage->record_verdict(social_down);
  storage->record_verdict(shop_partial);
  storage->record_verdict(social_up);

  CHECK(storage->verdict_history("social.example", test_epoch(), 100) ==
        std::vector<VerdictRecord>{social_down, social_up});
  CHECK(storage->verdict_history("social.example", test_epoch() + milliseconds(1001), 100) ==
        std::vector<VerdictRecord>{social_up});
  CHECK(storage->verdict_history("social.example", test_epoch(), 1) ==
        std::vector<VerdictRecord>{social_down});
  CHECK(storage->verdict_history("nothing.example", test_epoch(), 100).empty());
  CHECK(storage->latest_verdicts() == std::vector<VerdictRecord>{shop_partial, social_up});

  // The same domain and millisecond again: the later state replaces the first.
  auto shop_global = shop_partial;
  shop_global.scope = Scope::Global;
  shop_global.state.scope = Scope::Global;
  storage->record_verdict(shop_global);
  CHECK(storage->verdict_history("shop.example", test_epoch(), 100) ==
        std::vector<VerdictRecord>{shop_global});
}

TEST_CASE("latest_changes gives a domain's N newest changes, newest first", "[storage][verdicts]") {
  auto storage = fresh_migrated();
  std::vector<VerdictRecord> social;
  for (int i = 0; i < 12; ++i) {
    const bool down = i % 2 == 0;
    social.push_back(verdict_change(
        "social.example", int64_t{1000} * (i + 1), down ? Verdict::RouteLoss : Verdict::Ok,
        down ? Scope::Global : Scope::None, down ? Verdict::Ok : Verdict::RouteLoss));
    storage->record_verdict(social.back());
  }
  storage->record_verdict(
      verdict_change("shop.example", 20000, Verdict::ServerDown, Scope::Partial, Verdict::Ok));

  const auto latest = storage->latest_changes("social.example", 10);
  CHECK(latest == std::vector<VerdictRecord>(social.rbegin(), social.rbegin() + 10));
  CHECK(storage->latest_changes("social.example", 1) == std::vector<VerdictRecord>{social.back()});
  CHECK(storage->latest_changes("social.example", 100).size() == 12);
  CHECK(storage->latest_changes("shop.example", 10).size() == 1);
  CHECK(storage->latest_changes("nothing.example", 10).empty());
}

TEST_CASE(
    "a stored verdict, scope or state this collector cannot read is a StorageError naming "
    "the column and value",
    "[storage][verdicts][failure]") {
  auto storage = fresh_migrated();
  const std::string state = R"({"format":1,"reporting":1,"usable":1,"failing":1,)"
                            R"("affected_vantages":[],"affected_asns":[],"affected_networks":[],)"
                            R"("isolated":[],"establishing":[],"stale":[],"evidence":[]})";
  const auto insert = [&](const std::string& verdict, const std::string& scope,
                          const std::string& text) {
    storage_backend().execute("DELETE FROM verdict_changes");
    storage_backend().execute(fmt::format(
        "INSERT INTO verdict_changes (domain, changed_at, verdict, scope, previous_verdict, "
        "state) VALUES ('social.example', 1000, '{}', '{}', 'OK', '{}')",
        verdict, scope, text));
  };
  const auto read = [&] { storage->verdict_history("social.example", TimePoint{}, 10); };

  insert("ROUTE_LOSS", "global", state);
  REQUIRE_NOTHROW(read());
  insert("MOSTLY_FINE", "global", state);
  CHECK_THROWS_WITH(read(),
                    Catch::Contains("verdict_changes.verdict") && Catch::Contains("MOSTLY_FINE"));
  insert("ROUTE_LOSS", "worldwide", state);
  CHECK_THROWS_WITH(storage->latest_verdicts(),
                    Catch::Contains("verdict_changes.scope") && Catch::Contains("worldwide"));
  std::string future = state;
  future.replace(future.find(":1,"), 3, ":2,");
  insert("ROUTE_LOSS", "global", future);
  CHECK_THROWS_WITH(storage->latest_changes("social.example", 10),
                    Catch::Contains("verdict_changes.state") && Catch::Contains("format 2"));
  CHECK_THROWS_AS(read(), StorageError);
}

TEST_CASE("agents upsert by name, replacing every field", "[storage][agents]") {
  auto storage = fresh_migrated();
  CHECK(storage->agents().empty());
  const AgentRecord fra{.name = "vp-fra-1",
                        .asn = 64501,
                        .address = "192.0.2.10",
                        .version = "0.1.0",
                        .last_seen = test_epoch(),
                        .uptime_s = 3600,
                        .spool_depth = 0};
  const AgentRecord ams{.name = "vp-ams-1",
                        .asn = std::nullopt,
                        .address = "2001:db8::7",
                        .version = "0.1.0",
                        .last_seen = test_epoch() + milliseconds(1500),
                        .uptime_s = 12,
                        .spool_depth = 250};
  storage->upsert_agent(fra);
  storage->upsert_agent(ams);
  CHECK(storage->agents() == std::vector<AgentRecord>{ams, fra});  // by name

  AgentRecord fra_later = fra;
  fra_later.asn = std::nullopt;
  fra_later.address = "198.51.100.3";
  fra_later.version = "0.2.0";
  fra_later.last_seen += milliseconds(30000);
  fra_later.uptime_s = 30;
  fra_later.spool_depth = 7;
  storage->upsert_agent(fra_later);
  CHECK(storage->agents() == std::vector<AgentRecord>{ams, fra_later});

  AgentRecord ams_later = ams;
  ams_later.asn = 64502;
  storage->upsert_agent(ams_later);
  CHECK(storage->agents() == std::vector<AgentRecord>{ams_later, fra_later});
}

TokenRecord token_record(const std::string& name, TokenKind kind, const std::string& hash,
                         TimePoint created_at) {
  return TokenRecord{.name = name,
                     .kind = kind,
                     .hash = hash,
                     .created_at = created_at,
                     .expires_at = std::nullopt,
                     .last_used_at = std::nullopt};
}

TEST_CASE("tokens are found by hash; an unknown hash finds none", "[storage][tokens]") {
  auto storage = fresh_migrated();
  const TokenRecord agent =
      token_record("vp-fra-1", TokenKind::Agent, std::string(64, 'a'), test_epoch());
  const TokenRecord operator_token = token_record(
      "alice", TokenKind::Operator, std::string(64, 'b'), test_epoch() + milliseconds(1));
  storage->add_token(agent);
  storage->add_token(operator_token);
  CHECK(storage->token_by_hash(agent.hash) == agent);
  CHECK(storage->token_by_hash(operator_token.hash) == operator_token);
  CHECK(storage->token_by_hash(std::string(64, 'c')) == std::nullopt);
  CHECK(storage->token_by_hash("") == std::nullopt);
}

TEST_CASE("a second token with the same hash is refused", "[storage][tokens][failure]") {
  auto storage = fresh_migrated();
  const TokenRecord token =
      token_record("vp-fra-1", TokenKind::Agent, std::string(64, 'a'), test_epoch());
  storage->add_token(token);
  TokenRecord clash = token;
  clash.name = "mallory";
  CHECK_THROWS_WITH(storage->add_token(clash), Catch::Contains("add_token"));
  CHECK(storage->token_by_hash(token.hash) == token);
}

TEST_CASE("tokens end by name, keep an earlier end, and record their last use",
          "[storage][tokens]") {
  auto storage = fresh_migrated();
  const auto t0 = test_epoch();
  storage->add_token(token_record("vp-fra-1", TokenKind::Agent, std::string(64, 'a'), t0));
  storage->add_token(token_record("alice", TokenKind::Operator, std::string(64, 'b'), t0));
  CHECK(storage->tokens().size() == 2);
  CHECK(storage->tokens().front().name == "alice");

  // A rotation: the old token ends after the grace period, the successor is added with it.
  const auto grace_end = t0 + std::chrono::hours(24);
  const TokenRecord successor =
      token_record("vp-fra-1", TokenKind::Agent, std::string(64, 'c'), t0 + milliseconds(5));
  CHECK(storage->end_tokens("vp-fra-1", grace_end, successor) == 1);
  auto old_token = storage->token_by_hash(std::string(64, 'a'));
  REQUIRE(old_token);
  CHECK(old_token->expires_at == grace_end);
  CHECK(old_token->accepted_at(grace_end - milliseconds(1)));
  CHECK_FALSE(old_token->accepted_at(grace_end));
  CHECK(storage->token_by_hash(successor.hash) == successor);

  // A revocation ends both now; the old one's end moves earlier, never later.
  const auto revoked_at = t0 + std::chrono::hours(1);
  CHECK(storage->end_tokens("vp-fra-1", revoked_at, std::nullopt) == 2);
  for (const auto& token : storage->tokens()) {
    if (token.name == "vp-fra-1") {
      CHECK(token.expires_at == revoked_at);
    } else {
      CHECK(token.expires_at == std::nullopt);  // alice untouched
    }
  }
  CHECK(storage->end_tokens("vp-fra-1", revoked_at + std::chrono::hours(1), std::nullopt) == 0);
  CHECK(storage->token_by_hash(std::string(64, 'a'))->expires_at == revoked_at);

  // A successor whose hash exists already: nothing changes.
  storage->add_token(token_record("vp-ams-1", TokenKind::Agent, std::string(64, 'd'), t0));
  CHECK_THROWS(storage->end_tokens(
      "vp-ams-1", grace_end, token_record("vp-ams-1", TokenKind::Agent, std::string(64, 'b'), t0)));
  CHECK(storage->token_by_hash(std::string(64, 'd'))->expires_at == std::nullopt);

  storage->token_used(std::string(64, 'b'), t0 + std::chrono::minutes(3));
  CHECK(storage->token_by_hash(std::string(64, 'b'))->last_used_at == t0 + std::chrono::minutes(3));
}

TEST_CASE("targets put, replace and remove move targets_version by one per change, and only then",
          "[storage][targets]") {
  auto storage = fresh_migrated();
  CHECK(storage->targets().empty());
  CHECK(storage->targets_version() == 0);

  const Target social{.domain = "social.example",
                      .kind = TargetKind::Https,
                      .port = 443,
                      .path = "/",
                      .expect_status = {200, 301},
                      .body_regex = "Welcome \"home\"",
                      .ca_file = "/etc/vantage/social-ca.pem",
                      .insecure = false,
                      .warn_before = {.certificate = std::chrono::hours(30 * 24),
                                      .signature = std::chrono::hours(36)}};
  CHECK(storage->put_target(social));
  CHECK(storage->targets_version() == 1);
  // Reads never move it.
  CHECK(storage->targets() == std::vector<Target>{social});
  CHECK(storage->targets_version() == 1);
  CHECK(storage->target_set().version == 1);
  CHECK(storage->targets_version() == 1);

  // The same target again is no change.
  CHECK_FALSE(storage->put_target(social));
  CHECK(storage->targets_version() == 1);

  Target social_8443 = social;
  social_8443.port = 8443;
  CHECK(storage->put_target(social_8443));
  CHECK(storage->targets_version() == 2);
  Target social_any = social_8443;
  social_any.expect_status.clear();
  CHECK(storage->put_target(social_any));
  CHECK(storage->targets_version() == 3);
  Target social_path = social_any;
  social_path.path = "/health";
  CHECK(storage->put_target(social_path));
  Target social_regex = social_path;
  social_regex.body_regex = "";
  CHECK(storage->put_target(social_regex));
  CHECK(storage->targets_version() == 5);
  Target social_insecure = social_regex;
  social_insecure.ca_file.clear();
  social_insecure.insecure = true;
  CHECK(storage->put_target(social_insecure));
  Target social_plain = social_insecure;
  social_plain.kind = TargetKind::Http;
  social_plain.insecure = false;
  CHECK(storage->put_target(social_plain));
  CHECK(storage->targets_version() == 7);
  Target social_warned = social_plain;
  social_warned.warn_before.signature = std::chrono::hours(0);
  CHECK(storage->put_target(social_warned));
  CHECK(storage->targets_version() == 8);
  social_plain = social_warned;

  // Kinds and names beyond an https domain: a tcp port on an IPv6 address.
  Target database = target_for("2001:db8::5");
  database.kind = TargetKind::Tcp;
  database.port = 5432;
  CHECK(storage->put_target(database));
  const Target mail = target_for("mail.example");
  CHECK(storage->put_target(mail));
  CHECK(storage->targets_version() == 10);
  // By domain.
  CHECK(storage->targets() == std::vector<Target>{database, mail, social_plain});

  CHECK(storage->remove_target("social.example"));
  CHECK(storage->targets_version() == 11);
  CHECK_FALSE(storage->remove_target("social.example"));
  CHECK_FALSE(storage->remove_target("never.example"));
  CHECK(storage->targets_version() == 11);

  const TargetSet set = storage->target_set();
  CHECK(set.version == 11);
  CHECK(set.targets == std::vector<Target>{database, mail});
}

TEST_CASE("a target the database rejects changes neither the list nor its version",
          "[storage][targets][failure]") {
  auto storage = fresh_migrated();
  const Target social = target_for("social.example");
  REQUIRE(storage->put_target(social));
  Target bad = social;
  bad.port = 0;
  CHECK_THROWS_WITH(storage->put_target(bad), Catch::Contains("put_target"));
  CHECK_THROWS_AS(storage->put_target(target_for("")), StorageError);
  CHECK(storage->targets() == std::vector<Target>{social});
  CHECK(storage->targets_version() == 1);
}

TEST_CASE("everything stored is there after the storage is closed and opened again",
          "[storage][persistence]") {
  const auto batch = make_batch("vp-1", 1, 20);
  const AgentRecord agent{.name = "vp-1",
                          .asn = 64500,
                          .address = "192.0.2.1",
                          .version = "0.1.0",
                          .last_seen = test_epoch(),
                          .uptime_s = 1,
                          .spool_depth = 2};
  const TokenRecord token =
      token_record("vp-1", TokenKind::Agent, std::string(64, 'e'), test_epoch());
  Target target = target_for("social.example");
  target.expect_status = {204};
  {
    auto storage = fresh_migrated();
    REQUIRE(storage->store_results(batch).inserted == 20);
    storage->upsert_agent(agent);
    storage->add_token(token);
    REQUIRE(storage->put_target(target));
    REQUIRE(storage->put_target(target_for("gone.example")));
    REQUIRE(storage->remove_target("gone.example"));
  }
  auto storage = storage_backend().reopen();
  storage->migrate();  // as every start does
  CHECK(storage->schema_version() == latest_schema_version());
  CHECK(all_results(*storage) == batch);
  CHECK(storage->agents() == std::vector<AgentRecord>{agent});
  CHECK(storage->token_by_hash(token.hash) == token);
  const TargetSet set = storage->target_set();
  CHECK(set.version == 3);
  CHECK(set.targets == std::vector<Target>{target});
  CHECK(counts(storage->store_results(batch)) == Counts{.inserted = 0, .duplicates = 20});
}

TEST_CASE("a batch stored by a process that is then killed -9 is there",
          "[storage][persistence][crash]") {
  auto storage = fresh_migrated();
  const auto batch = make_batch("vp-1", 1, 200);
  Child child;
  start_storing_child(child, batch);
  char byte = 0;
  REQUIRE(read_byte(child.from_child, byte, milliseconds(20000)));
  REQUIRE(byte == 's');
  REQUIRE(read_byte(child.from_child, byte, milliseconds(20000)));
  REQUIRE(byte == 'd');  // store_results returned: the batch is acknowledged
  child.kill_now();

  auto after = storage_backend().reopen();
  CHECK(all_results(*after) == batch);
  CHECK(counts(after->store_results(batch)) == Counts{.inserted = 0, .duplicates = 200});
}

TEST_CASE("a process killed -9 while storing a batch leaves all of it or none",
          "[storage][persistence][crash]") {
  auto storage = fresh_migrated();
  const auto batch = make_batch("vp-1", 1, 20000);
  Child child;
  start_storing_child(child, batch);
  char byte = 0;
  REQUIRE(read_byte(child.from_child, byte, milliseconds(20000)));
  REQUIRE(byte == 's');
  std::this_thread::sleep_for(milliseconds(15));  // most likely inside the transaction
  child.kill_now();

  auto after = storage_backend().reopen();
  const uint64_t count = after->count_results();
  INFO("rows found after the kill: " << count);
  CHECK((count == 0 || count == batch.size()));
  // Retrying the upload completes it, whatever the kill left.
  const StoreOutcome retried = after->store_results(batch);
  CHECK(retried.inserted + retried.duplicates == batch.size());
  CHECK(after->count_results() == batch.size());
}

TEST_CASE("the same (agent, seq) in two epochs is two results; duplicates are per epoch",
          "[storage][results][epoch]") {
  constexpr uint64_t kWiped = 1764201600000000;  // a new state directory's epoch
  auto storage = fresh_migrated();
  const auto before = make_batch("vp-1", 1, 3);  // epoch 0: an agent that sends none
  REQUIRE(counts(storage->store_results(before)) == Counts{.inserted = 3});
  auto after = make_batch("vp-1", 1, 3);
  for (auto& result : after) {
    result.epoch = kWiped;
    result.document = fmt::format(R"({{"epoch":{},"seq":{}}})", kWiped, result.seq);
  }
  CHECK(counts(storage->store_results(after)) == Counts{.inserted = 3});
  CHECK(storage->count_results() == 6);
  CHECK(counts(storage->store_results(after)) == Counts{.duplicates = 3});
  CHECK(counts(storage->store_results(before)) == Counts{.duplicates = 3});
  // Within one epoch a seq is still one cycle.
  auto changed = after[1];
  changed.document = R"({"epoch":"another cycle"})";
  CHECK(counts(storage->store_results({changed})) == Counts{.conflicts = 1});
  // One batch may hold one seq in two epochs.
  auto seven = make_result("vp-2", 7);
  auto seven_later = seven;
  seven_later.epoch = kWiped;
  CHECK(counts(storage->store_results({seven, seven_later})) == Counts{.inserted = 2});

  // Read back with their epochs, ordered by time, agent, epoch, seq.
  const auto stored = storage->results("", "vp-1", TimePoint{}, 100);
  REQUIRE(stored.size() == 6);
  CHECK(stored[0] == before[0]);
  CHECK(stored[1] == after[0]);
  CHECK(stored[5] == after[2]);
  CHECK(storage->newest_epoch("vp-1") == kWiped);
  CHECK(storage->newest_epoch("vp-2") == kWiped);
  CHECK_FALSE(storage->newest_epoch("vp-9"));

  auto beyond = make_result("vp-1", 9);
  beyond.epoch = std::numeric_limits<uint64_t>::max();
  CHECK_THROWS_AS(storage->store_results({beyond}), StorageError);
  CHECK(storage->count_results() == 8);
}

TEST_CASE("agents keep the spool_dropped and epoch of their latest heartbeat",
          "[storage][agents][epoch]") {
  auto storage = fresh_migrated();
  AgentRecord agent{.name = "vp-1",
                    .asn = 64501,
                    .address = "192.0.2.10",
                    .version = "0.1.0",
                    .last_seen = test_epoch(),
                    .uptime_s = 60,
                    .spool_depth = 3,
                    .spool_dropped = 17,
                    .epoch = 1764201600000000};
  storage->upsert_agent(agent);
  CHECK(storage->agents() == std::vector<AgentRecord>{agent});
  agent.spool_dropped = 0;  // restarted: the agent counts from 0 again
  agent.epoch = 1764205200000000;
  storage->upsert_agent(agent);
  CHECK(storage->agents() == std::vector<AgentRecord>{agent});
}

TEST_CASE("a database of schema version 2 migrates in place; its results and agents stay, epoch 0",
          "[storage][migrate][epoch]") {
  auto storage = migrated_before(3);
  StorageBackend& backend = storage_backend();
  backend.execute(
      "INSERT INTO results (agent, seq, domain, started_at, verdict, document, received_at) "
      "VALUES ('vp-1', 1, 'social.example', 1000, 'OK', '{\"n\":1}', 1500), "
      "('vp-1', 2, 'social.example', 2000, 'ROUTE_LOSS', '{\"n\":2}', 2500), "
      "('vp-2', 1, 'shop.example', 3000, 'OK', '{\"n\":3}', 3500)");
  backend.execute(
      "INSERT INTO agents (name, asn, address, version, last_seen, uptime_s, spool_depth) "
      "VALUES ('vp-1', 64501, '192.0.2.10', '0.1.0', 4000, 60, 2)");
  REQUIRE(storage->schema_version() == 2);

  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  const auto stored = all_results(*storage);
  REQUIRE(stored.size() == 3);
  CHECK(stored[0] == StoredResult{.agent = "vp-1",
                                  .epoch = 0,
                                  .seq = 1,
                                  .domain = "social.example",
                                  .started_at = TimePoint(milliseconds(1000)),
                                  .verdict = "OK",
                                  .document = R"({"n":1})",
                                  .summary = ""});  // stored before there were summaries
  CHECK(stored[1].seq == 2);
  CHECK(stored[1].verdict == "ROUTE_LOSS");
  CHECK(stored[2].agent == "vp-2");
  for (const auto& result : stored) {
    CHECK(result.epoch == 0);
  }
  // An agent from before epochs uploading again what it sent before the upgrade: duplicates.
  CHECK(counts(storage->store_results({stored[0], stored[1]})) == Counts{.duplicates = 2});
  auto wiped = stored[0];
  wiped.epoch = 1764201600000000;
  CHECK(counts(storage->store_results({wiped})) == Counts{.inserted = 1});
  // Read by domain as before (the index on domain, started_at is rebuilt with the table).
  CHECK(storage->results("social.example", "", TimePoint{}, 10).size() == 3);

  const auto agents = storage->agents();
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].asn == 64501);
  CHECK(agents[0].spool_depth == 2);
  CHECK(agents[0].spool_dropped == 0);
  CHECK(agents[0].epoch == 0);
}

TEST_CASE(
    "verdict states stored as the API's document convert to storage's own format on "
    "migration",
    "[storage][migrate][verdicts]") {
  auto storage = migrated_before(6);
  const int before = storage->schema_version();
  REQUIRE(before < 6);
  // As collectors up to now stored them: the API document of the state, the latest shape and one
  // from before networks, "usable" and the vantages not counted were kept.
  storage_backend().execute(
      "INSERT INTO verdict_changes (domain, changed_at, verdict, scope, previous_verdict, state) "
      "VALUES ('social.example', 1000, 'ROUTE_LOSS', 'global', 'OK', "
      "'{\"domain\":\"social.example\",\"verdict\":\"ROUTE_LOSS\",\"scope\":\"global\","
      "\"since\":\"1970-01-01T00:00:01.000Z\",\"reporting\":3,\"healthy\":2,\"usable\":2,"
      "\"failing\":2,\"affected_vantages\":[\"vp1\",\"vp3\"],\"affected_asns\":[64501,0],"
      "\"affected_networks\":[\"AS64501\",\"192.0.2.0/24\"],\"isolated_vantages\":[\"vp2\"],"
      "\"establishing_vantages\":[\"vp4\"],\"stale_vantages\":[],"
      "\"evidence\":[\"Tcp 203.0.113.80:443 NetUnreachable\"]}'), "
      "('shop.example', 2000, 'SERVER_DOWN', 'partial', 'OK', "
      "'{\"domain\":\"shop.example\",\"verdict\":\"SERVER_DOWN\",\"scope\":\"partial\","
      "\"since\":\"1970-01-01T00:00:02.000Z\",\"reporting\":2,\"healthy\":2,\"failing\":1,"
      "\"affected_vantages\":[\"vp1\"],\"affected_asns\":[64501,0],"
      "\"isolated_vantages\":[],\"evidence\":[]}')");

  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  const auto social = storage->verdict_history("social.example", TimePoint{}, 10);
  REQUIRE(social.size() == 1);
  CHECK(social[0].verdict == Verdict::RouteLoss);
  CHECK(social[0].scope == Scope::Global);
  CHECK(social[0].previous_verdict == Verdict::Ok);
  CHECK(social[0].state == DomainState{.domain = "social.example",
                                       .verdict = Verdict::RouteLoss,
                                       .scope = Scope::Global,
                                       .since = TimePoint(milliseconds(1000)),
                                       .reporting = 3,
                                       .healthy = 2,
                                       .failing = 2,
                                       .affected_vantages = {"vp1", "vp3"},
                                       .affected_asns = {64501, 0},
                                       .affected_networks = {"AS64501", "192.0.2.0/24"},
                                       .isolated_vantages = {"vp2"},
                                       .establishing_vantages = {"vp4"},
                                       .stale_vantages = {},
                                       .evidence = {"Tcp 203.0.113.80:443 NetUnreachable"},
                                       .expiring = {}});
  const auto shop = storage->latest_changes("shop.example", 1);
  REQUIRE(shop.size() == 1);
  CHECK(shop[0].state.healthy == 2);
  CHECK(shop[0].state.affected_networks == std::vector<std::string>{"AS64501", "unknown network"});
  CHECK(shop[0].state.establishing_vantages.empty());
  // The converted rows are in the format this collector writes: a change recorded now reads back
  // beside them.
  storage->record_verdict(
      verdict_change("shop.example", 3000, Verdict::Ok, Scope::None, Verdict::ServerDown));
  CHECK(storage->latest_verdicts().size() == 2);
}

TEST_CASE(
    "a verdict state the conversion cannot read stops the migration, naming the row, and "
    "changes nothing",
    "[storage][migrate][verdicts][failure]") {
  auto storage = migrated_before(6);
  const int before = storage->schema_version();
  storage_backend().execute(
      "INSERT INTO verdict_changes (domain, changed_at, verdict, scope, previous_verdict, state) "
      "VALUES ('social.example', 1000, 'ROUTE_LOSS', 'global', 'OK', '{\"reporting\":\"many\"}')");
  CHECK_THROWS_WITH(storage->migrate(), Catch::Contains("verdict_changes.state") &&
                                            Catch::Contains("social.example, 1000") &&
                                            Catch::Contains("reporting"));
  CHECK(storage->schema_version() == before);
}

}  // namespace vantage::testing
