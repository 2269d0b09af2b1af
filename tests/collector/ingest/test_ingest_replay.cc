// A restarted collector takes up each vantage's recent cycles from the summaries stored beside
// them, and still from the documents of rows stored before there were summaries.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "api_input.hh"
#include "collector_fixture.hh"
#include "monitor.hh"
#include "storage.hh"

using namespace vantage;
using vantage::testing::cycle_document;

namespace {

// Three SERVER_DOWN cycles of social.example from each of vp-1 and vp-2, stored as an upload
// stores them after `change` (the row as an older collector, or a damaged store, has it).
void upload_failing_cycles(Storage& store, TimePoint now,
                           const std::function<void(StoredResult&)>& change) {
  for (const std::string agent : {"vp-1", "vp-2"}) {
    nlohmann::json body = {
        {"schema_version", 1}, {"agent", agent}, {"results", nlohmann::json::array()}};
    for (int seq = 1; seq <= 3; ++seq) {
      body["results"].push_back(
          {{"seq", seq},
           {"cycle", cycle_document("social.example", Verdict::ServerDown,
                                    now - std::chrono::seconds(40 - 10 * seq))}});
    }
    AgentRecord record;
    record.name = agent;
    record.address = "127.0.0.1";
    record.last_seen = now;
    store.upsert_agent(record);
    auto results = parse_result_batch(body.dump(), agent, now).results;
    for (auto& result : results) {
      change(result);
    }
    REQUIRE(store.store_results(results).inserted == 3);
  }
}

// What a collector started on the store sees of social.example's vantages: their readings, as
// hysteresis established them from the replayed cycles.
std::vector<VantageView> vantages_after_restart(Storage& store) {
  CorrelationConfig config;
  config.min_vantages = 2;
  Monitor monitor(store, config, nullptr, nullptr);
  monitor.resume();
  const auto explanation = monitor.explain("social.example");
  REQUIRE(explanation);
  return explanation->vantages;
}

void check_replayed(const std::vector<VantageView>& vantages) {
  REQUIRE(vantages.size() == 2);
  const auto document =
      cycle_document("social.example", Verdict::ServerDown, std::chrono::system_clock::now());
  for (const VantageView& vantage : vantages) {
    CAPTURE(vantage.agent);
    CHECK(vantage.effective == Verdict::ServerDown);
    CHECK(vantage.latest == Verdict::ServerDown);
    CHECK(vantage.latency == std::chrono::milliseconds(120));
    CHECK(vantage.failures ==
          std::vector<ProbeFailure>{{Check::Tcp, "203.0.113.80:443", Failure::ConnRefused}});
    CHECK(vantage.evidence == document["reading"]["evidence"].get<std::vector<std::string>>());
  }
}

}  // namespace

TEST_CASE("a restarted collector replays recent results from their summaries alone", "[unit]") {
  vantage::testing::TempDir dir;
  auto store = open_sqlite_storage((dir / "collector.db").string());
  store->migrate();
  upload_failing_cycles(*store, std::chrono::system_clock::now(), [](StoredResult&) {});
  check_replayed(vantages_after_restart(*store));

  // The documents are not read: the same vantages come back without them.
  auto summaries_only = open_sqlite_storage((dir / "summaries.db").string());
  summaries_only->migrate();
  upload_failing_cycles(*summaries_only, std::chrono::system_clock::now(),
                        [](StoredResult& result) { result.document = "not a cycle"; });
  check_replayed(vantages_after_restart(*summaries_only));
}

TEST_CASE("rows stored before there were summaries replay from their documents", "[unit]") {
  vantage::testing::TempDir dir;
  auto store = open_sqlite_storage((dir / "collector.db").string());
  store->migrate();
  upload_failing_cycles(*store, std::chrono::system_clock::now(),
                        [](StoredResult& result) { result.summary.clear(); });
  check_replayed(vantages_after_restart(*store));
}

TEST_CASE("a replay that leaves a never-decided domain UNKNOWN records no change of verdict",
          "[unit]") {
  vantage::testing::TempDir dir;
  auto store = open_sqlite_storage((dir / "collector.db").string());
  store->migrate();
  upload_failing_cycles(*store, std::chrono::system_clock::now(), [](StoredResult&) {});
  CorrelationConfig config;
  config.min_vantages = 3;  // the two replayed vantages cannot decide
  Monitor monitor(*store, config, nullptr, nullptr);
  monitor.resume();
  const auto explanation = monitor.explain("social.example");
  REQUIRE(explanation);
  CHECK(explanation->state.verdict == Verdict::Unknown);
  CHECK(explanation->vantages.size() == 2);
  // "UNKNOWN -> UNKNOWN" is not a change: none is stored (nor logged, nor alerted).
  CHECK(store->latest_changes("social.example", 10).empty());
  CHECK(store->latest_verdicts().empty());
}
