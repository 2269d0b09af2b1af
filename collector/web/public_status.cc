#include "public_status.hh"

#include <algorithm>
#include <utility>

namespace vantage {

std::string_view to_string(ComponentStatus status) {
  switch (status) {
    case ComponentStatus::Unknown:
      return "unknown";
    case ComponentStatus::Operational:
      return "operational";
    case ComponentStatus::DegradedPerformance:
      return "degraded_performance";
    case ComponentStatus::PartialOutage:
      return "partial_outage";
    case ComponentStatus::MajorOutage:
      return "major_outage";
  }
  return "unknown";
}

std::string_view label(ComponentStatus status) {
  switch (status) {
    case ComponentStatus::Unknown:
      return "No data";
    case ComponentStatus::Operational:
      return "Operational";
    case ComponentStatus::DegradedPerformance:
      return "Degraded performance";
    case ComponentStatus::PartialOutage:
      return "Partial outage";
    case ComponentStatus::MajorOutage:
      return "Major outage";
  }
  return "No data";
}

ComponentStatus component_status(Verdict verdict, Scope scope) {
  if (is_failure(verdict)) {
    return scope == Scope::Global ? ComponentStatus::MajorOutage : ComponentStatus::PartialOutage;
  }
  if (verdict == Verdict::Ok) {
    return ComponentStatus::Operational;
  }
  return verdict == Verdict::Degraded ? ComponentStatus::DegradedPerformance
                                      : ComponentStatus::Unknown;
}

ComponentStatus day_status(const UptimeCounts& counts) {
  const auto ratio = counts.ratio();
  if (!ratio) {
    return ComponentStatus::Unknown;
  }
  if (counts.down == 0) {
    return ComponentStatus::Operational;
  }
  if (*ratio >= 0.99) {
    return ComponentStatus::DegradedPerformance;
  }
  return *ratio >= 0.9 ? ComponentStatus::PartialOutage : ComponentStatus::MajorOutage;
}

ComponentStatus uptime_status(double ratio) {
  if (ratio >= 0.999) {
    return ComponentStatus::Operational;
  }
  if (ratio >= 0.99) {
    return ComponentStatus::DegradedPerformance;
  }
  return ratio >= 0.9 ? ComponentStatus::PartialOutage : ComponentStatus::MajorOutage;
}

StatusIndicator page_indicator(const PublicStatus& status) {
  ComponentStatus worst = ComponentStatus::Operational;
  bool any_unknown = false;
  for (const StatusComponent& component : status.components) {
    if (component.status == ComponentStatus::Unknown) {
      any_unknown = true;
    } else {
      worst = std::max(worst, component.status);
    }
  }
  switch (worst) {
    case ComponentStatus::MajorOutage:
      return {"critical", "Major Service Outage"};
    case ComponentStatus::PartialOutage:
      return {"major", "Partial System Outage"};
    case ComponentStatus::DegradedPerformance:
      return {"minor", "Minor Service Outage"};
    case ComponentStatus::Unknown:
    case ComponentStatus::Operational:
      break;
  }
  // "All Systems Operational" is a claim about every component: only when it is true of each.
  return any_unknown ? StatusIndicator{"none", "Status Not Known for Every System"}
                     : StatusIndicator{"none", "All Systems Operational"};
}

PublicStatusSource::PublicStatusSource(StatusPageConfig config, Storage& storage, Monitor& monitor,
                                       UptimeCache& uptime,
                                       std::chrono::milliseconds history_max_age)
    : config_(std::move(config)),
      storage_(storage),
      monitor_(monitor),
      uptime_(uptime),
      days_("status page day bars", history_max_age,
            [this](TimePoint now) { return read_days(now); }) {}

bool PublicStatusSource::shows(std::string_view domain) const {
  return std::find(config_.domains.begin(), config_.domains.end(), domain) != config_.domains.end();
}

PublicStatusSource::DayCounts PublicStatusSource::read_days(TimePoint now) {
  const TimePoint today = span_start(RollupSpan::Day, now);
  const auto day = span_length(RollupSpan::Day);
  const TimePoint first = today - day * static_cast<int64_t>(kStatusDays - 1);
  // Every vantage's rollup of each day; a fleet of a thousand vantages is 90,000.
  constexpr size_t kRollupLimit = 1'000'000;
  DayCounts counts;
  for (const std::string& domain : config_.domains) {
    std::vector<StatusDay> bar(kStatusDays);
    for (size_t i = 0; i < kStatusDays; ++i) {
      bar[i].start = first + day * static_cast<int64_t>(i);
    }
    for (const Rollup& rollup : storage_.rollups(domain, RollupSpan::Day, first, kRollupLimit)) {
      const auto index = (rollup.key.start - first) / day;
      if (index < 0 || index >= static_cast<int64_t>(kStatusDays)) {
        continue;
      }
      const UptimeCounts add = uptime_counts(rollup.figures);
      UptimeCounts& into = bar[static_cast<size_t>(index)].counts;
      into.up += add.up;
      into.down += add.down;
      into.inconclusive += add.inconclusive;
    }
    counts[domain] = std::move(bar);
  }
  return counts;
}

PublicStatus PublicStatusSource::read(TimePoint now) {
  std::map<std::string, DomainState> states;
  for (DomainState& state : monitor_.states(config_.domains)) {
    states.emplace(state.domain, std::move(state));
  }
  const auto uptime = uptime_.all(now);
  std::map<std::string_view, const DomainUptime*> uptime_of;
  for (const DomainUptime& domain : *uptime) {
    uptime_of.emplace(domain.domain, &domain);
  }
  const auto bars = days_.get(now);

  PublicStatus status{
      .title = config_.title, .url = config_.url, .generated_at = now, .components = {}};
  for (const std::string& domain : config_.domains) {
    StatusComponent component;
    component.domain = domain;
    if (const auto state = states.find(domain); state != states.end()) {
      component.status = component_status(state->second.verdict, state->second.scope);
      if (state->second.since.time_since_epoch().count() != 0) {
        component.since = state->second.since;
      }
    }
    if (const auto found = uptime_of.find(domain); found != uptime_of.end()) {
      for (size_t i = 0; i < kUptimeWindows.size(); ++i) {
        component.uptime[i] = found->second->windows[i].ratio();
      }
    }
    if (const auto bar = bars->find(domain); bar != bars->end()) {
      component.days = bar->second;
    }
    status.components.push_back(std::move(component));
  }
  return status;
}

}  // namespace vantage
