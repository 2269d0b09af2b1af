#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "endpoint.hh"
#include "result.hh"

namespace vantage {

class EventLoop;

// Does the host at `address` answer anything at all? Asked of every address whose probe met
// silence, three ways at once, each a Check::Liveness result, handed to `done` in this order:
//   "icmp echo"           an echo request (unprivileged ping socket, else a raw socket);
//   "udp PORT"            a datagram to a closed high port (33434): ICMP port unreachable;
//   "tcp connect PORT"    a connect to `other_port`: a SYN-ACK or an RST.
// Any answer from the host itself is Failure::None (an RST, a port unreachable, even an
// administratively-prohibited it sends itself); silence is Timeout; an ICMP unreachable from
// anyone else (a router) is classified as NetUnreachable or HostUnreachable. Every socket reads
// ICMP errors from its error queue (IP_RECVERR / IPV6_RECVERR), which names who sent them. An
// echo that cannot be sent at all (no ping socket for this group, no CAP_NET_RAW) is Internal,
// with a detail saying so. The port of `address` is ignored. `done` runs once, on the loop,
// after all three have finished or `timeout` (one for all three) has passed.
void probe_liveness(EventLoop& loop, const Endpoint& address, uint16_t other_port,
                    std::chrono::milliseconds timeout,
                    std::function<void(std::vector<ProbeResult>)> done);

}  // namespace vantage
