#include "api_documents.hh"

#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;

json optional_time(const std::optional<TimePoint>& time) {
  return time ? json(format_time(*time)) : json(nullptr);
}

}  // namespace

json to_json(const VantageView& vantage) {
  json failures = json::array();
  for (const auto& failure : vantage.failures) {
    failures.push_back({{"check", to_string(failure.check)},
                        {"target", failure.target},
                        {"failure", to_string(failure.failure)}});
  }
  // A vantage without an established reading counts as nothing yet: UNKNOWN, established false.
  return {{"agent", vantage.agent},
          {"asn", vantage.asn ? json(*vantage.asn) : json(nullptr)},
          {"network", vantage.network.empty() ? json(nullptr) : json(vantage.network)},
          {"verdict", to_string(vantage.effective.value_or(Verdict::Unknown))},
          {"established", vantage.effective.has_value()},
          {"latest_reading", to_string(vantage.latest)},
          {"degraded", vantage.degraded},
          {"fresh", vantage.fresh},
          {"latest_at", format_time(vantage.latest_at)},
          {"latency_ms", static_cast<double>(vantage.latency.count()) / 1000.0},
          {"failures", failures},
          {"evidence", vantage.evidence}};
}

namespace {

json to_json(const DeliveryRecord& delivery) {
  return {{"state", to_string(delivery.state)},
          {"attempts", delivery.attempts},
          {"last_attempt", optional_time(delivery.last_attempt)},
          {"delivered_at", optional_time(delivery.delivered_at)},
          {"last_error", delivery.last_error}};
}

}  // namespace

json to_json(const AlertView& alert) {
  const AlertEvent& event = alert.event;
  json deliveries = json::array();
  for (const auto& delivery : alert.deliveries) {
    // The top-level fields are the latest event's (the resolve's once the alert ended).
    json entry = to_json(delivery.latest());
    entry["receiver"] = delivery.receiver;
    entry["firing"] = to_json(delivery.firing);
    entry["resolve"] = delivery.resolve ? to_json(*delivery.resolve) : json(nullptr);
    deliveries.push_back(std::move(entry));
  }
  return {{"id", alert.id},
          {"domain", event.domain},
          {"verdict", to_string(event.verdict)},
          {"scope", event.scope},
          {"since", format_time(event.since)},
          {"status", event.resolved_at ? "resolved" : "firing"},
          {"resolved_at", optional_time(event.resolved_at)},
          {"resolved_by", event.resolved_at ? json(resolution_name(event)) : json(nullptr)},
          {"affected_vantages", event.affected_vantages},
          {"affected_asns", event.affected_asns},
          {"affected_networks", event.affected_networks},
          {"evidence", event.evidence},
          {"deliveries", deliveries}};
}

}  // namespace vantage
