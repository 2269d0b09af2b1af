#include "network_evidence.hh"

#include <fmt/format.h>

#include "classify.hh"
#include "endpoint.hh"
#include "routed_prefix.hh"

namespace vantage {
namespace {

// The failure classes only a DNS response can carry.
bool answered_dns(Failure failure) {
  return failure == Failure::NxDomain || failure == Failure::NoData ||
         failure == Failure::ServFail || failure == Failure::Refused || failure == Failure::Lame ||
         failure == Failure::BadResponse || is_dnssec_failure(failure);
}

// What a result says the host behind its target answered, if anything. A refusal is an answer:
// an RST or a port unreachable comes from the host itself, so the packets got there.
std::optional<std::string> answer_of(const ProbeResult& result) {
  switch (result.check) {
    case Check::DnsRecursive:
    case Check::DnsParent:
    case Check::DnsAuthoritative:
    case Check::DnsKeys:
      if (result.dns) {
        return fmt::format("answered DNS ({})", rcode_name(result.dns->rcode));
      }
      if (result.ok() || answered_dns(result.failure)) {
        return fmt::format("answered DNS ({})",
                           result.ok() ? std::string_view("NOERROR") : to_string(result.failure));
      }
      if (is_refusal(result.failure)) {
        return std::string("refused DNS (port unreachable)");
      }
      return std::nullopt;
    case Check::Tcp:
    case Check::Control:
      if (result.ok()) {
        return fmt::format("accepted TCP on port {}", port_text(result.target));
      }
      if (is_refusal(result.failure)) {
        return fmt::format("refused TCP on port {} (RST)", port_text(result.target));
      }
      return std::nullopt;
    case Check::Https:
    case Check::Http: {
      const std::string_view protocol = result.check == Check::Https ? "HTTPS" : "HTTP";
      if (result.ok() || (result.phase != Phase::Connect && result.failure != Failure::Internal)) {
        return fmt::format("answered {}", protocol);
      }
      if (is_refusal(result.failure)) {
        return fmt::format("cut the {} connection (RST)", protocol);
      }
      return std::nullopt;
    }
    case Check::Liveness:
      if (result.ok()) {
        return fmt::format("answers {}", result.subject);
      }
      return std::nullopt;
    case Check::Path:
      if (result.path && result.path->reached_destination) {
        return std::string("answers a traceroute");
      }
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

NetworkEvidence::NetworkEvidence(const std::vector<ProbeResult>& results) : results_(results) {
  for (const auto& result : results_) {
    if (auto how = answer_of(result)) {
      answers_.push_back({address_of(result.target), std::move(*how)});
    }
  }
}

const ProbeResult* NetworkEvidence::path_to(std::string_view address) const {
  for (const auto& result : results_) {
    if (result.check == Check::Path && result.path && result.path->destination == address) {
      return &result;
    }
  }
  return nullptr;
}

std::string NetworkEvidence::network_of(std::string_view address) const {
  if (const auto* path = path_to(address); path && !path->path->network.empty()) {
    return path->path->network;
  }
  const auto prefix = RoutedPrefix::covering(address);
  return prefix ? prefix->to_string() : std::string(address);
}

std::optional<std::string> NetworkEvidence::host_answer(std::string_view address) const {
  for (const auto& answer : answers_) {
    if (answer.address == address) {
      return answer.how;
    }
  }
  return std::nullopt;
}

std::optional<std::string> NetworkEvidence::route_present(std::string_view address) const {
  if (auto how = host_answer(address)) {
    return fmt::format("{} {}: route present", address, *how);
  }
  const std::string network = network_of(address);
  if (const auto prefix = RoutedPrefix::parse(network)) {
    for (const auto& answer : answers_) {
      if (prefix->contains(answer.address)) {
        return fmt::format("{} {}, in the same {}: route present", answer.address, answer.how,
                           network);
      }
    }
  }
  if (const auto* trace = path_to(address); trace && trace->path->reached_network) {
    for (const auto& hop : trace->path->hops) {
      if (!hop.address.empty()) {
        const auto prefix = RoutedPrefix::parse(network);
        if (prefix && prefix->contains(hop.address)) {
          return fmt::format("the path to {} reaches {} at hop {} ({}): route present", address,
                             network, hop.ttl, hop.address);
        }
      }
    }
    return fmt::format("the path to {} reaches {}: route present", address, network);
  }
  return std::nullopt;
}

std::optional<std::string> NetworkEvidence::route_lost(std::string_view address) const {
  const std::string network = network_of(address);
  const auto present = route_present(address);
  for (const auto& result : results_) {
    if (address_of(result.target) != address) {
      continue;
    }
    // A net unreachable (from this vantage's own table or from a router) always means no route.
    // A host unreachable is what the last router says when the host itself is gone: with the
    // network shown to answer, that is the host's fault, not the route's.
    const bool no_route = result.failure == Failure::NetUnreachable ||
                          (result.failure == Failure::HostUnreachable && !present);
    if (no_route) {
      return fmt::format("{} {}: no route to {}", result.target, to_string(result.failure),
                         network);
    }
  }
  if (present) {
    return std::nullopt;
  }
  const auto* trace = path_to(address);
  if (trace != nullptr && !trace->path->reached_network && !trace->path->reached_destination) {
    return fmt::format("the path to {}: {}; nothing in {} answered: route lost", address,
                       trace->detail, network);
  }
  return std::nullopt;
}

}  // namespace vantage
