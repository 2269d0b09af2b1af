#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Local wall-clock time in a named time zone, for maintenance windows ("Mon 02:00 in
// Europe/Berlin"). GCC 12's <chrono> has no time zone database, so this reads the system's
// compiled zone files (Debian tzdata, /usr/share/zoneinfo), whose transitions run to 2037;
// after the last one its offset holds.
namespace vantage {

using TimePoint = std::chrono::system_clock::time_point;

class TimeZone {
 public:
  // "UTC", or an IANA name such as "Europe/Berlin". nullopt if there is no such zone (or the
  // file is not a zone file); the name never leaves the zoneinfo directory.
  static std::optional<TimeZone> load(const std::string& name);
  static TimeZone utc();

  const std::string& name() const { return name_; }
  // The offset from UTC in force at `instant`.
  std::chrono::seconds offset_at(TimePoint instant) const;
  // Local wall-clock time (as a count since the epoch in a zone without offsets) to an instant.
  // A local time that happens twice (clocks go back) is the first; one that never happens
  // (clocks go forward) is read with the offset from before the change, so lands after it.
  TimePoint to_instant(std::chrono::sys_seconds local) const;
  std::chrono::sys_seconds to_local(TimePoint instant) const;

 private:
  struct Transition {
    int64_t at = 0;  // seconds since the epoch, UTC
    int32_t offset = 0;
  };
  std::string name_;
  int32_t initial_offset_ = 0;           // before the first transition
  std::vector<Transition> transitions_;  // ascending
};

}  // namespace vantage
