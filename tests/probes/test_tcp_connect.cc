#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "event_loop.hh"
#include "loopback_listener.hh"
#include "tcp_connect.hh"

using namespace vantage;
using vantage::testing::LoopbackListener;
using namespace std::chrono_literals;

namespace {

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
  LoopbackListener listener("127.0.0.1");
  const auto result = connect_to(listener.endpoint);
  CHECK(result.ok());
  CHECK(result.check == Check::Tcp);
  CHECK(result.timings.connect.has_value());
}

TEST_CASE("tcp connect to a closed port is ConnRefused at Connect", "[tcp]") {
  Endpoint closed;
  {
    LoopbackListener gone("127.0.0.1");
    closed = gone.endpoint;
  }
  const auto result = connect_to(closed);
  CHECK(result.failure == Failure::ConnRefused);
  CHECK(result.phase == Phase::Connect);
  CHECK(result.native_code == ECONNREFUSED);
  CHECK(result.native_kind == NativeKind::Errno);
}

TEST_CASE("tcp connect over IPv6 to a listening port is ok", "[tcp]") {
  LoopbackListener listener("::1");
  const auto result = connect_to(listener.endpoint);
  CHECK(result.ok());
  CHECK(result.target == listener.endpoint.to_string());
}

TEST_CASE("tcp connect over IPv6 to a closed port is ConnRefused", "[tcp]") {
  Endpoint closed;
  {
    LoopbackListener gone("::1");
    closed = gone.endpoint;
  }
  CHECK(connect_to(closed).failure == Failure::ConnRefused);
}
