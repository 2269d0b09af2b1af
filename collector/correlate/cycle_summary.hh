#pragma once

#include <string>
#include <string_view>

#include "correlation.hh"

// What correlation keeps of a stored result, stored beside its cycle document (results.summary)
// so that a restarted collector replays its recent results without reading a whole document each.
namespace vantage {

// The verdict, duration, latency, failed probes and evidence lines of `cycle`, as compact JSON:
// [1, "SERVER_DOWN", duration_us, latency_us, [["Tcp", "203.0.113.80:443", "ConnRefused"], ...],
//  [["Tcp 203.0.113.80:443: ConnRefused (...)", 0], ["line of no probe", -1], ...]], where the
// number after an evidence line is the index of the failed probe it describes; then, only when the
// cycle had any, its expiry warnings: [["certificate", subject, expires_s, [at...], of, text],
// ...].
std::string encode_summary(const VantageCycle& cycle);

// The VantageCycle of a summary, without what the row holds (agent, domain, started_at) or the
// collector knows (asn, network). Throws std::invalid_argument for anything else.
VantageCycle decode_summary(std::string_view summary);

}  // namespace vantage
