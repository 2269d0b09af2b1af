#include <catch2/catch.hpp>

#include <string>

#include "domain_name.hh"

using namespace vantage;

TEST_CASE("targets are DNS names of letters, digits, '_' and inner '-'", "[domain_name]") {
  CHECK(is_domain_name("example.com"));
  CHECK(is_domain_name("Social.Example."));
  CHECK(is_domain_name("localhost"));
  CHECK(is_domain_name("_dmarc.example.com"));
  CHECK(is_domain_name("xn--bcher-kva.example"));
  CHECK(is_domain_name("a-b.c"));
  CHECK(is_domain_name("0.example"));

  CHECK_FALSE(is_domain_name(""));
  CHECK_FALSE(is_domain_name("."));
  CHECK_FALSE(is_domain_name("example..com"));
  CHECK_FALSE(is_domain_name(".example.com"));
  CHECK_FALSE(is_domain_name("example.com.."));
  CHECK_FALSE(is_domain_name("-example.com"));
  CHECK_FALSE(is_domain_name("example-.com"));
  CHECK_FALSE(is_domain_name("exa mple.com"));
  CHECK_FALSE(is_domain_name("example.com/path"));
  CHECK_FALSE(
      is_domain_name("b\xc3\xbc"
                     "cher.example"));
}

TEST_CASE("a label holds at most 63 characters and a name at most 253", "[domain_name]") {
  const std::string label63(63, 'a');
  CHECK(is_domain_name(label63 + ".example"));
  CHECK_FALSE(is_domain_name(label63 + "a.example"));

  // Four labels of 63 and their dots: 255 characters; one label shorter by two fits exactly.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'a');
  REQUIRE(name253.size() == 253);
  CHECK(is_domain_name(name253));
  CHECK_FALSE(is_domain_name(name253 + "a"));
}

TEST_CASE("one spelling per domain: lower case without the trailing dot", "[domain_name]") {
  CHECK(canonical_domain_name("SOCIAL.Example.") == "social.example");
  CHECK(canonical_domain_name("social.example") == "social.example");
  CHECK_FALSE(canonical_domain_name("social..example"));
}
