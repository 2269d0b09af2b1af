#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "alert_config.hh"
#include "result.hh"
#include "storage.hh"

namespace vantage {

// One alert: a domain in one non-OK verdict with one scope. A change of verdict or scope ends the
// alert and starts another, so that a receiver's grouping by (domain, verdict, scope) matches.
struct AlertEvent {
  std::string domain;
  Verdict verdict = Verdict::Unknown;
  std::string scope;                     // "global" or "partial"
  TimePoint since;                       // when the verdict was entered
  std::optional<TimePoint> resolved_at;  // set: the alert has ended (domain OK or changed)
  Verdict resolved_by = Verdict::Ok;     // what the domain changed to, when resolved
  std::vector<std::string> affected_vantages;
  std::vector<int64_t> affected_asns;          // 0 = unknown ASN
  std::vector<std::string> affected_networks;  // "AS64510", or "192.0.2.0/24" without an ASN
  std::vector<std::string> evidence;  // as the domain's state has it: the deciding probe first
};

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

// Delivery of one alert's latest event (firing or resolved) to one receiver.
struct DeliveryState {
  std::string receiver;  // "webhook http://...", "slack https://...", "alertmanager http://..."
  // "pending" (not tried yet, or waiting for a retry), "delivered", "failed" (gave up after
  // max_attempts; logged).
  std::string state = "pending";
  int attempts = 0;
  std::optional<TimePoint> last_attempt;
  std::optional<TimePoint> delivered_at;
  std::string last_error;  // "HTTP 500", "curl 7: Couldn't connect to server", ...
};

struct AlertView {
  uint64_t id = 0;  // grows by one per alert since the collector started
  AlertEvent event;
  std::vector<DeliveryState> deliveries;  // one per configured receiver
};

struct AlertCounters {
  uint64_t deliveries_ok = 0;      // successful HTTP posts (each resend counts)
  uint64_t deliveries_failed = 0;  // failed attempts (each retry counts)
  uint64_t given_up = 0;           // events abandoned after max_attempts
};

// Sends alert events to the configured receivers from a thread of its own, so that a slow or
// dead receiver never holds up ingest: notify() only queues. Formats:
//   webhook       POST the event as JSON (docs/alerts.md), one per event
//   slack         POST {"text": ..., "attachments": [...]} (Slack incoming-webhook format)
//   alertmanager  POST URL/api/v2/alerts [{labels:{alertname:"VantageVerdict", domain, verdict,
//                 scope}, annotations:{summary, evidence, vantages, asns, networks}, startsAt,
//                 endsAt?, generatorURL}], re-sent every resend_interval while active; endsAt on
//                 resolve.
// Failed posts (connection errors, non-2xx) are retried with backoff and jitter.
class AlertDispatcher {
 public:
  AlertDispatcher(std::vector<AlertReceiverConfig> receivers, AlertTimingConfig timing);
  ~AlertDispatcher();  // stops the thread; undelivered events are logged and dropped
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  // A new alert (event.resolved_at empty) or the end of the active alert of that domain
  // (resolved_at set). Never blocks on the network. A firing event for a domain that already has
  // an active alert first resolves that one. A firing event of a verdict that raises no alert
  // (OK, UNKNOWN) only resolves the active one; one of the active alert's own verdict and scope
  // only refreshes its vantages, ASNs and evidence.
  void notify(const AlertEvent& event);
  // After a collector restart: an alert that was active before it. Alertmanager gets it again
  // (idempotent there); webhook and Slack receivers, which saw it already, do not.
  void restore(const AlertEvent& event);

  // Active alerts first (newest first), then up to 200 ended ones (newest first).
  std::vector<AlertView> alerts() const;
  AlertCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vantage
