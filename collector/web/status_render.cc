#include "status_render.hh"

#include <fmt/format.h>

#include "html.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using nlohmann::json;

// Background and text colour per status; the page always writes the status in words beside them.
struct Colours {
  std::string_view fill;
  std::string_view text;
};

Colours colours(ComponentStatus status) {
  switch (status) {
    case ComponentStatus::Operational:
      return {"#2e7d32", "#fff"};
    case ComponentStatus::DegradedPerformance:
      return {"#f9a825", "#000"};
    case ComponentStatus::PartialOutage:
      return {"#ef6c00", "#000"};
    case ComponentStatus::MajorOutage:
      return {"#c62828", "#fff"};
    case ComponentStatus::Unknown:
      break;
  }
  return {"#757575", "#fff"};
}

std::string percent_or_dash(const std::optional<double>& ratio) {
  return ratio ? format_percent(*ratio) : "–";
}

std::string day_title(const StatusDay& day) {
  const std::string date = utc_text(day.start, "%Y-%m-%d");
  const auto ratio = day.counts.ratio();
  if (!ratio) {
    return fmt::format("{}: no data", date);
  }
  return fmt::format("{}: {} up ({} of {} cycles down)", date, format_percent(*ratio),
                     day.counts.down, day.counts.up + day.counts.down);
}

// One bar a day, each with its date and figures as a title (shown on hover, read by screen
// readers), and a text summary of the whole bar for those who cannot see colour.
std::string day_bar(const StatusComponent& component) {
  constexpr int kBarWidth = 3;
  constexpr int kStep = 4;
  constexpr int kHeight = 24;
  size_t bad_days = 0;
  size_t known_days = 0;
  std::string rects;
  for (size_t i = 0; i < component.days.size(); ++i) {
    const StatusDay& day = component.days[i];
    const ComponentStatus status = day_status(day.counts);
    known_days += status != ComponentStatus::Unknown ? 1 : 0;
    bad_days += status != ComponentStatus::Unknown && status != ComponentStatus::Operational;
    rects += fmt::format(
        R"(<rect x="{}" y="0" width="{}" height="{}" rx="1" fill="{}" class="day {}"><title>{}</title></rect>)",
        i * kStep, kBarWidth, kHeight, colours(status).fill, to_string(status),
        html_escape(day_title(day)));
  }
  const std::string summary = fmt::format("Last {} days: {} with data, {} with downtime",
                                          component.days.size(), known_days, bad_days);
  return fmt::format(
      R"(<svg class="bar" role="img" aria-label="{}" width="{}" height="{}" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg">{}</svg>)",
      html_escape(summary), component.days.size() * kStep, kHeight, component.days.size() * kStep,
      kHeight, rects);
}

std::string status_cell(ComponentStatus status) {
  const Colours colour = colours(status);
  return fmt::format(
      R"(<td class="status {}"><span class="dot" style="background:{}" aria-hidden="true"></span> {}</td>)",
      to_string(status), colour.fill, label(status));
}

std::string component_row(const StatusComponent& component) {
  const std::string domain = html_escape(component.domain);
  std::string uptime;
  for (const auto& ratio : component.uptime) {
    uptime += fmt::format(R"(<td class="num">{}</td>)", percent_or_dash(ratio));
  }
  const std::string since =
      component.since ? utc_text(*component.since, "%Y-%m-%d %H:%M UTC") : std::string("–");
  return fmt::format(
      R"(<tr data-domain="{}"><th scope="row">{}</th>{}<td>{}</td>{}<td>{}</td></tr>)", domain,
      domain, status_cell(component.status), since, uptime, day_bar(component));
}

bool is_incident(ComponentStatus status) {
  return status != ComponentStatus::Operational && status != ComponentStatus::Unknown;
}

std::string incident_list(const PublicStatus& status) {
  std::string items;
  for (const StatusComponent& component : status.components) {
    if (!is_incident(component.status)) {
      continue;
    }
    const std::string since =
        component.since ? fmt::format(" since {}", utc_text(*component.since, "%Y-%m-%d %H:%M UTC"))
                        : std::string();
    items += fmt::format(R"(<li class="incident {}"><strong>{}</strong>: {}{}</li>)",
                         to_string(component.status), html_escape(component.domain),
                         label(component.status), since);
  }
  if (items.empty()) {
    return R"(<p id="no-incidents">No current incidents.</p>)";
  }
  return fmt::format(R"(<ul id="incidents">{}</ul>)", items);
}

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,sans-serif;margin:0;background:#fafafa;color:#212121}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
.banner{padding:.8rem 1rem;border-radius:4px;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{padding:.45rem .6rem;border-bottom:1px solid #e0e0e0;text-align:left;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.dot{display:inline-block;width:.7rem;height:.7rem;border-radius:50%;vertical-align:middle}
footer{color:#616161;font-size:.85rem;margin-top:1rem}
)";

json time_or_null(const std::optional<TimePoint>& time) {
  return time ? json(format_time(*time)) : json(nullptr);
}

std::string_view impact(ComponentStatus status) {
  switch (status) {
    case ComponentStatus::MajorOutage:
      return "critical";
    case ComponentStatus::PartialOutage:
      return "major";
    case ComponentStatus::DegradedPerformance:
      return "minor";
    case ComponentStatus::Operational:
    case ComponentStatus::Unknown:
      break;
  }
  return "none";
}

// Shields-style widths: about 6.5 px a character of 11 px Verdana, plus padding.
int text_width(std::string_view text) {
  return static_cast<int>(text.size()) * 13 / 2 + 10;
}

std::string badge(std::string_view left, std::string_view right, Colours colour) {
  const int left_width = text_width(left);
  const int right_width = text_width(right);
  const int width = left_width + right_width;
  const std::string left_text = html_escape(left);
  const std::string right_text = html_escape(right);
  return fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="20" role="img" aria-label="{1}: {2}">)"
      R"(<title>{1}: {2}</title>)"
      R"(<rect width="{3}" height="20" fill="#555"/><rect x="{3}" width="{4}" height="20" fill="{5}"/>)"
      R"(<g font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">)"
      R"(<text x="{6}" y="14" fill="#fff" text-anchor="middle">{1}</text>)"
      R"(<text x="{7}" y="14" fill="{8}" text-anchor="middle">{2}</text></g></svg>)",
      width, left_text, right_text, left_width, right_width, colour.fill, left_width / 2,
      left_width + right_width / 2, colour.text);
}

}  // namespace

