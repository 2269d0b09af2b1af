// The dispatcher against receivers on 127.0.0.1: the tiny HttpReceiver for webhook, Slack and
// a stand-in Alertmanager, a port nobody listens on, and a listener that never answers.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "alert_payloads.hh"
#include "alert_test_events.hh"
#include "http_receiver.hh"
#include "support/net.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using Kind = AlertReceiverConfig::Kind;
using SteadyClock = std::chrono::steady_clock;

TEST_CASE("webhook and Slack receivers get the firing and then the resolved event as JSON",
          "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher(
      {{Kind::Webhook, receiver.url("/hook")}, {Kind::Slack, receiver.url("/slack")}},
      fast_timing(), store.get());
  const AlertEvent firing = route_loss();

  dispatcher.notify(firing);
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& alerts) { return all_settled(alerts, 1, "delivered"); }));
  auto hook = requests_to(receiver, "/hook");
  auto slack = requests_to(receiver, "/slack");
  REQUIRE(hook.size() == 1);
  REQUIRE(slack.size() == 1);
  CHECK(hook[0].method == "POST");
  CHECK(hook[0].headers["content-type"] == "application/json");
  CHECK_THAT(hook[0].headers["user-agent"], Catch::StartsWith("vantage-collector/"));
  CHECK(json::parse(hook[0].body) == webhook_payload(firing));
  CHECK(json::parse(slack[0].body) == slack_payload(firing));

  const AlertEvent ended = resolved(firing, at("2026-11-25T07:30:00.000Z"));
  dispatcher.notify(ended);
  REQUIRE(wait_for_alerts(dispatcher, [](const auto& alerts) {
    return all_settled(alerts, 1, "delivered") && alerts[0].event.resolved_at.has_value();
  }));
  hook = requests_to(receiver, "/hook");
  slack = requests_to(receiver, "/slack");
  REQUIRE(hook.size() == 2);
  REQUIRE(slack.size() == 2);
  CHECK(json::parse(hook[1].body) == webhook_payload(ended));
  CHECK(json::parse(hook[1].body)["status"] == "resolved");
  CHECK(json::parse(slack[1].body) == slack_payload(ended));

  const auto alerts = dispatcher.alerts();
  CHECK(alerts[0].id == 1);
  CHECK(alerts[0].event.resolved_at == ended.resolved_at);
  CHECK(alerts[0].deliveries[0].receiver == "webhook " + receiver.url("/hook"));
  CHECK(alerts[0].deliveries[1].receiver == "slack " + receiver.url("/"));
  CHECK(alerts[0].deliveries[0].latest().attempts == 1);
  CHECK(alerts[0].deliveries[0].latest().delivered_at.has_value());
  CHECK(dispatcher.counters().deliveries_ok == 4);
  CHECK(dispatcher.counters().deliveries_failed == 0);
}

TEST_CASE("a receiver that answers 500 twice gets the event on the third attempt", "[loopback]") {
  HttpReceiver receiver([](size_t index, const ReceivedRequest&) { return index < 2 ? 500 : 200; });
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());

  dispatcher.notify(route_loss());
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& alerts) { return all_settled(alerts, 1, "delivered"); }));
  const DeliveryRecord delivery = dispatcher.alerts()[0].deliveries[0].latest();
  CHECK(delivery.attempts == 3);
  CHECK(delivery.last_error == "HTTP 500");  // the last error on the way, kept for the operator
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].body == requests[2].body);
  const AlertCounters counters = dispatcher.counters();
  CHECK(counters.deliveries_ok == 1);
  CHECK(counters.deliveries_failed == 2);
  CHECK(counters.given_up == 0);
}

