#pragma once

#include <nlohmann/json.hpp>

#include "alerts.hh"
#include "correlation.hh"
#include "domain_state_json.hh"

// The JSON documents of the read API (status, explain, history, alerts): stable field names that
// scripts and the CLI's --json rely on. Times are RFC 3339 UTC text, ASNs numbers (0 = unknown),
// networks text ("AS64510", or "192.0.2.0/24" for a vantage without an ASN).
namespace vantage {

nlohmann::json to_json(const VantageView& vantage);
nlohmann::json to_json(const AlertView& alert);

}  // namespace vantage
