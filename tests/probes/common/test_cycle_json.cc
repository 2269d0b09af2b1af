#include <catch2/catch.hpp>

#include "cycle_reader.hh"
#include "result_json.hh"

using namespace vantage;
using namespace std::chrono_literals;

namespace {

CycleResult sample_cycle() {
  CycleResult cycle;
  cycle.domain = "social.test";
  cycle.started_at = std::chrono::system_clock::time_point(1764043200123ms);
  cycle.duration = 12345us;
  cycle.recursive_addresses = {"192.0.2.10", "2001:db8::10"};
  cycle.authoritative_addresses = {"192.0.2.10"};
  cycle.nameservers = {{"ns1.social.test", {"192.0.2.53", "2001:db8::53"}}};
  cycle.last_known_used.addresses = {"192.0.2.9"};
  cycle.reading = {Verdict::TlsFailure,
                   "TLS fails",
                   {"Https 192.0.2.10:443: CertExpired"},
                   {},
                   {{ExpiryKind::Signature,
                     "key 6331 (algorithm 13) of social.test",
                     std::chrono::sys_seconds(1798369041s),
                     {"192.0.2.53:53"},
                     2,
                     "DNSSEC signatures by key 6331 (algorithm 13) of social.test expire ..."}}};

  ProbeResult dns;
  dns.check = Check::DnsAuthoritative;
  dns.target = "192.0.2.53:53";
  dns.subject = "social.test A @ns1.social.test";
  dns.native_kind = NativeKind::Rcode;
  dns.timings.resolve = 800us;
  dns.timings.total = 800us;
  dns.dns.emplace();
  dns.dns->qname = "social.test";
  dns.dns->qtype = 1;
  dns.dns->authoritative = true;
  dns.dns->authenticated = true;
  dns.dns->answers = {{"social.test", 1, 300, "192.0.2.10"}};
  dns.dns->extended_errors = {{22, "no reachable authority"}};
  dns.dns->signatures = {{"social.test", 1, 13, 6331, "social.test",
                          std::chrono::sys_seconds(1795949841s),
                          std::chrono::sys_seconds(1798369041s)}};
  dns.dns->delegation_signers = {{"social.test", 6331, 13, 2, "d8d684558309b79e"}};
  dns.dns->zone_keys = {{"social.test", 257, 13, 6331}};
  ProbeResult https;
  https.check = Check::Https;
  https.target = "192.0.2.10:443";
  https.failure = Failure::CertExpired;
  https.phase = Phase::Tls;
  https.native_code = 10;
  https.native_kind = NativeKind::X509;
  https.timings.connect = 100us;
  https.tls = TlsDetails{"",          "CN=social.test",      "CN=Lab CA", "2020-01-02T00:00:00Z",
                         "CN=Lab CA", "2020-01-01T00:00:00Z"};
  ProbeResult path;
  path.check = Check::Path;
  path.target = "192.0.2.10";
  path.subject = "traceroute udp";
  path.failure = Failure::Timeout;
  path.phase = Phase::Connect;
  PathDetails details;
  details.destination = "192.0.2.10";
  details.network = "192.0.2.0/24";
  details.destination_asn = 64500;
  PathHop router;
  router.ttl = 1;
  router.address = "198.51.100.129";
  router.rtt = 310us;
  router.asn = 64496;
  router.icmp_type = 11;
  PathHop silent;
  silent.ttl = 2;
  details.hops = {router, silent};
  path.path = details;
  cycle.results = {dns, https, path};
  return cycle;
}

}  // namespace

TEST_CASE("a cycle survives the JSON round trip unchanged", "[json]") {
  const auto original = sample_cycle();
  const auto json = to_json(original);
  CHECK(json["schema_version"] == 2);
  CHECK(json["started_at"] == "2025-11-25T04:00:00.123Z");
  CHECK(json["reading"]["verdict"] == "TLS_FAILURE");
  CHECK(json["results"][1]["failure"] == "CertExpired");
  CHECK(json["results"][1]["ok"] == false);

  const auto back = cycle_from_json(json.dump());
  CHECK(back.domain == original.domain);
  CHECK(back.started_at == original.started_at);
  CHECK(back.duration == original.duration);
  CHECK(back.nameservers[0].addresses == original.nameservers[0].addresses);
  CHECK(back.reading.verdict == Verdict::TlsFailure);
  CHECK(json["reading"]["expiring"][0]["kind"] == "signature");
  CHECK(back.reading.expiring == original.reading.expiring);
  REQUIRE(back.results.size() == 3);
  CHECK(back.results[0].dns == original.results[0].dns);
  CHECK(back.results[0].timings.resolve == 800us);
  CHECK(back.results[1].tls == original.results[1].tls);
  CHECK(back.results[1].failure == Failure::CertExpired);
  CHECK(back.results[2].check == Check::Path);
  CHECK(back.results[2].path == original.results[2].path);
  CHECK(to_json(back) == json);
}

TEST_CASE("a cycle document of an unknown schema version is rejected", "[json]") {
  auto json = to_json(sample_cycle());
  json["schema_version"] = 3;
  CHECK_THROWS_WITH(cycle_from_json(json.dump()), Catch::Contains("unsupported schema_version 3"));
}

TEST_CASE("text after a cycle document is not JSON", "[json]") {
  CHECK_THROWS_AS(cycle_from_json(to_json(sample_cycle()).dump() + "{}"), MalformedJson);
  CHECK_NOTHROW(cycle_from_json(to_json(sample_cycle()).dump(2) + "\n"));
}

TEST_CASE("a version 1 cycle document from an older agent is still read", "[json]") {
  auto json = to_json(sample_cycle());
  json["schema_version"] = 1;
  json["results"].erase(2);
  const auto back = cycle_from_json(json.dump());
  CHECK(back.results.size() == 2);
  CHECK(back.reading.verdict == Verdict::TlsFailure);
}

TEST_CASE("an unknown failure name is rejected naming the field", "[json]") {
  auto json = to_json(sample_cycle());
  json["results"][0]["failure"] = "Exploded";
  CHECK_THROWS_WITH(cycle_from_json(json.dump()), Catch::Contains("\"failure\""));
}

TEST_CASE("an unknown native_kind is rejected naming the field", "[json]") {
  auto json = to_json(sample_cycle());
  json["results"][0]["native_kind"] = "signal";
  CHECK_THROWS_WITH(cycle_from_json(json.dump()), Catch::Contains("\"native_kind\""));
}

TEST_CASE("a result without a native code reads as NativeKind::None", "[json]") {
  auto json = to_json(sample_cycle());
  json["results"][0].erase("native_kind");
  CHECK(cycle_from_json(json.dump()).results.at(0).native_kind == NativeKind::None);
}

TEST_CASE("every enum name parses back to itself", "[json]") {
  for (int i = 0; i <= static_cast<int>(Check::DnsKeys); ++i) {
    const auto check = static_cast<Check>(i);
    CHECK(check_from_string(to_string(check)) == check);
  }
  for (int i = 0; i <= static_cast<int>(Failure::Internal); ++i) {
    const auto failure = static_cast<Failure>(i);
    CHECK(failure_from_string(to_string(failure)) == failure);
  }
  for (int i = 0; i <= static_cast<int>(Verdict::VantageIsolated); ++i) {
    const auto verdict = static_cast<Verdict>(i);
    CHECK(verdict_from_string(to_string(verdict)) == verdict);
  }
  for (int i = 0; i <= static_cast<int>(NativeKind::Ede); ++i) {
    const auto kind = static_cast<NativeKind>(i);
    CHECK(native_kind_from_string(to_string(kind)) == kind);
  }
}
