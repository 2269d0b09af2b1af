#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "alerts.hh"

namespace vantage {

// The bodies the alert receivers get: pure functions of one event, so that the formats are
// tested without a network. Receivers are written against these; add fields, never rename.

// The webhook body's "version"; a change that is not an addition bumps it.
inline constexpr int kWebhookPayloadVersion = 1;

// One human line, the same in every format:
//   social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, AS64511
// and, once resolved, with "; resolved 2026-11-25T07:30:00Z (now OK)" appended.
std::string alert_summary(const AlertEvent& event);

// Generic webhook, one POST per event (times RFC 3339 UTC with milliseconds; affected_asns 0 is an
// unknown ASN; affected_networks the ASNs, or the source /24 or /48 of vantages without one;
// evidence the deciding probe first; resolved_at and resolved_by only in resolved events):
//   {"version": 1, "status": "firing" | "resolved", "domain": "social.example",
//    "verdict": "ROUTE_LOSS", "scope": "global", "since": "2026-11-25T07:00:00.000Z",
//    "resolved_at": "2026-11-25T07:30:00.000Z", "resolved_by": "OK",
//    "affected_vantages": ["vp-1", ...], "affected_asns": [64510, ...],
//    "affected_networks": ["AS64510", "192.0.2.0/24", ...],
//    "evidence": ["DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages ...", ...],
//    "summary": "<alert_summary>", "url": "https://vantage.example.org/ui/domains/..."}
// `page` is the domain's page in the operator UI (domain_page_url), or empty: then no "url".
nlohmann::json webhook_payload(const AlertEvent& event, const std::string& page = "");

// Slack incoming-webhook message: "text" is "[FIRING] " or "[RESOLVED] " and the summary (verdict,
// scope, since, vantages and networks), then the first evidence line (the probe that decided),
// then a link to `page` if there is one; one attachment (color "danger" or "good", titled with a
// link to `page`) holds every evidence line and the fields Scope, Since, Vantages, Networks and,
// once resolved, Resolved.
nlohmann::json slack_payload(const AlertEvent& event, const std::string& page = "");
// Text as Slack's message text takes it: &, < and > escaped, so nothing in it becomes a link or
// a mention.
std::string slack_escaped(const std::string& text);

// The body of POST /api/v2/alerts: an array of one alert whose labels (alertname
// "VantageVerdict", domain, verdict, scope) identify it across re-sends; endsAt only once
// resolved; generatorURL is `page` when there is one.
nlohmann::json alertmanager_payload(const AlertEvent& event, const std::string& page = "");

// "https://vantage.example.org/ui/domains/social.example" for alerting.external_url and a domain;
// empty without an external URL.
std::string domain_page_url(const std::string& external_url, const std::string& domain);

// Where Alertmanager takes alerts, for the base URL of collector.yaml ("http://127.0.0.1:9093").
std::string alertmanager_alerts_url(std::string_view base_url);

}  // namespace vantage
