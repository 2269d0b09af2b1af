// Compressed documents and retention, as every backend must keep them. Compiled into
// test_storage_sqlite and test_storage_postgres with the rest of the storage suite.

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <random>

#include "storage_migrations.hh"
#include "storage_retention.hh"
#include "storage_suite.hh"

namespace vantage::testing {
namespace {

using std::chrono::milliseconds;

TimePoint at(int64_t ms) {
  return make_result("x", 0, "x", milliseconds(ms)).started_at;
}

// A result of vp-1 started at `ms`, read as `verdict`, with a document of realistic size.
StoredResult result_at(uint64_t seq, int64_t ms, const std::string& verdict) {
  StoredResult result = make_result("vp-1", seq, "social.example", milliseconds(ms));
  result.verdict = verdict;
  result.document = fmt::format(R"({{"seq":{},"reading":{{"verdict":"{}"}},"results":[{}]}})", seq,
                                verdict, std::string(3000, ' '));
  result.summary = fmt::format(R"([1,"{}",{},0,[],[]])", verdict, seq);
  return result;
}

// Results 1 to 6 of vp-1, started at 1000, 2000, ... ms; the odd ones OK, the even SERVER_DOWN.
std::vector<StoredResult> six_results() {
  std::vector<StoredResult> batch;
  for (uint64_t seq = 1; seq <= 6; ++seq) {
    batch.push_back(
        result_at(seq, static_cast<int64_t>(seq) * 1000, seq % 2 == 0 ? "SERVER_DOWN" : "OK"));
  }
  return batch;
}

VerdictRecord change_at(const std::string& domain, int64_t ms, Verdict verdict) {
  DomainState state;
  state.domain = domain;
  state.verdict = verdict;
  state.since = at(ms);
  return VerdictRecord{
      .domain = domain, .changed_at = at(ms), .verdict = verdict, .state = std::move(state)};
}

// Everything before `ms` is past its retention, whatever the kind, but for rollups (kept:
// rollups_suite.cc prunes them).
RetentionCutoffs all_before(int64_t ms) {
  return RetentionCutoffs{at(ms), at(ms), at(ms), at(ms), at(ms), at(0), at(0)};
}

// Calls prune with `batch` until it removes nothing (at most 100 calls); the sum, and the calls.
std::pair<PruneCounts, int> prune_all(Storage& storage, const RetentionCutoffs& cutoffs,
                                      size_t batch) {
  PruneCounts total;
  for (int calls = 1; calls <= 100; ++calls) {
    const PruneCounts pruned = storage.prune(cutoffs, batch);
    if (pruned.total() == 0) {
      return {total, calls};
    }
    total += pruned;
  }
  FAIL("prune still removed rows after 100 calls");
  return {total, 100};
}

}  // namespace

TEST_CASE("a document is stored compressed and reads back byte for byte", "[storage][retention]") {
  auto storage = fresh_migrated();
  std::mt19937 random(7);  // incompressible bytes too: the frame must carry them all
  StoredResult noisy = result_at(2, 2000, "OK");
  for (int i = 0; i < 2000; ++i) {
    noisy.document += static_cast<char>('a' + random() % 26);
  }
  const std::vector<StoredResult> batch = {result_at(1, 1000, "OK"), noisy};
  REQUIRE(counts(storage->store_results(batch)) == Counts{.inserted = 2});
  CHECK(all_results(*storage) == batch);
  CHECK(storage->size_bytes() > 0);
}

TEST_CASE("retention drops OK documents, evidence and rows each at its own cutoff, in batches",
          "[storage][retention]") {
  auto storage = fresh_migrated();
  const std::vector<StoredResult> batch = six_results();
  REQUIRE(counts(storage->store_results(batch)) == Counts{.inserted = 6});

  RetentionCutoffs cutoffs = all_before(0);
  cutoffs.results = at(2500);    // results 1 and 2, their documents with them (not counted apart)
  cutoffs.documents = at(3500);  // the document of OK result 3
  cutoffs.evidence = at(4500);   // the document of SERVER_DOWN result 4
  const auto [pruned, calls] = prune_all(*storage, cutoffs, 1);
  CHECK(pruned == PruneCounts{.documents = 2, .results = 2});
  CHECK(calls == 3);  // one row of each kind per call: the two results took two

  const auto kept = all_results(*storage);
  REQUIRE(kept.size() == 4);
  // A row without its document keeps all else: correlation and history read only that.
  StoredResult without_document = batch[2];
  without_document.document.clear();
  CHECK(kept[0] == without_document);
  without_document = batch[3];
  without_document.document.clear();
  CHECK(kept[1] == without_document);  // evidence past its cutoff
  CHECK(kept[2] == batch[4]);          // an OK document younger than its cutoff
  CHECK(kept[3] == batch[5]);          // evidence younger than its cutoff

  CHECK(prune_all(*storage, cutoffs, 1000).first.total() == 0);  // nothing twice
}

TEST_CASE("a re-upload after retention dropped its document is a duplicate, not a conflict",
          "[storage][retention]") {
  auto storage = fresh_migrated();
  const StoredResult result = result_at(1, 1000, "OK");
  REQUIRE(counts(storage->store_results({result})) == Counts{.inserted = 1});
  RetentionCutoffs cutoffs = all_before(0);
  cutoffs.documents = at(2000);
  REQUIRE(prune_all(*storage, cutoffs, 10).first.documents == 1);

  CHECK(counts(storage->store_results({result})) == Counts{.duplicates = 1});
  // Another cycle under the same seq is still one: it started at another time.
  StoredResult other = result_at(1, 1500, "OK");
  CHECK(counts(storage->store_results({other})) == Counts{.conflicts = 1});
}

TEST_CASE("verdict changes past their cutoff go, but never a domain's latest",
          "[storage][retention]") {
  auto storage = fresh_migrated();
  storage->record_verdict(change_at("social.example", 1000, Verdict::ServerDown));
  storage->record_verdict(change_at("social.example", 2000, Verdict::Ok));
  storage->record_verdict(change_at("social.example", 3000, Verdict::RouteLoss));
  storage->record_verdict(change_at("shop.example", 1500, Verdict::Ok));
  RetentionCutoffs cutoffs = all_before(0);
  cutoffs.verdict_changes = at(5000);

  CHECK(prune_all(*storage, cutoffs, 1).first == PruneCounts{.verdict_changes = 2});
  const auto social = storage->verdict_history("social.example", TimePoint{}, 10);
  REQUIRE(social.size() == 1);
  CHECK(social[0].verdict == Verdict::RouteLoss);
  // Stable for longer than the retention: its one change is what a restart resumes.
  CHECK(storage->latest_verdicts().size() == 2);
}

TEST_CASE("resolved alerts past their cutoff go with their deliveries; firing ones stay",
          "[storage][retention]") {
  auto storage = fresh_migrated();
  const auto alerts = storage_backend().open_alert_store();
  const auto event = [](const std::string& domain, std::optional<int64_t> resolved_ms) {
    AlertEvent alert;
    alert.domain = domain;
    alert.verdict = Verdict::ServerDown;
    alert.scope = Scope::Global;
    alert.since = at(0);
    if (resolved_ms) {
      alert.resolved_at = at(*resolved_ms);
    }
    return alert;
  };
  const auto delivery = [](AlertEventKind kind, uint64_t id = 0) {
    DeliveryRecord record;
    record.alert_id = id;
    record.receiver = "webhook http://192.0.2.1:9/hook";
    record.event = kind;
    record.state = DeliveryState::Delivered;
    return record;
  };
  const uint64_t old_id =
      alerts->insert_alert(event("a.example", std::nullopt), {delivery(AlertEventKind::Firing)});
  alerts->update_alert(
      old_id, event("a.example", 1000),
      {delivery(AlertEventKind::Firing, old_id), delivery(AlertEventKind::Resolve, old_id)});
  alerts->insert_alert(event("b.example", 4000), {delivery(AlertEventKind::Firing)});
  alerts->insert_alert(event("c.example", std::nullopt), {delivery(AlertEventKind::Firing)});
  RetentionCutoffs cutoffs = all_before(0);
  cutoffs.alerts = at(3000);

  CHECK(prune_all(*storage, cutoffs, 1).first == PruneCounts{.alerts = 1});
  const auto recent = alerts->recent(10);
  REQUIRE(recent.size() == 2);
  CHECK(recent[0].event.domain == "c.example");
  CHECK(recent[1].event.domain == "b.example");
  CHECK(recent[1].deliveries.size() == 1);
}

TEST_CASE(
    "documents stored as text before schema version 7 are compressed in batches, read back "
    "byte for byte, and re-uploads of them stay duplicates",
    "[storage][retention][migrate]") {
  auto storage = migrated_before(7);
  StorageBackend& backend = storage_backend();
  std::vector<StoredResult> before;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    StoredResult result = result_at(seq, static_cast<int64_t>(seq) * 1000, "OK");
    result.epoch = 7;
    // As version 6 stored it: the text itself in `document`.
    backend.execute(fmt::format(
        "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, document, "
        "received_at, summary) VALUES ('vp-1', 7, {}, 'social.example', {}, 'OK', '{}', 0, '{}')",
        seq, std::chrono::duration_cast<milliseconds>(result.started_at.time_since_epoch()).count(),
        result.document, result.summary));
    before.push_back(result);
  }
  storage->migrate();
  CHECK(all_results(*storage) == before);  // readable before the conversion, as text

