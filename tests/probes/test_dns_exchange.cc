#include <catch2/catch.hpp>
#include <cerrno>

#include "ares_driver.hh"
#include "dns_authoritative.hh"
#include "dns_message.hh"
#include "dns_recursive.hh"
#include "dns_wire.hh"
#include "event_loop.hh"
#include "fake_dns_server.hh"

using namespace vantage;
using namespace std::chrono_literals;
using vantage::testing::FakeDnsServer;
using vantage::testing::make_response;
using vantage::testing::WireResponse;

namespace {

ProbeResult ask(EventLoop& loop, const Endpoint& server, bool recursive,
                std::chrono::milliseconds timeout = 2000ms) {
  ProbeResult result;
  bool done = false;
  DnsQuery query{"social.test", kTypeA, recursive, server, timeout};
  dns_exchange(loop, query, recursive ? Check::DnsRecursive : Check::DnsAuthoritative,
               [&](ProbeResult r) {
                 result = std::move(r);
                 done = true;
                 loop.stop();
               });
  loop.run();
  REQUIRE(done);
  return result;
}

FakeDnsServer::Responder answer_with(WireResponse response) {
  return [response](const std::vector<unsigned char>& query) {
    return make_response(query, response);
  };
}

}  // namespace

TEST_CASE("an authoritative answer comes back with its records and AA flag", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  response.answers = {{"social.test", kTypeA, 300, "192.0.2.10"}};
  FakeDnsServer server(loop, answer_with(response));
  const auto result = ask(loop, server.endpoint(), false);
  CHECK(result.ok());
  REQUIRE(result.dns);
  CHECK(result.dns->authoritative);
  REQUIRE(result.dns->answers.size() == 1);
  CHECK(result.dns->answers[0].data == "192.0.2.10");
  CHECK(result.dns->answers[0].ttl == 300);
  CHECK(result.timings.resolve.has_value());
}

TEST_CASE("a SERVFAIL answer is ServFail with rcode 2, not a retry elsewhere", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  response.rcode = 2;
  FakeDnsServer server(loop, answer_with(response));
  const auto result = ask(loop, server.endpoint(), true);
  CHECK(result.failure == Failure::ServFail);
  CHECK(result.native_kind == NativeKind::Rcode);
  CHECK(result.native_code == 2);
}

TEST_CASE("an answer over 512 bytes is taken over UDP, as the EDNS buffer offered allows",
          "[dns][dnssec]") {
  // The fake server has no TCP: asking again over TCP, as c-ares does for a large answer when
  // it does not know our buffer, would be refused.
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  for (int i = 1; i <= 30; ++i) {
    response.answers.push_back({"social.test", kTypeA, 300, "192.0.2." + std::to_string(i)});
  }
  FakeDnsServer server(loop, answer_with(response));
  const auto result = ask(loop, server.endpoint(), true);
  CHECK(result.ok());
  REQUIRE(result.dns);
  CHECK(result.dns->answers.size() == 30);
  CHECK(server.queries() == 1);
}

TEST_CASE("a REFUSED answer is Refused", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  response.rcode = 5;
  FakeDnsServer server(loop, answer_with(response));
  CHECK(ask(loop, server.endpoint(), false).failure == Failure::Refused);
}

TEST_CASE("a server that never answers is a Timeout within the deadline", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  FakeDnsServer server(loop, [](const auto&) { return std::nullopt; });
  const auto started = std::chrono::steady_clock::now();
  const auto result = ask(loop, server.endpoint(), false, 400ms);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(result.failure == Failure::Timeout);
  CHECK(server.queries() == 2);  // one retransmission
  // The probe's deadline covers both tries: not cut short, not overrun.
  CHECK(elapsed >= 350ms);
  CHECK(elapsed < 1s);
}

TEST_CASE("a closed DNS port is ConnRefused with the socket's errno", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  Endpoint closed;
  {
    FakeDnsServer gone(loop, [](const auto&) { return std::nullopt; });
    closed = gone.endpoint();
  }
  const auto result = ask(loop, closed, false);
  CHECK(result.failure == Failure::ConnRefused);
  CHECK(result.native_kind == NativeKind::Errno);
  CHECK(result.native_code == ECONNREFUSED);
  CHECK(result.phase == Phase::Connect);
}

TEST_CASE("IPv6 servers are asked like IPv4 ones", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  response.answers = {{"social.test", kTypeAaaa, 300, "2001:db8::10"}};
  FakeDnsServer server(loop, answer_with(response), AF_INET6);
  const auto result = ask(loop, server.endpoint(), false);
  CHECK(result.ok());
  CHECK(result.target.front() == '[');
}

TEST_CASE("an authoritative probe answered without AA is a lame delegation", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  response.authoritative = false;
  FakeDnsServer server(loop, answer_with(response));
  ProbeResult result;
  probe_dns_authoritative(
      [&loop](const DnsQuery& q, Check c, ProbeDone d) { dns_exchange(loop, q, c, std::move(d)); },
      server.endpoint(), "ns1.social.test", "social.test", kTypeA, 1000ms,
      [&](ProbeResult r) {
        result = std::move(r);
        loop.stop();
      });
  loop.run();
  CHECK(result.failure == Failure::Lame);
  CHECK(result.subject == "social.test A @ns1.social.test");
}

TEST_CASE("a recursive answer's addresses include those behind a CNAME", "[dns]") {
  AresLibrary ares;
  EventLoop loop;
  WireResponse response;
  response.authoritative = false;
  response.answers = {{"social.test", kTypeCname, 300, "edge.social.test"},
                      {"edge.social.test", kTypeA, 300, "192.0.2.11"}};
  FakeDnsServer server(loop, answer_with(response));
  ProbeResult result;
  probe_dns_recursive(
      [&loop](const DnsQuery& q, Check c, ProbeDone d) { dns_exchange(loop, q, c, std::move(d)); },
      server.endpoint(), "social.test", kTypeA, 1000ms,
      [&](ProbeResult r) {
        result = std::move(r);
        loop.stop();
      });
  loop.run();
  CHECK(result.ok());
  CHECK(answer_addresses(result) == std::vector<std::string>{"192.0.2.11"});
}
