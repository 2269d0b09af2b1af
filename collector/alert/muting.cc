#include "muting.hh"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "target.hh"

namespace vantage {
namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

constexpr std::array<std::string_view, 7> kShortDays = {"Mon", "Tue", "Wed", "Thu",
                                                        "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
constexpr seconds kLongestOnce = days(366);
constexpr seconds kLongestRecurring = days(7);

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool digits(std::string_view text, size_t at, size_t count, int& value) {
  if (text.size() < at + count) {
    return false;
  }
  value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

// "HH:MM" or "HH:MM:SS" -> the time of day.
std::optional<seconds> parse_time_of_day(std::string_view text) {
  int hour = 0;
  int minute = 0;
  int second = 0;
  if ((text.size() != 5 && text.size() != 8) || !digits(text, 0, 2, hour) || text[2] != ':' ||
      !digits(text, 3, 2, minute) ||
      (text.size() == 8 && (text[5] != ':' || !digits(text, 6, 2, second)))) {
    return std::nullopt;
  }
  if (hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  return std::chrono::hours(hour) + std::chrono::minutes(minute) + seconds(second);
}

// "YYYY-MM-DDTHH:MM[:SS]" (or a space for the T) -> local time.
std::optional<sys_seconds> parse_local_time(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (text.size() < 16 || !digits(text, 0, 4, year) || text[4] != '-' ||
      !digits(text, 5, 2, month) || text[7] != '-' || !digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != ' ')) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  const auto time = parse_time_of_day(text.substr(11));
  if (!date.ok() || !time) {
    return std::nullopt;
  }
  return sys_days(date) + *time;
}

bool on_weekday(uint8_t weekdays, sys_days day) {
  const unsigned iso = std::chrono::weekday(day).iso_encoding();  // 1 Monday ... 7 Sunday
  return (weekdays & (1U << (iso - 1))) != 0;
}

// Every occurrence of a recurring window that starts in [from, to] (local days), in order.
std::vector<Occurrence> occurrences(const MaintenanceWindow& window, const TimeZone& zone,
                                    seconds time_of_day, sys_days from, sys_days to) {
  std::vector<Occurrence> found;
  for (sys_days day = from; day <= to; day += days(1)) {
    if (on_weekday(window.weekdays, day)) {
      const TimePoint start = zone.to_instant(day + time_of_day);
      found.push_back({start, start + window.duration});
    }
  }
  return found;
}

// A sound window's occurrences that may cover or follow `now`: the one-off occurrence, or the
// recurring ones from a week before to a week after.
std::vector<Occurrence> occurrences_near(const MaintenanceWindow& window, const TimeZone& zone,
                                         TimePoint now) {
  if (window.weekdays == 0) {
    const auto local = parse_local_time(window.start);
    if (!local) {
      return {};
    }
    const TimePoint start = zone.to_instant(*local);
    return {{start, start + window.duration}};
  }
  const auto time_of_day = parse_time_of_day(window.start);
  if (!time_of_day) {
    return {};
  }
  const sys_days today = std::chrono::floor<days>(zone.to_local(now));
  return occurrences(window, zone, *time_of_day, today - days(8), today + days(8));
}

}  // namespace

std::optional<std::string> canonical_domain_pattern(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']' &&
      is_address_name(text.substr(1, text.size() - 2))) {
    return canonical_target_name(text.substr(1, text.size() - 2));  // "[2001:db8::1]"
  }
  if (text.find_first_of("*?[") == std::string_view::npos) {
    return canonical_target_name(text);
  }
  const bool blank = std::any_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isspace(c) != 0 || std::iscntrl(c) != 0;
  });
  if (blank || text.back() == '.') {
    return std::nullopt;
  }
  std::string lowered(text);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lowered;
}

bool domain_matches(std::string_view pattern, std::string_view domain) {
  return fnmatch(lower(pattern).c_str(), lower(domain).c_str(), 0) == 0;
}

