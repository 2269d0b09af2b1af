// `vantage-agent probe` against real daemons on loopback: every case starts a healthy lab (see
// probe_lab.hh), breaks one thing the way it breaks in production, runs one probe cycle and
// asserts what a user would read: the failure class and phase of each result, and the verdict.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "probe_lab.hh"
#include "support/net.hh"

namespace {

using nlohmann::json;
using std::string;
using vantage::testing::ChildSignatures;
using vantage::testing::ChildZone;
using vantage::testing::kChildV4;
using vantage::testing::kChildV6;
using vantage::testing::kDomain;
using vantage::testing::kParentV4;
using vantage::testing::kParentV6;
using vantage::testing::kResolverV4;
using vantage::testing::kResolverV6;
using vantage::testing::kWebV4;
using vantage::testing::kWebV6;
using vantage::testing::Leaf;
using vantage::testing::ProbeLab;
using vantage::testing::ProbeOptions;
using vantage::testing::ProbeRun;
using vantage::testing::query_dns;
using vantage::testing::target;
using vantage::testing::tcp_accepts;

const string kA = string(kDomain) + " A";
const string kAaaa = string(kDomain) + " AAAA";

string field(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key))
    return "<no " + string(key) + ">";
  const auto& value = object.at(key);
  return value.is_string() ? value.get<string>() : value.dump();
}

// How a user reads one result: "ok", or "ConnRefused at Connect".
string status_of(const json& result) {
  if (result.value("ok", false) && field(result, "failure") == "None")
    return "ok";
  return field(result, "failure") + " at " + field(result, "phase");
}

// The DNS rcode the server answered, or -1 when the result carries no response.
int rcode_of(const json& result) {
  if (!result.contains("dns") || !result.at("dns").is_object())
    return -1;
  return result.at("dns").value("rcode", -1);
}

std::vector<string> strings_at(const json& object, const char* outer, const char* inner) {
  std::vector<string> found;
  if (!object.is_object() || !object.contains(outer))
    return found;
  const auto& array = object.at(outer).value(inner, json::array());
  for (const auto& item : array) {
    if (item.is_string())
      found.push_back(item.get<string>());
  }
  return found;
}

bool contains(const std::vector<string>& values, std::string_view wanted) {
  return std::find(values.begin(), values.end(), wanted) != values.end();
}

bool answers_with(const json& result, std::string_view data) {
  if (!result.contains("dns"))
    return false;
  for (const auto& answer : result.at("dns").value("answers", json::array())) {
    if (answer.value("data", "") == data)
      return true;
  }
  return false;
}

// Whether the reading warns, in a line for humans, about `where`: one address of several failing
// does not decide the verdict, but the user must still see it.
bool warns_about(const ProbeRun& run, const string& where) {
  for (const auto& warning : strings_at(run.doc, "reading", "warnings")) {
    if (warning.find(where) != string::npos)
      return true;
  }
  return false;
}

// Every run: a JSON document, a verdict, and an exit status that agrees with it (0 only for OK).
void check_reading(const ProbeRun& run, std::string_view verdict) {
  REQUIRE_FALSE(run.outcome.timed_out);
  REQUIRE(run.doc.is_object());
  CHECK(field(run.doc, "domain") == kDomain);
  CHECK(run.verdict() == verdict);
  CHECK(run.outcome.exit_code == (verdict == "OK" ? 0 : 1));
}

// Options whose state directory remembers a healthy cycle: its addresses and nameservers are
// the last known ones the next cycle falls back on.
ProbeOptions remember_healthy_cycle(ProbeLab& lab) {
  ProbeOptions remembered;
  remembered.state = "remembered";
  const ProbeRun before = lab.probe(remembered);
  INFO(before.describe());
  check_reading(before, "OK");
  return remembered;
}

void check_exit_agrees(const ProbeRun& run) {
  REQUIRE_FALSE(run.outcome.timed_out);
  REQUIRE(run.doc.is_object());
  CHECK(run.outcome.exit_code == (run.verdict() == "OK" ? 0 : 1));
}

// The one result of `check` against `where`, or a failed REQUIRE naming what is missing.
json the_result(const ProbeRun& run, std::string_view check, const string& where,
                std::string_view subject = {}) {
  auto result = run.result(check, where, subject);
  INFO("looking for " << check << " " << where << " " << subject);
  REQUIRE(result.has_value());
  return *result;
}

// status_of() for the result of `check` against `where`; names a missing result instead of
// failing a REQUIRE, so it can sit inside a CHECK.
string status_at(const ProbeRun& run, std::string_view check, const string& where,
                 std::string_view subject = {}) {
  auto result = run.result(check, where, subject);
  if (!result)
    return "<no " + string(check) + " result for " + where + " " + string(subject) + ">";
  return status_of(*result);
}

void check_web_reachable(const ProbeRun& run, std::string_view ip) {
  const string where = target(ip, 443);
  CHECK(status_at(run, "Tcp", where) == "ok");
  const json https = the_result(run, "Https", where);
  CHECK(status_of(https) == "ok");
  CHECK(https.value("http_status", 0) == 200);
}

}  // namespace

