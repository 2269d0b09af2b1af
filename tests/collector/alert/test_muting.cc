// Maintenance windows and silences as values: when a window is on (in its time zone, across
// daylight-saving changes), which domains and verdicts they cover, and what a bad one is told.
#include <catch2/catch.hpp>

#include "alert_test_events.hh"
#include "muting.hh"

namespace vantage::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

MaintenanceWindow window(const std::string& domain, const std::string& start, seconds duration,
                         const std::string& every = "", const std::string& timezone = "UTC") {
  MaintenanceWindow window;
  window.id = 7;
  window.domain = domain;
  window.start = start;
  window.duration = duration;
  window.weekdays = every.empty() ? 0 : parse_weekdays(every).value();
  window.timezone = timezone;
  window.reason = "router upgrade";
  window.created_by = "alice";
  return window;
}

Silence silence(const std::string& domain, std::optional<Verdict> verdict, TimePoint from,
                TimePoint to) {
  Silence silence;
  silence.id = 3;
  silence.domain = domain;
  silence.verdict = verdict;
  silence.starts_at = from;
  silence.ends_at = to;
  silence.comment = "upstream is on it";
  silence.created_by = "bob";
  return silence;
}

}  // namespace

TEST_CASE("Europe/Berlin is an hour ahead in winter and two in summer", "[unit]") {
  const auto berlin = TimeZone::load("Europe/Berlin");
  REQUIRE(berlin);
  CHECK(berlin->offset_at(at("2026-01-15T12:00:00.000Z")) == hours(1));
  CHECK(berlin->offset_at(at("2026-07-15T12:00:00.000Z")) == hours(2));
  // Summer time starts on 29 March 2026 at 01:00 UTC.
  CHECK(berlin->offset_at(at("2026-03-29T00:59:59.000Z")) == hours(1));
  CHECK(berlin->offset_at(at("2026-03-29T01:00:00.000Z")) == hours(2));
  CHECK(TimeZone::utc().offset_at(at("2026-07-15T12:00:00.000Z")) == seconds(0));
}

TEST_CASE("unknown zones and names that would leave the zone directory are refused", "[unit]") {
  CHECK_FALSE(TimeZone::load("Mars/Olympus"));
  CHECK_FALSE(TimeZone::load("../../etc/passwd"));
  CHECK_FALSE(TimeZone::load("/etc/localtime"));
  CHECK_FALSE(TimeZone::load(""));
  CHECK(TimeZone::load("UTC"));
  CHECK(TimeZone::load("America/New_York"));
}

TEST_CASE("a weekly window at 02:00 Berlin time stays at 02:00 local across the clock change",
          "[unit]") {
  const auto weekly = window("shop.example", "02:00", minutes(90), "Mon,Thu", "Europe/Berlin");
  REQUIRE_FALSE(window_problem(weekly));
  const auto berlin = *TimeZone::load("Europe/Berlin");
  // Monday 30 November 2026, winter: 02:00 CET is 01:00 UTC.
  auto on = current_occurrence(weekly, berlin, at("2026-11-30T01:30:00.000Z"));
  REQUIRE(on);
  CHECK(on->start == at("2026-11-30T01:00:00.000Z"));
  CHECK(on->end == at("2026-11-30T02:30:00.000Z"));
  CHECK_FALSE(current_occurrence(weekly, berlin, at("2026-11-30T02:30:00.000Z")));
  CHECK_FALSE(current_occurrence(weekly, berlin, at("2026-12-01T01:30:00.000Z")));  // Tuesday
  // Thursday 2 July 2026, summer: 02:00 CEST is 00:00 UTC.
  on = current_occurrence(weekly, berlin, at("2026-07-02T00:10:00.000Z"));
  REQUIRE(on);
  CHECK(on->start == at("2026-07-02T00:00:00.000Z"));
  const auto next = next_occurrence(weekly, berlin, at("2026-11-30T03:00:00.000Z"));
  REQUIRE(next);
  CHECK(next->start == at("2026-12-03T01:00:00.000Z"));  // the Thursday after
}

TEST_CASE("a local time the clocks skip lands after the change, a repeated one is the first",
          "[unit]") {
  const auto berlin = *TimeZone::load("Europe/Berlin");
  using std::chrono::sys_days;
  using namespace std::chrono_literals;
  // 29 March 2026: 02:00 to 03:00 does not happen; 02:30 reads as 03:30 CEST = 01:30 UTC.
  const auto spring = sys_days(2026y / 3 / 29) + 2h + 30min;
  CHECK(berlin.to_instant(spring) == at("2026-03-29T01:30:00.000Z"));
  // 25 October 2026: 02:30 happens twice; the first is CEST, 00:30 UTC.
  const auto autumn = sys_days(2026y / 10 / 25) + 2h + 30min;
  CHECK(berlin.to_instant(autumn) == at("2026-10-25T00:30:00.000Z"));
}

