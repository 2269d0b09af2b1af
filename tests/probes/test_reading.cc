#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "reading.hh"
#include "routed_prefix.hh"

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
  REQUIRE(reading.evidence.size() >= 3);
  CHECK(reading.evidence[0].rfind("Tcp 192.0.2.10:443", 0) == 0);
}

TEST_CASE("authoritative unreachable while the resolver still answers from cache is ROUTE_LOSS",
          "[reading]") {
  auto cycle = healthy();
  set(cycle, Check::DnsAuthoritative, Failure::NetUnreachable);
  set(cycle, Check::Tcp, Failure::NetUnreachable);
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

TEST_CASE("a name the resolvers serve themselves is not vanished by the public parent's NXDOMAIN",
          "[reading]") {
  auto cycle = healthy();
  cycle.nameservers.clear();
  set(cycle, Check::DnsParent, Failure::NxDomain);
  drop(cycle, Check::DnsAuthoritative);
  for (auto& result : cycle.results) {
    if (result.check == Check::DnsRecursive) {
      result.dns = DnsDetails{};
      result.dns->authoritative = true;
    }
  }
  const auto internal = read_cycle(cycle);
  CHECK(internal.verdict == Verdict::Ok);
  REQUIRE(internal.warnings.size() == 1);
  CHECK(internal.warnings[0].rfind("DnsParent 192.0.2.1:53", 0) == 0);
  // From a resolver's cache (no authority) the same NXDOMAIN is the domain's deletion.
  for (auto& result : cycle.results) {
    if (result.check == Check::DnsRecursive) {
      result.dns->authoritative = false;
    }
  }
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

// Silence against the network evidence: a cycle for social.test whose web address is
// 203.0.113.80 and whose nameserver is 203.0.113.53, both in 203.0.113.0/24.
namespace {

constexpr const char* kWeb = "203.0.113.80:443";
constexpr const char* kWebIp = "203.0.113.80";
constexpr const char* kNs = "203.0.113.53:53";

ProbeResult liveness(const std::string& target, const std::string& subject, Failure failure) {
  auto result = probe(Check::Liveness, failure, target);
  result.subject = subject;
  return result;
}

// A traceroute to `destination`: routers at each of `routers` (empty = "*"), then the destination
// itself when `reached`, or a router inside its network when `in_network`.
ProbeResult path(const std::string& destination, const std::vector<std::string>& routers,
                 bool reached = false, bool in_network = false) {
  auto result =
      probe(Check::Path, reached || in_network ? Failure::None : Failure::Timeout, destination);
  result.subject = "traceroute udp";
  PathDetails details;
  details.destination = destination;
  details.network = RoutedPrefix::covering(destination)->to_string();
  int ttl = 0;
  for (const auto& router : routers) {
    PathHop hop;
    hop.ttl = ++ttl;
    hop.address = router;
    hop.icmp_type = router.empty() ? 0 : 11;
    details.hops.push_back(hop);
  }
  if (reached) {
    PathHop hop;
    hop.ttl = ++ttl;
    hop.address = destination;
    hop.icmp_type = 3;
    hop.icmp_code = 3;
    details.hops.push_back(hop);
  }
  details.reached_destination = reached;
  details.reached_network = reached || in_network;
  // The probe's own sentence, as probe_path writes it.
  const auto answered = std::find_if(routers.rbegin(), routers.rend(),
                                     [](const std::string& router) { return !router.empty(); });
  if (!reached && !in_network) {
    result.detail = answered == routers.rend()
                        ? fmt::format("* * *: silent from hop 1, before {}", details.network)
                        : fmt::format("{} → * * *: dies after hop {}, before {}", *answered,
                                      routers.rend() - answered, details.network);
  }
  result.path = details;
  return result;
}

// Resolver and parent answer; the nameserver and web address as given.
CycleResult silent_cycle(Failure ns, Failure web, const char* ns_target = kNs,
                         const char* web_target = kWeb) {
  CycleResult cycle;
  cycle.domain = "social.test";
  cycle.nameservers = {{"ns1.social.test", {address_of(ns_target)}}};
  cycle.results = {probe(Check::DnsRecursive, Failure::None, "127.0.0.1:53"),
                   probe(Check::DnsParent, Failure::None, "198.51.100.20:53"),
                   probe(Check::DnsAuthoritative, ns, ns_target),
                   probe(Check::Tcp, web, web_target)};
  if (web == Failure::None) {
    cycle.results.push_back(probe(Check::Https, Failure::None, web_target));
  }
  return cycle;
}

struct SilenceCase {
  const char* name;
  CycleResult cycle;
  Verdict verdict;
  std::string first_evidence;  // the deciding probe's line starts with this
  std::string proof;           // some evidence line contains this ("" = no check)
};

bool has_line(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& line) { return line.find(part) != std::string::npos; });
}

std::vector<SilenceCase> silence_cases() {
  std::vector<SilenceCase> cases;
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout);
    cycle.results.push_back(path(kWebIp, {"198.51.100.129"}));
    cases.push_back({"web port silent, nameserver in the same /24 answers", cycle,
                     Verdict::ServerDown, "Tcp 203.0.113.80:443",
                     "203.0.113.53 answered DNS (NOERROR), in the same 203.0.113.0/24: route "
                     "present"});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout);
    for (const auto* subject : {"icmp echo", "udp 33434", "tcp connect 80"}) {
      cycle.results.push_back(liveness(kWebIp, subject, Failure::Timeout));
    }
    cycle.results.push_back(path(kWebIp, {"198.51.100.129", ""}));
    cases.push_back({"web host silent to everything, nameserver in the same /24 answers", cycle,
                     Verdict::ServerDown, "Tcp 203.0.113.80:443", "in the same 203.0.113.0/24"});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout, "198.51.100.53:53");
    cycle.results.push_back(liveness(kWebIp, "icmp echo", Failure::None));
    cases.push_back({"web port silent, host answers ICMP echo", cycle, Verdict::ServerDown,
                     "Tcp 203.0.113.80:443", "203.0.113.80 answers icmp echo: route present"});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout, "198.51.100.53:53");
    cycle.results.push_back(path(kWebIp, {"198.51.100.129", "203.0.113.1"}, false, true));
    cases.push_back({"web host silent behind a router of its own network that answers", cycle,
                     Verdict::ServerDown, "Tcp 203.0.113.80:443",
                     "reaches 203.0.113.0/24 at hop 2 (203.0.113.1): route present"});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout, "198.51.100.53:53");
    cycle.results.push_back(liveness(kWebIp, "icmp echo", Failure::Timeout));
    cycle.results.push_back(path(kWebIp, {"198.51.100.129", "", "", ""}));
    cases.push_back({"path dies before the web's network and nothing there answers", cycle,
                     Verdict::RouteLoss, "Tcp 203.0.113.80:443",
                     "the path to 203.0.113.80: 198.51.100.129 → * * *: dies after hop 1, before "
                     "203.0.113.0/24; nothing in 203.0.113.0/24 answered: route lost"});
  }
  {
    auto cycle = silent_cycle(Failure::Timeout, Failure::None);
    set(cycle, Check::DnsRecursive, Failure::ServFail);
    cycle.results.push_back(path("203.0.113.53", {"198.51.100.129"}));
    cases.push_back({"both nameservers silent while the web site in their /24 serves", cycle,
                     Verdict::DnsFailure, "DnsAuthoritative 203.0.113.53:53",
                     "203.0.113.80 accepted TCP on port 443, in the same 203.0.113.0/24"});
  }
  {
    auto cycle = silent_cycle(Failure::Timeout, Failure::Timeout);
    set(cycle, Check::DnsRecursive, Failure::ServFail);
    cycle.results.push_back(path(kWebIp, {"", "", ""}));
    cycle.results.push_back(path("203.0.113.53", {"", "", ""}));
    cases.push_back({"black hole: the whole /24 silent and every path silent from hop 1", cycle,
                     Verdict::RouteLoss, "Tcp 203.0.113.80:443",
                     "silent from hop 1, before 203.0.113.0/24"});
  }
  {
    auto cycle = silent_cycle(Failure::NetUnreachable, Failure::NetUnreachable);
    cases.push_back({"a router's unreachable is route loss without a trace", cycle,
                     Verdict::RouteLoss, "Tcp 203.0.113.80:443",
                     "203.0.113.80:443 NetUnreachable: no route to 203.0.113.0/24"});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout, "198.51.100.53:53");
    cases.push_back({"silence with no evidence about the network names no layer", cycle,
                     Verdict::Unknown, "Tcp 203.0.113.80:443", ""});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout, "[2001:db8:500::53]:53",
                              "[2001:db8:500::80]:443");
    cases.push_back({"IPv6: web silent, nameserver in the same /48 answers", cycle,
                     Verdict::ServerDown, "Tcp [2001:db8:500::80]:443",
                     "in the same 2001:db8:500::/48"});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::Timeout, "[2001:db8:501::53]:53",
                              "[2001:db8:500::80]:443");
    cases.push_back({"IPv6: an answer from the next /48 proves nothing", cycle, Verdict::Unknown,
                     "Tcp [2001:db8:500::80]:443", ""});
  }
  {
    auto cycle = silent_cycle(Failure::None, Failure::None);
    set(cycle, Check::Https, Failure::Timeout);
    cycle.results.back().phase = Phase::Connect;
    cases.push_back({"accepted TCP, then silent before HTTPS connected", cycle, Verdict::ServerDown,
                     "Https 203.0.113.80:443", ""});
  }
  {
    CycleResult cycle;
    cycle.domain = "social.test";
    cycle.results = {probe(Check::DnsRecursive, Failure::NetUnreachable, "192.0.2.2:53"),
                     probe(Check::DnsParent, Failure::NetUnreachable, "192.0.2.2:53")};
    cases.push_back({"no control targets and nothing answers at all, resolvers included", cycle,
                     Verdict::VantageIsolated, "DnsRecursive 192.0.2.2:53", ""});
  }
  return cases;
}

}  // namespace

