#include "endpoint.hh"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace vantage {

uint16_t Endpoint::port() const {
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
}

std::string Endpoint::ip() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, text,
              sizeof text);
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, text, sizeof text);
  }
  return text;
}

std::string Endpoint::to_string() const {
  if (family() == AF_INET6) {
    return "[" + ip() + "]:" + std::to_string(port());
  }
  return ip() + ":" + std::to_string(port());
}

Endpoint Endpoint::with_port(uint16_t new_port) const {
  Endpoint copy = *this;
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&copy.addr)->sin6_port = htons(new_port);
  } else {
    reinterpret_cast<sockaddr_in*>(&copy.addr)->sin_port = htons(new_port);
  }
  return copy;
}

std::string port_text(std::string_view target) {
  const auto endpoint = parse_endpoint(target, 0);
  return endpoint && endpoint->port() != 0 ? std::to_string(endpoint->port()) : "?";
}

std::optional<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port) {
  // inet_pton reads up to the first NUL: "192.0.2.1\0junk" (a YAML "\0" escape) would pass as
  // 192.0.2.1 with the rest ignored.
  if (text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return std::nullopt;
      }
      port_text = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  } else {
    host = std::string(text);
  }

  uint16_t port = default_port;
  if (!port_text.empty()) {
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0) {
      return std::nullopt;
    }
  }

  Endpoint endpoint;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&endpoint.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&endpoint.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    endpoint.len = sizeof(sockaddr_in);
    return endpoint;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    endpoint.len = sizeof(sockaddr_in6);
    return endpoint;
  }
  return std::nullopt;
}

}  // namespace vantage
