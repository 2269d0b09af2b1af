// Maintenance windows and silences as an operator uses them: the CLI against a running collector
// whose webhook receiver is a tiny HTTP server on 127.0.0.1.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "alert/http_receiver.hh"
#include "collector_fixture.hh"
#include "collector_fleet.hh"

using namespace vantage::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string webhook_yaml(const HttpReceiver& receiver) {
  return "alerts:\n  - { webhook: { url: \"" + receiver.url("/hook") + "\" } }\n";
}

}  // namespace

TEST_CASE("a silenced alert sends nothing, alerts and explain list it as silenced, expire sends it",
          "[cli]") {
  HttpReceiver receiver;
  CollectorFixture collector(webhook_yaml(receiver));
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();

  const auto added = fleet.cli({"silence", "add", "social.example", "--verdict", "ROUTE_LOSS",
                                "--for", "4h", "--comment", "backbone change, INC-42"});
  REQUIRE(added.exit_code == 0);
  CHECK_THAT(added.out,
             Catch::StartsWith("added silence 1 for social.example ROUTE_LOSS: on until "));

  fleet.rounds(vantage::Verdict::RouteLoss);
  REQUIRE(fleet.verdict() == "ROUTE_LOSS");
  CHECK_FALSE(receiver.wait_for_requests(1, milliseconds(1500)));

  const auto alerts = fleet.cli({"alerts"});
  CHECK(alerts.exit_code == 0);
  CHECK_THAT(alerts.out, Catch::Contains("silenced  social.example  ROUTE_LOSS (global)"));
  CHECK_THAT(alerts.out, Catch::Contains("alert 1: silence 1 by ops until "));
  CHECK_THAT(alerts.out, Catch::EndsWith(": backbone change, INC-42\n"));
  const auto explain = fleet.cli({"explain", "social.example"});
  CHECK_THAT(explain.out, Catch::Contains("#1 silenced ROUTE_LOSS"));
  CHECK_THAT(explain.out, Catch::Contains("held back by silence 1 by ops until "));
  CHECK(fleet.alert()["muted"]["kind"] == "silence");
  // status keeps the verdict and says what holds its alerts back.
  const auto status = fleet.cli({"status"});
  CHECK_THAT(status.out, Catch::Contains("\nsocial.example  ROUTE_LOSS"));
  CHECK_THAT(status.out, Catch::Contains("\nAlerts held back now (the verdicts above are still "
                                         "true):\n  social.example: silence 1 by ops until "));
  const auto status_json = nlohmann::json::parse(fleet.cli({"status", "--json"}).out);
  CHECK(status_json[0]["muted"]["kind"] == "silence");
  CHECK(status_json[0]["muted"]["why"] == "backbone change, INC-42");

  const auto listed = fleet.cli({"silence", "list"});
  CHECK(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::StartsWith("ID  DOMAIN          VERDICT     STATE"));
  CHECK_THAT(listed.out, Catch::Contains("1   social.example  ROUTE_LOSS  on until "));

  const auto expired = fleet.cli({"silence", "expire", "1"});
  CHECK(expired.exit_code == 0);
  CHECK_THAT(expired.out,
             Catch::StartsWith("expired silence 1 for social.example ROUTE_LOSS: expired by ops"));
  REQUIRE(receiver.wait_for_requests(1, seconds(10)));
  CHECK(receiver.requests()[0].body.find("\"domain\":\"social.example\"") != std::string::npos);
  CHECK_THAT(fleet.cli({"status"}).out, !Catch::Contains("held back"));
  CHECK(nlohmann::json::parse(fleet.cli({"status", "--json"}).out)[0]["muted"].is_null());
  const auto again = fleet.cli({"silence", "expire", "1"});
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Catch::Contains("no silence 1 still on"));
}

