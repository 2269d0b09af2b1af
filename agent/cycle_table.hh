#pragma once

#include <string>

#include "cycle.hh"

namespace vantage {

// The human form of a cycle: one row per probe (check, target, what was asked, result, time),
// then the vantage's reading with its evidence.
std::string render_cycle_table(const CycleResult& cycle);

}  // namespace vantage
