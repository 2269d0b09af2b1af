#pragma once

#include <nlohmann/json.hpp>

#include "cycle_result.hh"
#include "result.hh"

namespace vantage {

// The versioned JSON form of a cycle (docs/api.md, "The cycle document"). Readers reject a
// document whose schema_version they do not know rather than guess. Version 2 added the Liveness
// and Path checks (with "path" on a Path result); a version 1 document is a version 2 document
// without them, so both are read.
inline constexpr int kCycleSchemaVersion = 2;
inline constexpr int kOldestCycleSchemaVersion = 1;

nlohmann::json to_json(const ProbeResult& result);
nlohmann::json to_json(const CycleResult& cycle);
nlohmann::json to_json(const LastKnown& last_known);

// Throws std::invalid_argument naming the offending field. The cycle document's reader is
// cycle_from_json (cycle_reader.hh), for the collector alone.
LastKnown last_known_from_json(const nlohmann::json& json);

// RFC 3339 in UTC with milliseconds: "2026-11-25T04:00:00.123Z".
std::string format_time(std::chrono::system_clock::time_point time);
// RFC 3339 in UTC, whole seconds: "2026-11-25T04:00:00Z". Certificates and signatures count
// their validity in seconds.
std::string format_seconds(std::chrono::sys_seconds time);
// The years parse_time reads: from Unix time to the last whole year the clock holds.
inline constexpr int kEarliestYear = 1970;
inline constexpr int kLatestYear = 2261;
// nullopt for text that is not such a time, or is not in the calendar or in those years.
std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text);
// parse_time to the second, for the times format_seconds writes.
std::optional<std::chrono::sys_seconds> parse_seconds(const std::string& text);

}  // namespace vantage
