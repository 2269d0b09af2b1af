#include "alert_store_common.hh"

#include <fmt/format.h>

#include <charconv>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "storage_common.hh"

namespace vantage {

std::string resolution_name(const AlertEvent& event) {
  return event.resolved_by == ResolvedBy::TargetRemoved ? "target_removed"
                                                        : std::string(to_string(event.resolved_to));
}

namespace alert_store_detail {
namespace {

using storage_detail::from_epoch_ms;
using storage_detail::to_epoch_ms;

constexpr std::string_view kAlertColumns =
    "id, domain, verdict, scope, since, affected_vantages, affected_asns, affected_networks, "
    "evidence, resolved_at, resolved_by, resolved_to";
constexpr std::string_view kNextId = "SELECT COALESCE(MAX(id), 0) + 1 FROM alerts";
constexpr std::string_view kInsertAlert =
    "INSERT INTO alerts (id, domain, verdict, scope, since, affected_vantages, affected_asns, "
    "affected_networks, evidence, resolved_at, resolved_by, resolved_to) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
constexpr std::string_view kUpdateAlert =
    "UPDATE alerts SET affected_vantages = ?2, affected_asns = ?3, affected_networks = ?4, "
    "evidence = ?5, resolved_at = ?6, resolved_by = ?7, resolved_to = ?8 WHERE id = ?1";
constexpr std::string_view kUpsertDelivery =
    "INSERT INTO alert_deliveries (alert_id, receiver, event, state, attempts, last_attempt, "
    "delivered_at, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (alert_id, receiver, event) DO UPDATE SET state = excluded.state, "
    "attempts = excluded.attempts, last_attempt = excluded.last_attempt, "
    "delivered_at = excluded.delivered_at, last_error = excluded.last_error";
constexpr std::string_view kSelectDeliveries =
    "SELECT alert_id, receiver, event, state, attempts, last_attempt, delivered_at, last_error "
    "FROM alert_deliveries WHERE alert_id = ?1 ORDER BY receiver, event";
constexpr std::string_view kRecordRemoval =
    "INSERT INTO removed_targets (domain, removed_at) VALUES (?1, ?2) "
    "ON CONFLICT (domain) DO UPDATE SET removed_at = excluded.removed_at";
constexpr std::string_view kSelectRemovals = "SELECT domain, removed_at FROM removed_targets";
constexpr std::string_view kNextWindowId =
    "SELECT COALESCE(MAX(id), 0) + 1 FROM maintenance_windows";
constexpr std::string_view kInsertWindow =
    "INSERT INTO maintenance_windows (id, domain, start_local, duration_s, weekdays, timezone, "
    "reason, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr std::string_view kDeleteWindow =
    "DELETE FROM maintenance_windows WHERE id = ?1 RETURNING id";
constexpr std::string_view kSelectWindows =
    "SELECT id, domain, start_local, duration_s, weekdays, timezone, reason, created_by, "
    "created_at FROM maintenance_windows ORDER BY id";
constexpr std::string_view kNextSilenceId = "SELECT COALESCE(MAX(id), 0) + 1 FROM silences";
constexpr std::string_view kInsertSilence =
    "INSERT INTO silences (id, domain, verdict, starts_at, ends_at, comment, created_by, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr std::string_view kExpireSilence =
    "UPDATE silences SET ends_at = ?2, expired_by = ?3 WHERE id = ?1 AND ends_at > ?2 "
    "RETURNING id";
constexpr std::string_view kSelectSilences =
    "SELECT id, domain, verdict, starts_at, ends_at, comment, created_by, created_at, expired_by "
    "FROM silences WHERE ends_at > ?1 ORDER BY id";

std::string unfinished_sql() {
  return fmt::format(
      "SELECT {} FROM alerts WHERE resolved_at IS NULL OR id IN "
      "(SELECT alert_id FROM alert_deliveries WHERE state = 'pending') ORDER BY id",
      kAlertColumns);
}
std::string active_sql() {
  return fmt::format("SELECT {} FROM alerts WHERE resolved_at IS NULL ORDER BY id DESC",
                     kAlertColumns);
}
std::string ended_sql() {
  return fmt::format(
      "SELECT {} FROM alerts WHERE resolved_at IS NOT NULL ORDER BY resolved_at DESC, id DESC "
      "LIMIT ?1",
      kAlertColumns);
}

std::string_view to_string(AlertEventKind kind) {
  return kind == AlertEventKind::Firing ? "firing" : "resolve";
}

SqlParam optional_time(const std::optional<TimePoint>& time) {
  return time ? SqlParam(to_epoch_ms(*time)) : SqlParam();
}

std::string json_text(const nlohmann::json& json) {
  // Evidence and vantage names come from agents: a byte that is not UTF-8 must not throw here.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class Decoder {
 public:
  Decoder(const SqlRow& row, const std::string& backend) : row_(row), backend_(backend) {}

  std::string text(size_t column) const { return row_.at(column).value_or(""); }
  bool null(size_t column) const { return !row_.at(column).has_value(); }
  int64_t integer(size_t column) const {
    const std::string value = text(column);
    int64_t parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc() || end != value.data() + value.size()) {
      bad(column, value);
    }
    return parsed;
  }
  std::optional<TimePoint> optional_time(size_t column) const {
    return null(column) ? std::nullopt : std::optional(from_epoch_ms(integer(column)));
  }
  Verdict verdict(size_t column) const {
    const auto verdict = verdict_from_string(text(column));
    if (!verdict) {
      bad(column, text(column));
    }
    return *verdict;
  }
  template <typename T>
  std::vector<T> list(size_t column) const {
    const auto json = nlohmann::json::parse(text(column), nullptr, false);
    if (!json.is_array()) {
      bad(column, text(column));
    }
    try {
      return json.get<std::vector<T>>();
    } catch (const nlohmann::json::exception&) {
      bad(column, text(column));
    }
  }

