// Correlation inside the running collector: agents upload cycles, operators read verdicts through
// the API and the CLI, and a restart keeps them.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "collector/alert/http_receiver.hh"
#include "collector_fleet.hh"
#include "support/net.hh"
#include "support/process.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kOk = Verdict::Ok;
constexpr auto kLoss = Verdict::RouteLoss;

}  // namespace

TEST_CASE("route loss from every vantage reads ROUTE_LOSS global with evidence after enter_after",
          "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();

  fleet.warm_up();
  CHECK(fleet.domain()["verdict"] == "OK");
  CHECK(fleet.domain()["reporting"] == 3);
  fleet.round(kLoss, kLoss, kLoss);
  CHECK(fleet.domain()["verdict"] == "OK");  // one failing cycle is not an outage
  fleet.round(kLoss, kLoss, kLoss);
  const json state = fleet.domain();
  CHECK(state["verdict"] == "ROUTE_LOSS");
  CHECK(state["scope"] == "global");
  CHECK(state["failing"] == 3);
  CHECK(state["healthy"] == 3);
  CHECK(state["affected_asns"] == json({64510, 64511}));
  CHECK(state["affected_networks"] == json({"AS64510", "AS64511"}));
  CHECK(state["evidence"][0] ==
        "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64510, AS64511");

  const auto explained = collector.get("/api/v1/domains/social.example", fleet.op);
  REQUIRE(explained.status == 200);
  const json explanation = explained.json();
  REQUIRE(explanation["vantages"].size() == 3);
  CHECK(explanation["vantages"][2]["agent"] == "vp3");
  CHECK(explanation["vantages"][2]["asn"] == 64511);
  CHECK(explanation["vantages"][2]["verdict"] == "ROUTE_LOSS");
  CHECK(explanation["vantages"][2]["failures"][1]["failure"] == "NetUnreachable");
  REQUIRE(explanation["recent_changes"].size() >= 1);
  CHECK(explanation["recent_changes"].back()["verdict"] == "ROUTE_LOSS");
  CHECK(explanation["recent_changes"].back()["previous_verdict"] == "OK");

  const auto history = collector.get("/api/v1/domains/social.example/history?since=1h", fleet.op);
  REQUIRE(history.status == 200);
  const json changes = history.json()["changes"];
  REQUIRE(changes.size() == 2);  // UNKNOWN -> OK, OK -> ROUTE_LOSS
  CHECK(changes[0]["verdict"] == "OK");
  CHECK(changes[1]["verdict"] == "ROUTE_LOSS");
  CHECK(changes[1]["state"]["affected_vantages"] == json({"vp1", "vp2", "vp3"}));
  CHECK(collector.get("/api/v1/domains/social.example/history?since=yesterday", fleet.op).status ==
        400);
  CHECK(collector.get("/api/v1/domains/nothing.example", fleet.op).status == 404);

  const auto metrics = collector.get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.body,
             Catch::Contains("vantage_domain_verdict{domain=\"social.example\",verdict=\"ROUTE_"
                             "LOSS\",scope=\"global\"} 1"));
  CHECK_THAT(metrics.body, Catch::Contains("vantage_domain_ok{domain=\"social.example\"} 0"));
  CHECK_THAT(metrics.body, Catch::Contains("vantage_ingest_results_total{outcome=\"stored\"} 12"));
  CHECK_THAT(metrics.body, Catch::Contains("vantage_agents{state=\"seen\"} 3"));

  fleet.round(kOk, kOk, kOk);
  CHECK(fleet.domain()["verdict"] == "ROUTE_LOSS");  // exit_after: 2
  fleet.round(kOk, kOk, kOk);
  CHECK(fleet.domain()["verdict"] == "OK");
  CHECK(fleet.domain()["scope"] == "");
}

TEST_CASE("an isolated vantage is listed as such and never turns a healthy domain red",
          "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  REQUIRE(fleet.domain()["verdict"] == "OK");
  fleet.round(kOk, kOk, Verdict::VantageIsolated);
  fleet.round(kOk, kOk, Verdict::VantageIsolated);
  const json state = fleet.domain();
  CHECK(state["verdict"] == "OK");
  CHECK(state["healthy"] == 2);
  CHECK(state["isolated_vantages"] == json({"vp3"}));

  const auto agents = collector.get("/api/v1/agents", fleet.op).json();
  REQUIRE(agents.size() == 3);
  CHECK(agents[0]["isolated"] == false);
  CHECK(agents[2]["name"] == "vp3");
  CHECK(agents[2]["isolated"] == true);
  CHECK(agents[2]["state"] == "isolated");
  CHECK(agents[2]["asn"] == 64511);
  CHECK(agents[2]["asn_source"] == "config");
  CHECK(agents[2]["network"] == "AS64511");
  CHECK_THAT(collector.get("/metrics").body,
             Catch::Contains("vantage_agent_isolated{agent=\"vp3\"} 1"));

  const auto table =
      collector.cli({"agents", "--url", collector.url()}, {"VANTAGE_TOKEN=" + fleet.op});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Matches(R"((.|\n)*vp3 +\S+ +\S+ ago +ISOLATED +64511(.|\n)*)"));
}

