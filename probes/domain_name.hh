#pragma once

#include <string_view>

namespace vantage {

// A DNS name as targets are written: labels of letters, digits, '_' and inner '-', at most 63
// each and 253 in all, an optional trailing dot. The one rule of agent.yaml, the probe command
// and the collector's API, so that a target one accepts every other accepts too.
bool is_domain_name(std::string_view name);

}  // namespace vantage
