// The path trace and the liveness probe against real routers and hosts in namespaces (see
// topology.hh for the picture): the test process is the client, in 192.0.2.1 and 2001:db8:1::1.
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "event_loop.hh"
#include "liveness.hh"
#include "path_trace.hh"
#include "topology.hh"

using namespace vantage;
using namespace std::chrono_literals;
using vantage::testing::ScopedChange;
using vantage::testing::ScopedFirewall;
using vantage::testing::WithoutNetRaw;
using Role = vantage::testing::NetworkTopology::Role;

namespace {

// Bounds for the cases that meet silence: long enough for every answer on veths (well under a
// millisecond), short enough to keep the suite quick.
constexpr auto kPathTimeout = 1500ms;
constexpr auto kLivenessTimeout = 1000ms;

ProbeResult trace(const char* literal, PathOptions options = {}) {
  options.max_hops = 8;
  options.timeout = kPathTimeout;
  EventLoop loop;
  ProbeResult result;
  int calls = 0;
  probe_path(loop, *parse_endpoint(literal, 443), std::move(options), [&](ProbeResult r) {
    result = std::move(r);
    ++calls;
  });
  loop.run();
  REQUIRE(calls == 1);
  REQUIRE(result.path.has_value());
  CHECK(result.check == Check::Path);
  CHECK(result.target == result.path->destination);
  return result;
}

// The hops as traceroute prints them: an address, or "*" for silence.
std::vector<std::string> hops_of(const ProbeResult& result) {
  std::vector<std::string> hops;
  for (const auto& hop : result.path->hops) {
    hops.push_back(hop.address.empty() ? "*" : hop.address);
  }
  return hops;
}

std::vector<ProbeResult> liveness(const char* literal, uint16_t other_port = 443) {
  EventLoop loop;
  std::vector<ProbeResult> results;
  int calls = 0;
  probe_liveness(loop, *parse_endpoint(literal, 443), other_port, kLivenessTimeout,
                 [&](std::vector<ProbeResult> r) {
                   results = std::move(r);
                   ++calls;
                 });
  loop.run();
  REQUIRE(calls == 1);
  REQUIRE(results.size() == 3);
  return results;
}

std::string describe(const std::vector<ProbeResult>& results) {
  std::string text;
  for (const auto& result : results) {
    text += std::string(to_string(result.failure)) + " " + result.subject + " " + result.target +
            ": " + result.detail + "\n";
  }
  return text;
}

}  // namespace

// --- the path ----------------------------------------------------------------------------------

TEST_CASE("a trace reaches the destination through two routers, each by its own address",
          "[path]") {
  // Counts the trace's datagrams that get to the destination: once it has answered, no higher
  // TTL is sent, so only the rest of the first wave arrives (TTLs 3 and 4), never all eight.
  ScopedFirewall counter(Role::Destination, {"udp dport 33435-33498 counter"});
  const auto result = trace("203.0.113.80");
  INFO(result.detail);
  CHECK(result.failure == Failure::None);
  CHECK(hops_of(result) == std::vector<std::string>{"192.0.2.254", "203.0.113.1", "203.0.113.80"});
  const auto& hops = result.path->hops;
  REQUIRE(hops.size() == 3);
  CHECK((hops[0].icmp_type == 11 && hops[0].icmp_code == 0));
  CHECK((hops[1].icmp_type == 11 && hops[1].icmp_code == 0));
  CHECK((hops[2].icmp_type == 3 && hops[2].icmp_code == 3));
  for (const auto& hop : hops) {
    CHECK(hop.rtt.has_value());
  }
  CHECK(result.path->reached_destination);
  CHECK(result.path->reached_network);
  CHECK(result.path->network == "203.0.113.0/24");
  CHECK_THAT(result.detail, Catch::StartsWith("192.0.2.254 → 203.0.113.1 → 203.0.113.80: reached "
                                              "203.0.113.80 at hop 3 in"));
  CHECK(*result.timings.total < 1000ms);  // ended on the answer, not on the timeout
  CHECK(counter.counted_packets() <= 2);
}

