#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "endpoint.hh"
#include "probe.hh"

namespace vantage {

class EventLoop;

// What an ASN database says of one address: its AS and the covering network it is announced in.
struct NetworkInfo {
  int64_t asn = 0;
  std::string network;  // "203.0.113.0/24"
};
// Empty when no ASN database is configured.
using NetworkLookup = std::function<std::optional<NetworkInfo>(std::string_view address)>;

struct PathOptions {
  int max_hops = 24;
  std::chrono::milliseconds timeout{5000};  // the whole trace
  NetworkLookup lookup;
};

// A traceroute to `destination` (UDP to high ports, rising TTL, several TTLs in flight, each
// answer read from the socket's error queue with IP_RECVERR / IPV6_RECVERR), bounded by
// `options.timeout`. One Check::Path result with `path` filled: Failure::None when the trace
// reached the destination or its network; Timeout when it went silent before; NetUnreachable or
// HostUnreachable when a router said so.
void probe_path(EventLoop& loop, const Endpoint& destination, PathOptions options,
                ProbeDone done);

}  // namespace vantage