TEST_CASE("silence is read against the network evidence", "[reading][silence]") {
  for (const auto& c : silence_cases()) {
    INFO(c.name);
    const auto reading = read_cycle(c.cycle);
    INFO(reading.summary);
    for (const auto& line : reading.evidence) {
      INFO(line);
    }
    CHECK(to_string(reading.verdict) == to_string(c.verdict));
    REQUIRE_FALSE(reading.evidence.empty());
    CHECK(reading.evidence[0].rfind(c.first_evidence, 0) == 0);
    if (!c.proof.empty()) {
      CHECK(has_line(reading.evidence, c.proof));
    }
  }
}

TEST_CASE("the deciding probe is the first evidence line, side failures come later", "[reading]") {
  auto cycle = silent_cycle(Failure::None, Failure::ConnRefused);
  set(cycle, Check::DnsParent, Failure::ConnRefused);
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::ServerDown);
  REQUIRE_FALSE(reading.evidence.empty());
  CHECK(reading.evidence[0].rfind("Tcp 203.0.113.80:443", 0) == 0);
  CHECK(has_line(reading.warnings, "DnsParent"));
}

// Targets other than an https domain: an address (no DNS layer), an http and a tcp service.
namespace {

CycleResult address_target(Failure tcp, Failure request, Check request_check = Check::Https) {
  CycleResult cycle;
  cycle.domain = "192.0.2.10";
  cycle.results = {probe(Check::Tcp, tcp), probe(request_check, request)};
  if (tcp != Failure::None) {
    cycle.results.pop_back();
  }
  return cycle;
}

}  // namespace

