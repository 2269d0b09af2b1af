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
// silence, three ways at once, each a Check::Liveness result:
//   "icmp echo"           an echo request (unprivileged ping socket, else a raw socket);
//   "udp PORT"            a datagram to a closed high port: ICMP port unreachable (IP_RECVERR);
//   "tcp connect PORT"    a connect to `other_port`: a SYN-ACK or an RST.
// Any answer from the host itself is Failure::None; silence is Timeout; a router's unreachable is
// classified as such. `done` runs once, on the loop, after all three have finished or timed out.
void probe_liveness(EventLoop& loop, const Endpoint& address, uint16_t other_port,
                    std::chrono::milliseconds timeout,
                    std::function<void(std::vector<ProbeResult>)> done);

}  // namespace vantage
