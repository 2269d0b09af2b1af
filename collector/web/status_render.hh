#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "public_status.hh"

// The public status page's three forms: the HTML page, Statuspage's summary.json, and SVG badges
// for READMEs. Server-rendered, no script, nothing fetched from elsewhere; every name passes
// through html_escape.
namespace vantage {

std::string render_status_page(const PublicStatus& status);

// The shape of Statuspage's /api/v2/summary.json: page, components, incidents (one per component
// that is not operational, since its status began), scheduled_maintenances and status. Each
// component also carries its "uptime" (24h, 7d, 30d, 90d; null without data).
nlohmann::json status_summary(const PublicStatus& status);

// A badge in the usual two-part shape ("example.org | operational"), readable by screen readers.
std::string status_badge(const StatusComponent& component);
// "uptime 24h | 99.95%"; "no data" when no cycle counted.
std::string uptime_badge(const StatusComponent& component, UptimeWindow window);

}  // namespace vantage