TEST_CASE("the lab itself resolves social.test from its own root and serves it on both families",
          "[lab][loopback]") {
  // Without the agent: when this fails, the lab is broken and the other cases prove nothing.
  ProbeLab lab;
  for (const auto resolver : {kResolverV4, kResolverV6}) {
    for (const uint16_t qtype : {1, 28}) {
      INFO("resolver " << resolver << " qtype " << qtype);
      const auto reply = query_dns(resolver, 53, kDomain, qtype, true, std::chrono::seconds(2));
      REQUIRE(reply.has_value());
      CHECK(reply->rcode == 0);
      CHECK(reply->answer_count == 1);
    }
  }
  for (const auto web : {kWebV4, kWebV6}) {
    INFO("web " << web);
    CHECK(tcp_accepts(web, 443, std::chrono::seconds(1)));
  }
}

TEST_CASE("a healthy domain reads OK with every check passing over IPv4 and IPv6",
          "[healthy][dns][https][loopback]") {
  ProbeLab lab;
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "OK");

  const string resolver = target(kResolverV4, 53);
  const json a = the_result(run, "DnsRecursive", resolver, kA);
  CHECK(status_of(a) == "ok");
  CHECK(answers_with(a, kWebV4));
  const json aaaa = the_result(run, "DnsRecursive", resolver, kAaaa);
  CHECK(status_of(aaaa) == "ok");
  CHECK(answers_with(aaaa, kWebV6));
  CHECK(contains(strings_at(run.doc, "addresses", "recursive"), kWebV4));
  CHECK(contains(strings_at(run.doc, "addresses", "recursive"), kWebV6));

  // The parent (test.) delegates to ns1.social.test, glue for both families.
  const auto parents = run.results("DnsParent");
  CHECK_FALSE(parents.empty());
  for (const auto& parent : parents) {
    const string where = field(parent, "target");
    INFO("DnsParent " << where);
    CHECK((where == target(kParentV4, 53) || where == target(kParentV6, 53)));
    CHECK(status_of(parent) == "ok");
  }
  bool delegated = false;
  for (const auto& nameserver : run.doc.value("nameservers", json::array())) {
    if (nameserver.value("name", "") != "ns1.social.test")
      continue;
    delegated = true;
    const auto addresses = nameserver.value("addresses", std::vector<string>{});
    CHECK(contains(addresses, kChildV4));
    CHECK(contains(addresses, kChildV6));
  }
  CHECK(delegated);

  // The child zone's server answers authoritatively on both of its addresses, for both types.
  for (const auto ns : {kChildV4, kChildV6}) {
    for (const auto& subject : {kA, kAaaa}) {
      const json result = the_result(run, "DnsAuthoritative", target(ns, 53), subject);
      CHECK(status_of(result) == "ok");
      CHECK(result.value("dns", json::object()).value("aa", false));
    }
  }

  for (const auto web : {kWebV4, kWebV6})
    check_web_reachable(run, web);
}

TEST_CASE("a resolver reached over IPv6 answers A and AAAA and the domain reads OK",
          "[healthy][dns][ipv6][loopback]") {
  ProbeLab lab;
  ProbeOptions options;
  options.resolvers = {"[::1]:53"};
  const ProbeRun run = lab.probe(options);
  INFO(run.describe());
  check_reading(run, "OK");
  const json a = the_result(run, "DnsRecursive", "[::1]:53", kA);
  CHECK(answers_with(a, kWebV4));
  const json aaaa = the_result(run, "DnsRecursive", "[::1]:53", kAaaa);
  CHECK(answers_with(aaaa, kWebV6));
  CHECK_FALSE(run.result("DnsRecursive", target(kResolverV4, 53)).has_value());
}

TEST_CASE("a stopped server is ConnRefused at Connect on IPv4 and IPv6 and reads SERVER_DOWN",
          "[tcp][loopback]") {
  ProbeLab lab;
  lab.stop_web();
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "SERVER_DOWN");
  for (const auto web : {kWebV4, kWebV6}) {
    const json tcp = the_result(run, "Tcp", target(web, 443));
    CHECK(status_of(tcp) == "ConnRefused at Connect");
    CHECK(field(tcp, "native_kind") == "errno");
    CHECK(tcp.value("native_code", 0) == 111);  // ECONNREFUSED
  }
  for (const auto& https : run.results("Https")) {
    INFO("Https " << field(https, "target"));
    CHECK(status_of(https) != "ok");
  }
}

TEST_CASE("a server listening on IPv4 only is ConnRefused at Connect on its IPv6 address alone",
          "[tcp][ipv6][loopback]") {
  ProbeLab lab;
  lab.web_listens_on({string(kWebV4)});
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_exit_agrees(run);
  CHECK(status_at(run, "Tcp", target(kWebV6, 443)) == "ConnRefused at Connect");
  check_web_reachable(run, kWebV4);
  CHECK(warns_about(run, target(kWebV6, 443)));
}

