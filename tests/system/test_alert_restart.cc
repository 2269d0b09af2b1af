// Alerts across collector restarts: a real vantage-collector fed cycle documents over HTTP by
// three stand-in agents, a tiny webhook receiver, and kill -9 or SIGTERM in between.
#include <fmt/format.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "alerts/http_receiver.hh"
#include "collector_fixture.hh"
#include "support/net.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kDomain = "social.example";

// Retries come fast, and a receiver that is down is tried for about ten seconds before the
// collector gives up on it.
std::string collector_yaml(const std::string& webhook_url) {
  return fmt::format(
      "alerts:\n  - {{ webhook: {{ url: \"{}\" }} }}\n"
      "alerting: {{ retry_initial: 50ms, retry_max: 200ms, max_attempts: 100, timeout: 2s }}\n",
      webhook_url);
}

// Three vantages in two networks; each round is one cycle from each, 20 s after the last, as if
// their interval were 20 s.
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

  void round(Verdict verdict) {
    round_at += std::chrono::seconds(20);
    for (const auto* agent : {"vp1", "vp2", "vp3"}) {
      const json batch = {
          {"schema_version", 1},
          {"agent", agent},
          {"results",
           {{{"seq", ++seqs[agent]}, {"cycle", cycle_document(kDomain, verdict, round_at)}}}}};
      const auto reply = collector.post("/api/v1/results", tokens[agent], batch.dump());
      INFO(reply.error << reply.body);
      REQUIRE(reply.status == 200);
    }
  }
  // Two rounds: enough for every vantage's reading to settle (enter_after, exit_after).
  void rounds(Verdict verdict) {
    round(verdict);
    round(verdict);
  }

  // The domain's verdict in status, or "" if status does not list it.
  std::string verdict() const {
    const auto reply = collector.get("/api/v1/status", op);
    REQUIRE(reply.status == 200);
    for (const auto& entry : reply.json()) {
      if (entry["domain"] == kDomain) {
        return entry["verdict"];
      }
    }
    return "";
  }

  json alerts() const {
    const auto reply = collector.get("/api/v1/alerts", op);
    REQUIRE(reply.status == 200);
    return reply.json();
  }
  // The domain's newest alert, or null.
  json alert() const {
    for (const auto& entry : alerts().value("alerts", json::array())) {
      if (entry["domain"] == kDomain) {
        return entry;
      }
    }
    return json();
  }
  // True once the newest alert's first receiver shows `event` ("firing" or "resolve") in
  // `state`, within a bounded wait.
  bool wait_for_delivery(const std::string& event, const std::string& state) const {
    return wait_until(
        [&] {
          json found = alert();
          return found.is_object() && !found["deliveries"].empty() &&
                 found["deliveries"][0][event].is_object() &&
                 found["deliveries"][0][event]["state"] == state;
        },
        WaitBudget{.attempts = 200, .interval = 50ms, .limit = 10s});
  }
};

std::vector<std::string> statuses(const HttpReceiver& receiver) {
  std::vector<std::string> seen;
  for (const auto& request : receiver.requests()) {
    seen.push_back(json::parse(request.body).value("status", std::string("?")));
  }
  return seen;
}

void kill_hard(CollectorFixture& collector) {
  REQUIRE(kill(collector.pid(), SIGKILL) == 0);
  REQUIRE(wait_until([&] { return collector.exited(); }));
}

}  // namespace

TEST_CASE(
    "a collector killed with -9 while an alert is firing keeps it delivered, and the webhook "
    "gets exactly one resolve and no second firing",
    "[alerts]") {
  HttpReceiver webhook;
  CollectorFixture collector(collector_yaml(webhook.url("/hook")));
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.rounds(Verdict::Ok);
  fleet.rounds(Verdict::ServerDown);
  REQUIRE(fleet.verdict() == "SERVER_DOWN");
  REQUIRE(fleet.wait_for_delivery("firing", "delivered"));
  json before = fleet.alert();

  kill_hard(collector);
  collector.start();
  json after = fleet.alert();
  REQUIRE(after.is_object());
  CHECK(after["id"] == before["id"]);
  CHECK(after["status"] == "firing");
  CHECK(after["deliveries"][0]["firing"] == before["deliveries"][0]["firing"]);

  fleet.rounds(Verdict::Ok);
  REQUIRE(fleet.verdict() == "OK");
  REQUIRE(fleet.wait_for_delivery("resolve", "delivered"));
  std::this_thread::sleep_for(500ms);  // room for a duplicate to show up
  CHECK(statuses(webhook) == std::vector<std::string>{"firing", "resolved"});
  json ended = fleet.alert();
  CHECK(ended["id"] == before["id"]);
  CHECK(ended["resolved_by"] == "OK");
}