TEST_CASE("a route lost from one network only is partial and names that ASN", "[verdicts]") {
  CollectorFixture collector("correlation: { quorum: 0.6, settle: 1s }\n");
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  REQUIRE(fleet.domain()["verdict"] == "OK");
  fleet.round(kOk, kOk, kLoss);
  fleet.round(kOk, kOk, kLoss);
  // A partial verdict waits out `settle` (the rest of the vantages may be about to agree), then
  // the once-a-second re-evaluation enters it.
  CHECK(fleet.domain()["verdict"] == "OK");
  CHECK(wait_until([&] { return fleet.domain()["verdict"] == "ROUTE_LOSS"; }));
  const json state = fleet.domain();
  CHECK(state["verdict"] == "ROUTE_LOSS");
  CHECK(state["scope"] == "partial");
  CHECK(state["affected_vantages"] == json({"vp3"}));
  CHECK(state["affected_asns"] == json({64511}));

  const auto table =
      collector.cli({"status", "--url", collector.url()}, {"VANTAGE_TOKEN=" + fleet.op});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::StartsWith("DOMAIN          VERDICT     SCOPE    SINCE"));
  CHECK_THAT(
      table.out,
      Catch::Matches(R"((.|\n)*  REPORTING  USABLE  FAILING  UP_24H +AFFECTED_NETWORKS\n(.|\n)*)"));
  CHECK_THAT(
      table.out,
      Catch::Matches(
          R"((.|\n)*social\.example +ROUTE_LOSS +partial +\S+ +\S+ ago +3 +3 +1 +[0-9.]+% +AS64511\n)"));
}

TEST_CASE("a restarted collector keeps the verdict and its since, and explains it", "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  REQUIRE(fleet.domain()["verdict"] == "OK");
  fleet.round(Verdict::ServerDown, Verdict::ServerDown, Verdict::ServerDown);
  fleet.round(Verdict::ServerDown, Verdict::ServerDown, Verdict::ServerDown);
  const json before = fleet.domain();
  REQUIRE(before["verdict"] == "SERVER_DOWN");

  collector.stop();
  collector.start();
  const json after = fleet.domain();
  CHECK(after["verdict"] == "SERVER_DOWN");
  CHECK(after["scope"] == "global");
  CHECK(after["since"] == before["since"]);
  const auto history = collector.get("/api/v1/domains/social.example/history", fleet.op).json();
  CHECK(history["changes"].size() == 2);  // nothing recorded twice by the restart

  const auto explained = collector.cli({"explain", "social.example", "--url", collector.url()},
                                       {"VANTAGE_TOKEN=" + fleet.op});
  REQUIRE(explained.exit_code == 0);
  CHECK_THAT(explained.out, Catch::StartsWith("social.example: SERVER_DOWN (global) since "));
  CHECK_THAT(explained.out, Catch::Contains("the service does not accept connections"));
  CHECK_THAT(explained.out,
             Catch::Contains("Tcp 203.0.113.80:443 ConnRefused from 3 vantages in AS64510, "
                             "AS64511"));
  CHECK_THAT(explained.out, Catch::Contains("OK -> SERVER_DOWN (global)"));
}