TEST_CASE("a server listening on IPv6 only is ConnRefused at Connect on its IPv4 address alone",
          "[tcp][ipv6][loopback]") {
  ProbeLab lab;
  lab.web_listens_on({string(kWebV6)});
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_exit_agrees(run);
  CHECK(status_at(run, "Tcp", target(kWebV4, 443)) == "ConnRefused at Connect");
  check_web_reachable(run, kWebV6);
  CHECK(warns_about(run, target(kWebV4, 443)));
}

TEST_CASE("https answered with 503 is HttpStatus at Response and reads HTTP_ERROR",
          "[https][loopback]") {
  ProbeLab lab;
  lab.serve_status(503);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "HTTP_ERROR");
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 443)) == "ok");
    const json https = the_result(run, "Https", target(web, 443));
    CHECK(status_of(https) == "HttpStatus at Response");
    CHECK(https.value("http_status", 0) == 503);
    CHECK(field(https, "native_kind") == "http");
    CHECK(https.value("native_code", 0) == 503);
  }
}

TEST_CASE("https to an expired certificate is CertExpired at Tls and reads TLS_FAILURE",
          "[https][tls][loopback]") {
  ProbeLab lab;
  lab.serve_certificate(Leaf::Expired);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "TLS_FAILURE");
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 443)) == "ok");
    CHECK(status_at(run, "Https", target(web, 443)) == "CertExpired at Tls");
  }
}

// The healthy probe with more options; `json` false: the table a person reads.
ProbeOptions with_args(std::vector<string> args, bool json = true) {
  ProbeOptions options;
  options.extra_args = std::move(args);
  options.json = json;
  return options;
}

// Days from now until an RFC 3339 time ("2026-12-06T11:02:03Z").
double days_until(const string& text) {
  std::tm parts{};
  if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &parts) == nullptr)
    return -1e9;
  const auto left =
      std::chrono::system_clock::from_time_t(timegm(&parts)) - std::chrono::system_clock::now();
  return std::chrono::duration<double, std::ratio<86400>>(left).count();
}

TEST_CASE("a leaf that outlives its CA: the CA is named as the chain's earliest expiry",
          "[https][tls][loopback]") {
  ProbeLab lab;
  lab.serve_certificate(Leaf::OutlivesCa);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "OK");
  for (const auto web : {kWebV4, kWebV6}) {
    const json tls = the_result(run, "Https", target(web, 443)).value("tls", json::object());
    INFO("Https " << web << " tls " << tls.dump());
    CHECK(days_until(field(tls, "not_after")) > 29.9);
    CHECK(field(tls, "earliest_subject").rfind("CN=Vantage Test CA,", 0) == 0);
    const double ca_days = days_until(field(tls, "earliest_not_after"));
    CHECK(ca_days > 6.9);
    CHECK(ca_days < 7.01);
  }
  // Within the default warn_before of 14 days: the CA is warned of, at both addresses, and the
  // verdict stays OK.
  const json expiring = run.doc["reading"].value("expiring", json::array());
  REQUIRE(expiring.size() == 1);
  CHECK(expiring[0].value("kind", "") == "certificate");
  CHECK(expiring[0].value("subject", "").rfind("CN=Vantage Test CA,", 0) == 0);
  CHECK(expiring[0]["at"] == json{target(kWebV4, 443), target(kWebV6, 443)});
  CHECK(expiring[0].value("of", 0) == 2);
}

TEST_CASE(
    "a certificate about to expire on one of two addresses is a warning naming that address, "
    "the verdict OK",
    "[https][tls][expiry][loopback]") {
  ProbeLab lab;
  lab.serve_certificate(Leaf::RenewedButV4);
  // 3 days: the 1-day leaf on the IPv4 address is within it, the 7-day CA is not.
  const ProbeRun run = lab.probe(with_args({"--warn-certificate", "3d"}));
  INFO(run.describe());
  check_reading(run, "OK");
  const json expiring = run.doc["reading"].value("expiring", json::array());
  REQUIRE(expiring.size() == 1);
  CHECK(expiring[0].value("subject", "") == "CN=social.test,O=Vantage tests");
  CHECK(expiring[0]["at"] == json{target(kWebV4, 443)});
  CHECK(expiring[0].value("of", 0) == 2);
  const string text = expiring[0].value("text", "");
  CHECK(text.find("(in 23 hours), served at " + target(kWebV4, 443) +
                  " (1 of 2 addresses; the "
                  "others serve one valid until ") != string::npos);
  // The table a person reads says it too.
  const ProbeRun table = lab.probe(with_args({"--warn-certificate", "3d"}, false));
  CHECK(table.outcome.out.find(
            "expiring:\n  - certificate CN=social.test,O=Vantage tests expires ") != string::npos);
  // 0d: never warned of.
  const ProbeRun quiet = lab.probe(with_args({"--warn-certificate", "0d"}));
  CHECK_FALSE(quiet.doc["reading"].contains("expiring"));
}

