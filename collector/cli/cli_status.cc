// The client commands that read verdicts: status, explain, history, alerts.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "cli.hh"
#include "cli_output.hh"
#include "printable.hh"
#include "result.hh"

namespace vantage {
namespace {

using nlohmann::json;

// What each verdict means, in the words an on-call engineer needs first.
std::string_view meaning_of(const std::string& verdict) {
  static const std::pair<std::string_view, std::string_view> kMeanings[] = {
      {"OK", "every layer is healthy from the usable vantages"},
      {"ROUTE_LOSS",
       "the domain's networks are unreachable: BGP withdrawal or black-holing (DNS fails because "
       "its servers cannot be reached, and the last known addresses are unreachable too)"},
      {"DNS_FAILURE", "DNS is broken while the domain's networks are reachable"},
      {"DOMAIN_VANISHED", "the name no longer exists (NXDOMAIN, or no delegation from the parent)"},
      {"SERVER_DOWN",
       "DNS and routing are fine, but the service does not accept connections (refused, or silent "
       "while its network answers)"},
      {"TLS_FAILURE", "TCP works, the TLS handshake or certificate fails"},
      {"HTTP_ERROR", "TLS works, HTTP fails (status, timeout after connect, content check)"},
      {"DEGRADED", "it works, but slower than its own baseline, or flapping"},
      {"UNKNOWN",
       "nothing can be said: too few usable vantages, or silence with no evidence about the "
       "network"},
  };
  for (const auto& [name, meaning] : kMeanings) {
    if (name == verdict) {
      return meaning;
    }
  }
  return "";
}

std::string verdict_with_scope(const json& document) {
  const std::string verdict = text_of(document.value("verdict", json()));
  const std::string scope = document.value("scope", std::string());
  return scope.empty() ? verdict : fmt::format("{} ({})", verdict, printable(scope));
}

std::string join(const json& values, std::string_view separator, std::string_view prefix = "") {
  std::string text;
  for (const auto& value : values) {
    text += fmt::format("{}{}{}", text.empty() ? "" : separator, prefix, text_of(value));
  }
  return text;
}

// The networks of a state or alert document; one stored before networks were kept has ASNs only.
std::string networks_of(const json& document, std::string_view separator) {
  if (document.contains("affected_networks")) {
    return join(document.value("affected_networks", json::array()), separator);
  }
  return join(document.value("affected_asns", json::array()), separator, "AS");
}

std::string plural(int count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

// Why a domain is UNKNOWN, with the numbers behind it: "1 vantage reporting, 0 usable (1
// isolated); min_vantages is 2".
std::string unknown_because(const json& state) {
  const int reporting = state.value("reporting", 0);
  const int usable = state.value("usable", state.value("healthy", 0));
  std::vector<std::string> not_counted;
  if (const auto isolated = state.value("isolated_vantages", json::array()); !isolated.empty()) {
    not_counted.push_back(fmt::format("{} isolated", isolated.size()));
  }
  if (const auto establishing = state.value("establishing_vantages", json::array());
      !establishing.empty()) {
    not_counted.push_back(
        fmt::format("{} without an established reading yet", establishing.size()));
  }
  std::string text = fmt::format("{} reporting, {} usable", plural(reporting, "vantage"), usable);
  if (!not_counted.empty()) {
    text += fmt::format(" ({})", fmt::join(not_counted, ", "));
  }
  if (const auto stale = state.value("stale_vantages", json::array()); !stale.empty()) {
    text += fmt::format(", {} stale", stale.size());
  }
  if (state.contains("min_vantages")) {
    text += fmt::format("; min_vantages is {}", text_of(state["min_vantages"]));
  }
  return text;
}

std::string deliveries_of(const json& alert) {
  std::string text;
  for (const auto& delivery : alert.value("deliveries", json::array())) {
    const std::string receiver = delivery.value("receiver", std::string());
    const std::string kind = receiver.substr(0, receiver.find(' '));
    const auto describe = [](const json& event) {
      std::string state = event.value("state", std::string());
      const int attempts = event.value("attempts", 0);
      if (attempts > 1) {
        state += fmt::format(" after {} attempts", attempts);
      }
      if (state.rfind("delivered", 0) != 0 && !event.value("last_error", std::string()).empty()) {
        state += ": " + event.value("last_error", std::string());
      }
      return state;
    };
    // An ended alert: how its firing went, then its resolve.
    const json firing = delivery.value("firing", json());
    const json resolve = delivery.value("resolve", json());
    const std::string state =
        resolve.is_object() && firing.is_object()
            ? fmt::format("firing {}, resolve {}", describe(firing), describe(resolve))
            : describe(delivery);
    text += fmt::format("{}{} {}", text.empty() ? "" : "; ", kind, state);
  }
  // A receiver's error text is whatever its server answered.
  return text.empty() ? "no receivers" : printable(text);
}

}  // namespace

int status_command(const ClientOptions& options, std::ostream& out) {
  const Fetched fetched = fetch_for_humans(options, "/api/v1/status", out);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const auto& body = fetched.document;
  if (!body->is_array() || body->empty()) {
    out << "no domains yet: add targets (targets add DOMAIN) and wait for the agents' results\n";
    return 0;
  }
  Table rows;
  for (const auto& domain : *body) {
    const json since = domain.value("since", json());
    rows.push_back(
        {text_of(domain.value("domain", json())), text_of(domain.value("verdict", json())),
         domain.value("scope", std::string()).empty() ? "-"
                                                      : text_of(domain.value("scope", json())),
         text_of(since), age_of(since), text_of(domain.value("reporting", json())),
         text_of(domain.value("usable", domain.value("healthy", json()))),
         text_of(domain.value("failing", json())), networks_of(domain, ",")});
  }
  // REPORTING: a fresh reading; USABLE: of those, not isolated and with an established reading;
  // FAILING: of those, not OK.
  print_table(out,
              {"DOMAIN", "VERDICT", "SCOPE", "SINCE", "FOR", "REPORTING", "USABLE", "FAILING",
               "AFFECTED_NETWORKS"},
              rows);
  return 0;
}

int explain_command(const ClientOptions& options, const std::string& domain, std::ostream& out) {
  const Fetched fetched =
      fetch_for_humans(options, "/api/v1/domains/" + percent_encode(domain), out);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const auto& body = fetched.document;
  const json& state = *body;
  const json since = state.value("since", json());
  out << fmt::format("{}: {} since {} ({})\n", text_of(state.value("domain", json())),
                     verdict_with_scope(state), text_of(since), age_of(since));
  const std::string verdict = state.value("verdict", std::string());
  if (verdict == "UNKNOWN") {
    out << fmt::format("  UNKNOWN: {}.\n", unknown_because(state));
  } else {
    out << fmt::format("  {}.\n", meaning_of(verdict));
    out << fmt::format("  {} reporting, {} usable, {} failing",
                       plural(state.value("reporting", 0), "vantage"),
                       text_of(state.value("usable", state.value("healthy", json()))),
                       text_of(state.value("failing", json())));
    const json affected = state.value("affected_vantages", json::array());
    if (!affected.empty()) {
      out << fmt::format("; affected: {} in {}", join(affected, ", "), networks_of(state, ", "));
    }
    out << "\n";
  }
  for (const auto& [key, label] :
       {std::pair{"isolated_vantages", "isolated (not counted)"},
        std::pair{"establishing_vantages", "no established reading yet (not counted)"},
        std::pair{"stale_vantages", "stale: silent for over two intervals (not counted)"}}) {
    const json names = state.value(key, json::array());
    if (!names.empty()) {
      out << fmt::format("  {}: {}\n", label, join(names, ", "));
    }
  }

  const json evidence = state.value("evidence", json::array());
  if (!evidence.empty()) {
    out << "\nEvidence:\n";
    for (const auto& line : evidence) {
      out << "  " << text_of(line) << '\n';
    }
  }

  const json vantages = state.value("vantages", json::array());
  if (!vantages.empty()) {
    out << "\nVantages:\n";
    Table rows;
    for (const auto& vantage : vantages) {
      // The same probe failing for several questions (A, AAAA, NS of one server) is one entry.
      std::vector<std::pair<std::string, int>> counted;
      for (const auto& failure : vantage.value("failures", json::array())) {
        const std::string entry = fmt::format("{} {} {}", text_of(failure.value("check", json())),
                                              text_of(failure.value("target", json())),
                                              text_of(failure.value("failure", json())));
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
      std::string reading = vantage.value("established", true)
                                ? text_of(vantage.value("verdict", json()))
                                : std::string("not yet");
      if (vantage.value("degraded", false)) {
        reading += " (slow)";
      }
      if (!vantage.value("fresh", true)) {
        reading += " (stale)";
      }
      rows.push_back({text_of(vantage.value("agent", json())),
                      text_of(vantage.value("network", vantage.value("asn", json()))), reading,
                      text_of(vantage.value("latest_reading", json())),
                      age_of(vantage.value("latest_at", json())),
                      fmt::format("{:.1f}", vantage.value("latency_ms", 0.0)),
                      failures.empty() ? "-" : failures});
    }
    print_table(out, {"AGENT", "NETWORK", "COUNTS_AS", "LATEST", "AT", "MS", "FAILED_PROBES"},
                rows);
  }

  const json alerts = state.value("alerts", json::array());
  if (!alerts.empty()) {
    out << "\nAlerts:\n";
    for (const auto& alert : alerts) {
      out << fmt::format("  #{} {} {} since {}: {}\n", text_of(alert.value("id", json())),
                         text_of(alert.value("status", json())), verdict_with_scope(alert),
                         text_of(alert.value("since", json())), deliveries_of(alert));
    }
  }

  const json changes = state.value("recent_changes", json::array());
  if (!changes.empty()) {
    out << "\nRecent changes:\n";
    for (const auto& change : changes) {
      out << fmt::format("  {}  {} -> {}\n", text_of(change.value("changed_at", json())),
                         text_of(change.value("previous_verdict", json())),
                         verdict_with_scope(change));
    }
  }
  return 0;
}

int history_command(const ClientOptions& options, const std::string& domain,
                    const std::string& since, std::ostream& out) {
  const Fetched fetched =
      fetch_for_humans(options,
                       fmt::format("/api/v1/domains/{}/history?since={}", percent_encode(domain),
                                   percent_encode(since)),
                       out);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const auto& body = fetched.document;
  const json changes = body->value("changes", json::array());
  if (changes.empty()) {
    out << fmt::format("{}: no verdict changes since {}\n", printable(domain),
                       text_of(body->value("since", json())));
    return 0;
  }
  Table rows;
  for (const auto& change : changes) {
    const json state = change.value("state", json::object());
    const json evidence =
        state.is_object() ? state.value("evidence", json::array()) : json::array();
    rows.push_back({text_of(change.value("changed_at", json())),
                    text_of(change.value("previous_verdict", json())), verdict_with_scope(change),
                    state.is_object() ? networks_of(state, ",") : "",
                    evidence.empty() ? "-" : text_of(evidence.front())});
  }
  print_table(out, {"CHANGED_AT", "FROM", "TO", "AFFECTED_NETWORKS", "FIRST_EVIDENCE"}, rows);
  return 0;
}

int alerts_command(const ClientOptions& options, std::ostream& out) {
  const Fetched fetched = fetch_for_humans(options, "/api/v1/alerts", out);
  if (!fetched.document) {
    return fetched.exit_code;
  }
  const auto& body = fetched.document;
  if (const json warning = body->value("warning", json()); warning.is_string()) {
    out << "warning: " << printable(warning.get<std::string>()) << "\n";
  }
  const json alerts = body->value("alerts", json::array());
  if (!alerts.is_array() || alerts.empty()) {
    out << "no alerts\n";
    return 0;
  }
  Table rows;
  for (const auto& alert : alerts) {
    rows.push_back({text_of(alert.value("id", json())), text_of(alert.value("status", json())),
                    text_of(alert.value("domain", json())), verdict_with_scope(alert),
                    age_of(alert.value("since", json())),
                    age_of(alert.value("resolved_at", json())), deliveries_of(alert)});
  }
  print_table(out, {"ID", "STATUS", "DOMAIN", "VERDICT", "SINCE", "RESOLVED", "DELIVERY"}, rows);
  return 0;
}

}  // namespace vantage
