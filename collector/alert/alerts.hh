#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "alert_config.hh"
#include "alert_store.hh"
#include "muting.hh"
#include "result.hh"
#include "routing.hh"
#include "storage.hh"

namespace vantage {

// Does this verdict raise an alert? The failing verdicts and DEGRADED do; OK, UNKNOWN and
// VANTAGE_ISOLATED never do.
bool raises_alert(Verdict verdict);

// How long a failed delivery waits before its next attempt, after `failed_attempts` (>= 1)
// failures in a row: retry_initial doubled per failure, at most retry_max...
std::chrono::milliseconds retry_ceiling(const AlertTimingConfig& timing, int failed_attempts);
// ...and drawn uniformly from [0, that] ("full jitter"), so that receivers coming back are not
// hit by every collector's retries at the same moment.
std::chrono::milliseconds retry_delay(const AlertTimingConfig& timing, int failed_attempts,
                                      std::mt19937_64& random);

// How alerts(), and the logs, name a receiver: "webhook http://host:port/path". The URL loses
// user, password, query and fragment, and a Slack URL its path as well: there they are the
// credentials.
std::string receiver_name(const AlertReceiverConfig& receiver);

// Where one alert stands with one receiver: its firing, and its resolve once it ended.
struct ReceiverDeliveries {
  std::string receiver;  // "webhook http://...", "slack https://...", "alertmanager http://..."
  DeliveryRecord firing;
  std::optional<DeliveryRecord> resolve;
  // The latest event's delivery: the resolve's once the alert ended.
  const DeliveryRecord& latest() const { return resolve ? *resolve : firing; }
};

struct AlertView {
  uint64_t id = 0;  // grows by one per alert, across restarts
  AlertEvent event;
  // The configured receivers in configuration order, then any the database names that are no
  // longer configured.
  std::vector<ReceiverDeliveries> deliveries;
  // An active alert a maintenance window or silence covers now: its firing waits (or, if a
  // receiver took it already, nothing more is sent but a resolve).
  std::optional<Mute> muted;
};

struct AlertCounters {
  uint64_t deliveries_ok = 0;      // successful HTTP posts (each resend counts)
  uint64_t deliveries_failed = 0;  // failed attempts (each retry counts)
  uint64_t given_up = 0;           // events abandoned after max_attempts
  uint64_t not_stored = 0;         // alert or delivery changes the store refused (logged)
};

// Decides alerts from verdict changes, stores them, and sends their events to the configured
// receivers from a thread of its own, so that a slow or dead receiver never holds up ingest:
// notify() stores and queues, it never waits for the network. Formats:
//   webhook       POST the event as JSON (docs/alerts.md), one per event
//   slack         POST {"text": ..., "attachments": [...]} (Slack incoming-webhook format)
//   alertmanager  POST URL/api/v2/alerts [{labels:{alertname:"VantageVerdict", domain, verdict,
//                 scope}, annotations:{summary, evidence, vantages, asns, networks}, startsAt,
//                 endsAt?, generatorURL}], re-sent every resend_interval while active; endsAt on
//                 resolve.
// Failed posts (connection errors, non-2xx) are retried with backoff and jitter. Every change of
// an alert or of a delivery is in the store before anything is sent for it, so a restarted
// collector (even after kill -9) takes up where this one stood: a receiver that had not taken the
// firing gets it, and a resolve goes only to the receivers that took the firing.
class AlertDispatcher {
 public:
  // Takes up the store's unfinished alerts before it returns. Throws StorageError if it cannot
  // read them.
  // `configured_windows` come from collector.yaml, beside the store's; `routes` decide which
  // receivers get which alert (routing.hh; none: every receiver gets every alert).
  AlertDispatcher(std::vector<AlertReceiverConfig> receivers, AlertTimingConfig timing,
                  AlertStore& store, std::vector<MaintenanceWindow> configured_windows = {},
                  std::vector<AlertRoute> routes = {});
  ~AlertDispatcher();  // stops the thread; what is still undelivered stays pending in the store
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  // A domain's new state as an alert event: a firing event of an alerting verdict starts an
  // alert, ending the domain's active one if its verdict or scope differs (one of the same
  // verdict and scope only refreshes the active alert's vantages, ASNs and evidence); one of a
  // verdict that raises no alert (OK, VANTAGE_ISOLATED) only ends the active one. An event with
  // resolved_at ends the domain's active alert. Stores the change, then queues what is to send;
  // never blocks on the network.
  void notify(const AlertEvent& event);
  // An operator removed the domain's target at `at`: its active alert ends (resolved_by
  // target_removed), and the removal is stored with `horizon`, the start of the domain's latest
  // cycle from before it (or `at`, if later).
  void target_removed(const std::string& domain, TimePoint at, TimePoint horizon);
  // The stored removals' horizons, for a restarting Monitor.
  std::map<std::string, TimePoint> removed_targets();

  // Maintenance windows and silences. Changes are stored, then in force at once; ones another
  // collector on the same PostgreSQL database made are read within a minute. Store failures throw
  // StorageError. A window must be sound (window_problem) before it is added.
  uint64_t add_window(const MaintenanceWindow& window);
  bool remove_window(uint64_t id);  // false: no such stored window
  // collector.yaml's (id 0), then the stored ones.
  std::vector<MaintenanceWindow> windows() const;
  uint64_t add_silence(const Silence& silence);
  bool expire_silence(uint64_t id, TimePoint at, const std::string& by);
  std::vector<Silence> silences(TimePoint since) const;
  // What holds back an alert of this domain and verdict now, if anything.
  std::optional<Mute> mute_for(const std::string& domain, Verdict verdict, TimePoint now) const;

  size_t receiver_count() const;
  // From the store: the firing alerts (newest first), then up to 200 ended ones (most recently
  // resolved first), the collector's earlier runs included.
  std::vector<AlertView> alerts() const;
  AlertCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vantage