TEST_CASE(
    "https to a certificate for another name is CertNameMismatch at Tls and reads "
    "TLS_FAILURE",
    "[https][tls][loopback]") {
  ProbeLab lab;
  lab.serve_certificate(Leaf::WrongName);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "TLS_FAILURE");
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 443)) == "ok");
    CHECK(status_at(run, "Https", target(web, 443)) == "CertNameMismatch at Tls");
  }
}

TEST_CASE(
    "https to a certificate from an untrusted CA is CertUntrusted at Tls and reads "
    "TLS_FAILURE",
    "[https][tls][loopback]") {
  ProbeLab lab;
  lab.serve_certificate(Leaf::UntrustedCa);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "TLS_FAILURE");
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 443)) == "ok");
    CHECK(status_at(run, "Https", target(web, 443)) == "CertUntrusted at Tls");
  }
}

TEST_CASE("with --insecure a certificate from an untrusted CA is accepted and reads OK",
          "[https][tls][loopback]") {
  // The twin of the case above: the same server passes once verification is off, so the
  // failure there is the certificate and nothing else about the handshake.
  ProbeLab lab;
  lab.serve_certificate(Leaf::UntrustedCa);
  ProbeOptions options;
  options.extra_args = {"--insecure"};
  const ProbeRun run = lab.probe(options);
  INFO(run.describe());
  check_reading(run, "OK");
  for (const auto web : {kWebV4, kWebV6}) {
    check_web_reachable(run, web);
    // No verified chain: the leaf alone, no "earliest of the chain" from what was sent.
    const json tls = the_result(run, "Https", target(web, 443)).value("tls", json::object());
    CHECK_FALSE(field(tls, "not_after").empty());
    CHECK(tls.value("earliest_not_after", "").empty());
  }
}

TEST_CASE(
    "a child zone its server REFUSES is Refused at both authoritative addresses and reads "
    "DNS_FAILURE",
    "[dns][loopback]") {
  ProbeLab lab;
  lab.set_child_zone(ChildZone::Absent);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "DNS_FAILURE");
  // What the resolver makes of it: SERVFAIL, for both types.
  for (const auto& subject : {kA, kAaaa}) {
    const json recursive = the_result(run, "DnsRecursive", target(kResolverV4, 53), subject);
    CHECK(status_of(recursive) == "ServFail at Resolve");
    CHECK(rcode_of(recursive) == 2);
  }
  // The delegation itself is intact...
  for (const auto& parent : run.results("DnsParent"))
    CHECK(status_of(parent) == "ok");
  // ...but the delegated server, reachable on both families, refuses the zone.
  for (const auto ns : {kChildV4, kChildV6}) {
    for (const auto& subject : {kA, kAaaa}) {
      const json result = the_result(run, "DnsAuthoritative", target(ns, 53), subject);
      CHECK(status_of(result) == "Refused at Resolve");
      CHECK(rcode_of(result) == 5);
    }
  }
}

TEST_CASE(
    "a child zone that fails to load is ServFail at both authoritative addresses and reads "
    "DNS_FAILURE",
    "[dns][loopback]") {
  ProbeLab lab;
  lab.set_child_zone(ChildZone::Unloadable);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "DNS_FAILURE");
  for (const auto& subject : {kA, kAaaa}) {
    const json recursive = the_result(run, "DnsRecursive", target(kResolverV4, 53), subject);
    CHECK(status_of(recursive) == "ServFail at Resolve");
  }
  for (const auto& parent : run.results("DnsParent"))
    CHECK(status_of(parent) == "ok");
  for (const auto ns : {kChildV4, kChildV6}) {
    for (const auto& subject : {kA, kAaaa}) {
      const json result = the_result(run, "DnsAuthoritative", target(ns, 53), subject);
      CHECK(status_of(result) == "ServFail at Resolve");
      CHECK(rcode_of(result) == 2);
    }
  }
}

// The DNSSEC members of a result's "dns": "rrsigs", "ds", "ede" (absent when there are none).
json dnssec_list(const json& result, const char* name) {
  return result.value("dns", json::object()).value(name, json::array());
}

// The RRSIG in `result` over its A records, or null.
json signature_over_a(const json& result) {
  for (const auto& signature : dnssec_list(result, "rrsigs")) {
    if (signature.value("covered", 0) == 1)
      return signature;
  }
  return nullptr;
}

