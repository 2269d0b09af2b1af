// Rollups and uptime, as every backend must keep them. Compiled into test_storage_sqlite and
// test_storage_postgres with the rest of the storage suite.

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "storage_migrations.hh"
#include "storage_suite.hh"

namespace vantage::testing {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;
// A Monday, 2026-11-02T00:00:00Z: whole hours and days from here on are rollup boundaries.
constexpr int64_t kBase = 1'793'577'600'000;

TimePoint at(int64_t ms) {
  return TimePoint(milliseconds(ms));
}

StoredResult cycle(const std::string& agent, uint64_t seq, const std::string& domain, int64_t ms,
                   Verdict verdict, std::optional<int64_t> https_us = std::nullopt) {
  StoredResult result = make_result(agent, seq, domain, milliseconds(0));
  result.started_at = at(ms);
  result.verdict = std::string(to_string(verdict));
  result.document = fmt::format(R"({{"seq":{},"verdict":"{}"}})", seq, result.verdict);
  if (https_us) {
    result.latencies[static_cast<size_t>(Check::Https)] = microseconds(*https_us);
    result.latencies[static_cast<size_t>(Check::Tcp)] = microseconds(*https_us / 4);
  }
  return result;
}

// The rollups, as the brute-force recount below writes them: key -> figures.
std::map<RollupKey, RollupFigures> stored_rollups(Storage& storage) {
  std::map<RollupKey, RollupFigures> found;
  for (const RollupSpan span : {RollupSpan::Hour, RollupSpan::Day}) {
    for (Rollup& rollup : storage.rollups("", span, at(0), 1'000'000)) {
      found.emplace(rollup.key, std::move(rollup.figures));
    }
  }
  return found;
}

// Every result counted once into the hour and the UTC day it started in, by integer division of
// its start: the rollups as they must be, computed without RollupDeltas.
std::map<RollupKey, RollupFigures> recount(const std::vector<StoredResult>& results) {
  std::map<RollupKey, RollupFigures> expected;
  for (const StoredResult& result : results) {
    const int64_t ms =
        std::chrono::duration_cast<milliseconds>(result.started_at.time_since_epoch()).count();
    for (const auto& [span, length] :
         {std::pair{RollupSpan::Hour, kHourMs}, std::pair{RollupSpan::Day, kDayMs}}) {
      RollupFigures& figures =
          expected[RollupKey{result.domain, result.agent, span, at(ms - ms % length)}];
      ++figures.verdicts[static_cast<size_t>(*verdict_from_string(result.verdict))];
      for (size_t check = 0; check < kTimedChecks; ++check) {
        if (result.latencies[check]) {
          figures.latency[check].add(*result.latencies[check]);
        }
      }
    }
  }
  return expected;
}

}  // namespace