TEST_CASE("a dead receiver ends failed after max_attempts, and notify never waits for it",
          "[loopback]") {
  AlertTimingConfig timing = fast_timing();
  timing.retry_initial = milliseconds(10);
  timing.retry_max = milliseconds(40);
  timing.max_attempts = 3;
  const std::string dead = fmt::format("http://127.0.0.1:{}/hook", unused_port());
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, dead}}, timing, store.get());

  const auto start = SteadyClock::now();
  for (int domain = 0; domain < 100; ++domain) {
    dispatcher.notify(route_loss(fmt::format("d{}.example", domain)));
  }
  // Delivering in notify would take at least the two waits between the three attempts (10 and
  // 20 ms) for each of the 100 alerts: 3 s. Queuing records each alert in the store and returns;
  // under a sanitizer build on a loaded 2-core machine that took up to 0.6 s.
  CHECK(SteadyClock::now() - start < milliseconds(2000));

  REQUIRE(wait_for_alerts(
      dispatcher, [](const auto& alerts) { return all_settled(alerts, 100, "failed"); },
      milliseconds(30'000)));
  for (const AlertView& alert : dispatcher.alerts()) {
    const DeliveryRecord& delivery = alert.deliveries[0].latest();
    CHECK(delivery.attempts == 3);
    CHECK_THAT(delivery.last_error, Catch::StartsWith("curl 7:"));
    CHECK_FALSE(delivery.delivered_at.has_value());
  }
  const AlertCounters counters = dispatcher.counters();
  CHECK(counters.given_up == 100);
  CHECK(counters.deliveries_failed == 300);
  CHECK(counters.deliveries_ok == 0);
}

TEST_CASE("a receiver that never answers does not hold up the others", "[loopback]") {
  SilentReceiver hung;
  HttpReceiver healthy;
  TestAlertStore store;
  AlertDispatcher dispatcher(
      {{Kind::Webhook, hung.url("/hook")}, {Kind::Webhook, healthy.url("/hook")}}, fast_timing(),
      store.get());

  dispatcher.notify(route_loss());
  REQUIRE(wait_for_alerts(
      dispatcher,
      [](const auto& alerts) {
        return alerts.size() == 1 &&
               alerts[0].deliveries[1].latest().state == DeliveryState::Delivered;
      },
      milliseconds(2000)));  // well inside the hung post's request_timeout of 5 s
  const DeliveryRecord stuck = dispatcher.alerts()[0].deliveries[0].latest();
  CHECK(stuck.state == DeliveryState::Pending);
  CHECK(stuck.attempts == 1);
}

TEST_CASE("destroying the dispatcher does not wait for a receiver that never answers",
          "[loopback]") {
  SilentReceiver hung;
  AlertTimingConfig timing = fast_timing();
  timing.request_timeout = milliseconds(30'000);
  TestAlertStore store;
  auto dispatcher = std::make_unique<AlertDispatcher>(
      std::vector<AlertReceiverConfig>{{Kind::Webhook, hung.url("/hook")}}, timing, store.get());
  dispatcher->notify(route_loss());
  REQUIRE(wait_for_alerts(*dispatcher, [](const auto& alerts) {
    return alerts.size() == 1 && alerts[0].deliveries[0].latest().attempts == 1;
  }));

  const auto start = SteadyClock::now();
  dispatcher.reset();
  CHECK(SteadyClock::now() - start < milliseconds(1000));
}

TEST_CASE(
    "an alert that ends before a receiver took its firing sends it nothing more: no lone "
    "resolve, and no more firing retries",
    "[loopback]") {
  // Firing posts fail, so they are being retried when the alert ends.
  HttpReceiver receiver([](size_t, const ReceivedRequest&) { return 500; });
  AlertTimingConfig timing = fast_timing();
  timing.max_attempts = 1000;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, timing, store.get());

  dispatcher.notify(route_loss());
  REQUIRE(receiver.wait_for_requests(2));
  dispatcher.notify(resolved(route_loss(), at("2026-11-25T07:30:00.000Z")));
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& alerts) { return all_settled(alerts, 1, "skipped"); }));
  const size_t after_resolution = receiver.requests().size();
  // Longer than retry_max: a firing retry still scheduled would have been sent by now.
  std::this_thread::sleep_for(timing.retry_max * 3);

  const auto requests = receiver.requests();
  CHECK(requests.size() == after_resolution);
  for (const ReceivedRequest& request : requests) {
    CHECK(json::parse(request.body)["status"] == "firing");
  }
  const ReceiverDeliveries delivery = dispatcher.alerts()[0].deliveries[0];
  CHECK(delivery.firing.state == DeliveryState::Skipped);
  CHECK(delivery.firing.last_error == "HTTP 500");
  CHECK_FALSE(delivery.firing.delivered_at.has_value());
  REQUIRE(delivery.resolve.has_value());
  CHECK(delivery.resolve->state == DeliveryState::Skipped);
  CHECK(delivery.resolve->attempts == 0);
}

