#include "metrics.hh"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <tuple>

namespace vantage {
namespace {

double epoch_seconds(TimePoint time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

double seconds(std::chrono::microseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

// The checks of a domain's layers; control targets, liveness and path traces are about the
// vantage or run only on failure, so they would come and go as series.
constexpr std::array kLayerChecks = {Check::DnsRecursive, Check::DnsParent, Check::DnsAuthoritative,
                                     Check::Tcp,          Check::Https,     Check::Http};

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        escaped += "\\\\";
        break;
      case '"':
        escaped += "\\\"";
        break;
      case '\n':
        escaped += "\\n";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

void append_probe_metrics(MetricsText& metrics, const std::vector<Explanation>& explanations) {
  // Each vantage's latest cycle, as long as it counts (fresh): a vantage gone silent drops out
  // instead of repeating its last figures.
  std::vector<std::pair<const std::string*, const VantageView*>> fresh;
  for (const auto& explanation : explanations) {
    for (const auto& vantage : explanation.vantages) {
      if (vantage.fresh) {
        fresh.emplace_back(&explanation.state.domain, &vantage);
      }
    }
  }
  const auto labels = [](const std::string& domain, const VantageView& vantage) {
    return MetricsText::Labels{{"domain", domain}, {"vantage", vantage.agent}};
  };
  // One family with a sample per fresh vantage and check it ran.
  const auto per_check = [&](std::string_view name, std::string_view help,
                             double (*value)(const CheckTiming&)) {
    metrics.family(name, "gauge", help);
    for (const auto& [domain, vantage] : fresh) {
      for (const Check check : kLayerChecks) {
        const CheckTiming& timing = vantage->timings.checks[static_cast<size_t>(check)];
        if (timing.ran) {
          auto with_check = labels(*domain, *vantage);
          with_check.emplace_back("check", std::string(to_string(check)));
          metrics.sample(name, with_check, value(timing));
        }
      }
    }
  };
  per_check("vantage_probe_success",
            "1 if every probe of the check succeeded in the vantage's latest cycle.",
            [](const CheckTiming& timing) { return timing.ok ? 1.0 : 0.0; });
  per_check("vantage_probe_duration_seconds",
            "The slowest probe of the check in the vantage's latest cycle.",
            [](const CheckTiming& timing) { return seconds(timing.slowest); });
  metrics.family("vantage_probe_https_phase_seconds", "gauge",
                 "Time in each phase of the latest cycle's HTTPS or HTTP request (the first "
                 "that succeeded): resolve, connect, tls (HTTPS only), first_byte (after the "
                 "handshake, or the connect without TLS).");
  for (const auto& [domain, vantage] : fresh) {
    if (!vantage->timings.https) {
      continue;
    }
    const Timings& https = *vantage->timings.https;
    for (const auto& [phase, value] :
         {std::pair{"resolve", https.resolve}, std::pair{"connect", https.connect},
          std::pair{"tls", https.tls}, std::pair{"first_byte", https.first_byte}}) {
      if (value) {
        auto with_phase = labels(*domain, *vantage);
        with_phase.emplace_back("phase", phase);
        metrics.sample("vantage_probe_https_phase_seconds", with_phase, seconds(*value));
      }
    }
  }
  // Expiry times, for alert rules of one's own ("less than 7 days left") beside the warnings.
  using ExpiryMember = std::optional<TimePoint> ProbeTimings::*;
  for (const auto& [name, help, member] :
       {std::tuple{"vantage_tls_cert_not_after_timestamp_seconds",
                   "The earliest notAfter of a leaf certificate the vantage's latest cycle saw.",
                   ExpiryMember{&ProbeTimings::cert_not_after}},
        std::tuple{"vantage_tls_chain_not_after_timestamp_seconds",
                   "The earliest notAfter of any certificate of the verified chains (leaf, "
                   "intermediates, trust anchor) the vantage's latest cycle saw.",
                   ExpiryMember{&ProbeTimings::chain_not_after}},
        std::tuple{"vantage_dnssec_signature_expiration_timestamp_seconds",
                   "The earliest expiration of the DNSSEC signatures (RRSIG) over the "
                   "authoritative answers the vantage's latest cycle saw.",
                   ExpiryMember{&ProbeTimings::signature_expiration}}}) {
    metrics.family(name, "gauge", help);
    for (const auto& [domain, vantage] : fresh) {
      if (const auto& time = vantage->timings.*member) {
        metrics.sample(name, labels(*domain, *vantage), epoch_seconds(*time));
      }
    }
  }
  metrics.family("vantage_probe_cycle_timestamp_seconds", "gauge",
                 "When the vantage's latest cycle of the domain started.");
  for (const auto& [domain, vantage] : fresh) {
    metrics.sample("vantage_probe_cycle_timestamp_seconds", labels(*domain, *vantage),
                   epoch_seconds(vantage->latest_at));
  }
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void MetricsText::sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      text_ += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first,
                           escape_label_value(labels[i].second));
    }
    text_ += '}';
  }
  text_ += fmt::format(" {}\n", value);
}

void append_monitor_metrics(MetricsText& metrics, Monitor& monitor,
                            const std::vector<AgentRecord>& agents) {
  const auto states = monitor.states();
  metrics.family("vantage_domain_verdict", "gauge",
                 "1 for each domain's current verdict and scope.");
  for (const auto& state : states) {
    metrics.sample("vantage_domain_verdict",
                   {{"domain", state.domain},
                    {"verdict", std::string(to_string(state.verdict))},
                    {"scope", std::string(to_string(state.scope))}},
                   1);
  }
  metrics.family("vantage_domain_ok", "gauge", "1 when the domain's verdict is OK, else 0.");
  for (const auto& state : states) {
    metrics.sample("vantage_domain_ok", {{"domain", state.domain}},
                   state.verdict == Verdict::Ok ? 1 : 0);
  }
  metrics.family("vantage_domain_verdict_since_timestamp_seconds", "gauge",
                 "When the domain's current verdict began.");
  for (const auto& state : states) {
    metrics.sample("vantage_domain_verdict_since_timestamp_seconds", {{"domain", state.domain}},
                   epoch_seconds(state.since));
  }
  metrics.family("vantage_domain_expiring_timestamp_seconds", "gauge",
                 "When the soonest certificate or DNSSEC signature of the domain that is within "
                 "its warn_before expires, by kind; absent when none is.");
  for (const auto& state : states) {
    for (const ExpiryKind kind : {ExpiryKind::Certificate, ExpiryKind::Signature}) {
      const auto soonest = std::find_if(state.expiring.begin(), state.expiring.end(),
                                        [kind](const ExpiryWarning& w) { return w.kind == kind; });
      if (soonest != state.expiring.end()) {
        metrics.sample("vantage_domain_expiring_timestamp_seconds",
                       {{"domain", state.domain}, {"kind", std::string(to_string(kind))}},
                       epoch_seconds(soonest->expires));
      }
    }
  }
  metrics.family("vantage_domain_vantages", "gauge",
                 "Vantages with a fresh reading of the domain: reporting, healthy (usable: not "
                 "isolated, reading established), failing.");
  for (const auto& state : states) {
    metrics.sample("vantage_domain_vantages", {{"domain", state.domain}, {"state", "reporting"}},
                   state.reporting);
    metrics.sample("vantage_domain_vantages", {{"domain", state.domain}, {"state", "healthy"}},
                   state.healthy);
    metrics.sample("vantage_domain_vantages", {{"domain", state.domain}, {"state", "failing"}},
                   state.failing);
  }

  const auto isolated = monitor.isolated_agents();
  const auto now = std::chrono::system_clock::now();
  size_t seen = 0;
  for (const auto& agent : agents) {
    seen += agent.last_seen >= now - monitor.config().freshness ? 1 : 0;
  }
  metrics.family("vantage_agents", "gauge",
                 "Agents known (a heartbeat ever), seen (a heartbeat within the freshness "
                 "window) and isolated (their control targets fail).");
  metrics.sample("vantage_agents", {{"state", "known"}}, static_cast<double>(agents.size()));
  metrics.sample("vantage_agents", {{"state", "seen"}}, static_cast<double>(seen));
  metrics.sample("vantage_agents", {{"state", "isolated"}}, static_cast<double>(isolated.size()));
  metrics.family("vantage_agent_last_seen_timestamp_seconds", "gauge",
                 "The agent's latest heartbeat.");
  for (const auto& agent : agents) {
    metrics.sample("vantage_agent_last_seen_timestamp_seconds", {{"agent", agent.name}},
                   epoch_seconds(agent.last_seen));
  }
  metrics.family("vantage_agent_isolated", "gauge", "1 when the agent's control targets fail.");
  for (const auto& agent : agents) {
    metrics.sample("vantage_agent_isolated", {{"agent", agent.name}},
                   isolated.contains(agent.name) ? 1 : 0);
  }
  metrics.family("vantage_agent_spool_depth", "gauge",
                 "Results waiting in the agent's spool, as of its latest heartbeat.");
  for (const auto& agent : agents) {
    metrics.sample("vantage_agent_spool_depth", {{"agent", agent.name}},
                   static_cast<double>(agent.spool_depth));
  }
  metrics.family("vantage_agent_spool_dropped", "gauge",
                 "Results the agent's full spool dropped unsent since the agent started (lost), "
                 "as of its latest heartbeat.");
  for (const auto& agent : agents) {
    metrics.sample("vantage_agent_spool_dropped", {{"agent", agent.name}},
                   static_cast<double>(agent.spool_dropped));
  }

  const MonitorCounters counters = monitor.counters();
  metrics.family("vantage_correlated_cycles_total", "counter", "Cycles fed to correlation.");
  metrics.sample("vantage_correlated_cycles_total", {},
                 static_cast<double>(counters.cycles_observed));
  metrics.family("vantage_verdict_changes_total", "counter", "Changes of a domain's verdict.");
  metrics.sample("vantage_verdict_changes_total", {},
                 static_cast<double>(counters.verdict_changes));
  metrics.family("vantage_verdict_changes_not_stored_total", "counter",
                 "Verdict changes the store failed to record (logged).");
  metrics.sample("vantage_verdict_changes_not_stored_total", {},
                 static_cast<double>(counters.verdicts_not_stored));
}

void append_alert_metrics(MetricsText& metrics, const AlertDispatcher& alerts) {
  size_t active = 0;
  for (const auto& alert : alerts.alerts()) {
    active += alert.event.resolved_at ? 0 : 1;
  }
  metrics.family("vantage_alerts_active", "gauge", "Alerts firing now.");
  metrics.sample("vantage_alerts_active", {}, static_cast<double>(active));
  const AlertCounters counters = alerts.counters();
  metrics.family("vantage_alert_deliveries_total", "counter",
                 "Alert posts to receivers, by outcome (each retry and re-send counts).");
  metrics.sample("vantage_alert_deliveries_total", {{"outcome", "ok"}},
                 static_cast<double>(counters.deliveries_ok));
  metrics.sample("vantage_alert_deliveries_total", {{"outcome", "failed"}},
                 static_cast<double>(counters.deliveries_failed));
  metrics.family("vantage_alerts_given_up_total", "counter",
                 "Alert events abandoned after the last retry (logged).");
  metrics.sample("vantage_alerts_given_up_total", {}, static_cast<double>(counters.given_up));
}

void append_storage_metrics(MetricsText& metrics, Storage& storage,
                            const StorageRetention* retention) {
  metrics.family("vantage_storage_bytes", "gauge",
                 "The database's size on disk (SQLite: the file and its WAL; PostgreSQL: "
                 "pg_database_size).");
  metrics.sample("vantage_storage_bytes", {}, static_cast<double>(storage.size_bytes()));
  if (retention == nullptr) {
    return;
  }
  const PruneCounts pruned = retention->pruned();
  metrics.family("vantage_storage_pruned_total", "counter",
                 "What retention removed, by kind: result documents (the row kept), result rows, "
                 "verdict changes, resolved alerts, rollups.");
  metrics.sample("vantage_storage_pruned_total", {{"kind", "documents"}},
                 static_cast<double>(pruned.documents));
  metrics.sample("vantage_storage_pruned_total", {{"kind", "results"}},
                 static_cast<double>(pruned.results));
  metrics.sample("vantage_storage_pruned_total", {{"kind", "verdict_changes"}},
                 static_cast<double>(pruned.verdict_changes));
  metrics.sample("vantage_storage_pruned_total", {{"kind", "alerts"}},
                 static_cast<double>(pruned.alerts));
  metrics.sample("vantage_storage_pruned_total", {{"kind", "rollups"}},
                 static_cast<double>(pruned.rollups));
  metrics.family("vantage_storage_documents_compressed_total", "counter",
                 "Documents an earlier version stored as text, compressed since the start.");
  metrics.sample("vantage_storage_documents_compressed_total", {},
                 static_cast<double>(retention->compressed()));
  metrics.family("vantage_storage_folded_total", "counter",
                 "Results folded into their rollups since the start.");
  metrics.sample("vantage_storage_folded_total", {}, static_cast<double>(retention->folded()));
}

void append_uptime_metrics(MetricsText& metrics, const std::vector<DomainUptime>& uptime) {
  metrics.family("vantage_domain_uptime_ratio", "gauge",
                 "Share of the domain's cycles read OK or DEGRADED, of those a vantage could "
                 "judge, over the window (24h, 7d: whole hours; 30d, 90d: whole UTC days).");
  for (const DomainUptime& domain : uptime) {
    for (const UptimeWindow window : kUptimeWindows) {
      if (const auto ratio = domain.windows[static_cast<size_t>(window)].ratio()) {
        metrics.sample("vantage_domain_uptime_ratio",
                       {{"domain", domain.domain}, {"window", std::string(to_string(window))}},
                       *ratio);
      }
    }
  }
}

}  // namespace vantage
