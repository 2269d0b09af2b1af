#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api_model.hh"

// The API's documents for maintenance windows and silences (docs/api.md): the server writes them,
// the CLI reads them.
namespace vantage {

// GET /api/v1/maintenance lists these; POST /api/v1/maintenance takes domain, start, duration,
// every, timezone and reason of one.
struct MaintenanceEntry {
  uint64_t id = 0;  // 0: from collector.yaml (removed only there)
  std::string domain;
  std::string start;  // local time in `timezone`: "2026-12-01T02:00", or "02:00" with `every`
  int64_t duration_s = 0;
  std::string every;  // "Mon,Thu"; empty: once
  std::string timezone = "UTC";
  std::string reason;
  std::string created_by;
  std::optional<ApiTime> created_at;
  // When the window is on now, until when; else when it next starts (none: it is over).
  std::optional<ApiTime> active_until;
  std::optional<ApiTime> next_start;
};
nlohmann::json to_json(const MaintenanceEntry& window);
MaintenanceEntry maintenance_entry_from_json(const nlohmann::json& document);

struct MaintenanceList {
  std::vector<MaintenanceEntry> windows;
};
nlohmann::json to_json(const MaintenanceList& list);
MaintenanceList maintenance_list_from_json(const nlohmann::json& document);

// GET /api/v1/silences lists the silences on now or ended in the last day; POST takes domain,
// verdict (optional), duration and comment.
struct SilenceEntry {
  uint64_t id = 0;
  std::string domain;
  std::optional<Verdict> verdict;  // none: every verdict
  ApiTime starts_at;
  ApiTime ends_at;
  std::string comment;
  std::string created_by;
  ApiTime created_at;
  std::string expired_by;  // who expired it early
  bool active = false;
};
nlohmann::json to_json(const SilenceEntry& silence);
SilenceEntry silence_entry_from_json(const nlohmann::json& document);

struct SilenceList {
  std::vector<SilenceEntry> silences;
};
nlohmann::json to_json(const SilenceList& list);
SilenceList silence_list_from_json(const nlohmann::json& document);

}  // namespace vantage
