// The path trace against loopback only: 127.0.0.1 and ::1 answer the first TTL with a port
// unreachable. Routers answering time exceeded, silent routers and routers' unreachables are in
// tests/e2e/network, which builds namespaces of its own.
#include <catch2/catch.hpp>

#include "event_loop.hh"
#include "path_trace.hh"

using namespace vantage;
using namespace std::chrono_literals;

namespace {

ProbeResult trace(const char* literal, PathOptions options = {}) {
  EventLoop loop;
  ProbeResult result;
  int calls = 0;
  if (options.timeout == PathOptions{}.timeout) {
    options.timeout = 2000ms;
  }
  probe_path(loop, *parse_endpoint(literal, 443), std::move(options), [&](ProbeResult r) {
    result = std::move(r);
    ++calls;
  });
  CHECK(calls == 0);  // never from inside probe_path()
  loop.run();
  REQUIRE(calls == 1);
  REQUIRE(result.path.has_value());
  INFO(result.detail);
  CHECK(result.check == Check::Path);
  CHECK(result.subject == "traceroute udp");
  CHECK(result.phase == Phase::Connect);
  CHECK(result.timings.total.has_value());
  return result;
}

}  // namespace

TEST_CASE("a traceroute to 127.0.0.1 reaches the destination at hop 1", "[path]") {
  const auto result = trace("127.0.0.1");
  INFO(result.detail);
  CHECK(result.failure == Failure::None);
  CHECK(result.target == "127.0.0.1");
  const auto& path = *result.path;
  CHECK(path.destination == "127.0.0.1");
  CHECK(path.network == "127.0.0.0/24");
  CHECK_FALSE(path.destination_asn.has_value());
  CHECK(path.reached_destination);
  CHECK(path.reached_network);
  REQUIRE(path.hops.size() == 1);
  CHECK(path.hops[0].ttl == 1);
  CHECK(path.hops[0].address == "127.0.0.1");
  CHECK(path.hops[0].icmp_type == 3);
  CHECK(path.hops[0].icmp_code == 3);
  CHECK(path.hops[0].rtt.has_value());
  CHECK(result.native_kind == NativeKind::Icmp);
  CHECK(result.native_code == 3 * 256 + 3);
  CHECK(result.timings.connect.has_value());
  CHECK_THAT(result.detail, Catch::StartsWith("127.0.0.1: reached 127.0.0.1 at hop 1 in"));
  // Finished on the answer, not at the timeout.
  CHECK(*result.timings.total < 1000ms);
}

TEST_CASE("a traceroute to ::1 reaches the destination at hop 1, ICMPv6 mapped to 3/3", "[path]") {
  const auto result = trace("::1");
  INFO(result.detail);
  CHECK(result.failure == Failure::None);
  const auto& path = *result.path;
  CHECK(path.network == "::/48");
  CHECK(path.reached_destination);
  REQUIRE(path.hops.size() == 1);
  CHECK(path.hops[0].address == "::1");
  CHECK(path.hops[0].icmp_type == 3);
  CHECK(path.hops[0].icmp_code == 3);
}

TEST_CASE("a traceroute takes the network and the ASNs from the lookup", "[path]") {
  PathOptions options;
  int lookups = 0;
  options.lookup = [&](std::string_view address) -> std::optional<NetworkInfo> {
    ++lookups;
    if (address == "127.0.0.1") {
      return NetworkInfo{64500, "127.0.0.0/8"};
    }
    return std::nullopt;
  };
  const auto result = trace("127.0.0.1", std::move(options));
  const auto& path = *result.path;
  CHECK(path.network == "127.0.0.0/8");
  CHECK(path.destination_asn == 64500);
  REQUIRE(path.hops.size() == 1);
  CHECK(path.hops[0].asn == 64500);
  CHECK(path.reached_network);
  CHECK_THAT(result.detail, Catch::StartsWith("127.0.0.1 AS64500: reached"));
  CHECK(lookups >= 2);
}

TEST_CASE("a traceroute with a lookup that knows nothing falls back to the covering /24",
          "[path]") {
  PathOptions options;
  options.lookup = [](std::string_view) -> std::optional<NetworkInfo> { return std::nullopt; };
  const auto result = trace("127.0.0.1", std::move(options));
  CHECK(result.path->network == "127.0.0.0/24");
  CHECK_FALSE(result.path->hops.at(0).asn.has_value());
}

TEST_CASE("a traceroute with max_hops 0 still sends TTL 1 (clamped to 1..64)", "[path]") {
  PathOptions options;
  options.max_hops = 0;
  const auto result = trace("127.0.0.1", std::move(options));
  CHECK(result.failure == Failure::None);
  CHECK(result.path->hops.size() == 1);
}

TEST_CASE("ICMPv6 types and codes map to the IPv4 numbering", "[path]") {
  CHECK(icmp6_as_icmp4(3, 0) == std::pair{11, 0});  // hop limit exceeded
  CHECK(icmp6_as_icmp4(1, 4) == std::pair{3, 3});   // port unreachable
  CHECK(icmp6_as_icmp4(1, 0) == std::pair{3, 0});   // no route
  CHECK(icmp6_as_icmp4(1, 3) == std::pair{3, 1});   // address unreachable
  CHECK(icmp6_as_icmp4(1, 1) == std::pair{3, 13});  // administratively prohibited
  CHECK(icmp6_as_icmp4(129, 0) == std::pair{0, 0});
  CHECK(icmp_name(11, 0) == "time exceeded");
  CHECK(icmp_name(3, 3) == "port unreachable");
  CHECK(icmp_name(3, 0) == "net unreachable");
  CHECK(icmp_name(3, 1) == "host unreachable");
  CHECK(icmp_name(3, 13) == "administratively prohibited");
}
