#pragma once

#include <string>
#include <vector>

#include "cycle_result.hh"
#include "domain_state.hh"

namespace vantage {

// Merges what each vantage saw expire into the domain's warnings: one per certificate or signing
// key and expiry, naming every address any vantage saw it served at and who saw it. Vantages see
// different addresses (anycast, geo DNS), so one vantage alone may not see the node that was not
// renewed.
class ExpiryMerge {
 public:
  // Once per vantage.
  void add(const std::string& agent, const std::vector<Expiry>& expiring);
  // The warnings, soonest first; the merge starts over empty.
  std::vector<ExpiryWarning> take();

 private:
  std::vector<ExpiryWarning> warnings_;
};

}  // namespace vantage