TEST_CASE("an IPv6 trace reaches the destination through two routers, hop limit exceeded as 11/0",
          "[path]") {
  const auto result = trace("2001:db8:500::80");
  INFO(result.detail);
  CHECK(result.failure == Failure::None);
  CHECK(hops_of(result) ==
        std::vector<std::string>{"2001:db8:1::fe", "2001:db8:500::1", "2001:db8:500::80"});
  const auto& hops = result.path->hops;
  REQUIRE(hops.size() == 3);
  CHECK((hops[0].icmp_type == 11 && hops[0].icmp_code == 0));
  CHECK((hops[2].icmp_type == 3 && hops[2].icmp_code == 3));
  CHECK(result.path->network == "2001:db8:500::/48");
  CHECK(result.path->reached_destination);
}

TEST_CASE(
    "a trace to a host that drops everything reaches its network (router2 answers from "
    "203.0.113.1), then stars",
    "[path]") {
  ScopedFirewall drop(Role::Destination, {"ip daddr 203.0.113.53 drop"});
  const auto result = trace("203.0.113.53");
  INFO(result.detail);
  CHECK(hops_of(result) == std::vector<std::string>{"192.0.2.254", "203.0.113.1", "*", "*", "*"});
  CHECK_FALSE(result.path->reached_destination);
  CHECK(result.path->reached_network);
  // The route is there: the path's own verdict is fine, the host is the one that is silent.
  CHECK(result.failure == Failure::None);
  CHECK(result.detail ==
        "192.0.2.254 → 203.0.113.1 → * * *: reached 203.0.113.0/24 at hop 2 (203.0.113.1), "
        "203.0.113.53 silent");
}

TEST_CASE(
    "a trace through a router that silently drops (blackhole route) is Timeout, stars after "
    "the last router that answered",
    "[path]") {
  ScopedChange blackhole(Role::Router2, {"ip", "route", "add", "blackhole", "203.0.113.53/32"},
                         {"ip", "route", "del", "blackhole", "203.0.113.53/32"});
  const auto result = trace("203.0.113.53");
  INFO(result.detail);
  CHECK(result.failure == Failure::Timeout);
  CHECK(result.native_kind == NativeKind::Errno);
  CHECK(result.native_code == ETIMEDOUT);
  CHECK(hops_of(result) == std::vector<std::string>{"192.0.2.254", "*", "*", "*"});
  CHECK_FALSE(result.path->reached_network);
  CHECK_FALSE(result.path->reached_destination);
  CHECK(result.detail == "192.0.2.254 → * * *: dies after hop 1, before 203.0.113.0/24");
  CHECK(*result.timings.total >= kPathTimeout);
}

TEST_CASE("a trace through a router with an unreachable route is HostUnreachable from that router",
          "[path]") {
  // Router1: unreachable 203.0.113.60/30.
  const auto result = trace("203.0.113.61");
  INFO(result.detail);
  CHECK(result.failure == Failure::HostUnreachable);
  CHECK(hops_of(result) == std::vector<std::string>{"192.0.2.254"});
  CHECK((result.path->hops[0].icmp_type == 3 && result.path->hops[0].icmp_code == 1));
  CHECK(result.native_kind == NativeKind::Icmp);
  CHECK(result.native_code == 3 * 256 + 1);
  CHECK_FALSE(result.path->reached_network);
  CHECK(result.detail ==
        "192.0.2.254 !H: host unreachable from 192.0.2.254 at hop 1, before 203.0.113.0/24");
  CHECK(result.path->hops[0].rtt.has_value());
  CHECK(*result.timings.total < 1000ms);
}

TEST_CASE("a trace past a router without a route is NetUnreachable from that router", "[path]") {
  // Router1 knows 198.51.100.0/30 only; the client sends all of 198.51.100.0/24 to it.
  const auto result = trace("198.51.100.200");
  INFO(result.detail);
  CHECK(result.failure == Failure::NetUnreachable);
  CHECK(hops_of(result) == std::vector<std::string>{"192.0.2.254"});
  CHECK((result.path->hops[0].icmp_type == 3 && result.path->hops[0].icmp_code == 0));
  CHECK_THAT(result.detail, Catch::Contains("net unreachable from 192.0.2.254 at hop 1"));
}

TEST_CASE("an IPv6 trace through a router with an unreachable route stops there", "[path]") {
  ScopedChange unreachable(Role::Router1,
                           {"ip", "-6", "route", "add", "unreachable", "2001:db8:500::53/128"},
                           {"ip", "-6", "route", "del", "unreachable", "2001:db8:500::53/128"});
  const auto result = trace("2001:db8:500::53");
  INFO(result.detail);
  // Linux answers an IPv6 unreachable route with 1/0 "no route", which reads as 3/0.
  CHECK(result.failure == Failure::NetUnreachable);
  CHECK(hops_of(result) == std::vector<std::string>{"2001:db8:1::fe"});
  CHECK((result.path->hops[0].icmp_type == 3 && result.path->hops[0].icmp_code == 0));
}

