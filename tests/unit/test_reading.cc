#include <catch2/catch.hpp>

#include "reading.hh"

using namespace vantage;

namespace {

ProbeResult probe(Check check, Failure failure, const std::string& target = "192.0.2.10:443") {
  ProbeResult result;
  result.check = check;
  result.failure = failure;
  result.target = target;
  return result;
}

// A cycle that went well on every layer; each case below breaks it the way an outage would.
CycleResult healthy() {
  CycleResult cycle;
  cycle.domain = "social.test";
  cycle.nameservers = {{"ns1.social.test", {"192.0.2.53"}}};
  cycle.results = {probe(Check::DnsRecursive, Failure::None, "127.0.0.1:53"),
                   probe(Check::DnsParent, Failure::None, "192.0.2.1:53"),
                   probe(Check::DnsAuthoritative, Failure::None, "192.0.2.53:53"),
                   probe(Check::Tcp, Failure::None), probe(Check::Https, Failure::None)};
  return cycle;
}

void set(CycleResult& cycle, Check check, Failure failure) {
  for (auto& result : cycle.results) {
    if (result.check == check) {
      result.failure = failure;
    }
  }
}

void drop(CycleResult& cycle, Check check) {
  std::erase_if(cycle.results, [check](const ProbeResult& r) { return r.check == check; });
}

}  // namespace

TEST_CASE("every layer healthy reads OK", "[reading]") {
  const auto reading = read_cycle(healthy());
  CHECK(reading.verdict == Verdict::Ok);
  CHECK(reading.evidence.empty());
}

TEST_CASE("resolver SERVFAIL, authoritative and last known addresses unreachable is ROUTE_LOSS",
          "[reading]") {
  auto cycle = healthy();
  set(cycle, Check::DnsRecursive, Failure::ServFail);
  set(cycle, Check::DnsAuthoritative, Failure::NetUnreachable);
  set(cycle, Check::Tcp, Failure::NetUnreachable);
  drop(cycle, Check::Https);
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::RouteLoss);
  CHECK(reading.evidence.size() == 3);
}

TEST_CASE("authoritative unreachable while the resolver still answers from cache is ROUTE_LOSS",
          "[reading]") {
  auto cycle = healthy();
  set(cycle, Check::DnsAuthoritative, Failure::Timeout);
  set(cycle, Check::Tcp, Failure::Timeout);
  drop(cycle, Check::Https);
  CHECK(read_cycle(cycle).verdict == Verdict::RouteLoss);
}

TEST_CASE("authoritative servers that answer SERVFAIL or REFUSED are DNS_FAILURE", "[reading]") {
  for (const auto failure :
       {Failure::ServFail, Failure::Refused, Failure::Lame, Failure::ConnRefused}) {
    auto cycle = healthy();
    set(cycle, Check::DnsAuthoritative, failure);
    set(cycle, Check::DnsRecursive, Failure::ServFail);
    CHECK(read_cycle(cycle).verdict == Verdict::DnsFailure);
  }
}

TEST_CASE("NXDOMAIN at the parent with no delegation left is DOMAIN_VANISHED", "[reading]") {
  auto cycle = healthy();
  cycle.nameservers.clear();
  set(cycle, Check::DnsParent, Failure::NxDomain);
  set(cycle, Check::DnsRecursive, Failure::NxDomain);
  drop(cycle, Check::DnsAuthoritative);
  drop(cycle, Check::Tcp);
  drop(cycle, Check::Https);
  CHECK(read_cycle(cycle).verdict == Verdict::DomainVanished);
}

TEST_CASE("refused connections with healthy DNS are SERVER_DOWN", "[reading]") {
  auto cycle = healthy();
  set(cycle, Check::Tcp, Failure::ConnRefused);
  drop(cycle, Check::Https);
  CHECK(read_cycle(cycle).verdict == Verdict::ServerDown);
}

TEST_CASE("certificate failures on every address are TLS_FAILURE", "[reading]") {
  for (const auto failure : {Failure::CertExpired, Failure::CertUntrusted,
                             Failure::CertNameMismatch, Failure::TlsHandshake}) {
    auto cycle = healthy();
    set(cycle, Check::Https, failure);
    CHECK(read_cycle(cycle).verdict == Verdict::TlsFailure);
  }
}

TEST_CASE("a bad HTTP status or body is HTTP_ERROR", "[reading]") {
  for (const auto failure : {Failure::HttpStatus, Failure::ContentMismatch}) {
    auto cycle = healthy();
    set(cycle, Check::Https, failure);
    CHECK(read_cycle(cycle).verdict == Verdict::HttpError);
  }
}

TEST_CASE("one unreachable address among working ones is a warning, not the verdict", "[reading]") {
  auto cycle = healthy();
  cycle.results.push_back(probe(Check::Tcp, Failure::NetUnreachable, "[2001:db8::10]:443"));
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::Ok);
  REQUIRE(reading.warnings.size() == 1);
  CHECK(reading.warnings[0].find("[2001:db8::10]:443") != std::string::npos);
}

TEST_CASE("a vantage whose control targets all fail is VANTAGE_ISOLATED, not the domain's fault",
          "[reading]") {
  auto cycle = healthy();
  set(cycle, Check::Tcp, Failure::NetUnreachable);
  set(cycle, Check::DnsAuthoritative, Failure::NetUnreachable);
  cycle.results.push_back(probe(Check::Control, Failure::NetUnreachable, "198.51.100.1:443"));
  CHECK(read_cycle(cycle).verdict == Verdict::VantageIsolated);
}

TEST_CASE("a working control target leaves the domain's verdict alone", "[reading]") {
  auto cycle = healthy();
  set(cycle, Check::Tcp, Failure::NetUnreachable);
  drop(cycle, Check::Https);
  cycle.results.push_back(probe(Check::Control, Failure::None, "198.51.100.1:443"));
  CHECK(read_cycle(cycle).verdict == Verdict::RouteLoss);
}

TEST_CASE("a control target that refuses the connection does not isolate the vantage",
          "[reading]") {
  auto cycle = healthy();
  cycle.results.push_back(probe(Check::Control, Failure::ConnRefused, "198.51.100.1:443"));
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::Ok);
  CHECK(reading.warnings.size() == 1);
}
