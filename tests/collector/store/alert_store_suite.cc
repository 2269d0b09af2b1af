// The alert store on each backend: alerts and their deliveries survive a new connection (a
// restarted collector), and the schema refuses what the collector could not read back.
#include <catch2/catch.hpp>
#include <stdexcept>

#include "result_json.hh"
#include "storage_suite.hh"

namespace vantage::testing {
namespace {

TimePoint at(const std::string& rfc3339) {
  return parse_time(rfc3339).value();
}

AlertEvent server_down(const std::string& domain) {
  AlertEvent event;
  event.domain = domain;
  event.verdict = Verdict::ServerDown;
  event.scope = Scope::Global;
  event.since = at("2026-11-25T07:00:00.000Z");
  event.affected_vantages = {"vp1", "vp3"};
  event.affected_asns = {64510, 64511};
  event.affected_networks = {"AS64510", "AS64511"};
  event.evidence = {"Tcp 203.0.113.80:443 ConnRefused from 2 vantages in AS64510, AS64511"};
  return event;
}

DeliveryRecord delivery(uint64_t id, AlertEventKind kind, DeliveryState state) {
  DeliveryRecord record;
  record.alert_id = id;
  record.receiver = "webhook http://127.0.0.1:9/hook";
  record.event = kind;
  record.state = state;
  return record;
}

}  // namespace

TEST_CASE("alerts and their deliveries read back on a new connection, active first",
          "[storage][alerts]") {
  auto& backend = storage_backend();
  backend.open_fresh()->migrate();
  uint64_t first = 0;
  uint64_t second = 0;
  {
    auto store = backend.open_alert_store();
    first = store->insert_alert(server_down("a.example"),
                                {delivery(0, AlertEventKind::Firing, DeliveryState::Pending)});
    second = store->insert_alert(server_down("b.example"),
                                 {delivery(0, AlertEventKind::Firing, DeliveryState::Pending)});
    CHECK(second == first + 1);
    DeliveryRecord delivered = delivery(first, AlertEventKind::Firing, DeliveryState::Delivered);
    delivered.attempts = 2;
    delivered.last_attempt = at("2026-11-25T07:00:01.000Z");
    delivered.delivered_at = at("2026-11-25T07:00:01.250Z");
    delivered.last_error = "HTTP 500";
    store->save_deliveries({delivered});
    AlertEvent ended = server_down("a.example");
    ended.resolved_at = at("2026-11-25T07:10:00.000Z");
    ended.resolved_by = ResolvedBy::TargetRemoved;
    store->update_alert(first, ended,
                        {delivery(first, AlertEventKind::Resolve, DeliveryState::Pending)});
    store->record_target_removed("a.example", at("2026-11-25T07:10:00.000Z"));
  }

  auto store = backend.open_alert_store();
  const auto alerts = store->recent(200);
  REQUIRE(alerts.size() == 2);
  CHECK(alerts[0].id == second);
  CHECK_FALSE(alerts[0].event.resolved_at.has_value());
  CHECK(alerts[0].event.affected_asns == server_down("b").affected_asns);
  CHECK(alerts[0].event.evidence == server_down("b").evidence);
  const StoredAlert& ended = alerts[1];
  CHECK(ended.id == first);
  CHECK(ended.event.resolved_at == at("2026-11-25T07:10:00.000Z"));
  CHECK(ended.event.resolved_by == ResolvedBy::TargetRemoved);
  CHECK(resolution_name(ended.event) == "target_removed");
  REQUIRE(ended.deliveries.size() == 2);
  CHECK(ended.deliveries[0].event == AlertEventKind::Firing);
  CHECK(ended.deliveries[0].state == DeliveryState::Delivered);
  CHECK(ended.deliveries[0].attempts == 2);
  CHECK(ended.deliveries[0].delivered_at == at("2026-11-25T07:00:01.250Z"));
  CHECK(ended.deliveries[0].last_error == "HTTP 500");
  CHECK(ended.deliveries[1].event == AlertEventKind::Resolve);
  CHECK(ended.deliveries[1].state == DeliveryState::Pending);

  // Both are unfinished: one fires, the other has a resolve to send.
  CHECK(store->unfinished().size() == 2);
  CHECK(store->recent(0).size() == 1);
  CHECK(store->removed_targets().at("a.example") == at("2026-11-25T07:10:00.000Z"));
}

TEST_CASE(
    "the alert tables refuse an unknown delivery state, resolved_by or a second firing "
    "alert of a domain",
    "[storage][alerts]") {
  auto& backend = storage_backend();
  backend.open_fresh()->migrate();
  auto store = backend.open_alert_store();
  const uint64_t id = store->insert_alert(server_down("a.example"), {});
  CHECK_THROWS_AS(store->insert_alert(server_down("a.example"), {}), StorageError);
  CHECK_THROWS_AS(backend.execute("INSERT INTO alert_deliveries (alert_id, receiver, event, state, "
                                  "attempts, last_error) VALUES (" +
                                  std::to_string(id) + ", 'webhook x', 'firing', 'sent', 0, '')"),
                  std::runtime_error);
  CHECK_THROWS_AS(backend.execute("UPDATE alerts SET resolved_at = 1, resolved_by = 'operator' "
                                  "WHERE id = " +
                                  std::to_string(id)),
                  std::runtime_error);
  CHECK(store->recent(10).size() == 1);
}

TEST_CASE("maintenance windows and silences read back on a new connection", "[storage][alerts]") {
  auto& backend = storage_backend();
  backend.open_fresh()->migrate();
  MaintenanceWindow weekly;
  weekly.domain = "*.shop.example";
  weekly.start = "02:00";
  weekly.duration = std::chrono::minutes(90);
  weekly.weekdays = 0b0001001;
  weekly.timezone = "Europe/Berlin";
  weekly.reason = "weekly vacuum";
  weekly.created_by = "alice";
  weekly.created_at = at("2026-11-25T07:00:00.000Z");
  Silence silence;
  silence.domain = "social.example";
  silence.verdict = Verdict::RouteLoss;
  silence.starts_at = at("2026-11-25T07:00:00.000Z");
  silence.ends_at = at("2026-11-25T11:00:00.000Z");
  silence.comment = "INC-42";
  silence.created_by = "bob";
  silence.created_at = silence.starts_at;
  uint64_t window_id = 0;
  uint64_t silence_id = 0;
  {
    auto store = backend.open_alert_store();
    window_id = store->add_window(weekly);
    CHECK(store->add_window(weekly) == window_id + 1);
    CHECK(store->remove_window(window_id + 1));
    CHECK_FALSE(store->remove_window(window_id + 1));
    silence_id = store->add_silence(silence);
    Silence any = silence;
    any.verdict.reset();
    any.ends_at = at("2026-11-25T08:00:00.000Z");
    store->add_silence(any);
  }
  auto store = backend.open_alert_store();
  const auto windows = store->windows();
  REQUIRE(windows.size() == 1);
  CHECK(windows[0].id == window_id);
  CHECK(windows[0].domain == "*.shop.example");
  CHECK(windows[0].start == "02:00");
  CHECK(windows[0].duration == std::chrono::minutes(90));
  CHECK(windows[0].weekdays == 0b0001001);
  CHECK(windows[0].timezone == "Europe/Berlin");
  CHECK(windows[0].reason == "weekly vacuum");
  CHECK(windows[0].created_by == "alice");
  CHECK(windows[0].created_at == weekly.created_at);
  // Both on at 07:30; at 09:00 only the first; an expired one ends when it was expired.
  CHECK(store->silences(at("2026-11-25T07:30:00.000Z")).size() == 2);
  auto later = store->silences(at("2026-11-25T09:00:00.000Z"));
  REQUIRE(later.size() == 1);
  CHECK(later[0].id == silence_id);
  CHECK(later[0].verdict == Verdict::RouteLoss);
  CHECK(later[0].comment == "INC-42");
  CHECK(later[0].expired_by.empty());
  CHECK(store->expire_silence(silence_id, at("2026-11-25T09:30:00.000Z"), "carol"));
  CHECK_FALSE(store->expire_silence(silence_id, at("2026-11-25T09:40:00.000Z"), "carol"));
  const auto expired = store->silences(at("2026-11-25T09:00:00.000Z"));
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].ends_at == at("2026-11-25T09:30:00.000Z"));
  CHECK(expired[0].expired_by == "carol");
  CHECK(store->silences(at("2026-11-25T09:30:00.000Z")).empty());
}

}  // namespace vantage::testing
