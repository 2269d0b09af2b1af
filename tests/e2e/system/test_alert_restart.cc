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

#include "collector/alert/http_receiver.hh"
#include "collector_fleet.hh"
#include "support/net.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kDomain = Fleet::kDomain;

// Retries come fast, and a receiver that is down is tried for about ten seconds before the
// collector gives up on it.
std::string collector_yaml(const std::string& webhook_url) {
  return fmt::format(
      "alerts:\n  - {{ webhook: {{ url: \"{}\" }} }}\n"
      "alerting: {{ retry_initial: 50ms, retry_max: 200ms, max_attempts: 100, timeout: 2s }}\n",
      webhook_url);
}

// True once the domain's newest alert's first receiver shows `event` ("firing" or "resolve") in
// `state`, within a bounded wait.
bool wait_for_delivery(const Fleet& fleet, const std::string& event, const std::string& state) {
  return wait_until(
      [&] {
        const json found = fleet.alert();
        return found.is_object() && !found["deliveries"].empty() &&
               found["deliveries"][0][event].is_object() &&
               found["deliveries"][0][event]["state"] == state;
      },
      WaitBudget{.attempts = 200, .interval = 50ms, .limit = 10s});
}

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
  REQUIRE(wait_for_delivery(fleet, "firing", "delivered"));
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
  REQUIRE(wait_for_delivery(fleet, "resolve", "delivered"));
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
  REQUIRE(wait_for_delivery(fleet, "firing", "delivered"));
  fleet.rounds(Verdict::Ok);
  REQUIRE(fleet.verdict() == "OK");
  REQUIRE(wait_for_delivery(fleet, "resolve", "delivered"));
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
  REQUIRE(wait_for_delivery(fleet, "firing", "delivered"));

  const auto removed = collector.cli({"targets", "remove", kDomain, "--url", collector.url()},
                                     {"VANTAGE_TOKEN=" + fleet.op});
  REQUIRE(removed.exit_code == 0);
  CHECK(fleet.verdict().empty());
  REQUIRE(wait_for_delivery(fleet, "resolve", "delivered"));
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
