#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "alert_store.hh"
#include "result.hh"
#include "time_zone.hh"

// What holds an alert back from its receivers: maintenance windows (planned work, once or every
// week on given days, in a time zone) and silences (an on-call engineer muting one domain, or
// one verdict of it, for a while). Either way the verdict is still computed, stored and shown,
// and the alert is still recorded; only its firing waits, and goes out if the alert still fires
// when the last mute ends.
namespace vantage {

// Which domains a window or silence covers: a domain ("shop.example"), a shell pattern
// ("*.shop.example"), or "*" for every domain; letters compare without case.
bool domain_matches(std::string_view pattern, std::string_view domain);

// The one spelling of what windows, silences and routes match: a pattern (it holds *, ? or [)
// in lower case, else the target's canonical name (canonical_target_name). nullopt for a pattern
// with blanks or a trailing dot (it could never match a canonical name) and for a name that is
// not a domain name or an IP address.
std::optional<std::string> canonical_domain_pattern(std::string_view text);

// "Mon,Thu" <-> bits; accepts Mon...Sun and Monday...Sunday in any case, and "daily".
std::optional<uint8_t> parse_weekdays(std::string_view text);
std::string format_weekdays(uint8_t weekdays);

// Why a window cannot be kept ("start: ..."), or nullopt if it is sound: a known time zone, a
// start of the right shape, a duration above zero and at most a week if it recurs (a year once).
std::optional<std::string> window_problem(const MaintenanceWindow& window);

struct Occurrence {
  TimePoint start;
  TimePoint end;
};

// The occurrence of a sound window that covers `now`, if one does; and the next one to start
// after `now`, if any is left (what `maintenance list` shows).
std::optional<Occurrence> current_occurrence(const MaintenanceWindow& window, const TimeZone& zone,
                                             TimePoint now);
std::optional<Occurrence> next_occurrence(const MaintenanceWindow& window, const TimeZone& zone,
                                          TimePoint now);

// What holds an alert back now, as alerts() and the CLI show it.
struct Mute {
  enum class Kind : uint8_t { Maintenance, Silence };
  Kind kind = Kind::Maintenance;
  uint64_t id = 0;  // the window's (0: from collector.yaml) or the silence's
  TimePoint until;
  std::string by;   // who made it
  std::string why;  // its reason or comment
};
std::string_view to_string(Mute::Kind kind);

// The windows and silences in force, as one value the dispatcher swaps whole when they change.
class MuteRules {
 public:
  MuteRules() = default;
  // Windows that are not sound (window_problem) are left out; the API never stores one.
  MuteRules(const std::vector<MaintenanceWindow>& windows, std::vector<Silence> silences);

  // Of everything that covers the alert now, the mute that ends last; nullopt if none does.
  std::optional<Mute> mute_for(const std::string& domain, Verdict verdict, TimePoint now) const;

 private:
  std::vector<std::pair<MaintenanceWindow, TimeZone>> windows_;
  std::vector<Silence> silences_;
};

}  // namespace vantage
