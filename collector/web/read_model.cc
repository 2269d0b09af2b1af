#include "read_model.hh"

#include <chrono>
#include <map>
#include <string_view>
#include <utility>

#include "api_documents.hh"

namespace vantage {

std::vector<StatusEntry> ReadModel::status() {
  return status(monitor_.states());
}

std::vector<StatusEntry> ReadModel::status(std::vector<DomainState> states) {
  std::map<std::string, StatusEntry> by_domain;
  for (auto& state : states) {
    std::string domain = state.domain;
    by_domain[std::move(domain)] =
        StatusEntry{.state = std::move(state), .reported = true, .uptime = {}, .muted = {}};
  }
  for (const auto& target : storage_.targets()) {
    if (!by_domain.contains(target.domain)) {
      DomainState state;
      state.domain = target.domain;
      by_domain[target.domain] =
          StatusEntry{.state = state, .reported = false, .uptime = {}, .muted = {}};
    }
  }
  const auto uptime = uptime_.all(std::chrono::system_clock::now());
  std::map<std::string_view, const DomainUptime*> uptime_of;
  for (const DomainUptime& domain : *uptime) {
    uptime_of.emplace(domain.domain, &domain);
  }
  std::vector<StatusEntry> status;
  status.reserve(by_domain.size());
  const auto now = std::chrono::system_clock::now();
  for (auto& [domain, entry] : by_domain) {
    const auto found = uptime_of.find(domain);
    entry.uptime = uptime_entries(found != uptime_of.end() ? found->second : nullptr);
    if (alerts_ != nullptr) {
      if (const auto mute = alerts_->mute_for(domain, entry.state.verdict, now)) {
        entry.muted = mute_entry(*mute);
      }
    }
    status.push_back(std::move(entry));
  }
  return status;
}

std::optional<DomainExplanation> ReadModel::explanation(const std::string& domain) {
  const auto explanation = monitor_.explain(domain);
  if (!explanation) {
    return std::nullopt;
  }
  const auto now = std::chrono::system_clock::now();
  const auto uptime = storage_.uptime(domain, now);
  constexpr size_t kRollupsOfADay =
      size_t{24} * 1000;  // an hour's rollup per vantage, 1,000 vantages
  DomainExplanation document{
      .state = explanation->state,
      .min_vantages = monitor_.config().min_vantages,
      .vantages = {},
      .recent_changes = {},
      .alerts = {},
      .uptime = uptime_entries(uptime.empty() ? nullptr : &uptime.front()),
      .latency_24h = latency_entries(storage_.rollups(
          domain, RollupSpan::Hour, window_start(UptimeWindow::Day, now), kRollupsOfADay))};
  for (const auto& vantage : explanation->vantages) {
    document.vantages.push_back(vantage_entry(vantage));
  }
  constexpr size_t kRecentChanges = 10;
  const auto latest = storage_.latest_changes(domain, kRecentChanges);
  // Oldest first, as history lists them.
  for (auto change = latest.rbegin(); change != latest.rend(); ++change) {
    document.recent_changes.push_back(change_entry(*change));
  }
  if (alerts_ != nullptr) {
    for (const auto& alert : alerts_->alerts()) {
      if (alert.event.domain == domain) {
        document.alerts.push_back(alert_entry(alert));
      }
    }
  }
  return document;
}

History ReadModel::history(const std::string& domain, TimePoint since, size_t limit) {
  History history{.domain = domain, .since = since, .changes = {}};
  for (const auto& change : storage_.verdict_history(domain, since, limit)) {
    history.changes.push_back(HistoryEntry{.change = change_entry(change), .state = change.state});
  }
  return history;
}

std::vector<AgentEntry> ReadModel::agents() {
  const auto isolated = monitor_.isolated_agents();
  std::vector<AgentEntry> agents;
  for (const auto& agent : storage_.agents()) {
    agents.push_back(agent_entry(agent, monitor_.standing(agent.name, agent.last_seen),
                                 isolated.contains(agent.name)));
  }
  return agents;
}

AlertList ReadModel::alerts() {
  AlertList list;
  list.receivers = alerts_ != nullptr ? alerts_->receiver_count() : 0;
  if (alerts_ != nullptr) {
    for (const auto& alert : alerts_->alerts()) {
      list.alerts.push_back(alert_entry(alert));
    }
  }
  if (list.receivers == 0) {
    list.warning =
        "no alert receivers configured: verdict changes are recorded but nobody is notified";
  }
  return list;
}

}  // namespace vantage
