#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "alert_store.hh"
#include "alerts.hh"
#include "http_receiver.hh"
#include "result_json.hh"
#include "support/net.hh"
#include "support/temp_dir.hh"

namespace vantage::testing {

inline TimePoint at(const std::string& rfc3339) {
  return parse_time(rfc3339).value();
}

// social.example lost its routes, seen from three vantages in two networks.
inline AlertEvent route_loss(const std::string& domain = "social.example",
                             TimePoint since = at("2026-11-25T07:00:00.000Z")) {
  AlertEvent event;
  event.domain = domain;
  event.verdict = Verdict::RouteLoss;
  event.scope = Scope::Global;
  event.since = since;
  event.affected_vantages = {"vp-fra-1", "vp-fra-2", "vp-nyc-1"};
  event.affected_asns = {64510, 64511};
  event.affected_networks = {"AS64510", "AS64511"};
  event.evidence = {
      "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64510, AS64511",
      "Tcp 198.51.100.10:443 NetUnreachable from 3 vantages in AS64510, AS64511"};
  return event;
}

inline AlertEvent resolved(AlertEvent event, TimePoint resolved_at, Verdict to = Verdict::Ok) {
  event.resolved_at = resolved_at;
  event.resolved_to = to;
  return event;
}

// A collector database of the test's own (SQLite in a temporary directory, migrated) and an alert
// store on it, as `serve` opens them. Without an fsync per commit: these databases need not
// survive a power cut.
class TestAlertStore {
 public:
  TestAlertStore() {
    open_sqlite_storage(file(), kOptions)->migrate();
    store_ = open_sqlite_alert_store(file(), kOptions);
  }
  AlertStore& get() { return *store_; }
  std::string file() const { return (dir_ / "collector.db").string(); }

 private:
  static constexpr SqliteOptions kOptions{.sync_every_commit = false};
  TempDir dir_{"vantage-alerts-test"};
  std::unique_ptr<AlertStore> store_;
};

// Retries fast, so that the tests see them within a second.
inline AlertTimingConfig fast_timing() {
  AlertTimingConfig timing;
  timing.retry_initial = std::chrono::milliseconds(50);
  timing.retry_max = std::chrono::milliseconds(200);
  timing.max_attempts = 5;
  timing.request_timeout = std::chrono::milliseconds(5000);
  return timing;
}

// Waits (bounded) until alerts() satisfies `ready`.
inline bool wait_for_alerts(const AlertDispatcher& dispatcher,
                            const std::function<bool(const std::vector<AlertView>&)>& ready,
                            std::chrono::milliseconds limit = std::chrono::milliseconds(10'000)) {
  return wait_until(
      [&] { return ready(dispatcher.alerts()); },
      WaitBudget{.attempts = 100'000, .interval = std::chrono::milliseconds(10), .limit = limit});
}

inline bool all_settled(const std::vector<AlertView>& alerts, size_t expected_alerts,
                        const std::string& state) {
  if (alerts.size() != expected_alerts) {
    return false;
  }
  for (const AlertView& alert : alerts) {
    for (const ReceiverDeliveries& delivery : alert.deliveries) {
      if (to_string(delivery.latest().state) != state) {
        return false;
      }
    }
  }
  return true;
}

inline std::vector<ReceivedRequest> requests_to(const HttpReceiver& receiver,
                                                const std::string& path) {
  std::vector<ReceivedRequest> found;
  for (const ReceivedRequest& request : receiver.requests()) {
    if (request.path == path) {
      found.push_back(request);
    }
  }
  return found;
}

}  // namespace vantage::testing
