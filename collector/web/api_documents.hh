#pragma once

#include "alerts.hh"
#include "api_model.hh"
#include "correlation.hh"
#include "monitor.hh"
#include "rollup.hh"
#include "storage.hh"

// The read API's documents (api_model.hh) from what the server's parts know.
namespace vantage {

VantageEntry vantage_entry(const VantageView& vantage);
MuteEntry mute_entry(const Mute& mute);
AlertEntry alert_entry(const AlertView& alert);
AgentEntry agent_entry(const AgentRecord& agent, const AgentStanding& standing, bool isolated);
ChangeEntry change_entry(const VerdictRecord& change);
// Every window's uptime (rollup.hh: kUptimeWindows); zeros and no ratio for each without rollups
// (`uptime` null: none at all).
std::vector<UptimeEntry> uptime_entries(const DomainUptime* uptime);
// Each timed check's latency over `rollups` merged (checks without samples left out).
std::vector<LatencyEntry> latency_entries(const std::vector<Rollup>& rollups);

}  // namespace vantage
