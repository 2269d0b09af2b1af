#include <catch2/catch.hpp>

#include "dns_message.hh"
#include "dns_wire.hh"

using namespace vantage;
using vantage::testing::make_response;
using vantage::testing::WireResponse;

TEST_CASE("a query for an authoritative server has RD clear, a recursive one RD set", "[dns]") {
  const auto direct = build_query("social.test", kTypeA, false);
  const auto recursive = build_query("social.test", kTypeA, true);
  REQUIRE(direct.size() > 12);
  CHECK((direct[2] & 0x01) == 0);
  CHECK((recursive[2] & 0x01) == 1);
}

TEST_CASE("a referral parses into NS records and glue", "[dns]") {
  const auto query = build_query("social.test", kTypeNs, false);
  WireResponse referral;
  referral.authoritative = false;
  referral.authority = {{"social.test", kTypeNs, 3600, "ns1.social.test"}};
  referral.additional = {{"ns1.social.test", kTypeA, 3600, "192.0.2.53"},
                         {"ns1.social.test", kTypeAaaa, 3600, "2001:db8::53"}};
  const auto wire = make_response(query, referral);
  const auto parsed = parse_response(wire.data(), static_cast<int>(wire.size()));
  REQUIRE(parsed);
  CHECK_FALSE(parsed->authoritative);
  CHECK(parsed->qname == "social.test");
  CHECK(parsed->qtype == kTypeNs);
  REQUIRE(parsed->authority.size() == 1);
  CHECK(parsed->authority[0].data == "ns1.social.test");
  CHECK(addresses_of(parsed->additional, "NS1.social.test.") ==
        std::vector<std::string>{"192.0.2.53", "2001:db8::53"});
}

TEST_CASE("an authoritative SERVFAIL keeps its rcode and AA flag", "[dns]") {
  const auto query = build_query("social.test", kTypeA, false);
  WireResponse servfail;
  servfail.rcode = 2;
  const auto wire = make_response(query, servfail);
  const auto parsed = parse_response(wire.data(), static_cast<int>(wire.size()));
  REQUIRE(parsed);
  CHECK(parsed->rcode == 2);
  CHECK(parsed->authoritative);
}

TEST_CASE("a truncated or garbled message is rejected, not half read", "[dns]") {
  const auto query = build_query("social.test", kTypeA, false);
  WireResponse answer;
  answer.answers = {{"social.test", kTypeA, 60, "192.0.2.10"}};
  auto wire = make_response(query, answer);
  CHECK(parse_response(wire.data(), static_cast<int>(wire.size())));
  CHECK_FALSE(parse_response(wire.data(), static_cast<int>(wire.size()) - 3));
  CHECK_FALSE(parse_response(wire.data(), 5));
}

TEST_CASE("DNS names compare without case and trailing dot", "[dns]") {
  CHECK(same_name("Social.TEST.", "social.test"));
  CHECK_FALSE(same_name("social.test", "social.tests"));
}
