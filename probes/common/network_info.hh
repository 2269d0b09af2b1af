#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vantage {

// What an ASN database says of one address: its AS and the covering network it is announced in.
struct NetworkInfo {
  int64_t asn = 0;
  std::string network;  // "203.0.113.0/24"
};
// Empty when no ASN database is configured.
using NetworkLookup = std::function<std::optional<NetworkInfo>(std::string_view address)>;

}  // namespace vantage
