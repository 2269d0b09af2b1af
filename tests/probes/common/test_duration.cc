#include <catch2/catch.hpp>

#include "duration.hh"

using namespace vantage;
using namespace std::chrono_literals;

TEST_CASE("durations accept ms, s, m and h", "[duration]") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("5s") == 5000ms);
  CHECK(parse_duration("2m") == 120000ms);
  CHECK(parse_duration("1h") == 3600000ms);
}

TEST_CASE("durations without a unit or with junk are rejected", "[duration]") {
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5sec"));
  CHECK_FALSE(parse_duration("99999999h"));
}

TEST_CASE("durations print in the unit a human reads", "[duration]") {
  CHECK(format_duration(1234us) == "1.2 ms");
  CHECK(format_duration(1500000us) == "1.50 s");
}
