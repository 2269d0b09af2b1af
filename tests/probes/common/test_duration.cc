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

TEST_CASE("retention periods accept minutes, hours and days up to ten years, and print back",
          "[duration]") {
  using std::chrono::hours;
  using std::chrono::minutes;
  CHECK(vantage::parse_period("90d") == hours(90 * 24));
  CHECK(vantage::parse_period("36h") == hours(36));
  CHECK(vantage::parse_period("30m") == minutes(30));
  CHECK(vantage::parse_period("3650d") == hours(3650 * 24));
  CHECK_FALSE(vantage::parse_period("3651d"));
  CHECK_FALSE(vantage::parse_period("30"));
  CHECK_FALSE(vantage::parse_period("1y"));
  CHECK_FALSE(vantage::parse_period("5s"));
  CHECK_FALSE(vantage::parse_period("d"));
  CHECK(vantage::format_period(hours(72)) == "3d");
  CHECK(vantage::format_period(hours(36)) == "36h");
  CHECK(vantage::format_period(minutes(90)) == "90m");
}
