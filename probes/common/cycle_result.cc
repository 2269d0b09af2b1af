#include "cycle_result.hh"

#include <algorithm>

namespace vantage {

std::string_view to_string(ExpiryKind kind) {
  return kind == ExpiryKind::Certificate ? "certificate" : "signature";
}

std::optional<ExpiryKind> expiry_kind_from_string(std::string_view text) {
  if (text == "certificate") {
    return ExpiryKind::Certificate;
  }
  if (text == "signature") {
    return ExpiryKind::Signature;
  }
  return std::nullopt;
}

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