TEST_CASE(
    "a server refusing connections is explained by its TCP probe first everywhere, not by "
    "a side warning",
    "[verdicts]") {
  HttpReceiver webhook;
  CollectorFixture collector(
      fmt::format("alerts:\n  - {{ webhook: {{ url: \"{}\" }} }}\n", webhook.url("/hook")));
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  REQUIRE(fleet.domain()["verdict"] == "OK");
  // Every vantage also saw a parent server refuse a DNS query: a warning beside the verdict.
  const std::vector<ProbeResult> warning = {
      failed_probe(Check::DnsParent, "192.0.2.53:53", Failure::ConnRefused)};
  const auto down = Verdict::ServerDown;
  fleet.round(down, down, down, warning);
  fleet.round(down, down, down, warning);

  const std::string deciding =
      "Tcp 203.0.113.80:443 ConnRefused from 3 vantages in AS64510, "
      "AS64511";
  const std::string side =
      "DnsParent 192.0.2.53:53 ConnRefused from 3 vantages in AS64510, "
      "AS64511";
  const json state = fleet.domain();
  REQUIRE(state["verdict"] == "SERVER_DOWN");
  CHECK(state["evidence"] == json({deciding, side}));

  const auto explained = fleet.cli({"explain", "social.example"});
  REQUIRE(explained.exit_code == 0);
  CHECK_THAT(explained.out, Catch::Contains("\nEvidence:\n  " + deciding + "\n  " + side + "\n"));
  CHECK_THAT(explained.out,
             Catch::Matches(R"((.|\n)*vp1 +AS64510 +SERVER_DOWN +SERVER_DOWN +\S+ ago +\S+ +Tcp )"
                            R"(203\.0\.113\.80:443 ConnRefused; DnsParent(.|\n)*)"));

  const auto history = collector.get("/api/v1/domains/social.example/history", fleet.op).json();
  REQUIRE(history["changes"].size() == 2);
  CHECK(history["changes"][1]["state"]["evidence"][0] == deciding);
  const auto history_table = fleet.cli({"history", "social.example"});
  CHECK_THAT(history_table.out,
             Catch::Contains("SERVER_DOWN (global)  AS64510,AS64511    " + deciding + "\n"));

  CHECK_THAT(collector.log(), Catch::Contains("social.example: OK -> SERVER_DOWN (global) (3 "
                                              "reporting, 3 usable, 3 failing): " +
                                              deciding));

  REQUIRE(webhook.wait_for_requests(1));
  const json payload = json::parse(webhook.requests()[0].body);
  CHECK(payload["verdict"] == "SERVER_DOWN");
  CHECK(payload["evidence"][0] == deciding);
  CHECK(payload["affected_networks"] == json({"AS64510", "AS64511"}));
}

TEST_CASE("an agent silent for more than two of its intervals is stale and no longer counts",
          "[verdicts]") {
  CollectorFixture collector("correlation: { min_vantages: 3, settle: 0s }\n");
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  // Four rounds one second apart, the last one now: the agents' interval reads as 1 s.
  const auto start = std::chrono::system_clock::now();
  auto at = start - 3s;
  for (int round = 0; round < 4; ++round, at += 1s) {
    for (const auto* agent : {"vp1", "vp2", "vp3"}) {
      fleet.upload(agent, kOk, at);
    }
  }
  REQUIRE(fleet.domain()["verdict"] == "OK");
  CHECK(fleet.agent("vp3")["interval_ms"] == 1000);
  CHECK(fleet.agent("vp3")["state"] == "ok");

  // vp3 stops; vp1 and vp2 go on every second.
  bool stale = false;
  while (!stale && std::chrono::system_clock::now() < start + 10s) {
    std::this_thread::sleep_until(at);
    for (const auto* agent : {"vp1", "vp2"}) {
      fleet.upload(agent, kOk, at);
    }
    at += 1s;
    // The agent's silence counts from its last upload, its reading's from the end of its cycle.
    stale = fleet.agent("vp3")["state"] == "stale" && fleet.domain()["reporting"] == 2;
  }
  const auto silent_for = std::chrono::system_clock::now() - start;
  INFO(collector.log());
  REQUIRE(stale);
  CHECK(silent_for > 2s);
  CHECK(fleet.agent("vp1")["state"] == "ok");
  CHECK(fleet.agent("vp3")["stale_after_ms"] == 2000);

  // Its reading no longer counts: two vantages are fewer than min_vantages.
  const json state = fleet.domain();
  CHECK(state["verdict"] == "UNKNOWN");
  CHECK(state["reporting"] == 2);
  CHECK(state["stale_vantages"] == json({"vp3"}));

  const auto agents = fleet.cli({"agents"});
  CHECK_THAT(agents.out, Catch::Matches(R"((.|\n)*\nvp3 +\S+ +\S+ ago +stale +64511 +AS64511 )"
                                        R"(+127\.0\.0\.1 +1s (.|\n)*)"));
  const auto explained = fleet.cli({"explain", "social.example"});
  CHECK_THAT(explained.out,
             Catch::Contains("  UNKNOWN: 2 vantages reporting, 2 usable, 1 stale; min_vantages is "
                             "3.\n"));
  CHECK_THAT(explained.out,
             Catch::Contains("  stale: silent for over two intervals (not counted): vp3\n"));
  CHECK_THAT(explained.out, Catch::Matches(R"((.|\n)*\nvp3 +AS64511 +OK \(stale\) (.|\n)*)"));
}