TEST_CASE("rollups count each stored result once: duplicates, conflicts and retries add nothing",
          "[storage][rollups]") {
  auto storage = fresh_migrated();
  const std::vector<StoredResult> batch = {
      cycle("vp-1", 1, "social.example", kBase + 1000, Verdict::Ok, 80'000),
      cycle("vp-1", 2, "social.example", kBase + 31'000, Verdict::ServerDown),
      cycle("vp-1", 3, "social.example", kBase + kHourMs + 1000, Verdict::Ok, 120'000),
  };
  REQUIRE(storage->store_results(batch).inserted == 3);
  const auto first = stored_rollups(*storage);
  CHECK(first == recount(batch));
  REQUIRE(first.size() == 3);  // two hours, one day
  const RollupFigures& day =
      first.at(RollupKey{"social.example", "vp-1", RollupSpan::Day, at(kBase)});
  CHECK(day.cycles() == 3);
  CHECK(day.verdicts[static_cast<size_t>(Verdict::Ok)] == 2);
  CHECK(day.verdicts[static_cast<size_t>(Verdict::ServerDown)] == 1);
  CHECK(day.latency[static_cast<size_t>(Check::Https)].count() == 2);
  CHECK(day.latency[static_cast<size_t>(Check::Https)].max() == microseconds(120'000));

  // The same batch again (an agent retrying after a lost acknowledgement): all duplicates.
  CHECK(storage->store_results(batch).duplicates == 3);
  // A batch that conflicts stores nothing, and its new result must not count either.
  StoredResult changed = batch[0];
  changed.document += " ";
  const StoredResult fresh = cycle("vp-1", 4, "social.example", kBase + 61'000, Verdict::Ok);
  CHECK(storage->store_results({fresh, changed}).conflicts == 1);
  CHECK(stored_rollups(*storage) == first);
  // Stored on its own, it counts.
  CHECK(storage->store_results({fresh}).inserted == 1);
  std::vector<StoredResult> all = batch;
  all.push_back(fresh);
  CHECK(stored_rollups(*storage) == recount(all));
}

TEST_CASE("rollups equal a brute-force recount of thousands of results in mixed batches",
          "[storage][rollups]") {
  auto storage = fresh_migrated();
  std::mt19937 random(14);  // fixed: the same results on every run
  const std::array verdicts = {Verdict::Ok,         Verdict::Ok,       Verdict::Ok,
                               Verdict::Ok,         Verdict::Degraded, Verdict::ServerDown,
                               Verdict::DnsFailure, Verdict::Unknown,  Verdict::VantageIsolated};
  std::vector<StoredResult> stored;
  std::vector<StoredResult> batch;
  std::map<std::string, uint64_t> next_seq;
  // Three agents, four domains, every 10 minutes for three days: 3 * 4 * 432 = 5,184 results,
  // uploaded in batches of 1 to 60, each batch also re-sending one result already stored.
  for (int64_t ms = kBase; ms < kBase + 3 * kDayMs; ms += 600'000) {
    for (const std::string agent : {"vp-1", "vp-2", "vp-3"}) {
      for (int d = 0; d < 4; ++d) {
        const Verdict verdict = verdicts[random() % verdicts.size()];
        const bool timed = verdict == Verdict::Ok || verdict == Verdict::Degraded;
        batch.push_back(
            cycle(agent, ++next_seq[agent], fmt::format("d{}.example", d), ms + d * 1000, verdict,
                  timed ? std::optional<int64_t>(1000 + random() % 2'000'000) : std::nullopt));
      }
    }
    if (batch.size() >= 1 + random() % 60) {
      if (!stored.empty()) {
        batch.push_back(stored[random() % stored.size()]);
      }
      const StoreOutcome outcome = storage->store_results(batch);
      REQUIRE(outcome.conflicts == 0);
      stored.insert(stored.end(), batch.begin(), batch.end() - (stored.empty() ? 0 : 1));
      batch.clear();
    }
  }
  if (!batch.empty()) {
    REQUIRE(storage->store_results(batch).inserted == batch.size());
    stored.insert(stored.end(), batch.begin(), batch.end());
  }
  REQUIRE(stored.size() == 3 * 4 * 432);
  REQUIRE(storage->count_results() == stored.size());
  const auto expected = recount(stored);
  const auto found = stored_rollups(*storage);
  CHECK(found.size() == expected.size());
  CHECK(found == expected);
}

TEST_CASE("uptime over 24h, 7d, 30d and 90d comes from the rollups, inconclusive cycles apart",
          "[storage][rollups]") {
  auto storage = fresh_migrated();
  const int64_t now = kBase + 100 * kDayMs + 12 * kHourMs;  // noon, 100 days after kBase
  uint64_t seq = 0;
  const auto store = [&](const std::string& domain, int64_t ms, Verdict verdict) {
    REQUIRE(storage->store_results({cycle("vp-1", ++seq, domain, ms, verdict)}).inserted == 1);
  };
  // a.example: this hour OK; 2 h ago down; 3 d ago down; 20 d ago down; 60 d ago down.
  store("a.example", now - 1000, Verdict::Ok);
  store("a.example", now - 2 * kHourMs, Verdict::ServerDown);
  store("a.example", now - 3 * kDayMs, Verdict::DnsFailure);
  store("a.example", now - 20 * kDayMs, Verdict::RouteLoss);
  store("a.example", now - 60 * kDayMs, Verdict::TlsFailure);
  store("a.example", now - 95 * kDayMs, Verdict::HttpError);  // outside every window
  // b.example: DEGRADED is up; UNKNOWN and VANTAGE_ISOLATED count for nothing.
  store("b.example", now - 1000, Verdict::Degraded);
  store("b.example", now - 2000, Verdict::Unknown);
  store("b.example", now - 3000, Verdict::VantageIsolated);

  const auto uptime = storage->uptime("", at(now));
  REQUIRE(uptime.size() == 2);
  const DomainUptime& a = uptime[0];
  CHECK(a.domain == "a.example");
  const auto window = [](const DomainUptime& d, UptimeWindow w) {
    return d.windows[static_cast<size_t>(w)];
  };
  CHECK(window(a, UptimeWindow::Day) == UptimeCounts{.up = 1, .down = 1});
  CHECK(window(a, UptimeWindow::Week) == UptimeCounts{.up = 1, .down = 2});
  CHECK(window(a, UptimeWindow::Month) == UptimeCounts{.up = 1, .down = 3});
  CHECK(window(a, UptimeWindow::Quarter) == UptimeCounts{.up = 1, .down = 4});
  CHECK(window(a, UptimeWindow::Day).ratio() == Approx(0.5));
  const DomainUptime& b = uptime[1];
  CHECK(window(b, UptimeWindow::Day) == UptimeCounts{.up = 1, .inconclusive = 2});
  CHECK(window(b, UptimeWindow::Day).ratio() == Approx(1.0));

  // One domain's rollups, and its uptime, alone.
  const auto b_rollups = storage->rollups("b.example", RollupSpan::Hour, at(now - kDayMs), 10);
  REQUIRE(b_rollups.size() == 1);
  CHECK(b_rollups[0].key.domain == "b.example");
  CHECK(b_rollups[0].figures.cycles() == 3);
  CHECK(storage->rollups("", RollupSpan::Hour, at(now - kDayMs), 10).size() == 3);
  CHECK(storage->rollups("", RollupSpan::Hour, at(now - kDayMs), 2).size() == 2);
  const auto only_b = storage->uptime("b.example", at(now));
  REQUIRE(only_b.size() == 1);
  CHECK(only_b[0] == b);
  // Folded into the rollups, the same.
  CHECK(storage->fold_rollups(at(now + kHourMs), 100) == 9);
  CHECK(storage->uptime("", at(now)) == uptime);
  // 30d and 90d are read from the daily rollups: unchanged once the hourly ones are pruned.
  RetentionCutoffs cutoffs{at(0), at(0), at(0), at(0), at(0), at(now - 10 * kDayMs), at(0)};
  CHECK(storage->prune(cutoffs, 100).rollups > 0);
  CHECK(storage->uptime("", at(now)) == uptime);
  // A window of only inconclusive cycles has no ratio.
  CHECK(!UptimeCounts{.inconclusive = 3}.ratio());
}

TEST_CASE("hourly and daily rollups are pruned each at its own cutoff, once they ended",
          "[storage][rollups][retention]") {
  auto storage = fresh_migrated();
  REQUIRE(storage
              ->store_results({cycle("vp-1", 1, "social.example", kBase + 1000, Verdict::Ok),
                               cycle("vp-1", 2, "social.example", kBase + kHourMs, Verdict::Ok)})
              .inserted == 2);
  REQUIRE(storage->fold_rollups(at(kBase + kDayMs), 100) == 2);
  RetentionCutoffs cutoffs{at(0), at(0), at(0), at(0), at(0), at(0), at(0)};
  // A cutoff inside the first hour's rollup: it has not ended before it, and stays.
  cutoffs.hourly_rollups = at(kBase + kHourMs - 1);
  CHECK(storage->prune(cutoffs, 100).rollups == 0);
  cutoffs.hourly_rollups = at(kBase + kHourMs);
  CHECK(storage->prune(cutoffs, 100).rollups == 1);
  CHECK(storage->rollups("", RollupSpan::Hour, at(0), 10).size() == 1);
  CHECK(storage->rollups("", RollupSpan::Day, at(0), 10).size() == 1);
  cutoffs.daily_rollups = at(kBase + kDayMs);
  CHECK(storage->stats(cutoffs).due.rollups == 1);
  CHECK(storage->prune(cutoffs, 100).rollups == 1);
  CHECK(storage->rollups("", RollupSpan::Day, at(0), 10).empty());
  // The results themselves are not rollups' business.
  CHECK(storage->count_results() == 2);
}

TEST_CASE("migrating to schema version 8 counts the results already stored into rollups",
          "[storage][rollups][migrate]") {
  auto storage = migrated_before(8);
  StorageBackend& backend = storage_backend();
  const std::array<std::pair<int64_t, std::string_view>, 4> rows = {{
      {kBase + 1000, "OK"},
      {kBase + 2000, "SERVER_DOWN"},
      {kBase + kHourMs, "OK"},
      {kBase + kDayMs, "OK"},
  }};
  std::vector<StoredResult> before;
  uint64_t seq = 0;
  for (const auto& [ms, verdict] : rows) {
    ++seq;
    backend.execute(fmt::format(
        "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, document, "
        "received_at) VALUES ('vp-1', 0, {}, 'social.example', {}, '{}', '{{}}', 0)",
        seq, ms, verdict));
    before.push_back(cycle("vp-1", seq, "social.example", ms, *verdict_from_string(verdict)));
  }
  storage->migrate();
  CHECK(storage->schema_version() == latest_schema_version());
  CHECK(stored_rollups(*storage) == recount(before));
  // New results add to the rollups the migration made: one of a time the migration's rows had
  // passed at once, one of later when it is folded. Neither counts twice.
  StoredResult next = cycle("vp-1", 9, "social.example", kBase + 3000, Verdict::Ok, 50'000);
  StoredResult later = cycle("vp-1", 10, "social.example", kBase + 2 * kDayMs, Verdict::Ok);
  REQUIRE(storage->store_results({next, later}).inserted == 2);
  before.push_back(next);
  before.push_back(later);
  CHECK(stored_rollups(*storage) == recount(before));
  CHECK(storage->fold_rollups(at(kBase + 3 * kDayMs), 100) == 1);
  CHECK(stored_rollups(*storage) == recount(before));
  // Every row the migration found was in the rollups already: none is folded again.
  backend.execute("DELETE FROM results");
  CHECK(stored_rollups(*storage) == recount(before));
}

TEST_CASE("the fold adds each result to its rollups once, in passes, and readers see no change",
          "[storage][rollups][fold]") {
  auto storage = fresh_migrated();
  std::vector<StoredResult> stored;
  uint64_t seq = 0;
  // Two agents, two domains, every 7 minutes for a day, and ten results of one millisecond (more
  // than a pass takes): a pass must neither split that millisecond nor stall on it.
  std::vector<StoredResult> batch;
  for (int64_t ms = kBase; ms < kBase + kDayMs; ms += 420'000) {
    for (const std::string agent : {"vp-1", "vp-2"}) {
      for (const std::string domain : {"a.example", "b.example"}) {
        const bool down = (ms / 420'000) % 5 == 0;
        batch.push_back(cycle(agent, ++seq, domain, ms, down ? Verdict::ServerDown : Verdict::Ok,
                              down ? std::nullopt : std::optional<int64_t>(ms % 900'000)));
      }
    }
  }
  for (int i = 0; i < 10; ++i) {
    batch.push_back(cycle("vp-3", ++seq, "a.example", kBase + 5 * kHourMs + 17, Verdict::Ok));
  }
  REQUIRE(storage->store_results(batch).inserted == batch.size());
  stored = batch;
  const auto expected = recount(stored);
  REQUIRE(stored_rollups(*storage) == expected);
  const auto uptime = storage->uptime("", at(kBase + kDayMs - 1));

  // Up to noon in passes of 7: every pass leaves the readers' figures as they were.
  size_t folded = 0;
  for (int pass = 0; pass < 200; ++pass) {
    const size_t done = storage->fold_rollups(at(kBase + 12 * kHourMs), 7);
    if (done == 0) {
      break;
    }
    CHECK(done <= 10);
    folded += done;
    REQUIRE(stored_rollups(*storage) == expected);
  }
  const size_t before_noon =
      static_cast<size_t>(std::count_if(stored.begin(), stored.end(), [](const StoredResult& r) {
        return r.started_at < at(kBase + 12 * kHourMs);
      }));
  CHECK(folded == before_noon);
  CHECK(storage->fold_rollups(at(kBase + 12 * kHourMs), 7) == 0);
  // A result of the morning stored now (an agent's late spool) counts at once, and once; one of
  // the afternoon is left to the fold.
  const StoredResult late = cycle("vp-1", ++seq, "a.example", kBase + 3 * kHourMs + 5, Verdict::Ok);
  const StoredResult current =
      cycle("vp-1", ++seq, "a.example", kBase + 20 * kHourMs + 5, Verdict::DnsFailure);
  REQUIRE(storage->store_results({late, current}).inserted == 2);
  stored.push_back(late);
  stored.push_back(current);
  CHECK(stored_rollups(*storage) == recount(stored));
  // The rest in one pass.
  CHECK(storage->fold_rollups(at(kBase + kDayMs), 100'000) == stored.size() - before_noon - 1);
  CHECK(stored_rollups(*storage) == recount(stored));
  // The rollups hold it all now, without the results.
  storage_backend().execute("DELETE FROM results");
  CHECK(stored_rollups(*storage) == recount(stored));
  CHECK(storage->uptime("", at(kBase + kDayMs - 1)).size() == uptime.size());
}

TEST_CASE("pruning folds the results it removes into their rollups first",
          "[storage][rollups][fold][retention]") {
  auto storage = fresh_migrated();
  const std::vector<StoredResult> old = {
      cycle("vp-1", 1, "social.example", kBase + 1000, Verdict::Ok, 20'000),
      cycle("vp-1", 2, "social.example", kBase + kHourMs, Verdict::RouteLoss),
      cycle("vp-1", 3, "social.example", kBase + 2 * kDayMs, Verdict::Ok, 30'000),
  };
  REQUIRE(storage->store_results(old).inserted == 3);
  // Results older than a day before the last go; nothing was folded before.
  RetentionCutoffs cutoffs{at(0), at(0), at(kBase + kDayMs), at(0), at(0), at(0), at(0)};
  CHECK(storage->prune(cutoffs, 100).results == 2);
  CHECK(storage->count_results() == 1);
  CHECK(stored_rollups(*storage) == recount(old));
}

}  // namespace vantage::testing
