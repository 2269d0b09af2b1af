#include "api_documents.hh"

namespace vantage {
namespace {

DeliveryEvent delivery_event(const DeliveryRecord& delivery) {
  return DeliveryEvent{.state = delivery.state,
                       .attempts = delivery.attempts,
                       .last_attempt = delivery.last_attempt,
                       .delivered_at = delivery.delivered_at,
                       .last_error = delivery.last_error};
}

}  // namespace

VantageEntry vantage_entry(const VantageView& vantage) {
  VantageEntry entry{.agent = vantage.agent,
                     .asn = vantage.asn,
                     .network = vantage.network,
                     .counts = vantage.effective,
                     .latest_reading = vantage.latest,
                     .degraded = vantage.degraded,
                     .fresh = vantage.fresh,
                     .latest_at = vantage.latest_at,
                     .latency_ms = static_cast<double>(vantage.latency.count()) / 1000.0,
                     .failures = {},
                     .evidence = vantage.evidence};
  for (const auto& failure : vantage.failures) {
    entry.failures.push_back(
        FailedProbe{.check = failure.check, .target = failure.target, .failure = failure.failure});
  }
  return entry;
}

MuteEntry mute_entry(const Mute& mute) {
  return MuteEntry{.kind = std::string(to_string(mute.kind)),
                   .id = mute.id,
                   .until = mute.until,
                   .by = mute.by,
                   .why = mute.why};
}

AlertEntry alert_entry(const AlertView& alert) {
  const AlertEvent& event = alert.event;
  AlertEntry entry{.id = alert.id,
                   .domain = event.domain,
                   .verdict = event.verdict,
                   .scope = event.scope,
                   .since = event.since,
                   .resolved_at = event.resolved_at,
                   .resolved_by = event.resolved_at ? resolution_name(event) : std::string(),
                   .affected_vantages = event.affected_vantages,
                   .affected_asns = event.affected_asns,
                   .affected_networks = event.affected_networks,
                   .evidence = event.evidence,
                   .deliveries = {},
                   .muted = {}};
  if (alert.muted) {
    entry.muted = mute_entry(*alert.muted);
  }
  for (const auto& delivery : alert.deliveries) {
    entry.deliveries.push_back(
        DeliveryEntry{.receiver = delivery.receiver,
                      .firing = delivery_event(delivery.firing),
                      .resolve = delivery.resolve ? std::optional(delivery_event(*delivery.resolve))
                                                  : std::nullopt});
  }
  return entry;
}

AgentEntry agent_entry(const AgentRecord& agent, const AgentStanding& standing, bool isolated) {
  // Stale outranks isolated: an agent not heard from has no current reading to be isolated by.
  const AgentState state = standing.stale ? AgentState::Stale
                           : isolated     ? AgentState::Isolated
                                          : AgentState::Ok;
  return AgentEntry{.name = agent.name,
                    .last_seen = agent.last_seen,
                    .asn = standing.asn,
                    .asn_source = standing.asn_source,
                    .network = standing.network,
                    .address = agent.address,
                    .version = agent.version,
                    .uptime_s = agent.uptime_s,
                    .spool_depth = agent.spool_depth,
                    .spool_dropped = agent.spool_dropped,
                    .epoch = agent.epoch,
                    .interval_ms = standing.interval
                                       ? std::optional<int64_t>(standing.interval->count())
                                       : std::nullopt,
                    .stale_after_ms = standing.freshness.count(),
                    .state = state,
                    .isolated = isolated};
}

ChangeEntry change_entry(const VerdictRecord& change) {
  return ChangeEntry{.changed_at = change.changed_at,
                     .verdict = change.verdict,
                     .scope = change.scope,
                     .previous_verdict = change.previous_verdict};
}

std::vector<UptimeEntry> uptime_entries(const DomainUptime* uptime) {
  std::vector<UptimeEntry> entries;
  for (const UptimeWindow window : kUptimeWindows) {
    const UptimeCounts counts =
        uptime != nullptr ? uptime->windows[static_cast<size_t>(window)] : UptimeCounts{};
    entries.push_back(UptimeEntry{.window = std::string(to_string(window)),
                                  .ratio = counts.ratio(),
                                  .up = counts.up,
                                  .down = counts.down,
                                  .inconclusive = counts.inconclusive});
  }
  return entries;
}

std::vector<LatencyEntry> latency_entries(const std::vector<Rollup>& rollups) {
  RollupFigures merged;
  for (const Rollup& rollup : rollups) {
    merged.merge(rollup.figures);
  }
  const auto ms = [](std::chrono::microseconds value) {
    return static_cast<double>(value.count()) / 1000.0;
  };
  std::vector<LatencyEntry> entries;
  for (size_t check = 0; check < kTimedChecks; ++check) {
    const LatencyHistogram& histogram = merged.latency[check];
    if (histogram.count() == 0) {
      continue;
    }
    entries.push_back(LatencyEntry{.check = static_cast<Check>(check),
                                   .samples = histogram.count(),
                                   .p50_ms = ms(*histogram.quantile(0.5)),
                                   .p95_ms = ms(*histogram.quantile(0.95)),
                                   .max_ms = ms(histogram.max())});
  }
  return entries;
}

}  // namespace vantage
