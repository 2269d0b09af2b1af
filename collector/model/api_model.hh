#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "domain_state.hh"
#include "result.hh"
#include "target.hh"
#include "vocabulary.hh"

// The read API's documents (docs/api.md) as types: the server builds these and writes them with
// to_json; the CLI reads them with *_from_json and formats the typed values. Field names are the
// contract that scripts and the CLI's --json rely on. Times are RFC 3339 UTC text, ASNs numbers
// (0 = unknown), networks text ("AS64510", or "192.0.2.0/24" for a vantage without an ASN).
//
// Every *_from_json throws std::invalid_argument naming the field ("vantages[1].latest_at: not an
// RFC 3339 time"). They also read what older collectors sent: "healthy" for "usable", ASNs without
// "affected_networks", agents without "state".
namespace vantage {

using ApiTime = std::chrono::system_clock::time_point;

// A domain's uptime over one window, from its hourly (24h, 7d) or daily (30d, 90d) rollups: the
// cycles of every vantage, those read OK or DEGRADED up, UNKNOWN and VANTAGE_ISOLATED (the
// vantage could not judge) on neither side, the rest down. In "uptime", keyed by window.
struct UptimeEntry {
  std::string window;           // "24h", "7d", "30d", "90d"
  std::optional<double> ratio;  // up / (up + down); null when no cycle counted
  uint64_t up = 0;
  uint64_t down = 0;
  uint64_t inconclusive = 0;
};

// An uptime ratio as the percentage every page and table shows: rounded down to hundredths, so
// that a window with any down cycle never reads 100 (99.999 % is 99.99). Callers choose only
// the width.
double uptime_percent(double ratio);

// One timed check's latency over the last 24 hours, of all vantages' cycles: read from the
// rollups' histograms, so p50 and p95 are bucket bounds (at most 19% above the exact value).
struct LatencyEntry {
  Check check = Check::Https;
  uint64_t samples = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double max_ms = 0;
};

// What holds a domain's alerts back from the receivers now: a maintenance window or a silence.
struct MuteEntry {
  std::string kind;  // "maintenance" or "silence"
  uint64_t id = 0;   // the window's (0: from collector.yaml) or the silence's
  ApiTime until;
  std::string by;
  std::string why;
};

// GET /api/v1/status: one per domain, by domain. "healthy" repeats "usable" for older scripts.
struct StatusEntry {
  DomainState state;
  bool reported = true;             // false: a target no agent has reported yet, "since": null
  std::vector<UptimeEntry> uptime;  // empty from a collector before rollups
  // A maintenance window or silence that covers the domain's verdict now; "muted": null if none.
  std::optional<MuteEntry> muted;
};
nlohmann::json to_json(const DomainState& state);
nlohmann::json to_json(const StatusEntry& entry);
nlohmann::json to_json(const std::vector<StatusEntry>& status);
std::vector<StatusEntry> status_from_json(const nlohmann::json& document);

// A failed probe of a vantage's latest cycle.
struct FailedProbe {
  Check check = Check::Tcp;
  std::string target;
  Failure failure = Failure::None;
};

// One vantage's part in a domain's verdict.
struct VantageEntry {
  std::string agent;
  std::optional<int64_t> asn;
  std::string network;            // "": null
  std::optional<Verdict> counts;  // "verdict"; nullopt: not established ("UNKNOWN", false)
  Verdict latest_reading = Verdict::Ok;
  bool degraded = false;
  bool fresh = false;
  ApiTime latest_at;
  double latency_ms = 0;
  std::vector<FailedProbe> failures;
  std::vector<std::string> evidence;
};

// One event of an alert with one receiver.
struct DeliveryEvent {
  DeliveryState state = DeliveryState::Pending;
  int attempts = 0;
  std::optional<ApiTime> last_attempt;
  std::optional<ApiTime> delivered_at;
  std::string last_error;
};

// One receiver of an alert: its firing, its resolve once the alert ended, and at the top level
// the latest of the two.
struct DeliveryEntry {
  std::string receiver;
  DeliveryEvent firing;
  std::optional<DeliveryEvent> resolve;
  const DeliveryEvent& latest() const { return resolve ? *resolve : firing; }
};

struct AlertEntry {
  uint64_t id = 0;
  std::string domain;
  Verdict verdict = Verdict::Unknown;
  Scope scope = Scope::None;
  ApiTime since;
  std::optional<ApiTime> resolved_at;  // set: "status" resolved, else firing
  std::string resolved_by;             // the new verdict's name, or "target_removed"; "": null
  std::vector<std::string> affected_vantages;
  std::vector<int64_t> affected_asns;
  std::vector<std::string> affected_networks;
  std::vector<std::string> evidence;
  std::vector<DeliveryEntry> deliveries;
  std::optional<MuteEntry> muted;
};
nlohmann::json to_json(const AlertEntry& alert);
AlertEntry alert_entry_from_json(const nlohmann::json& document);

// GET /api/v1/alerts.
struct AlertList {
  size_t receivers = 0;
  std::optional<std::string> warning;
  std::vector<AlertEntry> alerts;
};
nlohmann::json to_json(const AlertList& list);
AlertList alert_list_from_json(const nlohmann::json& document);

// One verdict change, as explain's recent_changes and history list it.
struct ChangeEntry {
  ApiTime changed_at;
  Verdict verdict = Verdict::Unknown;
  Scope scope = Scope::None;
  Verdict previous_verdict = Verdict::Unknown;
};

// GET /api/v1/domains/DOMAIN: the state, then min_vantages, vantages, recent changes (newest
// last), the domain's alerts, its uptime and its latency over the last 24 hours.
struct DomainExplanation {
  DomainState state;
  int min_vantages = 0;
  std::vector<VantageEntry> vantages;
  std::vector<ChangeEntry> recent_changes;
  std::vector<AlertEntry> alerts;
  std::vector<UptimeEntry> uptime;
  std::vector<LatencyEntry> latency_24h;  // checks with samples, in Check's order
};
nlohmann::json to_json(const DomainExplanation& explanation);
DomainExplanation domain_explanation_from_json(const nlohmann::json& document);

// GET /api/v1/domains/DOMAIN/history: changes since a time, oldest first, each with the
// domain's state after it.
struct HistoryEntry {
  ChangeEntry change;
  DomainState state;
};
struct History {
  std::string domain;
  ApiTime since;
  std::vector<HistoryEntry> changes;
};
nlohmann::json to_json(const History& history);
History history_from_json(const nlohmann::json& document);

// GET /api/v1/agents: one per agent, by name.
struct AgentEntry {
  std::string name;
  ApiTime last_seen;
  std::optional<int64_t> asn;
  AsnSource asn_source = AsnSource::None;
  std::string network;  // "": null
  std::string address;
  std::string version;
  int64_t uptime_s = 0;
  int64_t spool_depth = 0;
  int64_t spool_dropped = 0;
  uint64_t epoch = 0;
  std::optional<int64_t> interval_ms;
  int64_t stale_after_ms = 0;
  AgentState state = AgentState::Ok;
  bool isolated = false;  // its own control targets fail (also while stale)
};
nlohmann::json to_json(const AgentEntry& agent);
nlohmann::json to_json(const std::vector<AgentEntry>& agents);
std::vector<AgentEntry> agents_from_json(const nlohmann::json& document);

// A domain the collector has cycles of but no target for: probed from agents' own agent.yaml.
struct AgentFileTarget {
  std::string domain;
  std::vector<std::string> agents;  // the vantages that reported it, by name
};

// GET /api/v1/targets.
struct TargetList {
  int64_t version = 0;
  std::vector<Target> targets;  // central: what every agent probes (agent.yaml may override)
  // For an operator only ("agent_file_targets"); absent in the list agents poll.
  std::optional<std::vector<AgentFileTarget>> agent_file_targets;
};
nlohmann::json to_json(const TargetList& list);
TargetList target_list_from_json(const nlohmann::json& document);

// The answer to adding or removing a target: the list's new version.
struct TargetsVersion {
  int64_t version = 0;
};
nlohmann::json to_json(const TargetsVersion& version);
TargetsVersion targets_version_from_json(const nlohmann::json& document);

}  // namespace vantage