TEST_CASE("a target down from the start goes from UNKNOWN to SERVER_DOWN, never through OK",
          "[verdicts]") {
  CollectorFixture collector(
      "correlation: { min_vantages: 1, enter_after: 2, exit_after: 2, settle: 0s }\n");
  Fleet fleet(collector);
  collector.start();
  const auto at = std::chrono::system_clock::now() - 10s;
  fleet.upload("vp1", Verdict::ServerDown, at);
  json state = fleet.domain();
  CHECK(state["verdict"] == "UNKNOWN");  // one cycle establishes no reading, OK least of all
  CHECK(state["establishing_vantages"] == json({"vp1"}));
  const auto explained = fleet.cli({"explain", "social.example"});
  CHECK_THAT(explained.out,
             Catch::Contains("  UNKNOWN: 1 vantage reporting, 0 usable (1 without an established "
                             "reading yet); min_vantages is 1.\n"));
  CHECK_THAT(explained.out, Catch::Matches(R"((.|\n)*\nvp1 +127\.0\.0\.0/24 +not yet )"
                                           R"(+SERVER_DOWN (.|\n)*)"));

  fleet.upload("vp1", Verdict::ServerDown, at + 5s);
  state = fleet.domain();
  CHECK(state["verdict"] == "SERVER_DOWN");
  CHECK(state["scope"] == "partial");
  const auto history = collector.get("/api/v1/domains/social.example/history", fleet.op).json();
  REQUIRE(history["changes"].size() == 1);
  CHECK(history["changes"][0]["previous_verdict"] == "UNKNOWN");
  CHECK(history["changes"][0]["verdict"] == "SERVER_DOWN");
}

TEST_CASE(
    "agents without an ASN count by their source /24: two /24s agreeing are global at once, "
    "one /24 partial",
    "[verdicts]") {
  const auto run = [](const std::string& vp1_from, const std::string& vp2_from) {
    CollectorFixture collector("correlation: { settle: 2s }\n");
    Fleet fleet(collector);
    collector.start();
    for (const auto& [agent, from] : {std::pair{"vp1", vp1_from}, std::pair{"vp2", vp2_from}}) {
      const json beat = {{"agent", agent}, {"version", "0.1.0"}, {"uptime_s", 5}};
      REQUIRE(
          collector.post_from(from, "/api/v1/heartbeat", fleet.tokens[agent], beat.dump()).status ==
          200);
    }
    auto at = std::chrono::system_clock::now() - 30s;
    for (int round = 0; round < 4; ++round, at += 10s) {
      const auto verdict = round < 2 ? kOk : Verdict::ServerDown;
      fleet.upload("vp1", verdict, at, {}, vp1_from);
      fleet.upload("vp2", verdict, at, {}, vp2_from);
    }
    json result = {{"state", fleet.domain()},
                   {"vp1", fleet.agent("vp1")},
                   {"status", fleet.cli({"status"}).out},
                   {"agents", fleet.cli({"agents"}).out}};
    if (result["state"]["scope"] != "global") {
      wait_until([&] { return fleet.domain()["verdict"] == "SERVER_DOWN"; });
      result["settled"] = fleet.domain();
    }
    result["log"] = collector.log();
    return result;
  };

  const json apart = run("127.0.2.1", "127.0.3.1");
  INFO(apart.dump(2));
  CHECK(apart["state"]["verdict"] == "SERVER_DOWN");
  CHECK(apart["state"]["scope"] == "global");  // at once: a complete picture waits for nothing
  CHECK(apart["state"]["affected_asns"] == json::array({0}));
  CHECK(apart["state"]["affected_networks"] == json({"127.0.2.0/24", "127.0.3.0/24"}));
  CHECK(apart["state"]["evidence"][0] ==
        "Tcp 203.0.113.80:443 ConnRefused from 2 vantages in 127.0.2.0/24, 127.0.3.0/24");
  CHECK(apart["vp1"]["asn"] == nullptr);
  CHECK(apart["vp1"]["asn_source"] == "prefix");
  CHECK(apart["vp1"]["network"] == "127.0.2.0/24");
  CHECK_THAT(apart["status"].get<std::string>(),
             Catch::Contains("  global  ") && Catch::Contains(" 127.0.2.0/24,127.0.3.0/24\n"));
  CHECK_THAT(apart["agents"].get<std::string>(),
             Catch::Matches(R"((.|\n)*\nvp1 +\S+ +\S+ ago +ok +- +127\.0\.2\.0/24 \(source\) )"
                            R"(+127\.0\.2\.1 (.|\n)*)"));
  const std::string log = apart["log"];
  const std::string warning =
      "agent vp1 has no ASN (no agent.asn, no ASN database): grouping it "
      "by its source network 127.0.2.0/24";
  CHECK_THAT(log, Catch::Contains(warning));
  CHECK(log.find(warning) == log.rfind(warning));  // once, not per upload

  const json together = run("127.0.2.1", "127.0.2.2");
  INFO(together.dump(2));
  CHECK(together["state"]["scope"] != "global");
  CHECK(together["settled"]["verdict"] == "SERVER_DOWN");
  CHECK(together["settled"]["scope"] == "partial");
  CHECK(together["settled"]["affected_networks"] == json({"127.0.2.0/24"}));
}

