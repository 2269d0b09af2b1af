#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "event_loop.hh"
#include "tcp_connect.hh"

using namespace vantage;
using namespace std::chrono_literals;

namespace {

// A listening socket on a kernel-chosen loopback port; closed on destruction.
struct Listener {
  explicit Listener(const char* literal) {
    endpoint = *parse_endpoint(literal, 0);
    fd = socket(endpoint.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&endpoint.addr), endpoint.len) == 0);
    REQUIRE(listen(fd, 16) == 0);
    getsockname(fd, reinterpret_cast<sockaddr*>(&endpoint.addr), &endpoint.len);
  }
  ~Listener() { close(fd); }
  int fd = -1;
  Endpoint endpoint;
};

ProbeResult connect_to(const Endpoint& target) {
  EventLoop loop;
  ProbeResult result;
  int calls = 0;
  probe_tcp_connect(loop, target, Check::Tcp, 2000ms, [&](ProbeResult r) {
    result = std::move(r);
    ++calls;
  });
  loop.run();
  REQUIRE(calls == 1);
  return result;
}

}  // namespace

TEST_CASE("tcp connect to a listening port is ok with a connect time", "[tcp]") {
  Listener listener("127.0.0.1");
  const auto result = connect_to(listener.endpoint);
  CHECK(result.ok());
  CHECK(result.check == Check::Tcp);
  CHECK(result.timings.connect.has_value());
}

TEST_CASE("tcp connect to a closed port is ConnRefused at Connect", "[tcp]") {
  Endpoint closed;
  {
    Listener gone("127.0.0.1");
    closed = gone.endpoint;
  }
  const auto result = connect_to(closed);
  CHECK(result.failure == Failure::ConnRefused);
  CHECK(result.phase == Phase::Connect);
  CHECK(result.native_code == ECONNREFUSED);
  CHECK(result.native_kind == "errno");
}

TEST_CASE("tcp connect over IPv6 to a listening port is ok", "[tcp]") {
  Listener listener("::1");
  const auto result = connect_to(listener.endpoint);
  CHECK(result.ok());
  CHECK(result.target == listener.endpoint.to_string());
}

TEST_CASE("tcp connect over IPv6 to a closed port is ConnRefused", "[tcp]") {
  Endpoint closed;
  {
    Listener gone("::1");
    closed = gone.endpoint;
  }
  CHECK(connect_to(closed).failure == Failure::ConnRefused);
}
