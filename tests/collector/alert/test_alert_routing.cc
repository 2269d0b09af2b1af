// Routes and reminders against receivers on 127.0.0.1: an alert reaches exactly the receivers its
// route names, and a still-firing one is repeated to webhook receivers until it resolves.
#include <catch2/catch.hpp>

#include "alert_test_events.hh"

namespace vantage::testing {
namespace {

using std::chrono::milliseconds;
using Kind = AlertReceiverConfig::Kind;

AlertRoute route_to(std::vector<size_t> receivers, std::vector<std::string> domains = {}) {
  AlertRoute route;
  route.domains = std::move(domains);
  route.receivers = std::move(receivers);
  return route;
}

}  // namespace

TEST_CASE("a route sends a domain's alert to exactly its receiver, and the resolve with it",
          "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/shop"), "shop"},
                              {Kind::Webhook, receiver.url("/ops"), "ops"}},
                             fast_timing(), store.get(), {},
                             {route_to({0}, {"*.shop.example"}), route_to({1})});

  const AlertEvent shop = route_loss("eu.shop.example");
  dispatcher.notify(shop);
  dispatcher.notify(route_loss("social.example"));
  REQUIRE(receiver.wait_for_requests(2));
  CHECK_FALSE(receiver.wait_for_requests(3, milliseconds(500)));
  const auto to_shop = requests_to(receiver, "/shop");
  const auto to_ops = requests_to(receiver, "/ops");
  REQUIRE(to_shop.size() == 1);
  REQUIRE(to_ops.size() == 1);
  CHECK(nlohmann::json::parse(to_shop[0].body)["domain"] == "eu.shop.example");
  CHECK(nlohmann::json::parse(to_ops[0].body)["domain"] == "social.example");
  // alerts() lists only the receivers an alert was routed to.
  for (const AlertView& alert : dispatcher.alerts()) {
    REQUIRE(alert.deliveries.size() == 1);
    CHECK(alert.deliveries[0].receiver ==
          "webhook " + receiver.url(alert.event.domain == "social.example" ? "/ops" : "/shop"));
  }

  dispatcher.notify(resolved(shop, at("2026-11-25T07:05:00.000Z")));
  REQUIRE(receiver.wait_for_requests(3));
  CHECK(requests_to(receiver, "/shop").size() == 2);
  CHECK(requests_to(receiver, "/ops").size() == 1);
}

TEST_CASE(
    "repeat_after re-sends a still-firing alert to a webhook until it resolves; a silence "
    "holds the reminders",
    "[loopback]") {
  HttpReceiver receiver;
  TestAlertStore store;
  AlertTimingConfig timing = fast_timing();
  timing.repeat_after = milliseconds(300);
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, timing, store.get());
  const AlertEvent firing = route_loss();
  dispatcher.notify(firing);
  REQUIRE(receiver.wait_for_requests(3, std::chrono::seconds(10)));
  const auto bodies = requests_to(receiver, "/hook");
  CHECK(bodies[0].body == bodies[2].body);  // the same firing event again

  const auto now = std::chrono::system_clock::now();
  Silence silence;
  silence.domain = "*";
  silence.starts_at = now;
  silence.ends_at = now + std::chrono::hours(1);
  silence.comment = "known";
  silence.created_by = "ops";
  silence.created_at = now;
  dispatcher.add_silence(silence);
  // A reminder may have been on its way as the silence came.
  const size_t before = receiver.requests().size();
  CHECK_FALSE(receiver.wait_for_requests(before + 2, milliseconds(1200)));

  dispatcher.notify(resolved(firing, at("2026-11-25T07:05:00.000Z")));
  REQUIRE(wait_for_alerts(dispatcher, [](const auto& alerts) {
    return alerts.size() == 1 && alerts[0].deliveries[0].resolve &&
           to_string(alerts[0].deliveries[0].resolve->state) == "delivered";
  }));
  const size_t after = receiver.requests().size();
  CHECK_FALSE(receiver.wait_for_requests(after + 1, milliseconds(700)));
}

TEST_CASE(
    "a failed reminder leaves a delivered firing delivered, with the error noted, and the "
    "resolve still goes out",
    "[loopback]") {
  // The firing is taken; every reminder after it is refused; resolves are taken.
  HttpReceiver receiver([](size_t index, const ReceivedRequest& request) {
    const bool resolve = request.body.find(R"("status":"resolved")") != std::string::npos;
    return index == 0 || resolve ? 200 : 503;
  });
  TestAlertStore store;
  AlertTimingConfig timing = fast_timing();
  timing.repeat_after = milliseconds(200);
  AlertDispatcher dispatcher({{Kind::Webhook, receiver.url("/hook")}}, timing, store.get());
  const AlertEvent firing = route_loss();
  dispatcher.notify(firing);
  // The firing, then a reminder and its retries, all refused.
  REQUIRE(receiver.wait_for_requests(4, std::chrono::seconds(10)));
  const auto firing_state = [&] {
    const auto alerts = dispatcher.alerts();
    return alerts.size() == 1 ? alerts[0].deliveries[0].firing : DeliveryRecord{};
  };
  REQUIRE(wait_until([&] { return firing_state().last_error == "HTTP 503"; }));
  CHECK(to_string(firing_state().state) == "delivered");
  REQUIRE(firing_state().delivered_at.has_value());
  // The failed re-send is on record after the delivery: `alerts` says the last re-send failed.
  CHECK(firing_state().last_attempt > firing_state().delivered_at);
  CHECK(to_string(store.get().recent(10).at(0).deliveries.at(0).state) == "delivered");

  dispatcher.notify(resolved(firing, at("2026-11-25T07:05:00.000Z")));
  REQUIRE(wait_for_alerts(dispatcher, [](const auto& alerts) {
    return alerts.size() == 1 && alerts[0].deliveries[0].resolve &&
           to_string(alerts[0].deliveries[0].resolve->state) == "delivered";
  }));
  CHECK(to_string(firing_state().state) == "delivered");
}

}  // namespace vantage::testing
