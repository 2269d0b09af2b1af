// The dispatcher against a real prometheus-alertmanager 0.25 on 127.0.0.1.
#include <catch2/catch.hpp>
#include <thread>

#include "alert_payloads.hh"
#include "alert_test_events.hh"
#include "alertmanager_server.hh"
#include "support/net.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Kind = AlertReceiverConfig::Kind;

// False (with a visible SKIP) where the Debian package is missing and the lab is not required;
// main() turns a run of only these tests into exit code 77.
bool have_alertmanager() {
  if (AlertmanagerServer::binary()) {
    return true;
  }
  if (AlertmanagerServer::required()) {
    FAIL("prometheus-alertmanager is not installed (VANTAGE_REQUIRE_LAB=1 requires it)");
  }
  WARN("SKIP: prometheus-alertmanager is not installed");
  return false;
}

WaitBudget seconds_budget(int seconds) {
  return WaitBudget{
      .attempts = 100'000, .interval = milliseconds(50), .limit = std::chrono::seconds(seconds)};
}

AlertTimingConfig timing_with_resend(milliseconds resend_interval) {
  AlertTimingConfig timing;
  timing.resend_interval = resend_interval;
  timing.retry_initial = milliseconds(50);
  timing.retry_max = milliseconds(200);
  timing.max_attempts = 20;
  timing.request_timeout = milliseconds(5000);
  return timing;
}

// Alertmanager keeps milliseconds; an event a minute old is plainly "started" there.
AlertEvent recent_route_loss() {
  const auto now = std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
  return route_loss("social.example", now - std::chrono::minutes(1));
}

TEST_CASE("Alertmanager shows a firing alert with its labels and drops it once resolved",
          "[alertmanager]") {
  if (!have_alertmanager()) {
    return;
  }
  AlertmanagerServer alertmanager;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Alertmanager, alertmanager.url()}},
                             timing_with_resend(std::chrono::seconds(60)), store.get());
  const AlertEvent firing = recent_route_loss();

  dispatcher.notify(firing);
  std::optional<json> shown;
  REQUIRE(wait_until([&] { return (shown = alertmanager.alert_for("social.example")).has_value(); },
                     seconds_budget(10)));
  CHECK((*shown)["labels"] == json::parse(R"({"alertname": "VantageVerdict",
      "domain": "social.example", "verdict": "ROUTE_LOSS", "scope": "global"})"));
  CHECK((*shown)["status"]["state"] == "active");
  CHECK((*shown)["annotations"]["summary"] == alert_summary(firing));
  CHECK((*shown)["annotations"]["asns"] == "AS64510, AS64511");

  const auto now = std::chrono::system_clock::now();
  dispatcher.notify(resolved(firing, now));
  REQUIRE(wait_until(
      [&] {
        const auto alerts = dispatcher.alerts();
        return alerts[0].event.resolved_at &&
               alerts[0].deliveries[0].latest().state == DeliveryState::Delivered;
      },
      seconds_budget(10)));
  CHECK(dispatcher.alerts()[0].deliveries[0].receiver ==
        "alertmanager " + alertmanager.url() + "/");
  // As observed with Alertmanager 0.25: an alert whose endsAt has passed is in no listing of
  // /api/v2/alerts, not even with active=false, until garbage collection forgets it.
  CHECK_FALSE(alertmanager.alert_for("social.example").has_value());
  CHECK_FALSE(alertmanager.alert_for("social.example", "?active=false").has_value());
}

TEST_CASE("an active alert is re-sent to Alertmanager every resend_interval until resolved",
          "[alertmanager]") {
  if (!have_alertmanager()) {
    return;
  }
  AlertmanagerServer alertmanager;
  const auto resend = milliseconds(200);
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Alertmanager, alertmanager.url()}}, timing_with_resend(resend),
                             store.get());
  const AlertEvent firing = recent_route_loss();

  dispatcher.notify(firing);
  std::optional<json> first;
  REQUIRE(wait_until([&] { return (first = alertmanager.alert_for("social.example")).has_value(); },
                     seconds_budget(10)));
  REQUIRE(wait_until([&] { return dispatcher.counters().deliveries_ok >= 5; }, seconds_budget(10)));
  const json again = alertmanager.alert_for("social.example").value();
  CHECK(again["status"]["state"] == "active");
  CHECK(again["updatedAt"] != (*first)["updatedAt"]);  // the re-sends reached Alertmanager
  CHECK(dispatcher.alerts()[0].deliveries[0].latest().attempts >= 5);

  dispatcher.notify(resolved(firing, std::chrono::system_clock::now()));
  REQUIRE(wait_until([&] { return !alertmanager.alert_for("social.example").has_value(); },
                     seconds_budget(10)));
  REQUIRE(wait_until(
      [&] {
        const auto alerts = dispatcher.alerts();
        return alerts[0].event.resolved_at &&
               alerts[0].deliveries[0].latest().state == DeliveryState::Delivered;
      },
      seconds_budget(10)));
  const uint64_t after_resolution = dispatcher.counters().deliveries_ok;
  std::this_thread::sleep_for(resend * 3);
  CHECK(dispatcher.counters().deliveries_ok == after_resolution);
  CHECK(dispatcher.counters().deliveries_failed == 0);
}

TEST_CASE("an alert firing in the store reaches a fresh Alertmanager after a restart",
          "[alertmanager]") {
  if (!have_alertmanager()) {
    return;
  }
  TestAlertStore store;
  {
    // The collector before the restart, with Alertmanager not configured yet.
    AlertDispatcher before({}, timing_with_resend(std::chrono::seconds(60)), store.get());
    before.notify(recent_route_loss());
  }
  AlertmanagerServer alertmanager;
  AlertDispatcher dispatcher({{Kind::Alertmanager, alertmanager.url()}},
                             timing_with_resend(std::chrono::seconds(60)), store.get());
  std::optional<json> shown;
  REQUIRE(wait_until([&] { return (shown = alertmanager.alert_for("social.example")).has_value(); },
                     seconds_budget(10)));
  CHECK((*shown)["status"]["state"] == "active");
}

}  // namespace
}  // namespace vantage::testing
