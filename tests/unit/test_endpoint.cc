#include <catch2/catch.hpp>

#include "endpoint.hh"

using namespace vantage;

TEST_CASE("endpoints parse IPv4 and IPv6 with and without a port", "[endpoint]") {
  CHECK(parse_endpoint("192.0.2.1", 53)->to_string() == "192.0.2.1:53");
  CHECK(parse_endpoint("192.0.2.1:5353", 53)->to_string() == "192.0.2.1:5353");
  CHECK(parse_endpoint("2001:db8::1", 53)->to_string() == "[2001:db8::1]:53");
  CHECK(parse_endpoint("[2001:db8::1]:853", 53)->to_string() == "[2001:db8::1]:853");
  CHECK(parse_endpoint("[2001:db8::1]", 443)->port() == 443);
  CHECK(parse_endpoint("192.0.2.1:53", 0)->with_port(443).to_string() == "192.0.2.1:443");
}

TEST_CASE("endpoints reject names, bad ports and junk", "[endpoint]") {
  CHECK_FALSE(parse_endpoint("resolver.example", 53));
  CHECK_FALSE(parse_endpoint("192.0.2.1:0", 53));
  CHECK_FALSE(parse_endpoint("192.0.2.1:65536", 53));
  CHECK_FALSE(parse_endpoint("192.0.2.1:53x", 53));
  CHECK_FALSE(parse_endpoint("[2001:db8::1", 53));
  CHECK_FALSE(parse_endpoint("", 53));
}
