#pragma once

// The sample document of the benchmarks: one healthy cycle as the engine records it, so that
// the collector's ingest benchmark and the agent's upload benchmark measure the same bytes.

#include <chrono>
#include <string>

#include "cycle_result.hh"

namespace vantage::bench {

// A healthy cycle of eight probes: recursive DNS (A), the delegation, two authoritative servers,
// TCP and HTTPS to the IPv4 and the IPv6 address. `variant` varies the addresses and timings.
CycleResult healthy_cycle(const std::string& domain,
                          std::chrono::system_clock::time_point started_at, int variant);

}  // namespace vantage::bench
