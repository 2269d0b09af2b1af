#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "endpoint.hh"
#include "network_info.hh"
#include "probe.hh"

namespace vantage {

class EventLoop;

struct PathOptions {
  int max_hops = 24;                        // clamped to 1..64
  std::chrono::milliseconds timeout{5000};  // the whole trace
  NetworkLookup lookup;
};

// A traceroute to `destination` (UDP to high ports, rising TTL, several TTLs in flight, each
// answer read from the socket's error queue with IP_RECVERR / IPV6_RECVERR), bounded by
// `options.timeout`. The destination's port is ignored. One Check::Path result with `path`
// filled: Failure::None when the trace reached the destination or its network; Timeout when it
// went silent before; NetUnreachable or HostUnreachable when a router said so (or when this host
// has no route at all: then no packet left, and `hops` is empty).
void probe_path(EventLoop& loop, const Endpoint& destination, PathOptions options, ProbeDone done);

// The first UDP port the trace sends to: TTL n goes to kTracePortBase + n, as classic traceroute
// does, so no port is ever asked twice in one trace.
inline constexpr uint16_t kTracePortBase = 33434;

// --- Shared by the path and liveness probes: reading an ICMP answer from an error queue. ---

// One entry of a socket's error queue (IP_RECVERR / IPV6_RECVERR): the ICMP error that answered a
// packet this socket sent, or an error of the local stack.
struct QueuedError {
  int error = 0;         // ee_errno: ECONNREFUSED for a port unreachable, EHOSTUNREACH, ...
  bool icmp = false;     // from an ICMP or ICMPv6 message; false for a local error (EMSGSIZE)
  int icmp_type = 0;     // IPv4 numbering, ICMPv6 mapped to it as PathHop does (see
  int icmp_code = 0;     // icmp6_as_icmp4)
  std::string offender;  // the address that sent it; "" when the kernel does not say
  std::vector<unsigned char> payload;  // what the message quoted of the packet we sent
};

// Reads one entry without blocking; nullopt when the queue is empty.
std::optional<QueuedError> read_error_queue(int fd);

// ICMPv6 type and code in the IPv4 numbering: 3/0 time exceeded → 11/0, 1/4 port unreachable →
// 3/3, 1/0 no route → 3/0, 1/3 address unreachable → 3/1, 1/1 admin prohibited → 3/13,
// 129 echo reply → 0/0. So one table reads both families.
std::pair<int, int> icmp6_as_icmp4(int type, int code);

// "time exceeded", "port unreachable", "host unreachable", ... (IPv4 numbering).
std::string icmp_name(int type, int code);

}  // namespace vantage