TEST_CASE(
    "the signed lab validates: AD from the resolver, the zone's signature from every "
    "nameserver, its DS at the parent",
    "[dnssec][dns][loopback]") {
  ProbeLab lab;
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "OK");
  for (const auto& subject : {kA, kAaaa}) {
    const json recursive = the_result(run, "DnsRecursive", target(kResolverV4, 53), subject);
    CHECK(recursive.value("dns", json::object()).value("ad", false));
  }
  for (const auto ns : {kChildV4, kChildV6}) {
    const json authoritative = the_result(run, "DnsAuthoritative", target(ns, 53), kA);
    const json signature = signature_over_a(authoritative);
    INFO("DnsAuthoritative " << ns);
    REQUIRE(signature.is_object());
    CHECK(signature.value("key_tag", 0) == lab.child_key_tag());
    CHECK(signature.value("signer", "") == "social.test");
    CHECK(signature.value("algorithm", 0) == 13);
    CHECK_THAT(field(authoritative, "detail"),
               Catch::Contains("signed by key " + std::to_string(lab.child_key_tag())));
  }
  const auto parents = run.results("DnsParent");
  REQUIRE_FALSE(parents.empty());
  for (const auto& parent : parents) {
    INFO("DnsParent " << field(parent, "target"));
    const json ds = dnssec_list(parent, "ds");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].value("key_tag", 0) == lab.child_key_tag());
    CHECK(ds[0].value("owner", "") == "social.test");
  }
  // With a DS at the parent, the zone's servers are asked for their keys: the DS names one.
  for (const auto ns : {kChildV4, kChildV6}) {
    const json keys = the_result(run, "DnsKeys", target(ns, 53));
    CHECK(status_of(keys) == "ok");
    CHECK_THAT(field(keys, "detail"),
               Catch::Contains(std::to_string(lab.child_key_tag()) + " (algorithm 13"));
  }
  CHECK(run.doc["reading"].value("warnings", json::array()).empty());
}

TEST_CASE(
    "expired signatures read DNS_FAILURE: SignatureExpired (EDE 7) from the resolver while "
    "the zone's servers answer",
    "[dnssec][dns][loopback]") {
  ProbeLab lab;
  lab.sign_child_zone(ChildSignatures::Expired);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "DNS_FAILURE");
  CHECK(field(run.doc.at("reading"), "summary") ==
        "DNSSEC validation fails for social.test at 1 of 1 resolvers (EDE 7, Signature Expired); "
        "the authoritative servers answer");
  for (const auto& subject : {kA, kAaaa}) {
    const json recursive = the_result(run, "DnsRecursive", target(kResolverV4, 53), subject);
    CHECK(status_of(recursive) == "SignatureExpired at Resolve");
    CHECK(field(recursive, "native_kind") == "ede");
    CHECK(recursive.value("native_code", 0) == 7);
    CHECK(rcode_of(recursive) == 2);
    const json ede = dnssec_list(recursive, "ede");
    REQUIRE(ede.size() >= 1);
    CHECK(ede[0].value("code", 0) == 7);
  }
  // The servers answer, and their answer shows the lapsed signature.
  for (const auto ns : {kChildV4, kChildV6}) {
    const json authoritative = the_result(run, "DnsAuthoritative", target(ns, 53), kA);
    CHECK(status_of(authoritative) == "ok");
    CHECK_THAT(field(authoritative, "detail"), Catch::Contains(", expired "));
  }
  const auto evidence = strings_at(run.doc, "reading", "evidence");
  REQUIRE_FALSE(evidence.empty());
  CHECK(evidence[0].rfind("DnsRecursive " + target(kResolverV4, 53), 0) == 0);
  CHECK(contains(evidence,
                 "DNSSEC bogus (EDE 7, Signature Expired) from resolvers; the "
                 "authoritative servers answer"));
}

TEST_CASE("a DS at the parent that matches no key of the zone reads DNS_FAILURE: DnskeyMissing",
          "[dnssec][dns][loopback]") {
  ProbeLab lab;
  lab.sign_child_zone(ChildSignatures::DsMismatch);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "DNS_FAILURE");
  const json recursive = the_result(run, "DnsRecursive", target(kResolverV4, 53), kA);
  CHECK(status_of(recursive) == "DnskeyMissing at Resolve");
  CHECK(recursive.value("native_code", 0) == 9);
  // The parent's DS names another key than the one that signs the zone.
  REQUIRE_FALSE(run.results("DnsParent").empty());
  for (const auto& parent : run.results("DnsParent")) {
    const json ds = dnssec_list(parent, "ds");
    REQUIRE(ds.size() == 1);
    CHECK(ds[0].value("key_tag", 0) != lab.child_key_tag());
  }
  // The zone's servers serve their key, which the DS does not name: the evidence says so, after
  // the resolvers' proof.
  for (const auto ns : {kChildV4, kChildV6}) {
    CHECK(status_at(run, "DnsKeys", target(ns, 53)) == "ok");
  }
  const auto evidence = strings_at(run.doc, "reading", "evidence");
  const auto mismatch = std::find_if(evidence.begin(), evidence.end(), [](const string& line) {
    return line.rfind("the parent's DS for key ", 0) == 0;
  });
  REQUIRE(mismatch != evidence.end());
  CHECK_THAT(*mismatch, Catch::Contains("names no key the servers of social.test serve (they "
                                        "serve " +
                                        std::to_string(lab.child_key_tag()) + " (algorithm 13)"));
}