TEST_CASE(
    "a receiver down while the alert fired is not marked delivered by a restart; back up, it "
    "gets the firing, then the resolve",
    "[alerts]") {
  const uint16_t port = unused_port();
  CollectorFixture collector(collector_yaml(fmt::format("http://127.0.0.1:{}/hook", port)));
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.rounds(Verdict::Ok);
  fleet.rounds(Verdict::ServerDown);
  REQUIRE(fleet.verdict() == "SERVER_DOWN");
  REQUIRE(wait_until([&] {
    json found = fleet.alert();
    return found.is_object() && found["deliveries"][0]["attempts"].get<int>() >= 1;
  }));

  kill_hard(collector);
  collector.start();
  json after = fleet.alert();
  REQUIRE(after.is_object());
  CHECK(after["status"] == "firing");
  CHECK(after["deliveries"][0]["firing"]["state"] != "delivered");
  CHECK(after["deliveries"][0]["firing"]["delivered_at"].is_null());
  const auto listed =
      collector.cli({"alerts", "--url", collector.url()}, {"VANTAGE_TOKEN=" + fleet.op});
  CHECK_THAT(listed.out, !Catch::Contains("webhook delivered"));

  HttpReceiver webhook([](size_t, const ReceivedRequest&) { return 200; }, port);
  REQUIRE(fleet.wait_for_delivery("firing", "delivered"));
  fleet.rounds(Verdict::Ok);
  REQUIRE(fleet.verdict() == "OK");
  REQUIRE(fleet.wait_for_delivery("resolve", "delivered"));
  CHECK(statuses(webhook) == std::vector<std::string>{"firing", "resolved"});
}

TEST_CASE(
    "targets remove resolves the domain's alert as target_removed and drops it from status, "
    "also after a restart",
    "[alerts]") {
  HttpReceiver webhook;
  CollectorFixture collector(collector_yaml(webhook.url("/hook")));
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  REQUIRE(collector.post("/api/v1/targets", fleet.op, json({{"domain", kDomain}}).dump()).status ==
          201);
  fleet.rounds(Verdict::Ok);
  fleet.rounds(Verdict::ServerDown);
  REQUIRE(fleet.verdict() == "SERVER_DOWN");
  REQUIRE(fleet.wait_for_delivery("firing", "delivered"));

  const auto removed = collector.cli({"targets", "remove", kDomain, "--url", collector.url()},
                                     {"VANTAGE_TOKEN=" + fleet.op});
  REQUIRE(removed.exit_code == 0);
  CHECK(fleet.verdict().empty());
  REQUIRE(fleet.wait_for_delivery("resolve", "delivered"));
  CHECK(fleet.alert()["resolved_by"] == "target_removed");
  REQUIRE(webhook.requests().size() == 2);
  CHECK(json::parse(webhook.requests()[1].body)["resolved_by"] == "target_removed");

  collector.stop();
  collector.start();
  CHECK(fleet.verdict().empty());
  CHECK(fleet.alert()["status"] == "resolved");
}

TEST_CASE("with no receivers the collector warns, and still records the alerts", "[alerts]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  CHECK_THAT(collector.log(),
             Catch::Contains("no alert receivers configured: verdict changes are recorded but "
                             "nobody is notified"));
  fleet.heartbeats();
  fleet.rounds(Verdict::Ok);
  fleet.rounds(Verdict::ServerDown);
  REQUIRE(fleet.verdict() == "SERVER_DOWN");
  json alerts = fleet.alerts();
  CHECK(alerts["receivers"] == 0);
  CHECK_THAT(alerts.value("warning", std::string()), Catch::Contains("no alert receivers"));
  REQUIRE(fleet.alert().is_object());
  CHECK(fleet.alert()["status"] == "firing");

  const auto listed =
      collector.cli({"alerts", "--url", collector.url()}, {"VANTAGE_TOKEN=" + fleet.op});
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::StartsWith("warning: no alert receivers configured"));
  CHECK_THAT(listed.out, Catch::Contains("SERVER_DOWN (global)"));
}

}  // namespace vantage::testing
