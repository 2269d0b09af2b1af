#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vantage {

// A DNS name as targets are written: labels of letters, digits, '_' and inner '-', at most 63
// each and 253 in all, an optional trailing dot. The one rule of agent.yaml, the probe command
// and the collector's API, so that a target one accepts every other accepts too.
bool is_domain_name(std::string_view name);

// The one spelling of a domain name: ASCII lower case, without the trailing dot, so that
// "SOCIAL.EXAMPLE." and "social.example" are one domain. nullopt when it is not a domain name.
std::optional<std::string> canonical_domain_name(std::string_view name);

}  // namespace vantage