  [[noreturn]] void bad(size_t column, const std::string& value) const {
    storage_detail::fail(
        backend_, "read alerts",
        fmt::format("column {} holds '{}', which this collector cannot read", column, value));
  }

 private:
  const SqlRow& row_;
  const std::string& backend_;
};

class SqlAlertStore final : public AlertStore {
  // One transaction, under the mutex; rolled back if `body` throws.
  template <typename Body>
  auto write(std::string_view operation, Body&& body) {
    const std::lock_guard lock(mutex_);
    session_->begin(operation);
    try {
      auto result = body(operation);
      session_->commit(operation);
      return result;
    } catch (...) {
      session_->rollback();
      throw;
    }
  }

 public:
  explicit SqlAlertStore(std::unique_ptr<SqlSession> session) : session_(std::move(session)) {}

  uint64_t insert_alert(const AlertEvent& event,
                        const std::vector<DeliveryRecord>& deliveries) override {
    return write("insert alert", [&](std::string_view operation) {
      const auto next = session_->query(operation, kNextId, {});
      const int64_t id = Decoder(next.at(0), session_->backend()).integer(0);
      session_->query(
          operation, kInsertAlert,
          {id, event.domain, std::string(vantage::to_string(event.verdict)),
           std::string(vantage::to_string(event.scope)), to_epoch_ms(event.since),
           json_text(event.affected_vantages), json_text(event.affected_asns),
           json_text(event.affected_networks), json_text(event.evidence),
           optional_time(event.resolved_at), resolved_by_param(event), resolved_to_param(event)});
      for (DeliveryRecord delivery : deliveries) {
        delivery.alert_id = static_cast<uint64_t>(id);
        upsert(operation, delivery);
      }
      return static_cast<uint64_t>(id);
    });
  }

  void update_alert(uint64_t id, const AlertEvent& event,
                    const std::vector<DeliveryRecord>& deliveries) override {
    write("update alert", [&](std::string_view operation) {
      session_->query(operation, kUpdateAlert,
                      {static_cast<int64_t>(id), json_text(event.affected_vantages),
                       json_text(event.affected_asns), json_text(event.affected_networks),
                       json_text(event.evidence), optional_time(event.resolved_at),
                       resolved_by_param(event), resolved_to_param(event)});
      for (const DeliveryRecord& delivery : deliveries) {
        upsert(operation, delivery);
      }
      return 0;
    });
  }

  void save_deliveries(const std::vector<DeliveryRecord>& deliveries) override {
    if (deliveries.empty()) {
      return;
    }
    write("save deliveries", [&](std::string_view operation) {
      for (const DeliveryRecord& delivery : deliveries) {
        upsert(operation, delivery);
      }
      return 0;
    });
  }

