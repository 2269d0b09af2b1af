#include <catch2/catch.hpp>

#include <string_view>

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

TEST_CASE("an endpoint with a NUL byte inside is refused, not cut short at it", "[endpoint]") {
  using namespace std::string_view_literals;
  CHECK_FALSE(parse_endpoint("192.0.2.1\0junk"sv, 53));
  CHECK_FALSE(parse_endpoint("27::\0\0\0::1]:827:"sv, 53));
  CHECK_FALSE(parse_endpoint("[2001:db8::1\0x]:53"sv, 53));
}
