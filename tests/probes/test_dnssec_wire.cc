// The DNSSEC parts of responses, read from messages a real NSD and a validating Unbound sent
// (tests/testdata/dnssec, written by scripts/capture-dnssec-wire: what each file is and the keys
// behind it are in tests/testdata/dnssec/README.md).
#include <algorithm>
#include <catch2/catch.hpp>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "classify.hh"
#include "dns_message.hh"
#include "dnssec_wire.hh"
#include "result_json.hh"

using namespace vantage;

namespace {

std::vector<unsigned char> captured(const std::string& name) {
  const std::string path = std::string(VANTAGE_SOURCE_DIR) + "/tests/testdata/dnssec/" + name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<DnsDetails> parse(const std::vector<unsigned char>& wire) {
  return parse_response(wire.data(), static_cast<int>(wire.size()));
}

std::optional<DnsDetails> parse_captured(const std::string& name) {
  return parse(captured(name));
}

std::string utc(std::chrono::sys_seconds time) {
  return format_time(time);
}

// The signature over `owner`'s records of `type`; fails the test if there is none.
const Signature& covering(const DnsDetails& details, uint16_t type) {
  const auto found = std::find_if(details.signatures.begin(), details.signatures.end(),
                                  [type](const Signature& s) { return s.covered == type; });
  REQUIRE(found != details.signatures.end());
  return *found;
}

// Where `bytes` first occur in `wire`; fails the test if they do not.
size_t find(const std::vector<unsigned char>& wire, const std::vector<unsigned char>& bytes) {
  const auto found = std::search(wire.begin(), wire.end(), bytes.begin(), bytes.end());
  REQUIRE(found != wire.end());
  return static_cast<size_t>(found - wire.begin());
}

}  // namespace

TEST_CASE("every query asks with EDNS and the DO flag", "[dns][dnssec]") {
  for (const bool recursive : {true, false}) {
    const auto query = build_query("social.test", kTypeA, recursive);
    REQUIRE(query.size() > 23);
    CHECK(query[11] == 1);  // ARCOUNT: the OPT record
    const unsigned char* opt = query.data() + query.size() - 11;
    CHECK(opt[0] == 0);
    CHECK(((opt[1] << 8) | opt[2]) == kTypeOpt);
    CHECK(((opt[3] << 8) | opt[4]) == 1232);
    CHECK((opt[7] & 0x80) != 0);
  }
}

TEST_CASE("a validated answer from Unbound has AD set and its signature", "[dns][dnssec]") {
  const auto details = parse_captured("resolver-ok-a.bin");
  REQUIRE(details);
  CHECK(details->rcode == 0);
  CHECK(details->authenticated);
  CHECK(addresses_of(details->answers, "ok.test") == std::vector<std::string>{"192.0.2.10"});
  CHECK(details->extended_errors.empty());
  REQUIRE(details->signatures.size() == 1);
  CHECK(details->signatures[0].covered == kTypeA);
  CHECK(details->signatures[0].signer == "ok.test");
  CHECK(details->signatures[0].key_tag == 6331);
  CHECK(classify_dns_response(*details).failure == Failure::None);
}

TEST_CASE("Unbound's SERVFAIL for expired signatures carries EDE 7 and reads SignatureExpired",
          "[dns][dnssec]") {
  const auto details = parse_captured("resolver-expired-a.bin");
  REQUIRE(details);
  CHECK(details->rcode == 2);
  CHECK_FALSE(details->authenticated);
  REQUIRE(details->extended_errors.size() == 1);
  CHECK(details->extended_errors[0].code == 7);
  CHECK(extended_error_name(7) == "Signature Expired");
  CHECK_THAT(details->extended_errors[0].text,
             Catch::Contains("signature expired") && Catch::Contains("expired.test."));
  const DnsClassified classified = classify_dns_response(*details);
  CHECK(classified.failure == Failure::SignatureExpired);
  CHECK(classified.native_kind == NativeKind::Ede);
  CHECK(classified.native_code == 7);
}

TEST_CASE("a DS that matches no key of the child reads DnskeyMissing (EDE 9)", "[dns][dnssec]") {
  const auto details = parse_captured("resolver-mismatch-a.bin");
  REQUIRE(details);
  REQUIRE(details->extended_errors.size() == 1);
  CHECK(details->extended_errors[0].code == 9);
  CHECK(classify_dns_response(*details).failure == Failure::DnskeyMissing);
}

TEST_CASE("an authoritative answer carries the RRSIG's key, algorithm and validity",
          "[dns][dnssec]") {
  const auto ok = parse_captured("authoritative-ok-a.bin");
  REQUIRE(ok);
  CHECK(ok->authoritative);
  CHECK_FALSE(ok->authenticated);       // an authoritative server validates nothing
  REQUIRE(ok->signatures.size() == 2);  // over the A set, and over the NS set in authority
  CHECK(covering(*ok, kTypeNs).key_tag == 6331);
  const Signature& signature = covering(*ok, kTypeA);
  CHECK(signature.owner == "ok.test");
  CHECK(signature.covered == kTypeA);
  CHECK(signature.algorithm == 13);
  CHECK(signature.key_tag == 6331);
  CHECK(signature.signer == "ok.test");
  CHECK(utc(signature.inception) == "2026-11-29T10:57:21.000Z");
  CHECK(utc(signature.expiration) == "2026-12-27T10:57:21.000Z");
  // The signature is not a data record: the answer holds the one address.
  CHECK(ok->answers.size() == 1);

  const auto soon = parse_captured("authoritative-soon-a.bin");
  REQUIRE(soon);
  CHECK(covering(*soon, kTypeA).key_tag == 26336);
  CHECK(utc(covering(*soon, kTypeA).expiration) == "2026-12-01T10:57:21.000Z");
}

TEST_CASE("the key tag computed from a DNSKEY is the one its DS names", "[dns][dnssec]") {
  const auto keys = parse_captured("authoritative-ok-dnskey.bin");
  const auto referral = parse_captured("parent-ok-ns.bin");
  REQUIRE(keys);
  REQUIRE(referral);
  REQUIRE(keys->zone_keys.size() == 1);
  CHECK(keys->zone_keys[0].owner == "ok.test");
  CHECK(keys->zone_keys[0].flags == 257);
  CHECK(keys->zone_keys[0].algorithm == 13);
  CHECK(keys->zone_keys[0].key_tag == 6331);
  REQUIRE(keys->signatures.size() == 1);
  CHECK(keys->signatures[0].covered == kTypeDnskey);

  REQUIRE(referral->delegation_signers.size() == 1);
  CHECK(referral->delegation_signers[0].key_tag == keys->zone_keys[0].key_tag);

  const auto stray_keys = parse_captured("authoritative-mismatch-dnskey.bin");
  const auto stray_referral = parse_captured("parent-mismatch-ns.bin");
  REQUIRE(stray_keys);
  REQUIRE(stray_referral);
  REQUIRE(stray_keys->zone_keys.size() == 1);
  REQUIRE(stray_referral->delegation_signers.size() == 1);
  CHECK(stray_keys->zone_keys[0].key_tag == 4793);
  CHECK(stray_referral->delegation_signers[0].key_tag == 28017);
}

TEST_CASE("a signed referral has the NS set, the DS and the parent's signature over it",
          "[dns][dnssec]") {
  const auto referral = parse_captured("parent-ok-ns.bin");
  REQUIRE(referral);
  CHECK_FALSE(referral->authoritative);
  REQUIRE(referral->authority.size() == 1);
  CHECK(referral->authority[0].type == kTypeNs);
  CHECK(referral->authority[0].data == "ns2.test");
  CHECK(addresses_of(referral->additional, "ns2.test") == std::vector<std::string>{"127.0.0.3"});
  REQUIRE(referral->delegation_signers.size() == 1);
  const DelegationSigner& ds = referral->delegation_signers[0];
  CHECK(ds.owner == "ok.test");
  CHECK(ds.algorithm == 13);
  CHECK(ds.digest_type == 2);
  CHECK(ds.digest == "d8d684558309b79ea8e9c164f664afe1faed07a7811237487372223627dd94e0");
  const Signature& over_ds = covering(*referral, kTypeDs);
  CHECK(over_ds.owner == "ok.test");
  CHECK(over_ds.signer == "test");
  CHECK(over_ds.key_tag == 31919);
}

TEST_CASE("a malformed DNSSEC record or EDNS option rejects the message", "[dns][dnssec]") {
  SECTION("an EDE option longer than the OPT record") {
    auto wire = captured("resolver-expired-a.bin");
    const size_t option = find(wire, {0x00, 0x0f, 0x00, 0x7f});  // code 15, length 127
    wire[option + 3] = 0xff;
    CHECK_FALSE(parse(wire));
  }
  SECTION("an EDE option too short for its INFO-CODE") {
    const std::vector<unsigned char> option = {0x00, 0x0f, 0x00, 0x01, 0x00};
    CHECK_FALSE(parse_extended_errors({option.data(), 5, option.data(), 5}));
  }
  SECTION("an EDE's text that is not UTF-8 is kept escaped, and the result still writes as JSON") {
    const std::vector<unsigned char> option = {0x00, 0x0f, 0x00, 0x06, 0x00,
                                               0x07, 0xff, 0xfe, 'o',  'k'};
    const auto errors = parse_extended_errors({option.data(), 10, option.data(), 10});
    REQUIRE(errors);
    REQUIRE(errors->size() == 1);
    CHECK((*errors)[0].code == 7);
    CHECK((*errors)[0].text.find("ok") != std::string::npos);
    CHECK((*errors)[0].text.find('\xff') == std::string::npos);
    ProbeResult result;
    result.dns.emplace();
    result.dns->extended_errors = *errors;
    result.detail = (*errors)[0].text;
    CHECK_NOTHROW(to_json(result).dump());
  }
  SECTION("a DNSKEY whose protocol is not 3") {
    auto wire = captured("authoritative-ok-dnskey.bin");
    const size_t key = find(wire, {0x01, 0x01, 0x03, 0x0d});  // flags 257, protocol 3, alg 13
    wire[key + 2] = 2;
    CHECK_FALSE(parse(wire));
  }
  SECTION("an RRSIG cut before its signer's name") {
    const auto wire = captured("authoritative-ok-a.bin");
    const size_t rrsig = find(wire, {0x00, 0x01, 0x0d, 0x02});  // covers A, alg 13, 2 labels
    const auto rdata = [&](uint16_t length) {
      return Rdata{wire.data(), static_cast<int>(wire.size()), wire.data() + rrsig, length};
    };
    CHECK_FALSE(parse_rrsig("ok.test", rdata(18)));
    // The signer's name (9 bytes for ok.test) must end inside the RDATA.
    CHECK_FALSE(parse_rrsig("ok.test", rdata(22)));
    CHECK(parse_rrsig("ok.test", rdata(27)));
    CHECK(parse_rrsig("ok.test", {wire.data(), static_cast<int>(wire.size()), wire.data() + rrsig,
                                  static_cast<uint16_t>(wire.size() - rrsig)}));
  }
  SECTION("a DS without a digest") {
    const std::vector<unsigned char> ds = {0x18, 0xbb, 0x0d, 0x02};
    CHECK_FALSE(parse_ds("ok.test", {ds.data(), 4, ds.data(), 4}));
  }
  SECTION("a message cut inside the DS") {
    const auto wire = captured("parent-ok-ns.bin");
    const size_t ds = find(wire, {0x18, 0xbb, 0x0d, 0x02});  // key 6331, alg 13, SHA-256
    CHECK_FALSE(parse_response(wire.data(), static_cast<int>(ds + 10)));
  }
}

TEST_CASE("EDE codes name DNSSEC failure classes; others leave SERVFAIL", "[classify][dnssec]") {
  CHECK(dnssec_failure_of(6) == Failure::DnssecBogus);
  CHECK(dnssec_failure_of(7) == Failure::SignatureExpired);
  CHECK(dnssec_failure_of(8) == Failure::SignatureNotYetValid);
  CHECK(dnssec_failure_of(9) == Failure::DnskeyMissing);
  CHECK(dnssec_failure_of(10) == Failure::DnssecBogus);
  CHECK(dnssec_failure_of(25) == Failure::DnssecBogus);
  CHECK_FALSE(dnssec_failure_of(22));  // No Reachable Authority
  CHECK_FALSE(dnssec_failure_of(23));  // Network Error
  CHECK(extended_error_name(22) == "No Reachable Authority");
  CHECK(extended_error_name(4000) == "EDE 4000");

  DnsDetails unreachable;
  unreachable.rcode = 2;
  unreachable.extended_errors = {{22, "no server answered"}};
  CHECK(classify_dns_response(unreachable).failure == Failure::ServFail);
  CHECK(classify_dns_response(unreachable).native_kind == NativeKind::Rcode);

  // An EDE on an answer that is not a SERVFAIL (a stale answer, say) is not a failure.
  DnsDetails stale;
  stale.extended_errors = {{7, ""}};
  CHECK(classify_dns_response(stale).failure == Failure::None);

  DnsDetails both;
  both.rcode = 2;
  both.extended_errors = {{22, ""}, {6, ""}};
  CHECK(classify_dns_response(both).failure == Failure::DnssecBogus);
  CHECK(classify_dns_response(both).native_code == 6);
}

TEST_CASE("probe details name the signing key, its expiry and the parent's DS", "[dns][dnssec]") {
  const auto ok = parse_captured("authoritative-ok-a.bin");
  const auto referral = parse_captured("parent-ok-ns.bin");
  REQUIRE(ok);
  REQUIRE(referral);
  const auto at = [](const char* text) {
    std::tm parts{};
    strptime(text, "%Y-%m-%dT%H:%M:%S", &parts);
    return std::chrono::system_clock::from_time_t(timegm(&parts));
  };
  CHECK(signature_summary(*ok, kTypeA, at("2026-12-01T00:00:00")) ==
        "signed by key 6331 (algorithm 13) of ok.test until 2026-12-27T10:57:21Z");
  CHECK(signature_summary(*ok, kTypeA, at("2027-01-01T00:00:00")) ==
        "signed by key 6331 (algorithm 13) of ok.test, expired 2026-12-27T10:57:21Z");
  CHECK(signature_summary(*ok, kTypeA, at("2026-11-01T00:00:00")) ==
        "signed by key 6331 (algorithm 13) of ok.test, not valid before 2026-11-29T10:57:21Z");
  CHECK(signature_summary(*ok, kTypeAaaa, at("2026-12-01T00:00:00")).empty());
  CHECK(delegation_signer_summary(*referral) == "DS for key 6331 (algorithm 13)");
  CHECK(delegation_signer_summary(*ok).empty());
}
