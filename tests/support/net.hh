#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vantage::testing {

// The socket address of an IP literal (v4 or v6) and port; throws std::invalid_argument for
// anything else, so a typo in a test fails loudly instead of probing the wrong thing.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};
SocketAddress socket_address(std::string_view ip, uint16_t port);

// What a DNS server answered, as far as a fixture needs to know.
struct DnsReply {
  int rcode = 0;
  bool authoritative = false;
  int answer_count = 0;
};

// One DNS query over UDP; nullopt if no matching reply came within `timeout` (nothing listening
// yet, or the port unreachable).
std::optional<DnsReply> query_dns(std::string_view ip, uint16_t port, std::string_view qname,
                                  uint16_t qtype, bool recursion_desired,
                                  std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick), for a daemon whose
// config needs its port before it starts. Another process may take it in between; rare enough.
uint16_t free_loopback_port();

// One TCP connect; true if it was accepted within `timeout`.
bool tcp_accepts(std::string_view ip, uint16_t port, std::chrono::milliseconds timeout);

// How long a wait may last: it ends after `attempts` tries or after `limit`, whichever is first.
struct WaitBudget {
  int attempts = 100;
  std::chrono::milliseconds interval{50};
  std::chrono::milliseconds limit{10000};
};

// Calls `ready` until it returns true or the budget is spent; returns the last answer. `ready`
// may throw (for instance when the daemon it waits for has died), which ends the wait at once.
bool wait_until(const std::function<bool()>& ready, WaitBudget budget = {});

}  // namespace vantage::testing