TEST_CASE("signatures two days from expiry still validate and read OK, their end on record",
          "[dnssec][dns][loopback]") {
  ProbeLab lab;
  lab.sign_child_zone(ChildSignatures::ExpiringSoon);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "OK");
  const json signature =
      signature_over_a(the_result(run, "DnsAuthoritative", target(kChildV4, 53), kA));
  REQUIRE(signature.is_object());
  const double left = days_until(field(signature, "expiration"));
  CHECK(left > 1.9);
  CHECK(left < 2.01);
  // Within the default warn_before of 3 days: a warning naming the key and both nameserver
  // addresses, beside the OK.
  const json expiring = run.doc["reading"].value("expiring", json::array());
  const auto signatures = std::find_if(expiring.begin(), expiring.end(), [](const json& item) {
    return item.value("kind", "") == "signature";
  });
  REQUIRE(signatures != expiring.end());
  CHECK((*signatures)["subject"] ==
        "key " + std::to_string(lab.child_key_tag()) + " (algorithm 13) of social.test");
  CHECK((*signatures)["at"] == json{target(kChildV4, 53), target(kChildV6, 53)});
  const ProbeRun quiet = lab.probe(with_args({"--warn-signature", "1d"}));
  const json later = quiet.doc["reading"].value("expiring", json::array());
  CHECK(std::none_of(later.begin(), later.end(),
                     [](const json& item) { return item.value("kind", "") == "signature"; }));
}

TEST_CASE("a delegation removed at the parent is NxDomain and reads DOMAIN_VANISHED",
          "[dns][loopback]") {
  ProbeLab lab;
  lab.set_delegation(false);
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "DOMAIN_VANISHED");
  for (const auto& subject : {kA, kAaaa}) {
    const json recursive = the_result(run, "DnsRecursive", target(kResolverV4, 53), subject);
    CHECK(status_of(recursive) == "NxDomain at Resolve");
    CHECK(rcode_of(recursive) == 3);
  }
  // The parent's servers, asked directly on both families, say the name does not exist.
  const auto parents = run.results("DnsParent");
  CHECK_FALSE(parents.empty());
  for (const auto& parent : parents) {
    INFO("DnsParent " << field(parent, "target"));
    CHECK(status_of(parent) == "NxDomain at Resolve");
    CHECK(rcode_of(parent) == 3);
  }
  CHECK(run.results("DnsAuthoritative").empty());
}

TEST_CASE(
    "after a healthy cycle a removed delegation reads DOMAIN_VANISHED and the last known "
    "addresses are still probed",
    "[dns][state][loopback]") {
  ProbeLab lab;
  const ProbeOptions remembered = remember_healthy_cycle(lab);
  lab.set_delegation(false);
  const ProbeRun run = lab.probe(remembered);
  INFO(run.describe());
  check_reading(run, "DOMAIN_VANISHED");
  const auto last_known = strings_at(run.doc, "addresses", "last_known");
  CHECK(contains(last_known, kWebV4));
  CHECK(contains(last_known, kWebV6));
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 443)) == "ok");
  }
}

namespace {

bool has_evidence(const ProbeRun& run, std::string_view part) {
  for (const auto& line : strings_at(run.doc, "reading", "evidence")) {
    if (line.find(part) != string::npos)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a web port that drops SYNs silently reads SERVER_DOWN, with the host's answers as proof",
          "[silence][loopback]") {
  ProbeLab lab;
  lab.drop_silently("ip daddr " + string(kWebV4) + " tcp dport 443");
  lab.drop_silently("ip6 daddr " + string(kWebV6) + " tcp dport 443");
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "SERVER_DOWN");
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 443)) == "Timeout at Connect");
    // Asked on silence: the host answers an echo and an RST on another port.
    CHECK(status_at(run, "Liveness", string(web), "icmp echo") == "ok");
    CHECK(status_at(run, "Liveness", target(web, 80)) == "ok");
    CHECK(run.result("Path", string(web)).has_value());
  }
  const auto evidence = strings_at(run.doc, "reading", "evidence");
  REQUIRE_FALSE(evidence.empty());
  CHECK(evidence[0].rfind("Tcp ", 0) == 0);
  CHECK(has_evidence(run, string(kWebV4) + " answers icmp echo: route present"));
}

TEST_CASE("a web address that drops everything reads SERVER_DOWN: its nameserver's /24 answers",
          "[silence][loopback]") {
  ProbeLab lab;
  lab.drop_silently("ip daddr " + string(kWebV4));
  lab.drop_silently("ip6 daddr " + string(kWebV6));
  const ProbeRun run = lab.probe();
  INFO(run.describe());
  check_reading(run, "SERVER_DOWN");
  CHECK(status_at(run, "Liveness", string(kWebV4), "icmp echo") == "Timeout at Connect");
  CHECK(has_evidence(run, "answered DNS (NOERROR), in the same 192.0.2.0/24: route present"));
}

TEST_CASE("nameservers silent on DNS while their /24 serves the web read DNS_FAILURE",
          "[silence][loopback]") {
  ProbeLab lab;
  const ProbeOptions remembered = remember_healthy_cycle(lab);
  lab.drop_silently("ip daddr " + string(kChildV4) + " meta l4proto { tcp, udp } th dport 53");
  lab.drop_silently("ip6 daddr " + string(kChildV6) + " meta l4proto { tcp, udp } th dport 53");
  const ProbeRun run = lab.probe(remembered);
  INFO(run.describe());
  check_reading(run, "DNS_FAILURE");
  REQUIRE_FALSE(run.results("DnsAuthoritative").empty());
  for (const auto& query : run.results("DnsAuthoritative")) {
    CHECK(status_of(query) == "Timeout at Resolve");
  }
  CHECK(has_evidence(run, "route present"));
}