TEST_CASE("a window that happens once covers its start and not its end", "[unit]") {
  const auto once = window("*", "2026-12-01T02:00", hours(2), "", "UTC");
  const auto utc = TimeZone::utc();
  CHECK_FALSE(current_occurrence(once, utc, at("2026-12-01T01:59:59.000Z")));
  CHECK(current_occurrence(once, utc, at("2026-12-01T02:00:00.000Z")));
  CHECK(current_occurrence(once, utc, at("2026-12-01T03:59:59.000Z")));
  CHECK_FALSE(current_occurrence(once, utc, at("2026-12-01T04:00:00.000Z")));
  CHECK(next_occurrence(once, utc, at("2026-11-30T00:00:00.000Z")));
  CHECK_FALSE(next_occurrence(once, utc, at("2026-12-02T00:00:00.000Z")));
}

TEST_CASE("a bad window is told what is wrong, by key", "[unit]") {
  CHECK(window_problem(window("*", "02:00", hours(1))).value_or("").starts_with("start:"));
  CHECK(window_problem(window("*", "2026-12-01T02:00", hours(1), "Mon"))
            .value_or("")
            .starts_with("start:"));
  CHECK(window_problem(window("*", "24:00", hours(1), "Mon")).value_or("").starts_with("start:"));
  CHECK(
      window_problem(window("*", "2026-02-30T02:00", hours(1))).value_or("").starts_with("start:"));
  CHECK(window_problem(window("*", "02:00", hours(24 * 8), "Mon"))
            .value_or("")
            .starts_with("duration:"));
  CHECK(window_problem(window("*", "02:00", seconds(0), "Mon"))
            .value_or("")
            .starts_with("duration:"));
  CHECK(window_problem(window("*", "02:00", hours(1), "Mon", "Nowhere/City"))
            .value_or("")
            .starts_with("timezone:"));
  CHECK(window_problem(window("", "02:00", hours(1), "Mon")).value_or("").starts_with("domain:"));
  CHECK_FALSE(window_problem(window("*", "2026-12-01T02:00:30", hours(1))));
}

TEST_CASE("days read as Mon..Sun, full names or daily, and print short", "[unit]") {
  CHECK(parse_weekdays("Mon,Thu") == 0b0001001);
  CHECK(parse_weekdays("monday,SUNDAY") == 0b1000001);
  CHECK(parse_weekdays("daily") == 0x7f);
  CHECK_FALSE(parse_weekdays("Mon,Funday"));
  CHECK_FALSE(parse_weekdays(""));
  CHECK(format_weekdays(0b0001001) == "Mon,Thu");
}

TEST_CASE("windows and silences cover domains by name or pattern, silences by verdict too",
          "[unit]") {
  CHECK(domain_matches("*", "anything.example"));
  CHECK(domain_matches("*.shop.example", "eu.shop.example"));
  CHECK(domain_matches("*.shop.example", "EU.Shop.Example"));
  CHECK_FALSE(domain_matches("*.shop.example", "shop.example"));
  CHECK_FALSE(domain_matches("shop.example", "myshop.example"));

  const TimePoint now = at("2026-11-29T04:00:00.000Z");
  const MuteRules rules(
      {window("*.shop.example", "2026-11-29T03:00", hours(2))},
      {silence("social.example", Verdict::RouteLoss, now - hours(1), now + hours(3)),
       silence("*", std::nullopt, now + hours(1), now + hours(2))});
  const auto held = rules.mute_for("eu.shop.example", Verdict::ServerDown, now);
  REQUIRE(held);
  CHECK(held->kind == Mute::Kind::Maintenance);
  CHECK(held->id == 7);
  CHECK(held->until == at("2026-11-29T05:00:00.000Z"));
  CHECK(held->by == "alice");
  CHECK(held->why == "router upgrade");
  const auto silenced = rules.mute_for("social.example", Verdict::RouteLoss, now);
  REQUIRE(silenced);
  CHECK(silenced->kind == Mute::Kind::Silence);
  CHECK(silenced->why == "upstream is on it");
  CHECK_FALSE(rules.mute_for("social.example", Verdict::DnsFailure, now));  // another verdict
  CHECK_FALSE(rules.mute_for("other.example", Verdict::RouteLoss, now));    // not started yet
  // Both cover it: the one that ends last says how long it is held.
  const auto both = rules.mute_for("social.example", Verdict::RouteLoss, now + hours(1));
  REQUIRE(both);
  CHECK(both->until == now + hours(3));
}

TEST_CASE("what windows, silences and routes match is spelled one way, and nonsense is refused",
          "[unit]") {
  CHECK(canonical_domain_pattern("Shop.Example.") == "shop.example");
  CHECK(canonical_domain_pattern("*.Shop.Example") == "*.shop.example");
  CHECK(canonical_domain_pattern("*") == "*");
  CHECK(canonical_domain_pattern("2001:DB8::5") == "2001:db8::5");
  CHECK(canonical_domain_pattern("[2001:db8::5]") == "2001:db8::5");  // as targets add takes it
  CHECK_FALSE(canonical_domain_pattern("*.shop.example."));  // never matches a canonical name
  CHECK_FALSE(canonical_domain_pattern("*.shop example"));
  CHECK_FALSE(canonical_domain_pattern("bad_domain!"));
}

}  // namespace vantage::testing
