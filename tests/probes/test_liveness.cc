// Liveness against loopback only (127.0.0.1, ::1): the host's own kernel answers the echo, the
// datagram to a closed port and the SYN. Silence, routers' unreachables and the ping-socket
// sysctl of a fresh namespace are in tests/e2e/network, which builds namespaces of its own.
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>

#include "event_loop.hh"
#include "liveness.hh"
#include "loopback_listener.hh"

using namespace vantage;
using vantage::testing::closed_loopback_port;
using vantage::testing::LoopbackListener;
using namespace std::chrono_literals;

namespace {

std::vector<ProbeResult> liveness_of(const char* literal, uint16_t other_port,
                                     std::chrono::milliseconds timeout = 2000ms) {
  EventLoop loop;
  std::vector<ProbeResult> results;
  int calls = 0;
  probe_liveness(loop, *parse_endpoint(literal, 443), other_port, timeout,
                 [&](std::vector<ProbeResult> r) {
                   results = std::move(r);
                   ++calls;
                 });
  CHECK(calls == 0);  // never from inside probe_liveness()
  loop.run();
  REQUIRE(calls == 1);
  REQUIRE(results.size() == 3);
  for (const auto& result : results) {
    INFO(result.subject << ": " << to_string(result.failure) << ", " << result.detail);
    CHECK(result.check == Check::Liveness);
    CHECK(result.phase == Phase::Connect);
    CHECK(result.timings.total.has_value());
    CHECK_FALSE(result.detail.empty());
  }
  return results;
}

// Whether this process may open a ping socket: its group inside net.ipv4.ping_group_range.
bool ping_socket_allowed() {
  std::ifstream file("/proc/sys/net/ipv4/ping_group_range");
  long low = 1;
  long high = 0;
  file >> low >> high;
  const auto group = static_cast<long>(getegid());
  return file && low <= group && group <= high;
}

// This thread without CAP_NET_RAW in its effective set while the object lives (capabilities are
// per thread, and the loop runs on this one). Permitted stays, so the destructor can restore it.
class WithoutNetRaw {
 public:
  WithoutNetRaw() {
    header_.version = _LINUX_CAPABILITY_VERSION_3;
    header_.pid = 0;
    REQUIRE(syscall(SYS_capget, &header_, data_) == 0);
    saved_ = data_[0].effective;
    data_[0].effective &= ~(1U << CAP_NET_RAW);
    REQUIRE(syscall(SYS_capset, &header_, data_) == 0);
  }
  ~WithoutNetRaw() {
    data_[0].effective = saved_;
    syscall(SYS_capset, &header_, data_);
  }
  WithoutNetRaw(const WithoutNetRaw&) = delete;
  WithoutNetRaw& operator=(const WithoutNetRaw&) = delete;

 private:
  __user_cap_header_struct header_{};
  __user_cap_data_struct data_[2]{};
  uint32_t saved_ = 0;
};

// The echo either answered (through whichever socket this process may open) or says exactly why
// it could not be sent: never silence.
void check_echo(const ProbeResult& echo) {
  INFO(echo.detail);
  CHECK(echo.subject == "icmp echo");
  if (echo.failure == Failure::Internal) {
    WARN("no ping socket and no raw socket here: the echo reports Internal: " << echo.detail);
    CHECK_THAT(echo.detail, Catch::Contains("ping_group_range") && Catch::Contains("CAP_NET_RAW"));
    return;
  }
  CHECK(echo.failure == Failure::None);
  CHECK_THAT(echo.detail, Catch::StartsWith("echo reply in"));
  CHECK(echo.native_kind == NativeKind::Icmp);
  CHECK(echo.native_code == 0);
  CHECK(echo.timings.connect.has_value());
}

}  // namespace