TEST_CASE("a 300 KB line under a body_regex that backtracks on it is ContentMismatch, no crash",
          "[https][body_regex][loopback]") {
  ProbeLab lab;
  // A hostile or broken site: one long line. A backtracking engine recursed once per character
  // of it and overflowed the agent's stack (SIGSEGV) on both patterns.
  lab.serve_body(string(300 * 1024, 'x') + "\n");
  for (const char* pattern : {"^.*welcome", "(x|xx)+y"}) {
    ProbeOptions options;
    options.extra_args = {"--body-regex", pattern};
    const ProbeRun run = lab.probe(options);
    INFO(pattern << "\n" << run.describe());
    check_reading(run, "HTTP_ERROR");
    for (const auto web : {kWebV4, kWebV6}) {
      const json https = the_result(run, "Https", target(web, 443));
      CHECK(status_of(https) == "ContentMismatch at Response");
      CHECK(https.value("http_status", 0) == 200);
      CHECK(field(https, "detail") == "body does not match /" + string(pattern) + "/");
    }
  }
  // The same page under a pattern that matches it reads OK.
  ProbeOptions matching;
  matching.extra_args = {"--body-regex", "^(x|xx)+\n$"};
  const ProbeRun run = lab.probe(matching);
  INFO(run.describe());
  check_reading(run, "OK");
}

// Targets beyond an https domain: `probe` takes a URL (http://, tcp://) or an address. Each
// reads layer by layer like an https domain, without the layers it does not have.
namespace {

ProbeOptions probing(std::string target, bool pin_ca = false) {
  ProbeOptions options;
  options.target = std::move(target);
  options.pin_ca = pin_ca;
  return options;
}

bool no_dns_probes(const ProbeRun& run) {
  return run.results("DnsRecursive").empty() && run.results("DnsParent").empty() &&
         run.results("DnsAuthoritative").empty();
}

}  // namespace

TEST_CASE("an http target is one plain HTTP request per address on port 80, with no TLS phase",
          "[http][loopback]") {
  ProbeLab lab;
  const ProbeRun run = lab.probe(probing("http://social.test/"));
  INFO(run.describe());
  check_reading(run, "OK");
  CHECK(run.results("Https").empty());
  for (const auto web : {kWebV4, kWebV6}) {
    CHECK(status_at(run, "Tcp", target(web, 80)) == "ok");
    const json http = the_result(run, "Http", target(web, 80));
    CHECK(status_of(http) == "ok");
    CHECK(http.value("http_status", 0) == 200);
    CHECK(field(http, "subject") == "http://social.test:80/");
    CHECK_FALSE(http.contains("tls"));
    CHECK_FALSE(http.at("timings_us").contains("tls"));
    CHECK(http.at("timings_us").contains("first_byte"));
  }
}

TEST_CASE("a plain-HTTP port probed as https is TLS_FAILURE; as an http target it is OK",
          "[http][tls][loopback]") {
  ProbeLab lab;
  const ProbeRun as_https = lab.probe(probing("https://social.test:80/", true));
  INFO(as_https.describe());
  check_reading(as_https, "TLS_FAILURE");
  CHECK(status_at(as_https, "Https", target(kWebV4, 80)) == "TlsHandshake at Tls");
  // The same domain and port as the plain service it is: the http:// scheme, and --port.
  const ProbeRun plain = lab.probe([] {
    auto options = probing("http://social.test");
    options.extra_args = {"--port", "80"};
    return options;
  }());
  INFO(plain.describe());
  check_reading(plain, "OK");
}

TEST_CASE("an http target answered 503 is HttpStatus at Response and reads HTTP_ERROR over TCP",
          "[http][loopback]") {
  ProbeLab lab;
  lab.serve_status(503);
  const ProbeRun run = lab.probe(probing("http://social.test/"));
  INFO(run.describe());
  check_reading(run, "HTTP_ERROR");
  CHECK(field(run.doc.at("reading"), "summary") ==
        "TCP works but HTTP fails on every address (HttpStatus)");
  const json http = the_result(run, "Http", target(kWebV4, 80));
  CHECK(status_of(http) == "HttpStatus at Response");
  CHECK(http.value("http_status", 0) == 503);
}

TEST_CASE(
    "a tcp target is a connect and nothing more: OK while the port accepts, SERVER_DOWN "
    "once it refuses",
    "[tcp][loopback]") {
  ProbeLab lab;
  const ProbeRun run = lab.probe(probing("tcp://social.test:443"));
  INFO(run.describe());
  check_reading(run, "OK");
  CHECK(field(run.doc.at("reading"), "summary") ==
        "social.test accepts TCP on port 443 from this vantage");
  CHECK(run.results("Https").empty());
  CHECK(run.results("Http").empty());
  CHECK(status_at(run, "Tcp", target(kWebV6, 443)) == "ok");
  CHECK_FALSE(run.results("DnsAuthoritative").empty());  // the DNS layers are still read

  lab.stop_web();
  const ProbeRun stopped = lab.probe(probing("tcp://social.test:443"));
  INFO(stopped.describe());
  check_reading(stopped, "SERVER_DOWN");
  CHECK(status_at(stopped, "Tcp", target(kWebV4, 443)) == "ConnRefused at Connect");
}

