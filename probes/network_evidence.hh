#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.hh"

namespace vantage {

// What one cycle's own results prove about the network in front of an address that met silence.
// Silence alone proves nothing: a firewall, an overloaded server and a lost route all look the
// same from one probe. The proof comes from elsewhere in the cycle: an answer from the host on
// another protocol, an answer from another address of the same routed prefix, or the path.
class NetworkEvidence {
 public:
  explicit NetworkEvidence(const std::vector<ProbeResult>& results);

  // One line proving that packets reach `address`'s network, or nullopt: "203.0.113.53 answered
  // DNS, in the same 203.0.113.0/24: route present".
  std::optional<std::string> route_present(std::string_view address) const;

  // One line proving that they do not, or nullopt: a net unreachable (from this vantage's own
  // routing table or a router), a host unreachable while nothing shows the network answering, or
  // a path that dies before the address's network while nothing in that network answers.
  std::optional<std::string> route_lost(std::string_view address) const;

  // True when any host answered anything in this cycle: a resolver, a server, a refusal.
  bool any_answer() const { return !answers_.empty(); }

  // What the host itself answered, for the evidence ("answers ICMP echo"); nullopt for nothing.
  std::optional<std::string> host_answer(std::string_view address) const;

 private:
  struct Answer {
    std::string address;  // who answered
    std::string how;      // "answered DNS (REFUSED)", "accepted TCP on 443", ...
  };

  const ProbeResult* path_to(std::string_view address) const;
  std::string network_of(std::string_view address) const;

  const std::vector<ProbeResult>& results_;
  std::vector<Answer> answers_;
};

}  // namespace vantage
