#pragma once

#include "alerts.hh"
#include "api_model.hh"
#include "correlation.hh"
#include "monitor.hh"
#include "storage.hh"

// The read API's documents (api_model.hh) from what the server's parts know.
namespace vantage {

VantageEntry vantage_entry(const VantageView& vantage);
AlertEntry alert_entry(const AlertView& alert);
AgentEntry agent_entry(const AgentRecord& agent, const AgentStanding& standing, bool isolated);
ChangeEntry change_entry(const VerdictRecord& change);

}  // namespace vantage