TEST_CASE("an address target has no DNS layer: a refused port is SERVER_DOWN, never vanished",
          "[reading]") {
  const auto healthy_address = read_cycle(address_target(Failure::None, Failure::None));
  CHECK(healthy_address.verdict == Verdict::Ok);
  const auto refused = read_cycle(address_target(Failure::ConnRefused, Failure::None));
  CHECK(refused.verdict == Verdict::ServerDown);
  CHECK(refused.summary ==
        "the network of 192.0.2.10 answers, but no address accepts connections on the service "
        "port (ConnRefused)");
  REQUIRE_FALSE(refused.evidence.empty());
  CHECK(refused.evidence[0].rfind("Tcp 192.0.2.10:443", 0) == 0);
}

TEST_CASE("an http target's request failures read as HTTP, never as TLS", "[reading]") {
  auto status = address_target(Failure::None, Failure::HttpStatus, Check::Http);
  status.domain = "intranet.test";
  const auto reading = read_cycle(status);
  CHECK(reading.verdict == Verdict::HttpError);
  CHECK(reading.summary == "TCP works but HTTP fails on every address (HttpStatus)");
  CHECK(reading.evidence[0].rfind("Http 192.0.2.10:443", 0) == 0);

  const auto reset = read_cycle(address_target(Failure::None, Failure::ConnReset, Check::Http));
  CHECK(reset.verdict == Verdict::ServerDown);
  CHECK(reset.summary == "connections are cut before the HTTP response (ConnReset)");
}

TEST_CASE("a tcp target is OK on an accepted connect, with no request to make", "[reading]") {
  auto cycle = healthy();
  drop(cycle, Check::Https);
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::Ok);
  CHECK(reading.summary == "social.test accepts TCP on port 443 from this vantage");
  set(cycle, Check::Tcp, Failure::ConnRefused);
  CHECK(read_cycle(cycle).verdict == Verdict::ServerDown);
}