  CHECK(storage->compress_text_documents(2) == 2);
  CHECK(storage->compress_text_documents(2) == 2);
  CHECK(all_results(*storage) == before);  // half converted: both forms read alike
  CHECK(storage->compress_text_documents(2) == 1);
  CHECK(storage->compress_text_documents(2) == 0);
  CHECK(all_results(*storage) == before);
  CHECK(counts(storage->store_results(before)) == Counts{.duplicates = 5});
  StoredResult changed = before[0];
  changed.document += " ";
  CHECK(counts(storage->store_results({changed})) == Counts{.conflicts = 1});

  // Converted documents are under retention like new ones.
  RetentionCutoffs cutoffs = all_before(0);
  cutoffs.documents = at(10000);
  CHECK(prune_all(*storage, cutoffs, 100).first.documents == 5);
}

TEST_CASE("a retention pass prunes by the configured periods and counts what it removed",
          "[storage][retention]") {
  auto storage = fresh_migrated();
  REQUIRE(counts(storage->store_results({result_at(1, 0, "OK"), result_at(2, 0, "SERVER_DOWN")})) ==
          Counts{.inserted = 2});
  RetentionConfig config;  // documents 3d, evidence 30d, results 30d, hourly rollups 30d
  StorageRetention retention(*storage, config);
  // Four days later: the OK document is past its period, the evidence is not.
  const PruneCounts pass = retention.run_pass(at(0) + std::chrono::hours(24 * 4));
  CHECK(pass == PruneCounts{.documents = 1});
  CHECK(retention.pruned() == pass);
  const auto kept = all_results(*storage);
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].document.empty());
  CHECK(!kept[1].document.empty());
  // Thirty-one days later, the rows go too, the evidence with its row, and the hour's rollup;
  // the day's stays for 400 days.
  CHECK(retention.run_pass(at(0) + std::chrono::hours(24 * 31)) ==
        PruneCounts{.results = 2, .rollups = 1});
  CHECK(all_results(*storage).empty());
  CHECK(storage->rollups("", RollupSpan::Hour, at(0), 10).empty());
  REQUIRE(storage->rollups("", RollupSpan::Day, at(0), 10).size() == 1);
  CHECK(storage->rollups("", RollupSpan::Day, at(0), 10)[0].figures.cycles() == 2);
}

