#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"
#include "storage.hh"
#include "vocabulary.hh"

namespace vantage {

// What ended an alert: the domain's verdict changed (to AlertEvent::resolved_to), or an operator
// removed its target. Stored as 'verdict' / 'target_removed'.
enum class ResolvedBy : uint8_t { VerdictChange, TargetRemoved };

// One alert: a domain in one non-OK verdict with one scope. A change of verdict or scope ends the
// alert and starts another, so that a receiver's grouping by (domain, verdict, scope) matches.
struct AlertEvent {
  std::string domain;
  Verdict verdict = Verdict::Unknown;
  Scope scope = Scope::None;             // global or partial: OK and UNKNOWN raise no alert
  TimePoint since;                       // when the verdict was entered
  std::optional<TimePoint> resolved_at;  // set: the alert has ended
  ResolvedBy resolved_by = ResolvedBy::VerdictChange;
  Verdict resolved_to = Verdict::Ok;  // the domain's new verdict, when resolved by a change
  std::vector<std::string> affected_vantages;
  std::vector<int64_t> affected_asns;          // 0 = unknown ASN
  std::vector<std::string> affected_networks;  // "AS64510", or "192.0.2.0/24" without an ASN
  std::vector<std::string> evidence;  // as the domain's state has it: the deciding probe first
};

// What receivers, the API and the CLI call the end of an alert: the new verdict's name ("OK",
// "ROUTE_LOSS", ...) or "target_removed".
std::string resolution_name(const AlertEvent& event);

enum class AlertEventKind : uint8_t { Firing, Resolve };  // stored as 'firing' / 'resolve'

// One event of one alert on its way to one receiver, as stored.
struct DeliveryRecord {
  uint64_t alert_id = 0;
  std::string receiver;  // receiver_name(): "webhook http://host:port/path", no credentials
  AlertEventKind event = AlertEventKind::Firing;
  DeliveryState state = DeliveryState::Pending;
  int attempts = 0;
  std::optional<TimePoint> last_attempt;  // a re-send of a delivered firing: once it failed
  std::optional<TimePoint> delivered_at;  // the latest 2xx answer
  std::string last_error;                 // "HTTP 500", "curl 7: Couldn't connect to server", ...
};

struct StoredAlert {
  uint64_t id = 0;
  AlertEvent event;
  std::vector<DeliveryRecord> deliveries;  // by receiver, firing before resolve
};

// A maintenance window as stored (muting.hh reads it): while it is on, alerts of the domains it
// covers are recorded but not sent.
struct MaintenanceWindow {
  uint64_t id = 0;     // in the store; 0 for one from collector.yaml
  std::string domain;  // a domain, a pattern such as "*.shop.example", or "*"
  // Local time in `timezone`: "2026-12-01T02:00" (once) or, with `weekdays`, "02:00" on each.
  std::string start;
  std::chrono::seconds duration{0};
  uint8_t weekdays = 0;  // bit 0 Monday ... bit 6 Sunday; none: once
  std::string timezone = "UTC";
  std::string reason;
  std::string created_by;  // the operator's token name, or "collector.yaml"
  std::optional<TimePoint> created_at;
};

// A silence as stored: an operator muting alerts of the domains it covers, of one verdict or of
// any, until it ends or is expired.
struct Silence {
  uint64_t id = 0;
  std::string domain;              // as MaintenanceWindow::domain
  std::optional<Verdict> verdict;  // none: every verdict
  TimePoint starts_at;
  TimePoint ends_at;  // an expired silence ends when it was expired
  std::string comment;
  std::string created_by;
  TimePoint created_at;
  std::string expired_by;  // who expired it early; empty if it ran its course
};

// The alerts and their deliveries, in the collector's database (tables alerts, alert_deliveries,
// removed_targets), on a connection of its own beside the main Storage's. Every call is one
// transaction; every failure throws StorageError. Safe to call from several threads.
class AlertStore {
 public:
  virtual ~AlertStore() = default;

  // A new alert with its first deliveries; returns its id (ids grow, across restarts too).
  virtual uint64_t insert_alert(const AlertEvent& event,
                                const std::vector<DeliveryRecord>& deliveries) = 0;
  // The alert's details (vantages, evidence) and its end, with the deliveries given, at once.
  virtual void update_alert(uint64_t id, const AlertEvent& event,
                            const std::vector<DeliveryRecord>& deliveries) = 0;
  // Inserts or replaces each (alert_id, receiver, event).
  virtual void save_deliveries(const std::vector<DeliveryRecord>& deliveries) = 0;
  // The alerts still firing, and the ended ones with a delivery still pending: what a restarted
  // collector takes up.
  virtual std::vector<StoredAlert> unfinished() = 0;
  // The firing alerts (newest first), then at most `ended_limit` ended ones, most recently
  // resolved first.
  virtual std::vector<StoredAlert> recent(size_t ended_limit) = 0;

  // An operator removed the domain's target; `horizon` is when it was removed, or the start of
  // its latest cycle if that is later: a restarted collector does not bring back its verdicts
  // and cycles up to then.
  virtual void record_target_removed(const std::string& domain, TimePoint horizon) = 0;
  virtual std::map<std::string, TimePoint> removed_targets() = 0;

  // Maintenance windows and silences, numbered as they come (ids never come back).
  virtual uint64_t add_window(const MaintenanceWindow& window) = 0;  // created_at: now if unset
  virtual bool remove_window(uint64_t id) = 0;                       // false: no such window
  virtual std::vector<MaintenanceWindow> windows() = 0;
  virtual uint64_t add_silence(const Silence& silence) = 0;
  // Ends the silence at `at` if it had not ended yet; false if there is no such silence, or it
  // had ended.
  virtual bool expire_silence(uint64_t id, TimePoint at, const std::string& by) = 0;
  // The silences still on at `since` or starting later, oldest first.
  virtual std::vector<Silence> silences(TimePoint since) = 0;
};

std::unique_ptr<AlertStore> open_sqlite_alert_store(const std::string& path,
                                                    const SqliteOptions& options = {});
std::unique_ptr<AlertStore> open_postgres_alert_store(const std::string& conninfo);

}  // namespace vantage
