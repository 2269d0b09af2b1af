// Correlation inside the running collector: agents upload cycles, operators read verdicts through
// the API and the CLI, and a restart keeps them.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "collector_fixture.hh"
#include "support/net.hh"
#include "support/process.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Three vantages in two networks, as in the lab: vp1 and vp2 in AS64510, vp3 in AS64511.
struct Fleet {
  CollectorFixture& collector;
  std::string op;
  std::map<std::string, std::string> tokens;
  std::map<std::string, uint64_t> seqs;
  std::chrono::system_clock::time_point round_at =
      std::chrono::system_clock::now() - std::chrono::seconds(60);

  explicit Fleet(CollectorFixture& fixture) : collector(fixture) {
    op = collector.create_token("ops", true);
    for (const auto* agent : {"vp1", "vp2", "vp3"}) {
      tokens[agent] = collector.create_token(agent);
    }
  }

  void heartbeats() {
    for (const auto& [agent, asn] :
         {std::pair{"vp1", 64510}, std::pair{"vp2", 64510}, std::pair{"vp3", 64511}}) {
      const json beat = {{"agent", agent},
                         {"version", "0.1.0"},
                         {"uptime_s", 5},
                         {"spool_depth", 0},
                         {"asn", asn}};
      REQUIRE(collector.post("/api/v1/heartbeat", tokens[agent], beat.dump()).status == 200);
    }
  }

  // One cycle per vantage, each its own upload. A read decides what is pending first, so the
  // verdict read right after is current; steps no one read in between may be folded together.
  void round(Verdict vp1, Verdict vp2, Verdict vp3) {
    round_at += 5s;
    for (const auto& [agent, verdict] :
         {std::pair{"vp1", vp1}, std::pair{"vp2", vp2}, std::pair{"vp3", vp3}}) {
      const json batch = {{"schema_version", 1},
                          {"agent", agent},
                          {"results",
                           {{{"seq", ++seqs[agent]},
                             {"cycle", cycle_document("social.example", verdict, round_at)}}}}};
      const auto reply = collector.post("/api/v1/results", tokens[agent], batch.dump());
      REQUIRE(reply.status == 200);
    }
  }

  json status() const {
    const auto reply = collector.get("/api/v1/status", op);
    REQUIRE(reply.status == 200);
    return reply.json();
  }
  json domain() const {
    for (const auto& entry : status()) {
      if (entry["domain"] == "social.example") {
        return entry;
      }
    }
    return json();
  }
};

constexpr auto kOk = Verdict::Ok;
constexpr auto kLoss = Verdict::RouteLoss;

}  // namespace

TEST_CASE("route loss from every vantage reads ROUTE_LOSS global with evidence after enter_after",
          "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();

  fleet.round(kOk, kOk, kOk);
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
  CHECK_THAT(metrics.body, Catch::Contains("vantage_ingest_results_total{outcome=\"stored\"} 9"));
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
  fleet.round(kOk, kOk, kOk);
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
  CHECK(agents[2]["asn"] == 64511);
  CHECK(agents[2]["asn_source"] == "config");
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
  fleet.round(kOk, kOk, kOk);
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
  CHECK_THAT(
      table.out,
      Catch::Matches(
          R"((.|\n)*social\.example +ROUTE_LOSS +partial +\S+ +\S+ ago +3 +3 +1 +AS64511\n)"));
}

TEST_CASE("a restarted collector keeps the verdict and its since, and explains it", "[verdicts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.round(kOk, kOk, kOk);
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
  CHECK_THAT(explained.out, Catch::Contains("the service refuses connections"));
  CHECK_THAT(explained.out,
             Catch::Contains("Tcp 203.0.113.80:443 ConnRefused from 3 vantages in AS64510, "
                             "AS64511"));
  CHECK_THAT(explained.out, Catch::Contains("OK -> SERVER_DOWN (global)"));
}

}  // namespace vantage::testing
