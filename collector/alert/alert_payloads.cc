#include "alert_payloads.hh"

#include <fmt/format.h>

#include <algorithm>

#include "result_json.hh"

namespace vantage {
namespace {

// A person reading the summary gains nothing from milliseconds; the JSON fields keep them.
std::string format_time_to_seconds(TimePoint time) {
  std::string text = format_time(time);  // "2026-11-25T07:00:00.123Z"
  const auto dot = text.find('.');
  if (dot != std::string::npos) {
    text.erase(dot, text.size() - dot - 1);
  }
  return text;
}

std::string asn_name(int64_t asn) {
  return asn == 0 ? std::string("unknown ASN") : fmt::format("AS{}", asn);
}

std::string join_asns(const std::vector<int64_t>& asns) {
  std::vector<std::string> names;
  names.reserve(asns.size());
  for (const int64_t asn : asns) {
    names.push_back(asn_name(asn));
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  return fmt::format("{}", fmt::join(items, separator));
}

// The networks scope was counted in; an event from before networks were kept names its ASNs.
std::string networks_of(const AlertEvent& event) {
  return event.affected_networks.empty() ? join_asns(event.affected_asns)
                                         : join(event.affected_networks, ", ");
}

std::string resolution(const AlertEvent& event) {
  if (event.resolved_by == ResolvedBy::TargetRemoved) {
    return fmt::format("{} (target removed)", format_time_to_seconds(*event.resolved_at));
  }
  return fmt::format("{} (now {})", format_time_to_seconds(*event.resolved_at),
                     to_string(event.resolved_to));
}

}  // namespace

std::string alert_summary(const AlertEvent& event) {
  std::string line = fmt::format("{} {}", event.domain, to_string(event.verdict));
  if (event.scope != Scope::None) {
    line += fmt::format(" ({})", to_string(event.scope));
  }
  line += " since " + format_time_to_seconds(event.since);
  const size_t vantages = event.affected_vantages.size();
  if (vantages > 0) {
    line += fmt::format(": {} vantage{}", vantages, vantages == 1 ? "" : "s");
    if (!networks_of(event).empty()) {
      line += " in " + networks_of(event);
    }
  } else if (!networks_of(event).empty()) {
    line += ": " + networks_of(event);
  }
  if (event.resolved_at) {
    line += "; resolved " + resolution(event);
  }
  return line;
}

nlohmann::json webhook_payload(const AlertEvent& event, const std::string& page) {
  nlohmann::json body = {{"version", kWebhookPayloadVersion},
                         {"status", event.resolved_at ? "resolved" : "firing"},
                         {"domain", event.domain},
                         {"verdict", to_string(event.verdict)},
                         {"scope", to_string(event.scope)},
                         {"since", format_time(event.since)},
                         {"affected_vantages", event.affected_vantages},
                         {"affected_asns", event.affected_asns},
                         {"affected_networks", event.affected_networks},
                         {"evidence", event.evidence},
                         {"summary", alert_summary(event)}};
  if (event.resolved_at) {
    body["resolved_at"] = format_time(*event.resolved_at);
    body["resolved_by"] = resolution_name(event);
  }
  if (!page.empty()) {
    body["url"] = page;
  }
  return body;
}

std::string slack_escaped(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

nlohmann::json slack_payload(const AlertEvent& event, const std::string& page) {
  const std::string summary = alert_summary(event);
  const auto or_none = [](const std::string& text) {
    return text.empty() ? std::string("none") : text;
  };
  nlohmann::json fields = nlohmann::json::array({
      {{"title", "Scope"},
       {"value", or_none(std::string(to_string(event.scope)))},
       {"short", true}},
      {{"title", "Since"}, {"value", format_time_to_seconds(event.since)}, {"short", true}},
      {{"title", "Vantages"},
       {"value", or_none(join(event.affected_vantages, ", "))},
       {"short", false}},
      {{"title", "Networks"}, {"value", or_none(networks_of(event))}, {"short", true}},
  });
  if (event.resolved_at) {
    fields.push_back({{"title", "Resolved"}, {"value", resolution(event)}, {"short", true}});
  }
  nlohmann::json attachment = {
      {"color", event.resolved_at ? "good" : "danger"},
      {"fallback", summary},
      {"title", fmt::format("{} {}", event.domain, to_string(event.verdict))},
      {"text", join(event.evidence, "\n")},
      {"fields", std::move(fields)}};
  // Slack reads <...> in text as links and mentions (<!channel>): what agents sent is escaped.
  std::string text = (event.resolved_at ? "[RESOLVED] " : "[FIRING] ") + slack_escaped(summary);
  if (!event.evidence.empty()) {
    text += "\n" + slack_escaped(event.evidence.front());
  }
  if (!page.empty()) {
    attachment["title_link"] = page;
    text += fmt::format("\n<{}|{} in Vantage>", page, event.domain);
  }
  return {{"text", std::move(text)},
          {"attachments", nlohmann::json::array({std::move(attachment)})}};
}

nlohmann::json alertmanager_payload(const AlertEvent& event, const std::string& page) {
  nlohmann::json alert = {{"labels",
                           {{"alertname", "VantageVerdict"},
                            {"domain", event.domain},
                            {"verdict", to_string(event.verdict)},
                            {"scope", to_string(event.scope)}}},
                          {"annotations",
                           {{"summary", alert_summary(event)},
                            {"evidence", join(event.evidence, "\n")},
                            {"vantages", join(event.affected_vantages, ", ")},
                            {"asns", join_asns(event.affected_asns)},
                            {"networks", networks_of(event)}}},
                          {"startsAt", format_time(event.since)}};
  if (event.resolved_at) {
    // Alertmanager rejects the whole post (400) when endsAt is before startsAt, as a clock step
    // between the two events could make it.
    alert["endsAt"] = format_time(std::max(*event.resolved_at, event.since));
  }
  if (!page.empty()) {
    alert["generatorURL"] = page;
  }
  return nlohmann::json::array({std::move(alert)});
}

std::string domain_page_url(const std::string& external_url, const std::string& domain) {
  // Domains are stored as lower-case letters, digits, '-' and '.': nothing to escape in a path.
  return external_url.empty() ? "" : fmt::format("{}/ui/domains/{}", external_url, domain);
}

std::string alertmanager_alerts_url(std::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/') {
    base_url.remove_suffix(1);
  }
  return fmt::format("{}/api/v2/alerts", base_url);
}

}  // namespace vantage