TEST_CASE("a resolve waits for the firing post still out, and goes only if that one arrived",
          "[loopback]") {
  // The first post (the firing) is answered late: the alert ends meanwhile.
  HttpReceiver receiver([](size_t index, const ReceivedRequest&) {
    if (index == 0) {
      std::this_thread::sleep_for(milliseconds(300));
    }
    return 200;
  });
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  dispatcher.notify(route_loss());
  REQUIRE(wait_for_alerts(dispatcher, [](const auto& alerts) {
    return alerts.size() == 1 && alerts[0].deliveries[0].firing.attempts == 1;
  }));
  dispatcher.notify(resolved(route_loss(), at("2026-11-25T07:30:00.000Z")));
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& alerts) { return all_settled(alerts, 1, "delivered"); }));
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(json::parse(requests[0].body)["status"] == "firing");
  CHECK(json::parse(requests[1].body)["status"] == "resolved");
}

TEST_CASE("a firing event for a domain with an active alert first resolves the old one",
          "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  AlertEvent degraded = route_loss();
  degraded.verdict = Verdict::Degraded;
  degraded.scope = Scope::Partial;
  dispatcher.notify(degraded);
  REQUIRE(receiver.wait_for_requests(1));

  const TimePoint changed_at = at("2026-11-25T07:10:00.000Z");
  dispatcher.notify(route_loss("social.example", changed_at));
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& alerts) { return all_settled(alerts, 2, "delivered"); }));

  const auto alerts = dispatcher.alerts();
  CHECK(alerts[0].id == 2);
  CHECK(alerts[0].event.verdict == Verdict::RouteLoss);
  CHECK_FALSE(alerts[0].event.resolved_at.has_value());
  CHECK(alerts[1].id == 1);
  CHECK(alerts[1].event.resolved_at == changed_at);
  CHECK(alerts[1].event.resolved_to == Verdict::RouteLoss);

  std::vector<json> bodies;
  for (const ReceivedRequest& request : receiver.requests()) {
    bodies.push_back(json::parse(request.body));
  }
  REQUIRE(bodies.size() == 3);
  // The two alerts travel independently, so only the first post's place is fixed.
  CHECK(bodies[0]["verdict"] == "DEGRADED");
  const auto resolution = std::find_if(
      bodies.begin(), bodies.end(), [](const json& body) { return body["status"] == "resolved"; });
  REQUIRE(resolution != bodies.end());
  CHECK((*resolution)["verdict"] == "DEGRADED");
  CHECK((*resolution)["resolved_by"] == "ROUTE_LOSS");
  CHECK((*resolution)["resolved_at"] == "2026-11-25T07:10:00.000Z");
  CHECK(std::count_if(bodies.begin(), bodies.end(), [](const json& body) {
          return body["status"] == "firing" && body["verdict"] == "ROUTE_LOSS";
        }) == 1);
}

TEST_CASE(
    "a new dispatcher on the store takes up the firing alert: Alertmanager gets it again, a "
    "webhook that took it does not, one that did not gets it",
    "[loopback]") {
  HttpReceiver hook;
  HttpReceiver alertmanager;
  TestAlertStore store;
  {
    AlertDispatcher before({{Kind::Webhook, hook.url("/hook")}}, fast_timing(), store.get());
    before.notify(route_loss());
    REQUIRE(wait_for_alerts(
        before, [](const auto& alerts) { return all_settled(alerts, 1, "delivered"); }));
  }
  REQUIRE(hook.requests().size() == 1);

  HttpReceiver late_hook;
  AlertDispatcher dispatcher({{Kind::Webhook, hook.url("/hook")},
                              {Kind::Alertmanager, alertmanager.url("/")},
                              {Kind::Webhook, late_hook.url("/late")}},
                             fast_timing(), store.get());
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& alerts) { return all_settled(alerts, 1, "delivered"); }));
  const auto posts = alertmanager.requests();
  REQUIRE(posts.size() == 1);
  CHECK(posts[0].path == "/api/v2/alerts");
  CHECK(json::parse(posts[0].body) == alertmanager_payload(route_loss()));
  REQUIRE(late_hook.requests().size() == 1);
  CHECK(json::parse(late_hook.requests()[0].body)["status"] == "firing");

  const AlertView alert = dispatcher.alerts()[0];
  CHECK(alert.id == 1);
  CHECK(alert.deliveries[0].firing.attempts == 1);  // as the first dispatcher left it
  CHECK(hook.requests().size() == 1);

  // Its end reaches all three, once.
  dispatcher.notify(resolved(route_loss(), at("2026-11-25T07:30:00.000Z")));
  REQUIRE(hook.wait_for_requests(2));
  CHECK(json::parse(hook.requests()[1].body)["status"] == "resolved");
  REQUIRE(late_hook.wait_for_requests(2));
  CHECK(json::parse(late_hook.requests()[1].body)["status"] == "resolved");
}

