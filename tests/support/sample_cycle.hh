#pragma once

#include <string>

#include "cycle_result.hh"

namespace vantage::testing {

// A healthy cycle of `domain` as an agent reads it, started 30 s ago: one TCP probe that
// connected, the reading OK.
CycleResult healthy_cycle(const std::string& domain);

}  // namespace vantage::testing