std::optional<uint8_t> parse_weekdays(std::string_view text) {
  if (lower(text) == "daily") {
    return 0x7f;
  }
  uint8_t weekdays = 0;
  while (!text.empty()) {
    const size_t comma = std::min(text.find(','), text.size());
    const std::string day = lower(text.substr(0, comma));
    bool known = false;
    for (size_t i = 0; i < kShortDays.size(); ++i) {
      if (day == lower(kShortDays[i]) || day == kLongDays[i]) {
        weekdays |= static_cast<uint8_t>(1U << i);
        known = true;
      }
    }
    if (!known) {
      return std::nullopt;
    }
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  return weekdays == 0 ? std::nullopt : std::optional(weekdays);
}

std::string format_weekdays(uint8_t weekdays) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kShortDays.size(); ++i) {
    if ((weekdays & (1U << i)) != 0) {
      names.push_back(kShortDays[i]);
    }
  }
  return fmt::format("{}", fmt::join(names, ","));
}

namespace {

// What window_problem finds wrong apart from the time zone.
std::optional<std::string> shape_problem(const MaintenanceWindow& window) {
  if (window.domain.empty()) {
    return "domain: give a domain, a pattern such as *.shop.example, or * for every domain";
  }
  if (window.weekdays == 0 && !parse_local_time(window.start)) {
    return fmt::format("start: '{}' is not a local date and time such as 2026-12-01T02:00",
                       window.start);
  }
  if (window.weekdays != 0 && !parse_time_of_day(window.start)) {
    return fmt::format("start: '{}' is not a time of day such as 02:00 (the window recurs)",
                       window.start);
  }
  const seconds longest = window.weekdays == 0 ? kLongestOnce : kLongestRecurring;
  if (window.duration <= seconds(0) || window.duration > longest) {
    return fmt::format("duration: must be above zero and at most {} days",
                       std::chrono::duration_cast<days>(longest).count());
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> window_problem(const MaintenanceWindow& window) {
  if (!TimeZone::load(window.timezone)) {
    return fmt::format("timezone: no time zone '{}' (use UTC or a name such as Europe/Berlin)",
                       window.timezone);
  }
  return shape_problem(window);
}

std::optional<Occurrence> current_occurrence(const MaintenanceWindow& window, const TimeZone& zone,
                                             TimePoint now) {
  std::optional<Occurrence> covering;
  for (const Occurrence& occurrence : occurrences_near(window, zone, now)) {
    if (occurrence.start <= now && now < occurrence.end &&
        (!covering || occurrence.end > covering->end)) {
      covering = occurrence;
    }
  }
  return covering;
}

std::optional<Occurrence> next_occurrence(const MaintenanceWindow& window, const TimeZone& zone,
                                          TimePoint now) {
  for (const Occurrence& occurrence : occurrences_near(window, zone, now)) {
    if (occurrence.start > now) {
      return occurrence;
    }
  }
  return std::nullopt;
}

std::string_view to_string(Mute::Kind kind) {
  return kind == Mute::Kind::Maintenance ? "maintenance" : "silence";
}

MuteRules::MuteRules(const std::vector<MaintenanceWindow>& windows, std::vector<Silence> silences)
    : silences_(std::move(silences)) {
  for (const MaintenanceWindow& window : windows) {
    // The zone file is read once per window and refresh.
    auto zone = TimeZone::load(window.timezone);
    if (zone && !shape_problem(window)) {
      windows_.emplace_back(window, std::move(*zone));
    }
  }
}

std::optional<Mute> MuteRules::mute_for(const std::string& domain, Verdict verdict,
                                        TimePoint now) const {
  std::optional<Mute> longest;
  const auto consider = [&](Mute mute) {
    if (!longest || mute.until > longest->until) {
      longest = std::move(mute);
    }
  };
  for (const auto& [window, zone] : windows_) {
    if (!domain_matches(window.domain, domain)) {
      continue;
    }
    if (const auto occurrence = current_occurrence(window, zone, now)) {
      consider(
          {Mute::Kind::Maintenance, window.id, occurrence->end, window.created_by, window.reason});
    }
  }
  for (const Silence& silence : silences_) {
    if (domain_matches(silence.domain, domain) &&
        (!silence.verdict || *silence.verdict == verdict) && silence.starts_at <= now &&
        now < silence.ends_at) {
      consider(
          {Mute::Kind::Silence, silence.id, silence.ends_at, silence.created_by, silence.comment});
    }
  }
  return longest;
}

}  // namespace vantage
