#pragma once

#include <string>
#include <string_view>

#include "domain_state.hh"
#include "storage.hh"

// verdict_changes.state: a domain's state after a change, in a format of storage's own, so that
// the API's documents can change without rewriting history. Format 1 is compact JSON:
//   {"format":1,"reporting":3,"usable":3,"failing":2,"affected_vantages":["vp1","vp3"],
//    "affected_asns":[64501,0],"affected_networks":["AS64501","192.0.2.0/24"],
//    "isolated":[],"establishing":[],"stale":[],"evidence":["..."]}
// The domain, verdict, scope and since are the row's own columns (since = changed_at), not
// repeated here.
namespace vantage {

inline constexpr int kVerdictStateFormat = 1;

std::string encode_verdict_state(const DomainState& state);
// The state of a stored change: `record`'s domain, verdict, scope and changed_at with the counts,
// names and evidence of `text`. Throws std::invalid_argument naming what is wrong (a format
// other than 1, a missing or mistyped field).
DomainState decode_verdict_state(std::string_view text, const VerdictRecord& record);

// Migration 6: a state stored as the read API's document of the time (domain, verdict, scope,
// since, reporting, healthy, failing, affected_*, isolated_vantages, evidence; later ones also
// usable, establishing_vantages, stale_vantages) in format 1. Frozen with the migration: it reads
// what collectors before it wrote, whatever the API becomes. Throws std::invalid_argument.
std::string convert_api_document_state(std::string_view text);

}  // namespace vantage