TEST_CASE(
    "an address target has no DNS layer: OK over HTTP, over HTTPS only with the address in the "
    "certificate, SERVER_DOWN when stopped, never DOMAIN_VANISHED",
    "[address][loopback]") {
  ProbeLab lab;
  const auto check_address_reading = [](const ProbeRun& run, std::string_view address,
                                        std::string_view verdict) {
    INFO(run.describe());
    REQUIRE(run.doc.is_object());
    CHECK(field(run.doc, "domain") == address);
    CHECK(run.verdict() == verdict);
    CHECK(no_dns_probes(run));
  };
  const ProbeRun plain = lab.probe(probing("http://192.0.2.10/"));
  check_address_reading(plain, kWebV4, "OK");
  CHECK(status_at(plain, "Http", target(kWebV4, 80)) == "ok");

  // The lab's certificate names social.test, not the address: curl checks the address.
  const ProbeRun mismatch = lab.probe(probing("192.0.2.10", true));
  check_address_reading(mismatch, kWebV4, "TLS_FAILURE");
  CHECK(status_at(mismatch, "Https", target(kWebV4, 443)) == "CertNameMismatch at Tls");

  // A certificate that lists the addresses (subjectAltName IP) verifies for them.
  lab.serve_certificate(Leaf::Addresses);
  for (const auto& [written, address] :
       {std::pair{"192.0.2.10", kWebV4}, std::pair{"[2001:db8::10]", kWebV6}}) {
    const ProbeRun verified = lab.probe(probing(written, true));
    check_address_reading(verified, address, "OK");
    CHECK(status_at(verified, "Https", target(address, 443)) == "ok");
  }
  lab.serve_certificate(Leaf::Valid);

  const ProbeRun insecure = lab.probe([] {
    auto options = probing("[2001:db8::10]");
    options.extra_args = {"--insecure"};
    return options;
  }());
  check_address_reading(insecure, kWebV6, "OK");
  CHECK(status_at(insecure, "Https", target(kWebV6, 443)) == "ok");

  lab.stop_web();
  const ProbeRun stopped = lab.probe(probing("tcp://192.0.2.10:443"));
  check_address_reading(stopped, kWebV4, "SERVER_DOWN");
  CHECK(field(stopped.doc.at("reading"), "summary") ==
        "the network of 192.0.2.10 answers, but no address accepts connections on the service "
        "port (ConnRefused)");
}

TEST_CASE("probe refuses a target it cannot read, naming it, with exit 2", "[usage][loopback]") {
  ProbeLab lab;
  for (const auto& [target_text, message] : std::vector<std::pair<string, string>>{
           {"ftp://social.test/", "does not start with https://, http:// or tcp://"},
           {"tcp://social.test", "a tcp target needs its port (tcp://HOST:PORT)"},
           {"192.0.2.300", "is not a domain name or an IP address"}}) {
    const ProbeRun run = lab.probe(probing(target_text));
    INFO(run.describe());
    CHECK(run.outcome.exit_code == 2);
    CHECK_THAT(run.outcome.err, Catch::Contains(message));
  }
  const ProbeRun pinned_http = lab.probe(probing("http://social.test/", true));
  CHECK(pinned_http.outcome.exit_code == 2);
  CHECK_THAT(pinned_http.outcome.err, Catch::Contains("an http target has no TLS"));
}

TEST_CASE(
    "an internal name served by the agent's own resolver reads OK, though the public "
    "parent says NXDOMAIN",
    "[internal][loopback]") {
  ProbeLab lab;
  // The resolver serves corp.test itself; test. (the "public" parent) delegates no such zone.
  lab.serve_internal_zone("corp.test.", {"corp.test. SOA ns.corp.test. hostmaster.corp.test. 1 "
                                         "3600 600 86400 60",
                                         "app.corp.test. A 192.0.2.10"});
  const ProbeRun run = lab.probe(probing("http://app.corp.test/"));
  INFO(run.describe());
  REQUIRE(run.doc.is_object());
  CHECK(run.verdict() == "OK");
  const json a = the_result(run, "DnsRecursive", target(kResolverV4, 53), "app.corp.test A");
  CHECK(status_of(a) == "ok");
  CHECK(a.at("dns").value("aa", false));
  CHECK(status_at(run, "Http", target(kWebV4, 80)) == "ok");
  // The public parent's word is still shown, as a warning.
  bool parent_nxdomain = false;
  for (const auto& parent : run.results("DnsParent")) {
    parent_nxdomain = parent_nxdomain || field(parent, "failure") == "NxDomain";
  }
  CHECK(parent_nxdomain);
  CHECK(warns_about(run, "DnsParent"));
}
