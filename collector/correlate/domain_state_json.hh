#pragma once

#include <nlohmann/json.hpp>

#include "correlation.hh"

// A domain's state as JSON: the read API's status document, and what a verdict change stores.
// Times are RFC 3339 UTC text, ASNs numbers (0 = unknown), networks text ("AS64510", or
// "192.0.2.0/24" for a vantage without an ASN).
namespace vantage {

nlohmann::json to_json(const DomainState& state);
// The inverse of to_json(DomainState), for states stored with verdict changes. Throws
// std::invalid_argument naming the field.
DomainState domain_state_from_json(const nlohmann::json& document);

}  // namespace vantage