TEST_CASE("a seq re-sent with another cycle is a 409 that stores and correlates nothing",
          "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  REQUIRE(fleet.domain()["verdict"] == "OK");
  const uint64_t stored_before = collector.stored_results();

  // Every vantage re-sends its latest seq, now reading ROUTE_LOSS, enough times to turn the
  // domain red if they counted.
  for (int attempt = 0; attempt < 3; ++attempt) {
    fleet.round_at += Fleet::kSpacing;
    for (const auto* agent : {"vp1", "vp2", "vp3"}) {
      const auto reply = fleet.send(agent, fleet.seqs[agent], kLoss, fleet.round_at);
      CHECK(reply.status == 409);
      CHECK_THAT(reply.json().value("error", ""),
                 Catch::Contains(fmt::format("seq {} is already stored with a different cycle "
                                             "document",
                                             fleet.seqs[agent])) &&
                     Catch::Contains("nothing of this batch was stored"));
    }
  }
  CHECK(collector.stored_results() == stored_before);
  CHECK(fleet.vantage("vp1")["latest_reading"] == "OK");
  CHECK(fleet.domain()["verdict"] == "OK");
  CHECK_THAT(collector.log(), Catch::Contains("HTTP 409 POST /api/v1/results"));
  CHECK_THAT(collector.get("/metrics").body, Catch::Contains("vantage_ingest_conflicts_total 9"));

  // A batch holding a conflict and a new result stores neither.
  json mixed = {{"schema_version", 1}, {"agent", "vp1"}, {"results", json::array()}};
  mixed["results"].push_back({{"seq", fleet.seqs["vp1"] + 1},
                              {"cycle", cycle_document("social.example", kOk, fleet.round_at)}});
  mixed["results"].push_back({{"seq", fleet.seqs["vp1"]},
                              {"cycle", cycle_document("social.example", kLoss, fleet.round_at)}});
  const auto refused = collector.post("/api/v1/results", fleet.tokens["vp1"], mixed.dump());
  CHECK(refused.status == 409);
  CHECK_THAT(refused.json().value("error", ""), Catch::StartsWith("results[1]: seq "));
  CHECK(collector.stored_results() == stored_before);
}

TEST_CASE("a cycle dated hours ahead is refused, and the vantage's later cycles still count",
          "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();

  const auto ahead = fleet.send("vp1", ++fleet.seqs["vp1"], kOk,
                                std::chrono::system_clock::now() + std::chrono::hours(23));
  CHECK(ahead.status == 422);
  CHECK_THAT(ahead.json().value("error", ""), Catch::Contains("ahead of the collector's clock") &&
                                                  Catch::Contains("at most 5m0s is accepted") &&
                                                  Catch::Contains("check the agent's clock"));
  // The agent sets the refused result aside and goes on with the next seq.
  fleet.round(kLoss, kOk, kOk);
  fleet.round(kLoss, kOk, kOk);
  CHECK(fleet.vantage("vp1")["latest_reading"] == "ROUTE_LOSS");
  CHECK(fleet.vantage("vp1")["verdict"] == "ROUTE_LOSS");
}

TEST_CASE("limits.max_clock_skew sets how far ahead a cycle may start", "[verdicts]") {
  CollectorFixture collector("limits: { max_clock_skew: 30s }\n");
  Fleet fleet(collector);
  collector.start();
  const auto now = std::chrono::system_clock::now();
  CHECK(fleet.send("vp1", 1, kOk, now + std::chrono::seconds(10)).status == 200);
  const auto refused = fleet.send("vp1", 2, kOk, now + std::chrono::minutes(2));
  CHECK(refused.status == 422);
  CHECK_THAT(refused.json().value("error", ""), Catch::Contains("at most 30s is accepted"));
  // Far in the past is a spool replay, delivered late but delivered.
  CHECK(fleet.send("vp1", 3, kOk, now - std::chrono::hours(24 * 7)).status == 200);
}

}  // namespace vantage::testing