std::string render_status_page(const PublicStatus& status) {
  const StatusIndicator indicator = page_indicator(status);
  ComponentStatus worst = ComponentStatus::Operational;
  for (const StatusComponent& component : status.components) {
    if (is_incident(component.status)) {
      worst = std::max(worst, component.status);
    }
  }
  const Colours banner = colours(worst);
  std::string rows;
  for (const StatusComponent& component : status.components) {
    rows += component_row(component);
  }
  const std::string title = html_escape(status.title);
  return fmt::format(
      R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
      R"(<meta name="viewport" content="width=device-width, initial-scale=1">)"
      R"(<meta http-equiv="refresh" content="60"><title>{0}</title><style>{1}</style></head>)"
      R"(<body><main><h1>{0}</h1>)"
      R"(<p class="banner" id="indicator" data-indicator="{2}" role="status" style="background:{3};color:{4}">{5}</p>)"
      R"(<section aria-labelledby="incidents-heading"><h2 id="incidents-heading">Current incidents</h2>{6}</section>)"
      R"(<section aria-labelledby="components-heading"><h2 id="components-heading">Components</h2>)"
      R"(<table id="components"><caption>Status and uptime of each component</caption><thead><tr>)"
      R"(<th scope="col">Component</th><th scope="col">Status</th><th scope="col">Since</th>)"
      R"(<th scope="col">24 h</th><th scope="col">7 d</th><th scope="col">30 d</th><th scope="col">90 d</th>)"
      R"(<th scope="col">Last {7} days (UTC)</th></tr></thead><tbody>{8}</tbody></table></section>)"
      R"(<footer>Updated {9}; this page reloads every minute. Uptime counts the checks of every )"
      R"(network that watches a component; a check that could not judge counts for neither side.)"
      R"(</footer></main></body></html>)",
      title, kStyle, indicator.indicator, banner.fill, banner.text, indicator.description,
      incident_list(status), kStatusDays, rows,
      utc_text(status.generated_at, "%Y-%m-%d %H:%M:%S UTC"));
}

json status_summary(const PublicStatus& status) {
  constexpr std::string_view kPageId = "vantage";
  json components = json::array();
  json incidents = json::array();
  int position = 0;
  for (const StatusComponent& component : status.components) {
    json uptime = json::object();
    for (size_t i = 0; i < kUptimeWindows.size(); ++i) {
      uptime[std::string(to_string(kUptimeWindows[i]))] =
          component.uptime[i] ? json(*component.uptime[i]) : json(nullptr);
    }
    json entry = {{"id", component.domain},
                  {"name", component.domain},
                  {"status", to_string(component.status)},
                  {"created_at", nullptr},
                  {"updated_at", time_or_null(component.since)},
                  {"position", ++position},
                  {"description", nullptr},
                  {"showcase", true},
                  {"start_date", nullptr},
                  {"group_id", nullptr},
                  {"page_id", kPageId},
                  {"group", false},
                  {"only_show_if_degraded", false},
                  {"uptime", uptime}};
    if (is_incident(component.status)) {
      const json since = time_or_null(component.since);
      incidents.push_back(
          {{"id", fmt::format("{}@{}", component.domain,
                              since.is_null() ? "" : since.get<std::string>())},
           {"name", fmt::format("{}: {}", component.domain, label(component.status))},
           {"status", "investigating"},
           {"impact", impact(component.status)},
           {"created_at", since},
           {"started_at", since},
           {"updated_at", since},
           {"monitoring_at", nullptr},
           {"resolved_at", nullptr},
           {"page_id", kPageId},
           {"shortlink", status.url.empty() ? json(nullptr) : json(status.url)},
           {"incident_updates", json::array()},
           {"components", json::array({entry})}});
    }
    components.push_back(std::move(entry));
  }
  const StatusIndicator indicator = page_indicator(status);
  return {{"page",
           {{"id", kPageId},
            {"name", status.title},
            {"url", status.url.empty() ? json(nullptr) : json(status.url)},
            {"time_zone", "Etc/UTC"},
            {"updated_at", format_time(status.generated_at)}}},
          {"components", components},
          {"incidents", incidents},
          {"scheduled_maintenances", json::array()},
          {"status", {{"indicator", indicator.indicator}, {"description", indicator.description}}}};
}

std::string status_badge(const StatusComponent& component) {
  return badge(component.domain, label(component.status), colours(component.status));
}

std::string uptime_badge(const StatusComponent& component, UptimeWindow window) {
  const auto& ratio = component.uptime[static_cast<size_t>(window)];
  const std::string left = fmt::format("uptime {}", to_string(window));
  if (!ratio) {
    return badge(left, "no data", colours(ComponentStatus::Unknown));
  }
  return badge(left, format_percent(*ratio), colours(uptime_status(*ratio)));
}

}  // namespace vantage