TEST_CASE("an address target that hears nothing is isolated only when no router answers either",
          "[reading]") {
  auto silent = address_target(Failure::Timeout, Failure::None);
  silent.results.push_back(path("192.0.2.10", {"", "", ""}));
  const auto isolated = read_cycle(silent);
  CHECK(isolated.verdict == Verdict::VantageIsolated);
  CHECK(isolated.summary ==
        "nothing answered this vantage, not even a router on the path: its own network is "
        "broken, not 192.0.2.10");

  // An unreachable from this vantage's table or a router is an answer about the route.
  CHECK(read_cycle(address_target(Failure::NetUnreachable, Failure::None)).verdict ==
        Verdict::RouteLoss);

  // The vantage's gateway answers and the path dies before 192.0.2.0/24: the route is gone.
  auto lost = address_target(Failure::Timeout, Failure::None);
  lost.results.push_back(path("192.0.2.10", {"198.51.100.1", ""}));
  const auto reading = read_cycle(lost);
  CHECK(reading.verdict == Verdict::RouteLoss);
}

namespace {

// The resolvers' answer when validation fails: SERVFAIL carrying an Extended DNS Error.
void fail_validation(ProbeResult& result, Failure failure, int code) {
  result.failure = failure;
  result.native_kind = NativeKind::Ede;
  result.native_code = code;
  result.detail = "SERVFAIL, Signature Expired: validation failure <social.test. A IN>";
}

}  // namespace

TEST_CASE("a validating resolver's DNSSEC failure is DNS_FAILURE naming the EDE, with servers up",
          "[reading][dnssec]") {
  auto cycle = healthy();
  // Two resolvers, each asked for A and AAAA.
  cycle.results.push_back(probe(Check::DnsRecursive, Failure::None, "127.0.0.1:53"));
  cycle.results.push_back(probe(Check::DnsRecursive, Failure::None, "127.0.0.2:53"));
  cycle.results.push_back(probe(Check::DnsRecursive, Failure::None, "127.0.0.2:53"));
  for (auto& result : cycle.results) {
    if (result.check == Check::DnsRecursive) {
      fail_validation(result, Failure::SignatureExpired, 7);
    }
  }
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::DnsFailure);
  CHECK(reading.summary ==
        "DNSSEC validation fails for social.test at 2 of 2 resolvers (EDE 7, Signature "
        "Expired); the authoritative servers answer");
  REQUIRE(reading.evidence.size() >= 3);
  CHECK(reading.evidence[0].rfind("DnsRecursive 127.0.0.1:53", 0) == 0);
  CHECK_THAT(reading.evidence[0], Catch::Contains("SignatureExpired (ede 7, SERVFAIL"));
  CHECK(std::find(reading.evidence.begin(), reading.evidence.end(),
                  "DNSSEC bogus (EDE 7, Signature Expired) from resolvers; the authoritative "
                  "servers answer") != reading.evidence.end());

  // With the zone's servers failing as well, the servers are the story, not the signatures.
  set(cycle, Check::DnsAuthoritative, Failure::ServFail);
  CHECK(read_cycle(cycle).summary.rfind("the authoritative servers of social.test", 0) == 0);
}

TEST_CASE("validation failing at some resolvers only is a warning said first, the verdict OK",
          "[reading][dnssec]") {
  auto cycle = healthy();
  ProbeResult bogus = probe(Check::DnsRecursive, Failure::None, "127.0.0.2:53");
  fail_validation(bogus, Failure::DnskeyMissing, 9);
  cycle.results.insert(cycle.results.begin() + 1, bogus);
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::Ok);
  REQUIRE(reading.warnings.size() == 2);
  CHECK(reading.warnings[0] ==
        "DNSSEC validation fails for social.test at 1 of 2 resolvers (EDE 9, DNSKEY Missing): "
        "whoever uses a validating resolver cannot resolve it");
  CHECK(reading.warnings[1].rfind("DnsRecursive 127.0.0.2:53", 0) == 0);
}

namespace {

// The parent's DS for `ds_tag` and the zone's two server addresses serving `served` (key tags,
// algorithm 13).
CycleResult signed_delegation(uint16_t ds_tag, const std::vector<uint16_t>& served) {
  auto cycle = healthy();
  for (auto& result : cycle.results) {
    if (result.check == Check::DnsParent) {
      result.dns = DnsDetails{};
      result.dns->delegation_signers.push_back(DelegationSigner{.owner = "social.test",
                                                                .key_tag = ds_tag,
                                                                .algorithm = 13,
                                                                .digest_type = 2,
                                                                .digest = "00"});
    }
  }
  for (const char* address : {"192.0.2.53:53", "192.0.2.54:53"}) {
    ProbeResult keys = probe(Check::DnsKeys, Failure::None, address);
    keys.dns = DnsDetails{};
    for (const uint16_t tag : served) {
      keys.dns->zone_keys.push_back(
          ZoneKey{.owner = "social.test", .flags = 257, .algorithm = 13, .key_tag = tag});
    }
    cycle.results.push_back(keys);
  }
  return cycle;
}

}  // namespace