TEST_CASE("maintenance add, list and remove; bad windows are told what is wrong", "[cli]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();

  CHECK(fleet.cli({"maintenance", "list"}).out == "no maintenance windows\n");
  const auto now = fleet.cli({"maintenance", "add", "--all", "--start", "now", "--duration", "2h",
                              "--reason", "core router upgrade"});
  REQUIRE(now.exit_code == 0);
  CHECK_THAT(now.out, Catch::StartsWith("added maintenance window 1 for *: "));
  CHECK_THAT(now.out, Catch::Contains(" for 2h (UTC), on until "));
  const auto weekly =
      fleet.cli({"maintenance", "add", "*.shop.example", "--start", "02:00", "--every", "Mon,Thu",
                 "--timezone", "Europe/Berlin", "--duration", "90m", "--reason", "db vacuum"});
  REQUIRE(weekly.exit_code == 0);
  CHECK_THAT(weekly.out, Catch::Contains("02:00 for 1h 30m every Mon,Thu (Europe/Berlin), next "));

  const auto listed = fleet.cli({"maintenance", "list"});
  CHECK_THAT(listed.out, Catch::StartsWith("ID  DOMAIN          START "));
  CHECK_THAT(listed.out, Catch::Contains("2   *.shop.example  02:00"));
  CHECK_THAT(listed.out, Catch::Contains("Mon,Thu  Europe/Berlin  next "));
  CHECK_THAT(listed.out, Catch::Contains("ops  db vacuum\n"));

  const auto both = fleet.cli({"maintenance", "add", "x.example", "--all", "--start", "now",
                               "--duration", "1h", "--reason", "r"});
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("either DOMAIN or --all"));
  const auto zone = fleet.cli({"maintenance", "add", "x.example", "--start", "now", "--duration",
                               "1h", "--timezone", "Mars/Olympus", "--reason", "r"});
  CHECK(zone.exit_code == 1);
  CHECK_THAT(zone.err, Catch::Contains("answered 422: timezone: no time zone 'Mars/Olympus'"));
  const auto hour = fleet.cli({"maintenance", "add", "x.example", "--start", "25:00", "--every",
                               "Mon", "--duration", "1h", "--reason", "r"});
  CHECK(hour.exit_code == 1);
  CHECK_THAT(hour.err, Catch::Contains("start: '25:00' is not a time of day"));

  CHECK(fleet.cli({"maintenance", "remove", "1"}).out == "removed maintenance window 1\n");
  const auto gone = fleet.cli({"maintenance", "remove", "1"});
  CHECK(gone.exit_code == 1);
  CHECK_THAT(gone.err, Catch::Contains("404: no maintenance window 1"));
  CHECK(fleet.cli({"maintenance", "list", "--json"}).out.find("\"id\": 2") != std::string::npos);
}

TEST_CASE(
    "a running collector's routes send a domain's alert to exactly its receiver, with a "
    "link to its page",
    "[cli]") {
  HttpReceiver shop;
  HttpReceiver ops;
  CollectorFixture collector(
      "alerts:\n"
      "  - { name: shop, webhook: { url: \"" +
      shop.url("/hook") +
      "\" } }\n"
      "  - { name: ops, slack: { url: \"" +
      ops.url("/slack") +
      "\" } }\n"
      "alerting: { external_url: \"https://vantage.example.org/\" }\n"
      "routes:\n"
      "  - { domains: \"*.shop.example\", receivers: [shop] }\n"
      "  - { receivers: ops }\n");
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  fleet.rounds(vantage::Verdict::RouteLoss);
  REQUIRE(fleet.verdict() == "ROUTE_LOSS");
  REQUIRE(ops.wait_for_requests(1, seconds(10)));
  const auto slack = nlohmann::json::parse(ops.requests()[0].body);
  CHECK_THAT(slack["text"].get<std::string>(),
             Catch::StartsWith("[FIRING] social.example ROUTE_LOSS (global) since "));
  CHECK_THAT(slack["text"].get<std::string>(),
             Catch::EndsWith("\n<https://vantage.example.org/ui/domains/social.example|"
                             "social.example in Vantage>"));
  CHECK_FALSE(shop.wait_for_requests(1, milliseconds(500)));
  const auto alert = fleet.alert();
  REQUIRE(alert["deliveries"].size() == 1);
  CHECK(alert["deliveries"][0]["receiver"] == "slack " + ops.url("/"));
}
