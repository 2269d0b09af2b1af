#pragma once

// A four-namespace network for the path and liveness probes, built with `ip netns` and torn down
// by the object that built it:
//
//   client             router1                      router2                     destination
//   192.0.2.1/24 ----- 192.0.2.254 | 198.51.100.1 -- 198.51.100.2 | 203.0.113.1 -- 203.0.113.80/24
//   2001:db8:1::1/64   2001:db8:1::fe | 2001:db8:12::1  ..12::2 | 2001:db8:500::1   203.0.113.53/24
//                                                                                 2001:db8:500::80
//                                                                                 2001:db8:500::53
//
// Router2 answers from inside the destination's network: its route back to the client has
// `src 203.0.113.1` (`src 2001:db8:500::1`), so its ICMP errors come from that address, as a
// provider's edge router's often do. A destination that drops everything therefore still shows a
// path that reaches 203.0.113.0/24. Router1 has an `unreachable` route for 203.0.113.60/30 (it
// answers host unreachable) and no route to the rest of 198.51.100.0/24 (it answers net
// unreachable for 198.51.100.200), and the client has no IPv6 route outside 2001:db8:1::/48,
// 2001:db8:12::/64 and 2001:db8:500::/48 (2001:db8:ffff::1 fails at connect()).
//
// Linux rate-limits the unreachables a missing or `unreachable` route makes (ip_error():
// net.ipv4.route.error_cost / error_burst, one a second after a burst of five, per source
// address, global sysctls), and that bucket is the one ICMP rate limiting drains too: with
// icmp_ratelimit 0 every time exceeded empties it. So each case that needs router1's IPv4
// unreachable reaches it from a source address of its own (192.0.2.11 for 203.0.113.61, .12 for
// .62, .13 for .63, .14 for 198.51.100.200: `src` routes on the client), whose bucket is full.
//
// The routers and the destination have their ICMP rate limits off, so that back-to-back cases
// see every answer. The test process itself moves into the client namespace (setns) for the
// whole run; the namespaces are named vtr-<pid>-<role> and are deleted when the object goes, and
// by the next run if this one was killed.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vantage::testing {

class NetworkTopology {
 public:
  enum class Role { Client, Router1, Router2, Destination };

  // Builds the namespaces and moves this thread into the client's. nullptr and `error` set when
  // it cannot; `can_run` false then when this machine cannot (not root, no iproute2, no network
  // namespaces: a skip), true when the setup itself failed (a failure).
  static std::unique_ptr<NetworkTopology> build(std::string& error, bool& can_run);
  ~NetworkTopology();  // back to the original namespace, then every namespace deleted
  NetworkTopology(const NetworkTopology&) = delete;
  NetworkTopology& operator=(const NetworkTopology&) = delete;

  const std::string& name(Role role) const;

  // Runs `ip netns exec NS argv...` (bounded); throws std::runtime_error with its stderr when it
  // fails.
  void exec(Role role, const std::vector<std::string>& argv) const;
  // Same, returning stdout.
  std::string output(Role role, const std::vector<std::string>& argv) const;

 private:
  NetworkTopology() = default;
  std::string setup();

  std::string ip_;  // path of the ip program
  std::vector<std::string> names_;
  std::vector<std::string> created_;
  int original_netns_ = -1;
};

// The topology of this run (set by main before the tests run).
NetworkTopology& topology();
void set_topology(NetworkTopology* topology);

// A change to one namespace for the length of a scope: `apply` runs now, `revert` at the end
// (errors there are ignored: the namespaces go away at the end of the run anyway).
class ScopedChange {
 public:
  ScopedChange(NetworkTopology::Role role, std::vector<std::string> apply,
               std::vector<std::string> revert);
  ~ScopedChange();
  ScopedChange(const ScopedChange&) = delete;
  ScopedChange& operator=(const ScopedChange&) = delete;

 private:
  NetworkTopology::Role role_;
  std::vector<std::string> revert_;
};

// An nftables table `inet vtr` with one input chain holding `rules` ("ip daddr 203.0.113.53
// drop"), for the length of a scope.
class ScopedFirewall {
 public:
  ScopedFirewall(NetworkTopology::Role role, const std::vector<std::string>& rules);
  ~ScopedFirewall();
  ScopedFirewall(const ScopedFirewall&) = delete;
  ScopedFirewall& operator=(const ScopedFirewall&) = delete;

  // The packets counted by the table's `counter` rules, summed.
  long counted_packets() const;

 private:
  NetworkTopology::Role role_;
};

// This thread without CAP_NET_RAW in its effective set while the object lives (capabilities are
// per thread, and the event loop runs on this one).
class WithoutNetRaw {
 public:
  WithoutNetRaw();
  ~WithoutNetRaw();
  WithoutNetRaw(const WithoutNetRaw&) = delete;
  WithoutNetRaw& operator=(const WithoutNetRaw&) = delete;

 private:
  uint32_t saved_ = 0;
};

}  // namespace vantage::testing