  std::vector<StoredAlert> unfinished() override {
    const std::lock_guard lock(mutex_);
    return read_alerts("read unfinished alerts", unfinished_sql(), {});
  }

  std::vector<StoredAlert> recent(size_t ended_limit) override {
    const std::lock_guard lock(mutex_);
    auto alerts = read_alerts("read alerts", active_sql(), {});
    auto ended =
        read_alerts("read alerts", ended_sql(), {storage_detail::limit_value(ended_limit)});
    alerts.insert(alerts.end(), std::make_move_iterator(ended.begin()),
                  std::make_move_iterator(ended.end()));
    return alerts;
  }

  void record_target_removed(const std::string& domain, TimePoint horizon) override {
    write("record target removal", [&](std::string_view operation) {
      // Rounded up: the store keeps milliseconds, and a cycle of that very millisecond is older.
      session_->query(operation, kRecordRemoval,
                      {domain, to_epoch_ms(horizon + std::chrono::milliseconds(1) -
                                           std::chrono::nanoseconds(1))});
      return 0;
    });
  }

  std::map<std::string, TimePoint> removed_targets() override {
    const std::lock_guard lock(mutex_);
    std::map<std::string, TimePoint> removed;
    for (const auto& row : session_->query("read removed targets", kSelectRemovals, {})) {
      const Decoder decode(row, session_->backend());
      removed[decode.text(0)] = from_epoch_ms(decode.integer(1));
    }
    return removed;
  }

  uint64_t add_window(const MaintenanceWindow& window) override {
    return write("add maintenance window", [&](std::string_view operation) {
      const auto next = session_->query(operation, kNextWindowId, {});
      const int64_t id = Decoder(next.at(0), session_->backend()).integer(0);
      session_->query(
          operation, kInsertWindow,
          {id, window.domain, window.start, static_cast<int64_t>(window.duration.count()),
           static_cast<int64_t>(window.weekdays), window.timezone, window.reason, window.created_by,
           to_epoch_ms(window.created_at.value_or(std::chrono::system_clock::now()))});
      return static_cast<uint64_t>(id);
    });
  }

  bool remove_window(uint64_t id) override {
    return write("remove maintenance window", [&](std::string_view operation) {
      return !session_->query(operation, kDeleteWindow, {static_cast<int64_t>(id)}).empty();
    });
  }

  std::vector<MaintenanceWindow> windows() override {
    const std::lock_guard lock(mutex_);
    std::vector<MaintenanceWindow> windows;
    for (const auto& row : session_->query("read maintenance windows", kSelectWindows, {})) {
      const Decoder decode(row, session_->backend());
      MaintenanceWindow window;
      window.id = static_cast<uint64_t>(decode.integer(0));
      window.domain = decode.text(1);
      window.start = decode.text(2);
      window.duration = std::chrono::seconds(decode.integer(3));
      window.weekdays = static_cast<uint8_t>(decode.integer(4));
      window.timezone = decode.text(5);
      window.reason = decode.text(6);
      window.created_by = decode.text(7);
      window.created_at = decode.optional_time(8);
      windows.push_back(std::move(window));
    }
    return windows;
  }

  uint64_t add_silence(const Silence& silence) override {
    return write("add silence", [&](std::string_view operation) {
      const auto next = session_->query(operation, kNextSilenceId, {});
      const int64_t id = Decoder(next.at(0), session_->backend()).integer(0);
      session_->query(operation, kInsertSilence,
                      {id, silence.domain,
                       silence.verdict ? SqlParam(std::string(vantage::to_string(*silence.verdict)))
                                       : SqlParam(),
                       to_epoch_ms(silence.starts_at), to_epoch_ms(silence.ends_at),
                       silence.comment, silence.created_by, to_epoch_ms(silence.created_at)});
      return static_cast<uint64_t>(id);
    });
  }

  bool expire_silence(uint64_t id, TimePoint at, const std::string& by) override {
    return write("expire silence", [&](std::string_view operation) {
      return !session_
                  ->query(operation, kExpireSilence,
                          {static_cast<int64_t>(id), to_epoch_ms(at), by})
                  .empty();
    });
  }

