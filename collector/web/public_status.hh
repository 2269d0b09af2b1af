#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "background_refresh.hh"
#include "monitor.hh"
#include "rollup.hh"
#include "storage.hh"
#include "uptime_cache.hh"

// The public status page: what the collector tells the world about a few chosen domains, in the
// words of Atlassian Statuspage (components, their status, incidents), with none of what only
// operators may see (evidence, addresses, vantage names, networks).
namespace vantage {

struct StatusPageConfig {
  std::string title = "Service status";
  std::string url;                   // where the page is published; "" when not said
  std::vector<std::string> domains;  // shown in this order; empty: no status page
  bool enabled() const { return !domains.empty(); }
};

// Statuspage's component states, and one it lacks: no vantage has an established reading of the
// domain, so the page claims nothing about it.
enum class ComponentStatus : uint8_t {
  Unknown,
  Operational,
  DegradedPerformance,
  PartialOutage,
  MajorOutage,
};
std::string_view to_string(ComponentStatus status);  // "operational", ..., "unknown"
std::string_view label(ComponentStatus status);      // "Operational", ..., "No data"

// OK: operational; DEGRADED: degraded performance; a failure seen from some networks: partial
// outage, from every network: major outage; UNKNOWN and VANTAGE_ISOLATED: unknown.
ComponentStatus component_status(Verdict verdict, Scope scope);
// A day of the uptime bar, from its cycles: no down cycle is operational, 99 % up and more
// degraded, 90 % and more a partial outage, less a major outage; no cycle counted: unknown.
ComponentStatus day_status(const UptimeCounts& counts);
// An uptime badge's colour, from its window's ratio: at least 99.9 % operational, 99 % degraded,
// 90 % a partial outage, less a major outage. A long window with a few failed cycles is still
// green here, where the day those cycles failed is not.
ComponentStatus uptime_status(double ratio);

// The bar covers this many UTC days, today the last.
inline constexpr size_t kStatusDays = 90;

struct StatusDay {
  TimePoint start;  // 00:00 UTC
  UptimeCounts counts;
};

struct StatusComponent {
  std::string domain;
  ComponentStatus status = ComponentStatus::Unknown;
  std::optional<TimePoint> since;  // when it took this status; nullopt: never reported
  std::array<std::optional<double>, kUptimeWindows.size()> uptime;  // by kUptimeWindows
  std::vector<StatusDay> days;                                      // kStatusDays, oldest first
};

struct PublicStatus {
  std::string title;
  std::string url;
  TimePoint generated_at;
  std::vector<StatusComponent> components;  // in the config's order
};

// Statuspage's page indicator ("none", "minor", "major", "critical") and its words ("All Systems
// Operational", ...), from the worst component.
struct StatusIndicator {
  std::string_view indicator;
  std::string_view description;
};
StatusIndicator page_indicator(const PublicStatus& status);

// Builds PublicStatus from the monitor's live verdicts and the stored rollups. The day bars cost a
// read of each shown domain's daily rollups, and anyone may ask for the page, so they are read at
// most once per `history_max_age`, in the background once bars are held (bench/web: 11 s for
// 1,000 domains); verdicts are always current.
class PublicStatusSource {
 public:
  PublicStatusSource(StatusPageConfig config, Storage& storage, Monitor& monitor,
                     UptimeCache& uptime, std::chrono::milliseconds history_max_age);

  const StatusPageConfig& config() const { return config_; }
  // Is `domain` (normalized) on the page? Nothing is said of any other domain.
  bool shows(std::string_view domain) const;
  PublicStatus read(TimePoint now);

 private:
  using DayCounts = std::map<std::string, std::vector<StatusDay>>;  // by domain
  DayCounts read_days(TimePoint now);

  const StatusPageConfig config_;
  Storage& storage_;
  Monitor& monitor_;
  UptimeCache& uptime_;
  BackgroundRefresh<DayCounts> days_;
};

}  // namespace vantage
