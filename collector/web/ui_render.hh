#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api_model.hh"
#include "correlation.hh"
#include "result.hh"
#include "rollup.hh"

// The operator UI's pages, rendered on the server from the read API's documents: semantic tables,
// every colour with its word beside it, no script but a reload, and every value from an agent, an
// operator or a config passed through html_escape.
namespace vantage {

// What every page of a session shows around its content: the operator, the navigation and the
// logout form with the session's CSRF token.
struct UiFrame {
  std::string title;
  std::string operator_name;
  std::string csrf;
  std::string_view section;  // "overview", "agents", "alerts": the navigation's current entry
};

std::string render_login(std::string_view csrf, std::string_view error);

// One vantage's part in one domain, as an overview cell says it.
struct UiCell {
  std::optional<Verdict> verdict;  // established reading; nullopt: establishing
  Verdict latest = Verdict::Ok;
  bool fresh = false;
};

struct UiOverviewRow {
  StatusEntry status;
  std::vector<std::optional<UiCell>> cells;  // by UiOverview::vantages; nullopt: never reported
};

struct UiOverview {
  std::vector<std::string> vantages;  // the columns, by name
  std::vector<UiOverviewRow> rows;
  std::string verdict_filter;  // "" all, else a verdict's name
  std::string sort;            // "domain" or "since"
};
std::string render_overview(const UiFrame& frame, const UiOverview& overview);

// The worst verdict the domain held during one UTC day; nullopt before its first verdict.
struct UiDay {
  TimePoint start;
  std::optional<Verdict> worst;
  size_t changes = 0;  // verdict changes that day
};
std::string render_domain(const UiFrame& frame, const DomainExplanation& explanation,
                          const std::vector<UiDay>& days);
std::string render_agents(const UiFrame& frame, const std::vector<AgentEntry>& agents);
std::string render_alerts(const UiFrame& frame, const AlertList& alerts);

// The worse of two verdicts for a day's bar: any failure over DEGRADED over UNKNOWN over OK.
int verdict_severity(Verdict verdict);

}  // namespace vantage