TEST_CASE("a trace with no route on this host is NetUnreachable with no hops: nothing left",
          "[path]") {
  const auto result = trace("2001:db8:ffff::1");
  INFO(result.detail);
  CHECK(result.failure == Failure::NetUnreachable);
  CHECK(result.native_kind == NativeKind::Errno);
  CHECK(result.native_code == ENETUNREACH);
  CHECK(result.path->hops.empty());
  CHECK_THAT(result.detail, Catch::StartsWith("no route from this vantage to 2001:db8:ffff::1"));
}

TEST_CASE(
    "a trace names each hop's AS from the lookup, and the destination's AS counts as its "
    "network",
    "[path]") {
  PathOptions options;
  options.lookup = [](std::string_view address) -> std::optional<NetworkInfo> {
    const std::string text(address);
    if (text.rfind("203.0.113.", 0) == 0) {
      return NetworkInfo{64500, "203.0.113.0/24"};
    }
    if (text == "192.0.2.254") {
      return NetworkInfo{64510, "192.0.2.0/24"};
    }
    return std::nullopt;
  };
  ScopedFirewall drop(Role::Destination, {"ip daddr 203.0.113.53 drop"});
  const auto result = trace("203.0.113.53", std::move(options));
  INFO(result.detail);
  CHECK(result.path->destination_asn == 64500);
  REQUIRE(result.path->hops.size() >= 2);
  CHECK(result.path->hops[0].asn == 64510);
  CHECK(result.path->hops[1].asn == 64500);
  CHECK(result.path->reached_network);
  CHECK_THAT(result.detail, Catch::StartsWith("192.0.2.254 AS64510 → 203.0.113.1 AS64500 → *"));
}

// --- liveness ----------------------------------------------------------------------------------

TEST_CASE("a live host answers all three: echo reply, port unreachable, RST", "[liveness]") {
  const auto results = liveness("203.0.113.80");
  INFO(describe(results));
  for (const auto& result : results) {
    CHECK(result.failure == Failure::None);
    CHECK(result.check == Check::Liveness);
  }
  CHECK_THAT(results[0].detail, Catch::StartsWith("echo reply in"));
  CHECK(results[1].detail.find("port unreachable from the host") == 0);
  CHECK(results[1].native_code == 3 * 256 + 3);
  CHECK_THAT(results[2].detail, Catch::StartsWith("RST in"));
}

TEST_CASE("a live IPv6 host answers all three", "[liveness]") {
  const auto results = liveness("2001:db8:500::80");
  INFO(describe(results));
  for (const auto& result : results) {
    CHECK(result.failure == Failure::None);
  }
  CHECK(results[1].target == "[2001:db8:500::80]:33434");
}

TEST_CASE("a host that drops everything is Timeout three times", "[liveness]") {
  ScopedFirewall drop(Role::Destination, {"ip daddr 203.0.113.53 drop"});
  const auto results = liveness("203.0.113.53");
  INFO(describe(results));
  for (const auto& result : results) {
    CHECK(result.failure == Failure::Timeout);
    CHECK(result.native_kind == NativeKind::Errno);
    CHECK(result.native_code == ETIMEDOUT);
    CHECK(result.detail == "silent for 1000 ms");
    CHECK(*result.timings.total >= kLivenessTimeout);
  }
}

TEST_CASE("a host that drops only TCP 443 still answers the echo and the datagram", "[liveness]") {
  ScopedFirewall drop(Role::Destination, {"ip daddr 203.0.113.80 tcp dport 443 drop"});
  const auto results = liveness("203.0.113.80", 443);
  INFO(describe(results));
  CHECK(results[0].failure == Failure::None);
  CHECK(results[1].failure == Failure::None);
  CHECK(results[2].failure == Failure::Timeout);
  CHECK(results[2].subject == "tcp connect 443");
}