  std::vector<Silence> silences(TimePoint since) override {
    const std::lock_guard lock(mutex_);
    std::vector<Silence> silences;
    for (const auto& row :
         session_->query("read silences", kSelectSilences, {to_epoch_ms(since)})) {
      const Decoder decode(row, session_->backend());
      Silence silence;
      silence.id = static_cast<uint64_t>(decode.integer(0));
      silence.domain = decode.text(1);
      if (!decode.null(2)) {
        silence.verdict = decode.verdict(2);
      }
      silence.starts_at = from_epoch_ms(decode.integer(3));
      silence.ends_at = from_epoch_ms(decode.integer(4));
      silence.comment = decode.text(5);
      silence.created_by = decode.text(6);
      silence.created_at = from_epoch_ms(decode.integer(7));
      silence.expired_by = decode.text(8);
      silences.push_back(std::move(silence));
    }
    return silences;
  }

 private:
  static SqlParam resolved_by_param(const AlertEvent& event) {
    if (!event.resolved_at) {
      return {};
    }
    return std::string(event.resolved_by == ResolvedBy::TargetRemoved ? "target_removed"
                                                                      : "verdict");
  }
  static SqlParam resolved_to_param(const AlertEvent& event) {
    if (!event.resolved_at || event.resolved_by != ResolvedBy::VerdictChange) {
      return {};
    }
    return std::string(vantage::to_string(event.resolved_to));
  }

  void upsert(std::string_view operation, const DeliveryRecord& delivery) {
    session_->query(
        operation, kUpsertDelivery,
        {static_cast<int64_t>(delivery.alert_id), delivery.receiver,
         std::string(to_string(delivery.event)), std::string(vantage::to_string(delivery.state)),
         static_cast<int64_t>(delivery.attempts), optional_time(delivery.last_attempt),
         optional_time(delivery.delivered_at), delivery.last_error});
  }

  // mutex_ held.
  std::vector<StoredAlert> read_alerts(std::string_view operation, const std::string& sql,
                                       const std::vector<SqlParam>& params) {
    std::vector<StoredAlert> alerts;
    for (const auto& row : session_->query(operation, sql, params)) {
      const Decoder decode(row, session_->backend());
      StoredAlert alert;
      alert.id = static_cast<uint64_t>(decode.integer(0));
      AlertEvent& event = alert.event;
      event.domain = decode.text(1);
      event.verdict = decode.verdict(2);
      const auto scope = scope_from_string(decode.text(3));
      if (!scope) {
        decode.bad(3, decode.text(3));
      }
      event.scope = *scope;
      event.since = from_epoch_ms(decode.integer(4));
      event.affected_vantages = decode.list<std::string>(5);
      event.affected_asns = decode.list<int64_t>(6);
      event.affected_networks = decode.list<std::string>(7);
      event.evidence = decode.list<std::string>(8);
      event.resolved_at = decode.optional_time(9);
      event.resolved_by = decode.text(10) == "target_removed" ? ResolvedBy::TargetRemoved
                                                              : ResolvedBy::VerdictChange;
      if (event.resolved_at && event.resolved_by == ResolvedBy::VerdictChange) {
        event.resolved_to = decode.verdict(11);
      }
      alerts.push_back(std::move(alert));
    }
    for (StoredAlert& alert : alerts) {
      for (const auto& row :
           session_->query(operation, kSelectDeliveries, {static_cast<int64_t>(alert.id)})) {
        const Decoder decode(row, session_->backend());
        DeliveryRecord delivery;
        delivery.alert_id = alert.id;
        delivery.receiver = decode.text(1);
        const std::string event = decode.text(2);
        if (event != "firing" && event != "resolve") {
          decode.bad(2, event);
        }
        delivery.event = event == "resolve" ? AlertEventKind::Resolve : AlertEventKind::Firing;
        const auto state = delivery_state_from_string(decode.text(3));
        if (!state) {
          decode.bad(3, decode.text(3));
        }
        delivery.state = *state;
        delivery.attempts = static_cast<int>(decode.integer(4));
        delivery.last_attempt = decode.optional_time(5);
        delivery.delivered_at = decode.optional_time(6);
        delivery.last_error = decode.text(7);
        alert.deliveries.push_back(std::move(delivery));
      }
    }
    return alerts;
  }

  std::mutex mutex_;  // one statement (or transaction) at a time on the session
  std::unique_ptr<SqlSession> session_;
};

}  // namespace

std::unique_ptr<AlertStore> make_alert_store(std::unique_ptr<SqlSession> session) {
  return std::make_unique<SqlAlertStore>(std::move(session));
}

}  // namespace alert_store_detail
}  // namespace vantage