TEST_CASE("liveness of 127.0.0.1 gets an echo reply, a port unreachable and an RST", "[liveness]") {
  const uint16_t port = closed_loopback_port("127.0.0.1");
  const auto results = liveness_of("127.0.0.1", port);
  check_echo(results[0]);
  CHECK(results[0].target == "127.0.0.1");

  const auto& udp = results[1];
  INFO(udp.detail);
  CHECK(udp.subject == "udp 33434");
  CHECK(udp.target == "127.0.0.1:33434");
  CHECK(udp.failure == Failure::None);
  CHECK(udp.native_kind == NativeKind::Icmp);
  CHECK(udp.native_code == 3 * 256 + 3);
  CHECK_THAT(udp.detail, Catch::StartsWith("port unreachable from the host in"));

  const auto& tcp = results[2];
  INFO(tcp.detail);
  CHECK(tcp.subject == "tcp connect " + std::to_string(port));
  CHECK(tcp.target == "127.0.0.1:" + std::to_string(port));
  CHECK(tcp.failure == Failure::None);
  CHECK(tcp.native_kind == NativeKind::Errno);
  CHECK(tcp.native_code == ECONNREFUSED);
  CHECK_THAT(tcp.detail,
             Catch::StartsWith("RST in") && Catch::EndsWith("host alive (port closed)"));
}

TEST_CASE("liveness of ::1 gets an echo reply, a port unreachable and an RST", "[liveness]") {
  const uint16_t port = closed_loopback_port("::1");
  const auto results = liveness_of("::1", port);
  check_echo(results[0]);
  CHECK(results[0].target == "::1");
  CHECK(results[1].target == "[::1]:33434");
  CHECK(results[1].failure == Failure::None);
  CHECK(results[1].native_code == 3 * 256 + 3);  // ICMPv6 1/4, in the IPv4 numbering
  CHECK(results[2].failure == Failure::None);
  CHECK(results[2].native_code == ECONNREFUSED);
}

TEST_CASE("liveness tcp to a listening port is a SYN-ACK: ok with a connect time", "[liveness]") {
  LoopbackListener listener("127.0.0.1");
  const auto results = liveness_of("127.0.0.1", listener.endpoint.port());
  const auto& tcp = results[2];
  CHECK(tcp.failure == Failure::None);
  CHECK(tcp.native_kind == NativeKind::None);
  CHECK(tcp.timings.connect.has_value());
  CHECK_THAT(tcp.detail, Catch::Contains("SYN-ACK"));
}

TEST_CASE("liveness echo without CAP_NET_RAW uses a ping socket, or is Internal saying why",
          "[liveness]") {
  const uint16_t port = closed_loopback_port("127.0.0.1");
  WithoutNetRaw unprivileged;
  const auto results = liveness_of("127.0.0.1", port);
  const auto& echo = results[0];
  INFO(echo.detail);
  if (ping_socket_allowed()) {
    CHECK(echo.failure == Failure::None);
    CHECK_THAT(echo.detail, Catch::EndsWith("(ping socket)"));
  } else {
    // The twin: nothing can send an echo, and the result names both reasons instead of
    // pretending the host is silent.
    CHECK(echo.failure == Failure::Internal);
    CHECK(echo.native_kind == NativeKind::Errno);
    CHECK(echo.native_code == EPERM);
    CHECK_THAT(echo.detail, Catch::Contains("no ping socket") &&
                                Catch::Contains("net.ipv4.ping_group_range is") &&
                                Catch::Contains("no raw socket") && Catch::Contains("CAP_NET_RAW"));
  }
  // The other two need no privilege at all.
  CHECK(results[1].failure == Failure::None);
  CHECK(results[2].failure == Failure::None);
}

TEST_CASE("liveness echo as root without a ping socket falls back to a raw socket", "[liveness]") {
  if (geteuid() != 0 || ping_socket_allowed()) {
    WARN("not root, or ping sockets are allowed here: the raw fallback is not exercised");
    return;
  }
  const auto results = liveness_of("127.0.0.1", closed_loopback_port("127.0.0.1"));
  CHECK(results[0].failure == Failure::None);
  CHECK_THAT(results[0].detail, Catch::EndsWith("(raw socket)"));
}

TEST_CASE("two liveness probes of one host at once each get their own echo reply", "[liveness]") {
  EventLoop loop;
  const uint16_t port = closed_loopback_port("127.0.0.1");
  std::vector<std::vector<ProbeResult>> all;
  for (int i = 0; i < 2; ++i) {
    probe_liveness(loop, *parse_endpoint("127.0.0.1", 0), port, 2000ms,
                   [&](std::vector<ProbeResult> r) { all.push_back(std::move(r)); });
  }
  loop.run();
  REQUIRE(all.size() == 2);
  for (const auto& results : all) {
    REQUIRE(results.size() == 3);
    check_echo(results[0]);
    CHECK(results[1].failure == Failure::None);
    CHECK(results[2].failure == Failure::None);
  }
}