TEST_CASE("alerts() lists active alerts newest first, then the last 200 ended ones newest first",
          "[unit]") {
  TestAlertStore store;
  AlertDispatcher dispatcher({}, fast_timing(), store.get());
  for (int domain = 0; domain < 205; ++domain) {
    const std::string name = fmt::format("ended{}.example", domain);
    dispatcher.notify(route_loss(name));
    dispatcher.notify(resolved(route_loss(name), at("2026-11-25T07:30:00.000Z")));
  }
  dispatcher.notify(route_loss("active-a.example"));
  dispatcher.notify(route_loss("active-b.example"));

  const auto alerts = dispatcher.alerts();
  REQUIRE(alerts.size() == 202);
  CHECK(alerts[0].event.domain == "active-b.example");
  CHECK(alerts[1].event.domain == "active-a.example");
  CHECK(alerts[2].event.domain == "ended204.example");
  CHECK(alerts[201].event.domain == "ended5.example");
  CHECK(alerts[2].deliveries.empty());
}

TEST_CASE("events that end nothing and raise nothing start no alert", "[unit]") {
  TestAlertStore store;
  AlertDispatcher dispatcher({}, fast_timing(), store.get());
  dispatcher.notify(resolved(route_loss(), at("2026-11-25T07:30:00.000Z")));
  AlertEvent ok = route_loss();
  ok.verdict = Verdict::Ok;
  dispatcher.notify(ok);
  AlertEvent isolated = route_loss();
  isolated.verdict = Verdict::VantageIsolated;
  dispatcher.notify(isolated);
  CHECK(dispatcher.alerts().empty());
}

TEST_CASE("a firing event of the active alert's verdict and scope refreshes its details",
          "[unit]") {
  TestAlertStore store;
  AlertDispatcher dispatcher({}, fast_timing(), store.get());
  dispatcher.notify(route_loss());
  AlertEvent wider = route_loss("social.example", at("2026-11-25T07:05:00.000Z"));
  wider.affected_vantages.push_back("vp-sin-1");
  wider.affected_networks.push_back("192.0.2.0/24");
  wider.evidence = {"Tcp 198.51.100.10:443 NetUnreachable from 4 vantages"};
  dispatcher.notify(wider);

  const auto alerts = dispatcher.alerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].id == 1);
  CHECK(alerts[0].event.since == route_loss().since);  // still the same alert
  CHECK(alerts[0].event.affected_vantages == wider.affected_vantages);
  CHECK(alerts[0].event.affected_networks == wider.affected_networks);
  CHECK(alerts[0].event.evidence == wider.evidence);
}

TEST_CASE("an OK verdict ends the active alert, resolved by OK", "[unit]") {
  TestAlertStore store;
  AlertDispatcher dispatcher({}, fast_timing(), store.get());
  dispatcher.notify(route_loss());
  AlertEvent ok;
  ok.domain = "social.example";
  ok.verdict = Verdict::Ok;
  ok.since = at("2026-11-25T07:20:00.000Z");
  dispatcher.notify(ok);

  const auto alerts = dispatcher.alerts();
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].event.resolved_at == ok.since);
  CHECK(alerts[0].event.resolved_to == Verdict::Ok);
}

}  // namespace
}  // namespace vantage::testing
