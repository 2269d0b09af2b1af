// The client commands that read verdicts: status, explain, history, alerts.
#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "api_model.hh"
#include "cli.hh"
#include "cli_output.hh"
#include "printable.hh"
#include "result.hh"
#include "result_json.hh"
#include "vocabulary.hh"

namespace vantage {
namespace {

template <typename Document>
std::string verdict_with_scope(const Document& document) {
  const std::string verdict(to_string(document.verdict));
  return document.scope == Scope::None ? verdict
                                       : fmt::format("{} ({})", verdict, to_string(document.scope));
}

template <typename Value>
std::string join(const std::vector<Value>& values, std::string_view separator) {
  std::string text;
  for (const auto& value : values) {
    text += fmt::format("{}{}", text.empty() ? "" : separator, value);
  }
  // Names and networks came from agents: escaped, so that they cannot rewrite the screen.
  return printable(text);
}

std::string plural(int count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

// Why a domain is UNKNOWN, with the numbers behind it: "1 vantage reporting, 0 usable (1
// isolated); min_vantages is 2".
std::string unknown_because(const DomainState& state, int min_vantages) {
  std::vector<std::string> not_counted;
  if (!state.isolated_vantages.empty()) {
    not_counted.push_back(fmt::format("{} isolated", state.isolated_vantages.size()));
  }
  if (!state.establishing_vantages.empty()) {
    not_counted.push_back(
        fmt::format("{} without an established reading yet", state.establishing_vantages.size()));
  }
  std::string text =
      fmt::format("{} reporting, {} usable", plural(state.reporting, "vantage"), state.healthy);
  if (!not_counted.empty()) {
    text += fmt::format(" ({})", fmt::join(not_counted, ", "));
  }
  if (!state.stale_vantages.empty()) {
    text += fmt::format(", {} stale", state.stale_vantages.size());
  }
  if (min_vantages > 0) {
    text += fmt::format("; min_vantages is {}", min_vantages);
  }
  return text;
}

std::string describe(const DeliveryEvent& event) {
  std::string state(to_string(event.state));
  if (event.attempts > 1) {
    state += fmt::format(" after {} attempts", event.attempts);
  }
  if (event.state != DeliveryState::Delivered && !event.last_error.empty()) {
    state += ": " + event.last_error;
  }
  // An attempt after the delivery is a reminder or keep-alive that failed (one still out is not
  // on record yet). The delivery stands; the failure is news.
  const bool resend_failed = event.state == DeliveryState::Delivered && event.last_attempt &&
                             event.delivered_at && *event.last_attempt > *event.delivered_at;
  if (resend_failed) {
    state += "; the last re-send failed: " + event.last_error;
  }
  return state;
}

// "firing", "resolved", or what holds a firing alert back: "silenced", "in maintenance".
std::string alert_status(const AlertEntry& alert) {
  if (alert.resolved_at) {
    return "resolved";
  }
  if (alert.muted) {
    return alert.muted->kind == "silence" ? "silenced" : "in maintenance";
  }
  return "firing";
}

// "silence 2 by alice until 2026-11-29T06:00:00.000Z: upstream fix" for a held-back alert.
std::string mute_line(const MuteEntry& muted) {
  const std::string what = muted.kind == "silence"
                               ? fmt::format("silence {}", muted.id)
                               : (muted.id == 0 ? "maintenance window from collector.yaml"
                                                : fmt::format("maintenance window {}", muted.id));
  return fmt::format("{} by {} until {}: {}", what, text_of(muted.by), format_time(muted.until),
                     text_of(muted.why));
}

std::string deliveries_of(const AlertEntry& alert) {
  std::string text;
  for (const auto& delivery : alert.deliveries) {
    const std::string kind = delivery.receiver.substr(0, delivery.receiver.find(' '));
    // An ended alert: how its firing went, then its resolve.
    const std::string state = delivery.resolve
                                  ? fmt::format("firing {}, resolve {}", describe(delivery.firing),
                                                describe(*delivery.resolve))
                                  : describe(delivery.firing);
    text += fmt::format("{}{} {}", text.empty() ? "" : "; ", kind, state);
  }
  // A receiver's error text is whatever its server answered.
  return text.empty() ? "no receivers" : printable(text);
}

// The same probe failing for several questions (A, AAAA, NS of one server) is one entry.
std::string failures_of(const VantageEntry& vantage) {
  std::vector<std::pair<std::string, int>> counted;
  for (const auto& failure : vantage.failures) {
    const std::string entry = fmt::format("{} {} {}", to_string(failure.check),
                                          printable(failure.target), to_string(failure.failure));
    const auto seen = std::find_if(counted.begin(), counted.end(),
                                   [&](const auto& known) { return known.first == entry; });
    if (seen == counted.end()) {
      counted.emplace_back(entry, 1);
    } else {
      ++seen->second;
    }
  }
  std::string failures;
  for (const auto& [entry, count] : counted) {
    failures += fmt::format("{}{}{}", failures.empty() ? "" : "; ", entry,
                            count > 1 ? fmt::format(" x{}", count) : "");
  }
  return failures.empty() ? "-" : failures;
}

std::string network_of(const VantageEntry& vantage) {
  if (!vantage.network.empty()) {
    return text_of(vantage.network);
  }
  return vantage.asn ? std::to_string(*vantage.asn) : "-";
}

void print_vantages(const std::vector<VantageEntry>& vantages, std::ostream& out) {
  Table rows;
  for (const auto& vantage : vantages) {
    std::string reading =
        vantage.counts ? std::string(to_string(*vantage.counts)) : std::string("not yet");
    if (vantage.degraded) {
      reading += " (slow)";
    }
    if (!vantage.fresh) {
      reading += " (stale)";
    }
    rows.push_back({text_of(vantage.agent), network_of(vantage), reading,
                    std::string(to_string(vantage.latest_reading)), age_of(vantage.latest_at),
                    fmt::format("{:.1f}", vantage.latency_ms), failures_of(vantage)});
  }
  print_table(out, {"AGENT", "NETWORK", "COUNTS_AS", "LATEST", "AT", "MS", "FAILED_PROBES"}, rows);
}

// "99.93%", rounded down so that a window with any down cycle never shows 100%; "-" without
// cycles counted (or from a collector before rollups).
std::string percent_text(const std::optional<double>& ratio) {
  if (!ratio) {
    return "-";
  }
  return fmt::format("{:.2f}%", uptime_percent(*ratio));
}

std::string uptime_of(const std::vector<UptimeEntry>& uptime, std::string_view window) {
  const auto found = std::find_if(uptime.begin(), uptime.end(),
                                  [&](const UptimeEntry& entry) { return entry.window == window; });
  return found != uptime.end() ? percent_text(found->ratio) : "-";
}

void print_uptime_and_latency(const DomainExplanation& explanation, std::ostream& out) {
  if (!explanation.uptime.empty()) {
    out << "\nUptime (cycles of all vantages read OK or DEGRADED; UNKNOWN and VANTAGE_ISOLATED "
           "not counted):\n";
    Table rows;
    for (const auto& entry : explanation.uptime) {
      rows.push_back({entry.window, percent_text(entry.ratio), std::to_string(entry.up),
                      std::to_string(entry.down), std::to_string(entry.inconclusive)});
    }
    print_table(out, {"WINDOW", "UP", "CYCLES_UP", "CYCLES_DOWN", "NOT_COUNTED"}, rows);
  }
  if (!explanation.latency_24h.empty()) {
    out << "\nLatency over the last 24 hours (successful probes of all vantages):\n";
    Table rows;
    for (const auto& entry : explanation.latency_24h) {
      rows.push_back({std::string(to_string(entry.check)), std::to_string(entry.samples),
                      fmt::format("{:.1f}", entry.p50_ms), fmt::format("{:.1f}", entry.p95_ms),
                      fmt::format("{:.1f}", entry.max_ms)});
    }
    print_table(out, {"CHECK", "CYCLES", "P50_MS", "P95_MS", "MAX_MS"}, rows);
  }
}

// The agent's words for what expires, and who saw it: "certificate CN=social.example expires
// 2026-12-02T12:00:00Z (in 3 days), served at 203.0.113.80:443; seen from 3 vantages".
std::string expiry_line(const ExpiryWarning& warning) {
  return fmt::format("{}; seen from {}", text_of(warning.text),
                     plural(static_cast<int>(warning.vantages.size()), "vantage"));
}

}  // namespace

int status_command(const ClientOptions& options, std::ostream& out) {
  const auto fetched = fetch_for_humans(options, "/api/v1/status", out, &status_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  if (fetched.document->empty()) {
    out << "no domains yet: add targets (targets add DOMAIN) and wait for the agents' results\n";
    return 0;
  }
  Table rows;
  std::string held;
  std::string expiring;
  for (const auto& [state, reported, uptime, muted] : *fetched.document) {
    if (muted) {
      held += fmt::format("  {}: {}\n", text_of(state.domain), mute_line(*muted));
    }
    for (const auto& warning : state.expiring) {
      expiring += fmt::format("  {}: {}\n", text_of(state.domain), expiry_line(warning));
    }
    const auto since = reported ? std::optional(state.since) : std::nullopt;
    rows.push_back({text_of(state.domain), std::string(to_string(state.verdict)),
                    state.scope == Scope::None ? "-" : std::string(to_string(state.scope)),
                    time_text(since), age_of(since), std::to_string(state.reporting),
                    std::to_string(state.healthy), std::to_string(state.failing),
                    uptime_of(uptime, "24h"), join(state.affected_networks, ",")});
  }
  // REPORTING: a fresh reading; USABLE: of those, not isolated and with an established reading;
  // FAILING: of those, not OK; UP_24H: the share of the last 24 hours' cycles read OK.
  print_table(out,
              {"DOMAIN", "VERDICT", "SCOPE", "SINCE", "FOR", "REPORTING", "USABLE", "FAILING",
               "UP_24H", "AFFECTED_NETWORKS"},
              rows);
  if (!expiring.empty()) {
    out << "\nExpiring soon (warnings beside the verdicts):\n" << expiring;
  }
  if (!held.empty()) {
    out << "\nAlerts held back now (the verdicts above are still true):\n" << held;
  }
  return 0;
}

int explain_command(const ClientOptions& options, const std::string& domain, std::ostream& out) {
  const auto fetched = fetch_for_humans(options, "/api/v1/domains/" + percent_encode(domain), out,
                                        &domain_explanation_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const DomainExplanation& explanation = *fetched.document;
  const DomainState& state = explanation.state;
  out << fmt::format("{}: {} since {} ({})\n", text_of(state.domain), verdict_with_scope(state),
                     format_time(state.since), age_of(state.since));
  if (state.verdict == Verdict::Unknown) {
    out << fmt::format("  UNKNOWN: {}.\n", unknown_because(state, explanation.min_vantages));
  } else {
    out << fmt::format("  {}.\n", verdict_meaning(state.verdict));
    out << fmt::format("  {} reporting, {} usable, {} failing", plural(state.reporting, "vantage"),
                       state.healthy, state.failing);
    if (!state.affected_vantages.empty()) {
      out << fmt::format("; affected: {} in {}", join(state.affected_vantages, ", "),
                         join(state.affected_networks, ", "));
    }
    out << "\n";
  }
  for (const auto& [names, label] :
       {std::pair{&state.isolated_vantages, "isolated (not counted)"},
        std::pair{&state.establishing_vantages, "no established reading yet (not counted)"},
        std::pair{&state.stale_vantages, "stale: silent for over two intervals (not counted)"}}) {
    if (!names->empty()) {
      out << fmt::format("  {}: {}\n", label, join(*names, ", "));
    }
  }

  if (!state.evidence.empty()) {
    out << "\nEvidence:\n";
    for (const auto& line : state.evidence) {
      out << "  " << text_of(line) << '\n';
    }
  }
  if (!state.expiring.empty()) {
    out << "\nExpiring soon (warnings beside the verdict):\n";
    for (const auto& warning : state.expiring) {
      // The first vantage's words, then what all of them saw.
      out << "  " << text_of(warning.text) << '\n';
      out << fmt::format("     at {}; seen from {}\n", join(warning.at, ", "),
                         join(warning.vantages, ", "));
    }
  }
  if (!explanation.vantages.empty()) {
    out << "\nVantages:\n";
    print_vantages(explanation.vantages, out);
  }
  if (!explanation.alerts.empty()) {
    out << "\nAlerts:\n";
    for (const auto& alert : explanation.alerts) {
      out << fmt::format("  #{} {} {} since {}: {}\n", alert.id, alert_status(alert),
                         verdict_with_scope(alert), format_time(alert.since), deliveries_of(alert));
      if (alert.muted) {
        out << "     held back by " << mute_line(*alert.muted) << "\n";
      }
    }
  }
  print_uptime_and_latency(explanation, out);
  if (!explanation.recent_changes.empty()) {
    out << "\nRecent changes:\n";
    for (const auto& change : explanation.recent_changes) {
      out << fmt::format("  {}  {} -> {}\n", format_time(change.changed_at),
                         to_string(change.previous_verdict), verdict_with_scope(change));
    }
  }
  return 0;
}

int history_command(const ClientOptions& options, const std::string& domain,
                    const std::string& since, std::ostream& out) {
  const auto fetched = fetch_for_humans(options,
                                        fmt::format("/api/v1/domains/{}/history?since={}",
                                                    percent_encode(domain), percent_encode(since)),
                                        out, &history_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const History& history = *fetched.document;
  if (history.changes.empty()) {
    out << fmt::format("{}: no verdict changes since {}\n", printable(domain),
                       format_time(history.since));
    return 0;
  }
  Table rows;
  for (const auto& [change, state] : history.changes) {
    rows.push_back({format_time(change.changed_at), std::string(to_string(change.previous_verdict)),
                    verdict_with_scope(change), join(state.affected_networks, ","),
                    state.evidence.empty() ? "-" : text_of(state.evidence.front())});
  }
  print_table(out, {"CHANGED_AT", "FROM", "TO", "AFFECTED_NETWORKS", "FIRST_EVIDENCE"}, rows);
  return 0;
}

int alerts_command(const ClientOptions& options, std::ostream& out) {
  const auto fetched = fetch_for_humans(options, "/api/v1/alerts", out, &alert_list_from_json);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const AlertList& list = *fetched.document;
  if (list.warning) {
    out << "warning: " << printable(*list.warning) << "\n";
  }
  if (list.alerts.empty()) {
    out << "no alerts\n";
    return 0;
  }
  Table rows;
  std::vector<std::string> held_back;
  for (const auto& alert : list.alerts) {
    rows.push_back({std::to_string(alert.id), alert_status(alert), text_of(alert.domain),
                    verdict_with_scope(alert), age_of(alert.since), age_of(alert.resolved_at),
                    deliveries_of(alert)});
    if (alert.muted) {
      held_back.push_back(fmt::format("alert {}: {}", alert.id, mute_line(*alert.muted)));
    }
  }
  print_table(out, {"ID", "STATUS", "DOMAIN", "VERDICT", "SINCE", "RESOLVED", "DELIVERY"}, rows);
  for (const auto& line : held_back) {
    out << line << '\n';
  }
  return 0;
}

}  // namespace vantage
