#include "ui_render.hh"

#include <fmt/format.h>

#include "html.hh"
#include "vocabulary.hh"

namespace vantage {
namespace {

constexpr const char* kMinute = "%Y-%m-%d %H:%M UTC";
constexpr const char* kSecond = "%Y-%m-%d %H:%M:%S UTC";

std::string e(std::string_view text) {
  return html_escape(text);
}

// The class that colours a verdict; the page always writes the verdict's name beside it.
std::string_view verdict_class(std::optional<Verdict> verdict) {
  if (!verdict) {
    return "v-none";
  }
  if (is_failure(*verdict)) {
    return "v-failure";
  }
  switch (*verdict) {
    case Verdict::Ok:
      return "v-ok";
    case Verdict::Degraded:
      return "v-degraded";
    case Verdict::VantageIsolated:
      return "v-isolated";
    default:
      return "v-unknown";
  }
}

std::string verdict_label(Verdict verdict, Scope scope = Scope::None) {
  const std::string name = e(to_string(verdict));
  return scope == Scope::None ? name : fmt::format("{} ({})", name, to_string(scope));
}

std::string verdict_span(Verdict verdict, Scope scope = Scope::None) {
  return fmt::format(R"(<span class="verdict {}">{}</span>)", verdict_class(verdict),
                     verdict_label(verdict, scope));
}

std::string ratio_text(const std::optional<double>& ratio) {
  if (!ratio) {
    return "–";
  }
  return format_percent(*ratio);
}

std::optional<double> uptime_ratio(const std::vector<UptimeEntry>& uptime,
                                   std::string_view window) {
  for (const UptimeEntry& entry : uptime) {
    if (entry.window == window) {
      return entry.ratio;
    }
  }
  return std::nullopt;
}

template <typename Value>
std::string joined(const std::vector<Value>& values) {
  std::string text;
  for (const auto& value : values) {
    text += fmt::format("{}{}", text.empty() ? "" : ", ", value);
  }
  return text.empty() ? "–" : e(text);
}

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,sans-serif;margin:0;color:#212121;background:#fafafa}
header{background:#263238;color:#fff;padding:.5rem 1rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff}header a[aria-current]{font-weight:700;text-decoration:none}
header form{margin-left:auto}
main{padding:1rem 1.5rem}
table{border-collapse:collapse;background:#fff;margin-bottom:1.5rem}
caption{text-align:left;font-weight:600;padding:.4rem 0}
th,td{padding:.35rem .55rem;border-bottom:1px solid #e0e0e0;text-align:left;vertical-align:top}
.verdict{display:inline-block;padding:.1rem .4rem;border-radius:3px;font-size:.85rem;font-weight:600}
.v-ok{background:#c8e6c9}.v-degraded{background:#fff59d}.v-failure{background:#ef9a9a}
.v-unknown,.v-none{background:#e0e0e0}.v-isolated{background:#d1c4e9}
.note{color:#616161}.error{background:#ffcdd2;padding:.5rem}
.held{font-size:.8rem;color:#5d4037;border:1px solid #bcaaa4;border-radius:3px;padding:0 .3rem}
.expiring{font-size:.8rem;color:#6d4c00;border:1px solid #e0b000;border-radius:3px;padding:0 .3rem}
ol.evidence li:first-child{font-weight:600}
)";

std::string nav_link(const UiFrame& frame, std::string_view section, std::string_view href,
                     std::string_view text) {
  return fmt::format(R"(<a href="{}"{}>{}</a>)", href,
                     frame.section == section ? R"( aria-current="page")" : "", text);
}

// The page around `body`; `refresh` reloads it every so many seconds (0: never).
std::string page(const UiFrame& frame, const std::string& body, int refresh) {
  const std::string reload =
      refresh > 0 ? fmt::format(R"(<meta http-equiv="refresh" content="{}">)", refresh) : "";
  return fmt::format(
      R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
      R"(<meta name="viewport" content="width=device-width, initial-scale=1">{0})"
      R"(<title>{1} · Vantage</title><style>{2}</style></head><body>)"
      R"(<header><strong>Vantage</strong><nav aria-label="Sections">{3} · {4} · {5}</nav>)"
      R"(<form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{6}">)"
      R"(<span>{7}</span> <button type="submit">Log out</button></form></header>)"
      R"(<main><h1>{1}</h1>{8}</main></body></html>)",
      reload, e(frame.title), kStyle, nav_link(frame, "overview", "/ui/", "Overview"),
      nav_link(frame, "agents", "/ui/agents", "Agents"),
      nav_link(frame, "alerts", "/ui/alerts", "Alerts"), e(frame.csrf), e(frame.operator_name),
      body);
}

std::string cell_html(const std::optional<UiCell>& cell) {
  if (!cell) {
    return R"(<td class="note">–</td>)";
  }
  if (cell->latest == Verdict::VantageIsolated) {
    return fmt::format(R"(<td>{} <span class="note">isolated</span></td>)",
                       verdict_span(Verdict::VantageIsolated));
  }
  std::string note = cell->fresh ? "" : R"( <span class="note">stale</span>)";
  if (!cell->verdict) {
    return fmt::format(R"(<td><span class="verdict v-none">establishing</span>{}</td>)", note);
  }
  if (cell->latest != *cell->verdict) {
    note += fmt::format(R"( <span class="note">latest {}</span>)", e(to_string(cell->latest)));
  }
  return fmt::format("<td>{}{}</td>", verdict_span(*cell->verdict), note);
}

std::string filter_form(const UiOverview& overview) {
  std::string options = fmt::format(R"(<option value=""{}>every verdict</option>)",
                                    overview.verdict_filter.empty() ? " selected" : "");
  for (size_t i = 0; i <= static_cast<size_t>(Verdict::VantageIsolated); ++i) {
    const std::string name(to_string(static_cast<Verdict>(i)));
    options += fmt::format(R"(<option value="{0}"{1}>{0}</option>)", name,
                           overview.verdict_filter == name ? " selected" : "");
  }
  return fmt::format(
      R"(<form method="get" action="/ui/"><label>Verdict <select name="verdict">{}</select></label> )"
      R"(<label>Sort by <select name="sort"><option value="domain"{}>domain</option>)"
      R"(<option value="since"{}>since (newest first)</option></select></label> )"
      R"(<button type="submit">Show</button></form>)",
      options, overview.sort == "since" ? "" : " selected",
      overview.sort == "since" ? " selected" : "");
}

std::string day_bar(const std::vector<UiDay>& days) {
  constexpr int kStep = 6;
  std::string rects;
  size_t failing_days = 0;
  for (size_t i = 0; i < days.size(); ++i) {
    const UiDay& day = days[i];
    const std::string verdict = day.worst ? std::string(to_string(*day.worst)) : "no data";
    failing_days += day.worst && verdict_severity(*day.worst) >= 3 ? 1 : 0;
    rects += fmt::format(
        R"(<rect x="{}" y="0" width="4" height="24" rx="1" class="{}"><title>{}: {}{}</title></rect>)",
        i * kStep, verdict_class(day.worst), utc_text(day.start, "%Y-%m-%d"), verdict,
        day.changes > 0 ? fmt::format(", {} change{}", day.changes, day.changes == 1 ? "" : "s")
                        : "");
  }
  return fmt::format(
      R"(<style>rect.v-ok{{fill:#2e7d32}}rect.v-degraded{{fill:#f9a825}}rect.v-failure{{fill:#c62828}})"
      R"(rect.v-unknown,rect.v-none,rect.v-isolated{{fill:#9e9e9e}}</style>)"
      R"(<svg id="days" role="img" aria-label="Last {} days: {} with a failure verdict" width="{}" height="24" )"
      R"(xmlns="http://www.w3.org/2000/svg">{}</svg>)",
      days.size(), failing_days, days.size() * kStep, rects);
}

std::string delivery_text(const DeliveryEntry& delivery) {
  const auto event = [](std::string_view name, const DeliveryEvent& happened) {
    std::string text = fmt::format("{} {}", name, to_string(happened.state));
    if (happened.delivered_at) {
      text += fmt::format(" at {}", utc_text(*happened.delivered_at, kSecond));
    } else if (happened.attempts > 0) {
      text +=
          fmt::format(" after {} attempt{}", happened.attempts, happened.attempts == 1 ? "" : "s");
    }
    if (!happened.last_error.empty() && !happened.delivered_at) {
      text += fmt::format(" ({})", happened.last_error);
    }
    return text;
  };
  std::string text = event("firing", delivery.firing);
  if (delivery.resolve) {
    text += "; " + event("resolve", *delivery.resolve);
  }
  return fmt::format("<li>{}: {}</li>", e(delivery.receiver), e(text));
}

std::string alert_rows(const std::vector<AlertEntry>& alerts, bool with_domain) {
  std::string rows;
  for (const AlertEntry& alert : alerts) {
    std::string deliveries;
    for (const DeliveryEntry& delivery : alert.deliveries) {
      deliveries += delivery_text(delivery);
    }
    std::string status = "<strong>firing</strong>";
    if (alert.resolved_at) {
      status = fmt::format("resolved {} by {}", utc_text(*alert.resolved_at, kMinute),
                           e(alert.resolved_by));
    } else if (alert.muted) {
      // Held back, not hidden: who, why and until when, as the CLI says it.
      status = fmt::format("<strong>{}</strong> until {} by {}: {}",
                           alert.muted->kind == "silence" ? "silenced" : "in maintenance",
                           utc_text(alert.muted->until, kMinute), e(alert.muted->by),
                           e(alert.muted->why));
    }
    const std::string domain =
        with_domain ? fmt::format(R"(<th scope="row"><a href="/ui/domains/{0}">{0}</a></th>)",
                                  e(alert.domain))
                    : "";
    rows += fmt::format("<tr>{}<td>{}</td><td>{}</td><td>{}</td><td><ul>{}</ul></td></tr>", domain,
                        verdict_span(alert.verdict, alert.scope), utc_text(alert.since, kMinute),
                        status, deliveries.empty() ? "<li>no receiver</li>" : deliveries);
  }
  return rows;
}

}  // namespace

int verdict_severity(Verdict verdict) {
  if (is_failure(verdict)) {
    return 3;
  }
  if (verdict == Verdict::Degraded) {
    return 2;
  }
  return verdict == Verdict::Ok ? 0 : 1;
}

std::string render_login(std::string_view csrf, std::string_view error) {
  const std::string problem =
      error.empty() ? "" : fmt::format(R"(<p class="error" role="alert">{}</p>)", e(error));
  return fmt::format(
      R"(<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">)"
      R"(<meta name="viewport" content="width=device-width, initial-scale=1">)"
      R"(<title>Log in · Vantage</title><style>{}</style></head><body><main>)"
      R"(<h1>Vantage: log in</h1>{})"
      R"(<form method="post" action="/ui/login"><input type="hidden" name="csrf" value="{}">)"
      R"(<p><label for="token">Operator token</label><br>)"
      R"(<input id="token" name="token" type="password" autocomplete="current-password" size="72" required autofocus></p>)"
      R"(<p><button type="submit">Log in</button></p></form>)"
      R"(<p class="note">An operator token comes from <code>vantage-collector token create NAME --operator</code>. )"
      R"(It is sent once; the browser keeps only a session cookie.</p></main></body></html>)",
      kStyle, problem, e(csrf));
}

std::string render_overview(const UiFrame& frame, const UiOverview& overview) {
  std::string head;
  for (const std::string& vantage : overview.vantages) {
    head += fmt::format(R"(<th scope="col">{}</th>)", e(vantage));
  }
  std::string rows;
  for (const UiOverviewRow& row : overview.rows) {
    const DomainState& state = row.status.state;
    std::string cells;
    for (const auto& cell : row.cells) {
      cells += cell_html(cell);
    }
    const std::string since = row.status.reported ? utc_text(state.since, kMinute) : "never";
    std::string verdict = verdict_span(state.verdict, state.scope);
    if (const auto& muted = row.status.muted) {
      // Alerts held back, the verdict still shown: what holds them, who, why and until when.
      verdict += fmt::format(R"( <span class="held" title="until {} by {}: {}">{}</span>)",
                             utc_text(muted->until, kMinute), e(muted->by), e(muted->why),
                             muted->kind == "silence" ? "silenced" : "in maintenance");
    }
    if (!state.expiring.empty()) {
      // A warning beside the verdict: what expires first, in the agent's words.
      verdict +=
          fmt::format(R"( <span class="expiring" title="{}">{} expiring</span>)",
                      e(state.expiring.front().text), to_string(state.expiring.front().kind));
    }
    rows += fmt::format(
        R"(<tr data-domain="{0}" data-verdict="{1}"><th scope="row"><a href="/ui/domains/{0}">{0}</a></th>)"
        R"(<td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td>{7}</tr>)",
        e(state.domain), to_string(state.verdict), verdict, since, joined(state.affected_asns),
        ratio_text(uptime_ratio(row.status.uptime, "24h")),
        ratio_text(uptime_ratio(row.status.uptime, "30d")), cells);
  }
  const std::string table =
      overview.rows.empty()
          ? R"(<p id="empty">No domain matches.</p>)"
          : fmt::format(
                R"(<table id="overview"><caption>Every domain's verdict, and each vantage's reading of it</caption>)"
                R"(<thead><tr><th scope="col">Domain</th><th scope="col">Verdict</th><th scope="col">Since</th>)"
                R"(<th scope="col">Affected ASNs</th><th scope="col">Uptime 24&#160;h</th><th scope="col">Uptime 30&#160;d</th>{}</tr></thead>)"
                R"(<tbody>{}</tbody></table>)",
                head, rows);
  return page(frame, filter_form(overview) + table, 30);
}

std::string render_domain(const UiFrame& frame, const DomainExplanation& explanation,
                          const std::vector<UiDay>& days) {
  const DomainState& state = explanation.state;
  std::string evidence;
  for (const std::string& line : state.evidence) {
    evidence += fmt::format("<li>{}</li>", e(line));
  }
  std::string expiring;
  for (const ExpiryWarning& warning : state.expiring) {
    expiring += fmt::format("<li>{} <small>(seen from {})</small></li>", e(warning.text),
                            e(fmt::format("{}", fmt::join(warning.vantages, ", "))));
  }
  if (!expiring.empty()) {
    expiring =
        fmt::format(R"(<h2>Expiring soon</h2><p>Warnings beside the verdict, not part of it.</p>)"
                    R"(<ul id="expiring">{}</ul>)",
                    expiring);
  }
  std::string vantages;
  for (const VantageEntry& vantage : explanation.vantages) {
    std::string failures;
    for (const FailedProbe& probe : vantage.failures) {
      failures += fmt::format("<li>{} {} {}</li>", to_string(probe.check), e(probe.target),
                              to_string(probe.failure));
    }
    std::string lines;
    for (const std::string& line : vantage.evidence) {
      lines += fmt::format("<li>{}</li>", e(line));
    }
    const std::string counts = vantage.counts
                                   ? verdict_span(*vantage.counts)
                                   : R"(<span class="verdict v-none">establishing</span>)";
    vantages += fmt::format(
        R"(<tr data-agent="{0}"><th scope="row">{0}</th><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td>)"
        R"(<td>{5:.1f} ms</td><td><ul>{6}</ul>{7}</td></tr>)",
        e(vantage.agent), vantage.network.empty() ? "–" : e(vantage.network), counts,
        verdict_span(vantage.latest_reading),
        fmt::format("{}{}", utc_text(vantage.latest_at, kSecond), vantage.fresh ? "" : " (stale)"),
        vantage.latency_ms, failures,
        lines.empty()
            ? ""
            : fmt::format("<details><summary>Evidence ({} lines)</summary><ul>{}</ul></details>",
                          vantage.evidence.size(), lines));
  }
  std::string changes;
  for (auto change = explanation.recent_changes.rbegin();
       change != explanation.recent_changes.rend(); ++change) {
    changes += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", utc_text(change->changed_at, kSecond),
        verdict_span(change->previous_verdict), verdict_span(change->verdict, change->scope));
  }
  std::string uptime;
  for (const UptimeEntry& entry : explanation.uptime) {
    uptime += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                          e(entry.window), ratio_text(entry.ratio), entry.up, entry.down);
  }
  const std::string body = fmt::format(
      R"(<p id="verdict">{} since {}</p><p id="meaning">{}.</p>)"
      R"(<h2>Evidence</h2><ol class="evidence" id="evidence">{}</ol>{})"
      R"(<h2>Last {} days</h2>{})"
      R"(<table id="vantages"><caption>Each vantage's latest reading</caption><thead><tr>)"
      R"(<th scope="col">Vantage</th><th scope="col">Network</th><th scope="col">Counts as</th>)"
      R"(<th scope="col">Latest reading</th><th scope="col">Latest cycle</th><th scope="col">Latency</th>)"
      R"(<th scope="col">Failed probes and evidence</th></tr></thead><tbody>{}</tbody></table>)"
      R"(<table id="changes"><caption>Latest verdict changes, newest first</caption><thead><tr>)"
      R"(<th scope="col">When</th><th scope="col">From</th><th scope="col">To</th></tr></thead><tbody>{}</tbody></table>)"
      R"(<table id="uptime"><caption>Uptime</caption><thead><tr><th scope="col">Window</th><th scope="col">Up</th>)"
      R"(<th scope="col">Cycles up</th><th scope="col">Cycles down</th></tr></thead><tbody>{}</tbody></table>)"
      R"(<table id="alerts"><caption>This domain's alerts and their delivery</caption><thead><tr>)"
      R"(<th scope="col">Verdict</th><th scope="col">Since</th><th scope="col">Status</th><th scope="col">Deliveries</th>)"
      R"(</tr></thead><tbody>{}</tbody></table>)",
      verdict_span(state.verdict, state.scope),
      state.since.time_since_epoch().count() != 0 ? utc_text(state.since, kSecond) : "never",
      e(verdict_meaning(state.verdict)), evidence.empty() ? "<li>none</li>" : evidence, expiring,
      days.size(), day_bar(days), vantages, changes, uptime, alert_rows(explanation.alerts, false));
  return page(frame, body, 30);
}

std::string render_agents(const UiFrame& frame, const std::vector<AgentEntry>& agents) {
  std::string rows;
  for (const AgentEntry& agent : agents) {
    rows += fmt::format(
        R"(<tr data-agent="{0}"><th scope="row">{0}</th><td>{1}{2}</td><td>{3}</td><td>{4}</td><td>{5}</td>)"
        R"(<td>{6}</td><td>{7}</td><td>{8}</td><td>{9}</td><td>{10}</td></tr>)",
        e(agent.name), e(to_string(agent.state)), agent.isolated ? " (isolated)" : "",
        utc_text(agent.last_seen, kSecond), agent.asn ? fmt::format("AS{}", *agent.asn) : "–",
        agent.network.empty() ? "–" : e(agent.network), e(agent.address), e(agent.version),
        agent.interval_ms ? fmt::format("{} s", *agent.interval_ms / 1000) : "–", agent.spool_depth,
        agent.spool_dropped);
  }
  const std::string body = fmt::format(
      R"(<table id="agents"><caption>Every agent that sent a heartbeat</caption><thead><tr>)"
      R"(<th scope="col">Agent</th><th scope="col">State</th><th scope="col">Last seen</th><th scope="col">ASN</th>)"
      R"(<th scope="col">Network</th><th scope="col">Address</th><th scope="col">Version</th><th scope="col">Interval</th>)"
      R"(<th scope="col">Spool depth</th><th scope="col">Spool dropped</th></tr></thead><tbody>{}</tbody></table>)",
      rows);
  return page(frame, body, 30);
}

std::string render_alerts(const UiFrame& frame, const AlertList& alerts) {
  const std::string warning =
      alerts.warning ? fmt::format(R"(<p class="error" role="alert">{}</p>)", e(*alerts.warning))
                     : "";
  const std::string body = fmt::format(
      R"({}<p>{} receiver{}.</p><table id="alert-list"><caption>Firing alerts, newest first, then the latest resolved</caption>)"
      R"(<thead><tr><th scope="col">Domain</th><th scope="col">Verdict</th><th scope="col">Since</th>)"
      R"(<th scope="col">Status</th><th scope="col">Deliveries</th></tr></thead><tbody>{}</tbody></table>)",
      warning, alerts.receivers, alerts.receivers == 1 ? "" : "s", alert_rows(alerts.alerts, true));
  return page(frame, body, 30);
}

}  // namespace vantage