TEST_CASE(
    "a host behind a router's unreachable route is HostUnreachable three times, from the "
    "router",
    "[liveness]") {
  // Router1: unreachable 203.0.113.60/30.
  const auto results = liveness("203.0.113.62");
  INFO(describe(results));
  for (const auto& result : results) {
    CHECK(result.failure == Failure::HostUnreachable);
    CHECK(result.native_kind == NativeKind::Icmp);
    CHECK(result.native_code == 3 * 256 + 1);
    CHECK_THAT(result.detail, Catch::StartsWith("host unreachable from 192.0.2.254 in"));
  }
}

TEST_CASE("a host this vantage has no route to is NetUnreachable three times, at once",
          "[liveness]") {
  const auto results = liveness("2001:db8:ffff::1");
  INFO(describe(results));
  for (const auto& result : results) {
    CHECK(result.failure == Failure::NetUnreachable);
    CHECK(result.native_kind == NativeKind::Errno);
    CHECK(result.native_code == ENETUNREACH);
    CHECK(*result.timings.total < 500ms);
  }
}

TEST_CASE(
    "in a fresh namespace (ping_group_range \"1 0\") without CAP_NET_RAW the echo is "
    "Internal, saying why",
    "[liveness][ping]") {
  ScopedChange range(Role::Client, {"sysctl", "-qw", "net.ipv4.ping_group_range=1 0"},
                     {"sysctl", "-qw", "net.ipv4.ping_group_range=1 0"});
  WithoutNetRaw unprivileged;
  const auto results = liveness("203.0.113.80");
  INFO(describe(results));
  CHECK(results[0].failure == Failure::Internal);
  CHECK(results[0].native_code == EPERM);
  CHECK_THAT(results[0].detail,
             Catch::Contains("net.ipv4.ping_group_range is \"1 0\", which excludes group 0") &&
                 Catch::Contains("CAP_NET_RAW"));
  CHECK(results[1].failure == Failure::None);
  CHECK(results[2].failure == Failure::None);
}

TEST_CASE(
    "with ping_group_range covering its group the echo goes through a ping socket, no "
    "CAP_NET_RAW needed",
    "[liveness][ping]") {
  ScopedChange range(Role::Client, {"sysctl", "-qw", "net.ipv4.ping_group_range=0 0"},
                     {"sysctl", "-qw", "net.ipv4.ping_group_range=1 0"});
  WithoutNetRaw unprivileged;
  for (const char* address : {"203.0.113.80", "2001:db8:500::80"}) {
    const auto results = liveness(address);
    INFO(describe(results));
    CHECK(results[0].failure == Failure::None);
    CHECK_THAT(results[0].detail, Catch::EndsWith("(ping socket)"));
  }
}

TEST_CASE("as root, without a ping socket, the echo goes through a raw socket",
          "[liveness][ping]") {
  const auto results = liveness("2001:db8:500::80");
  INFO(describe(results));
  CHECK(results[0].failure == Failure::None);
  CHECK_THAT(results[0].detail, Catch::EndsWith("(raw socket)"));
}

TEST_CASE("a ping socket also sees a router's unreachable in its error queue", "[liveness][ping]") {
  ScopedChange range(Role::Client, {"sysctl", "-qw", "net.ipv4.ping_group_range=0 0"},
                     {"sysctl", "-qw", "net.ipv4.ping_group_range=1 0"});
  WithoutNetRaw unprivileged;
  const auto results = liveness("203.0.113.63");  // router1: unreachable 203.0.113.60/30
  INFO(describe(results));
  CHECK(results[0].failure == Failure::HostUnreachable);
  CHECK_THAT(results[0].detail, Catch::StartsWith("host unreachable from 192.0.2.254"));
}

// --- both, as a cycle runs them ----------------------------------------------------------------

TEST_CASE("liveness and path of one host at once on one loop, as a cycle runs them",
          "[liveness][path]") {
  EventLoop loop;
  std::vector<ProbeResult> live;
  ProbeResult path;
  const auto address = *parse_endpoint("203.0.113.80:443", 443);
  probe_liveness(loop, address, 80, kLivenessTimeout,
                 [&](std::vector<ProbeResult> r) { live = std::move(r); });
  PathOptions options;
  options.timeout = kPathTimeout;
  probe_path(loop, address, options, [&](ProbeResult r) { path = std::move(r); });
  loop.run();
  INFO(describe(live) << path.detail);
  REQUIRE(live.size() == 3);
  for (const auto& result : live) {
    CHECK(result.failure == Failure::None);
  }
  CHECK(path.failure == Failure::None);
  REQUIRE(path.path.has_value());
  CHECK(path.path->reached_destination);
}
