// Maintenance windows and silences against a receiver on 127.0.0.1: what they hold back is
// recorded and listed, sent when they end if the alert still fires, and never sent if it ended.
#include <catch2/catch.hpp>
#include <thread>

#include "alert_test_events.hh"
#include "result_json.hh"

namespace vantage::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Kind = AlertReceiverConfig::Kind;

// A window in UTC that happens once, from `from` for `length` (to the second).
MaintenanceWindow window_from(TimePoint from, seconds length) {
  MaintenanceWindow window;
  window.domain = "*";
  window.start = format_time(from).substr(0, 19);  // "2026-11-29T04:09:41"
  window.duration = length;
  window.reason = "core router upgrade";
  window.created_by = "alice";
  return window;
}

Silence silence_for(const std::string& domain, std::optional<Verdict> verdict, seconds length) {
  const auto now = std::chrono::system_clock::now();
  Silence silence;
  silence.domain = domain;
  silence.verdict = verdict;
  silence.starts_at = now;
  silence.ends_at = now + length;
  silence.comment = "upstream is on it, INC-42";
  silence.created_by = "bob";
  silence.created_at = now;
  return silence;
}

// Nothing arrives at the receiver for `quiet` (the dispatcher had every chance to send).
bool stays_quiet(const HttpReceiver& receiver, milliseconds quiet) {
  return !wait_until([&] { return !receiver.requests().empty(); },
                     WaitBudget{.attempts = 1000, .interval = milliseconds(20), .limit = quiet});
}

}  // namespace

TEST_CASE("a fault during a maintenance window sends nothing, and pages when the window ends",
          "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  const auto now = std::chrono::system_clock::now();
  // Whole seconds: the window ends between 2 and 3 seconds from now.
  const MaintenanceWindow window = window_from(now - seconds(1), seconds(4));
  const TimePoint window_end = parse_time(window.start + ".000Z").value() + window.duration;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  const uint64_t id = dispatcher.add_window(window);

  dispatcher.notify(route_loss());
  CHECK(stays_quiet(receiver, milliseconds(1500)));
  auto alerts = dispatcher.alerts();
  REQUIRE(alerts.size() == 1);
  REQUIRE(alerts[0].muted);
  CHECK(alerts[0].muted->kind == Mute::Kind::Maintenance);
  CHECK(alerts[0].muted->id == id);
  CHECK(alerts[0].muted->until == window_end);
  CHECK(alerts[0].muted->why == "core router upgrade");
  CHECK(to_string(alerts[0].deliveries[0].firing.state) == "pending");

  REQUIRE(receiver.wait_for_requests(1, seconds(10)));
  CHECK(std::chrono::system_clock::now() >= window_end);
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& views) { return all_settled(views, 1, "delivered"); }));
  CHECK_FALSE(dispatcher.alerts()[0].muted);
}

TEST_CASE("an alert that ends inside a maintenance window is never sent", "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get(),
                             {window_from(std::chrono::system_clock::now(), seconds(3600))});
  const AlertEvent firing = route_loss();
  dispatcher.notify(firing);
  dispatcher.notify(resolved(firing, at("2026-11-25T07:05:00.000Z")));
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& views) { return all_settled(views, 1, "skipped"); }));
  CHECK(stays_quiet(receiver, milliseconds(500)));
  CHECK(dispatcher.windows().size() == 1);  // collector.yaml's, id 0
  CHECK(dispatcher.windows()[0].id == 0);
}

TEST_CASE("a silenced alert sends nothing, is listed with who and why, and goes out when expired",
          "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  const uint64_t id =
      dispatcher.add_silence(silence_for("social.example", Verdict::RouteLoss, seconds(3600)));

  dispatcher.notify(route_loss());
  dispatcher.notify(route_loss("other.example"));  // not silenced: goes at once
  REQUIRE(receiver.wait_for_requests(1));
  CHECK_FALSE(receiver.wait_for_requests(2, milliseconds(800)));  // only the unsilenced one
  CHECK(receiver.requests()[0].body.find("other.example") != std::string::npos);
  const auto alerts = dispatcher.alerts();
  REQUIRE(alerts.size() == 2);
  const AlertView& silenced = alerts[0].event.domain == "social.example" ? alerts[0] : alerts[1];
  REQUIRE(silenced.muted);
  CHECK(silenced.muted->kind == Mute::Kind::Silence);
  CHECK(silenced.muted->id == id);
  CHECK(silenced.muted->by == "bob");
  CHECK(silenced.muted->why == "upstream is on it, INC-42");

  REQUIRE(dispatcher.expire_silence(id, std::chrono::system_clock::now(), "carol"));
  CHECK_FALSE(dispatcher.expire_silence(id, std::chrono::system_clock::now(), "carol"));
  REQUIRE(receiver.wait_for_requests(2));
  CHECK(receiver.requests()[1].body.find("social.example") != std::string::npos);
  const auto listed = dispatcher.silences(std::chrono::system_clock::now() - seconds(60));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].expired_by == "carol");
}

TEST_CASE("a silence of another verdict holds nothing back", "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  dispatcher.add_silence(silence_for("social.example", Verdict::DnsFailure, seconds(3600)));
  dispatcher.notify(route_loss());
  REQUIRE(receiver.wait_for_requests(1));
  CHECK_FALSE(dispatcher.alerts()[0].muted);
}

TEST_CASE("a receiver that took the firing before a silence still gets the resolve", "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  const AlertEvent firing = route_loss();
  dispatcher.notify(firing);
  REQUIRE(receiver.wait_for_requests(1));
  dispatcher.add_silence(silence_for("*", std::nullopt, seconds(3600)));
  dispatcher.notify(resolved(firing, at("2026-11-25T07:05:00.000Z")));
  REQUIRE(receiver.wait_for_requests(2));
  CHECK(nlohmann::json::parse(receiver.requests()[1].body)["status"] == "resolved");
}

TEST_CASE("a held firing stays held across a restart, and goes once the window is removed",
          "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  uint64_t id = 0;
  {
    AlertDispatcher first({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
    id = first.add_window(window_from(std::chrono::system_clock::now(), seconds(3600)));
    first.notify(route_loss());
    REQUIRE(wait_for_alerts(
        first, [](const auto& views) { return views.size() == 1 && views[0].muted.has_value(); }));
  }
  AlertDispatcher second({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  CHECK(stays_quiet(receiver, milliseconds(800)));
  REQUIRE(second.remove_window(id));
  CHECK_FALSE(second.remove_window(id));
  REQUIRE(receiver.wait_for_requests(1));
  CHECK(receiver.requests().size() == 1);
}

TEST_CASE(
    "a firing held by a silence is never sent once its alert ended, even when the silence "
    "ends",
    "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, fast_timing(), store.get());
  const uint64_t id = dispatcher.add_silence(silence_for("*", std::nullopt, seconds(3600)));
  const AlertEvent firing = route_loss();
  dispatcher.notify(firing);
  REQUIRE(wait_for_alerts(dispatcher, [](const auto& views) {
    return views.size() == 1 && views[0].muted.has_value();
  }));
  dispatcher.notify(resolved(firing, at("2026-11-25T07:05:00.000Z")));
  REQUIRE(wait_for_alerts(dispatcher,
                          [](const auto& views) { return all_settled(views, 1, "skipped"); }));
  REQUIRE(dispatcher.expire_silence(id, std::chrono::system_clock::now(), "carol"));
  CHECK(stays_quiet(receiver, milliseconds(800)));
  CHECK(all_settled(dispatcher.alerts(), 1, "skipped"));
}

}  // namespace vantage::testing
