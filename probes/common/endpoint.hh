#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vantage {

// An IP address and port, IPv4 or IPv6, without any name resolution.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  int family() const { return addr.ss_family; }
  uint16_t port() const;
  std::string ip() const;         // "192.0.2.1", "2001:db8::1"
  std::string to_string() const;  // "192.0.2.1:53", "[2001:db8::1]:53"
  Endpoint with_port(uint16_t port) const;
  bool operator==(const Endpoint& other) const { return to_string() == other.to_string(); }
};

// The port of "192.0.2.1:443" or "[2001:db8::1]:443" as text, "?" when there is none.
std::string port_text(std::string_view target);

// Parses "192.0.2.1", "192.0.2.1:53", "2001:db8::1", "[2001:db8::1]:53"; `default_port` applies
// when none is given. nullopt for anything that is not a literal address.
std::optional<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port);

}  // namespace vantage