TEST_CASE("a DS that names no key the zone's servers serve is evidence of the cut chain",
          "[reading][dnssec]") {
  const std::string mismatch =
      "the parent's DS for key 20326 (algorithm 13) names no key the servers of social.test "
      "serve (they serve 6331 (algorithm 13))";
  // Resolvers fail validation: the comparison backs the verdict, after the resolvers' proof.
  auto failing = signed_delegation(20326, {6331});
  for (auto& result : failing.results) {
    if (result.check == Check::DnsRecursive) {
      fail_validation(result, Failure::DnskeyMissing, 9);
    }
  }
  const auto reading = read_cycle(failing);
  CHECK(reading.verdict == Verdict::DnsFailure);
  REQUIRE(reading.evidence.size() >= 3);
  CHECK(reading.evidence[0].rfind("DnsRecursive 127.0.0.1:53", 0) == 0);
  CHECK(reading.evidence[1] ==
        "DNSSEC bogus (EDE 9, DNSKEY Missing) from resolvers; the authoritative servers answer");
  CHECK(reading.evidence[2] == mismatch);

  // Resolvers still answer (from cache, or without validating): the first warning.
  const auto cached = read_cycle(signed_delegation(20326, {6331}));
  CHECK(cached.verdict == Verdict::Ok);
  REQUIRE_FALSE(cached.warnings.empty());
  CHECK(cached.warnings[0] == mismatch);

  // A roll-over in progress: one of the DS names a served key. Nothing to say.
  CHECK(read_cycle(signed_delegation(6331, {6331, 20326})).warnings.empty());
  // No server told its keys (the query failed): no claim either way.
  auto untold = signed_delegation(20326, {6331});
  set(untold, Check::DnsKeys, Failure::Timeout);
  for (const auto& warning : read_cycle(untold).warnings) {
    CHECK(warning.rfind("the parent's DS", 0) != 0);
  }
  // A zone whose servers serve no DNSKEY at all.
  CHECK(read_cycle(signed_delegation(20326, {})).warnings[0] ==
        "the parent's DS for key 20326 (algorithm 13) names no key the servers of social.test "
        "serve (they serve no DNSKEY)");

  // One of two nameserver addresses not updated: resolvers that ask it fail. It is named.
  auto one_stale = signed_delegation(6331, {6331});
  one_stale.results.back().dns->zone_keys[0].key_tag = 20326;  // 192.0.2.54:53
  const auto partly = read_cycle(one_stale);
  REQUIRE_FALSE(partly.warnings.empty());
  CHECK(partly.warnings[0] ==
        "the parent's DS for key 6331 (algorithm 13) names no key served at 192.0.2.54:53 (1 of "
        "2 answering nameserver addresses; it serves 20326 (algorithm 13))");

  // The other address did not answer: what the one that did serves is all there is to say.
  auto one_told = signed_delegation(20326, {6331});
  one_told.results.back().failure = Failure::Timeout;
  one_told.results.back().dns.reset();
  CHECK(read_cycle(one_told).warnings[0] ==
        "the parent's DS for key 20326 (algorithm 13) names no key served at 192.0.2.53:53, the "
        "one server address of social.test that answered (it serves 6331 (algorithm 13))");
}

TEST_CASE("resolvers that fail without an Extended DNS Error still get the DS evidence",
          "[reading][dnssec]") {
  auto cycle = signed_delegation(20326, {6331});
  set(cycle, Check::DnsRecursive, Failure::ServFail);
  const auto reading = read_cycle(cycle);
  CHECK(reading.verdict == Verdict::DnsFailure);
  CHECK(reading.summary == "every recursive resolver fails for social.test (ServFail)");
  REQUIRE(reading.evidence.size() >= 2);
  CHECK(reading.evidence[0].rfind("DnsRecursive 127.0.0.1:53", 0) == 0);
  CHECK(reading.evidence[1] ==
        "the parent's DS for key 20326 (algorithm 13) names no key the servers of social.test "
        "serve (they serve 6331 (algorithm 13))");
}