TEST_CASE("stats count each table's rows, bytes and oldest entry, and what retention removes next",
          "[storage][retention]") {
  auto storage = fresh_migrated();
  const std::vector<StoredResult> batch = six_results();
  REQUIRE(counts(storage->store_results(batch)) == Counts{.inserted = 6});
  storage->record_verdict(change_at("social.example", 1000, Verdict::ServerDown));
  storage->record_verdict(change_at("social.example", 2000, Verdict::Ok));
  REQUIRE(storage->fold_rollups(at(10'000), 100) == 6);
  RetentionCutoffs cutoffs = all_before(0);
  cutoffs.results = at(2500);
  cutoffs.documents = at(3500);
  cutoffs.evidence = at(4500);
  cutoffs.verdict_changes = at(5000);

  const StorageStats stats = storage->stats(cutoffs);
  const auto table = [&](const std::string& name) {
    const auto found = std::find_if(stats.tables.begin(), stats.tables.end(),
                                    [&](const TableStats& t) { return t.table == name; });
    REQUIRE(found != stats.tables.end());
    return *found;
  };
  CHECK(stats.tables.size() == 9);
  CHECK(table("rollups").rows == 2);  // the hour's and the day's, of vp-1 and social.example
  CHECK(table("rollups").oldest == at(0));
  CHECK(stats.tables.front().table == "results");  // largest first
  const TableStats results = table("results");
  CHECK(results.rows == 6);
  CHECK(results.oldest == at(1000));
  REQUIRE(results.bytes);
  CHECK(*results.bytes > 6 * 500);  // six compressed documents of 3 KB of text, with indexes
  CHECK(table("verdict_changes").rows == 2);
  CHECK(table("verdict_changes").oldest == at(1000));
  CHECK(table("alerts").rows == 0);
  CHECK(!table("alerts").oldest);
  CHECK(!table("tokens").oldest);  // not dated
  CHECK(stats.documents == 6);
  // What prune would remove with the same cutoffs, counted whole.
  CHECK(stats.due == PruneCounts{.documents = 2, .results = 2, .verdict_changes = 1});
  CHECK(prune_all(*storage, cutoffs, 1000).first == stats.due);
  CHECK(storage->stats(cutoffs).due == PruneCounts{});
}

}  // namespace vantage::testing
