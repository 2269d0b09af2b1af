#include "cycle_result.hh"

#include <algorithm>

namespace vantage {

LastKnown CycleResult::next_last_known() const {
  LastKnown next = last_known_used;
  std::vector<std::string> addresses = recursive_addresses;
  for (const auto& address : authoritative_addresses) {
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(address);
    }
  }
  if (!addresses.empty()) {
    next.addresses = std::move(addresses);
  }
  if (!nameservers.empty()) {
    next.nameservers = nameservers;
  }
  return next;
}

}  // namespace vantage
