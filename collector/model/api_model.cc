#include "api_model.hh"

#include "duration.hh"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <utility>

#include "json_reader.hh"
#include "result_json.hh"

namespace vantage {
namespace {

using model_detail::array_items;
using model_detail::optional_time;
using model_detail::Reader;
using model_detail::text_or_null;
using nlohmann::json;

using Names = std::vector<std::string>;

// "muted": what holds the alerts back; null or absent when nothing does.
std::optional<MuteEntry> mute_entry(const Reader& read) {
  if (!read.has("muted")) {
    return std::nullopt;
  }
  const Reader muted = read.object("muted");
  return MuteEntry{.kind = muted.get<std::string>("kind"),
                   .id = muted.get<uint64_t>("id"),
                   .until = muted.time("until"),
                   .by = muted.get_or<std::string>("by", ""),
                   .why = muted.get_or<std::string>("why", "")};
}

json to_json(const std::optional<MuteEntry>& muted) {
  if (!muted) {
    return nullptr;
  }
  return {{"kind", muted->kind},
          {"id", muted->id},
          {"until", format_time(muted->until)},
          {"by", muted->by},
          {"why", muted->why}};
}

DomainState domain_state(const Reader& read, bool since_required = true) {
  DomainState state;
  state.domain = read.get<std::string>("domain");
  state.verdict = read.verdict("verdict");
  state.scope = read.scope("scope");
  if (since_required || read.has("since")) {
    state.since = read.time("since");
  }
  state.reporting = read.get_or<int>("reporting", 0);
  state.healthy = read.has("usable") ? read.get<int>("usable") : read.get_or<int>("healthy", 0);
  state.failing = read.get_or<int>("failing", 0);
  state.affected_vantages = read.get_or<Names>("affected_vantages", {});
  state.affected_asns = read.get_or<std::vector<int64_t>>("affected_asns", {});
  if (read.has("affected_networks")) {
    state.affected_networks = read.get<Names>("affected_networks");
  } else {
    for (const int64_t asn : state.affected_asns) {
      state.affected_networks.push_back(asn == 0 ? "unknown network" : fmt::format("AS{}", asn));
    }
  }
  state.isolated_vantages = read.get_or<Names>("isolated_vantages", {});
  state.establishing_vantages = read.get_or<Names>("establishing_vantages", {});
  state.stale_vantages = read.get_or<Names>("stale_vantages", {});
  state.evidence = read.get_or<Names>("evidence", {});
  for (const Reader& item : read.objects("expiring")) {
    const auto kind = expiry_kind_from_string(item.get<std::string>("kind"));
    if (!kind) {
      item.fail("kind", "not certificate or signature");
    }
    state.expiring.push_back(
        {.kind = *kind,
         .subject = item.get<std::string>("subject"),
         .expires = std::chrono::floor<std::chrono::seconds>(item.time("expires_at")),
         .at = item.get_or<Names>("at", {}),
         .vantages = item.get_or<Names>("vantages", {}),
         .text = item.get<std::string>("text")});
  }
  return state;
}

json to_json(const DeliveryEvent& event) {
  return {{"state", to_string(event.state)},
          {"attempts", event.attempts},
          {"last_attempt", optional_time(event.last_attempt)},
          {"delivered_at", optional_time(event.delivered_at)},
          {"last_error", event.last_error}};
}

DeliveryEvent delivery_event(const Reader& read) {
  DeliveryEvent event;
  const auto state = delivery_state_from_string(read.get<std::string>("state"));
  if (!state) {
    read.fail("state", "not a delivery state (pending, delivered, failed, skipped)");
  }
  event.state = *state;
  event.attempts = read.get_or<int>("attempts", 0);
  event.last_attempt = read.optional_time("last_attempt");
  event.delivered_at = read.optional_time("delivered_at");
  event.last_error = read.get_or<std::string>("last_error", "");
  return event;
}

AlertEntry alert_entry(const Reader& read) {
  AlertEntry alert;
  alert.id = read.get<uint64_t>("id");
  alert.domain = read.get<std::string>("domain");
  alert.verdict = read.verdict("verdict");
  alert.scope = read.scope("scope");
  alert.since = read.time("since");
  alert.resolved_at = read.optional_time("resolved_at");
  alert.resolved_by = read.get_or<std::string>("resolved_by", "");
  alert.affected_vantages = read.get_or<Names>("affected_vantages", {});
  alert.affected_asns = read.get_or<std::vector<int64_t>>("affected_asns", {});
  if (read.has("affected_networks")) {
    alert.affected_networks = read.get<Names>("affected_networks");
  } else {
    for (const int64_t asn : alert.affected_asns) {
      alert.affected_networks.push_back(asn == 0 ? "unknown network" : fmt::format("AS{}", asn));
    }
  }
  alert.evidence = read.get_or<Names>("evidence", {});
  for (const Reader& item : read.objects("deliveries")) {
    DeliveryEntry delivery;
    delivery.receiver = item.get<std::string>("receiver");
    // A collector that kept no per-event state sent only the top-level fields.
    delivery.firing =
        item.has("firing") ? delivery_event(item.object("firing")) : delivery_event(item);
    if (item.has("resolve")) {
      delivery.resolve = delivery_event(item.object("resolve"));
    }
    alert.deliveries.push_back(std::move(delivery));
  }
  alert.muted = mute_entry(read);
  return alert;
}

json to_json(const ChangeEntry& change) {
  return {{"changed_at", format_time(change.changed_at)},
          {"verdict", to_string(change.verdict)},
          {"scope", to_string(change.scope)},
          {"previous_verdict", to_string(change.previous_verdict)}};
}

ChangeEntry change_entry(const Reader& read) {
  return ChangeEntry{.changed_at = read.time("changed_at"),
                     .verdict = read.verdict("verdict"),
                     .scope = read.scope("scope"),
                     .previous_verdict = read.verdict("previous_verdict")};
}

json to_json(const VantageEntry& vantage) {
  json failures = json::array();
  for (const auto& failure : vantage.failures) {
    failures.push_back({{"check", to_string(failure.check)},
                        {"target", failure.target},
                        {"failure", to_string(failure.failure)}});
  }
  return {{"agent", vantage.agent},
          {"asn", vantage.asn ? json(*vantage.asn) : json(nullptr)},
          {"network", text_or_null(vantage.network)},
          {"verdict", to_string(vantage.counts.value_or(Verdict::Unknown))},
          {"established", vantage.counts.has_value()},
          {"latest_reading", to_string(vantage.latest_reading)},
          {"degraded", vantage.degraded},
          {"fresh", vantage.fresh},
          {"latest_at", format_time(vantage.latest_at)},
          {"latency_ms", vantage.latency_ms},
          {"failures", failures},
          {"evidence", vantage.evidence}};
}

VantageEntry vantage_entry(const Reader& read) {
  VantageEntry vantage;
  vantage.agent = read.get<std::string>("agent");
  vantage.asn = read.optional<int64_t>("asn");
  vantage.network = read.get_or<std::string>("network", "");
  if (read.get_or<bool>("established", true)) {
    vantage.counts = read.verdict("verdict");
  }
  vantage.latest_reading = read.verdict("latest_reading");
  vantage.degraded = read.get_or<bool>("degraded", false);
  vantage.fresh = read.get_or<bool>("fresh", true);
  vantage.latest_at = read.time("latest_at");
  vantage.latency_ms = read.get_or<double>("latency_ms", 0.0);
  for (const Reader& item : read.objects("failures")) {
    const auto check = check_from_string(item.get<std::string>("check"));
    const auto failure = failure_from_string(item.get<std::string>("failure"));
    if (!check) {
      item.fail("check", "not a check");
    }
    if (!failure) {
      item.fail("failure", "not a failure class");
    }
    vantage.failures.push_back(FailedProbe{
        .check = *check, .target = item.get<std::string>("target"), .failure = *failure});
  }
  vantage.evidence = read.get_or<Names>("evidence", {});
  return vantage;
}

}  // namespace

namespace {

json expiring_to_json(const std::vector<ExpiryWarning>& expiring) {
  json list = json::array();
  for (const auto& warning : expiring) {
    list.push_back({{"kind", to_string(warning.kind)},
                    {"subject", warning.subject},
                    {"expires_at", format_time(warning.expires)},
                    {"at", warning.at},
                    {"vantages", warning.vantages},
                    {"text", warning.text}});
  }
  return list;
}

}  // namespace

// "healthy" is kept for the scripts that read it; "usable" says what it counts.
json to_json(const DomainState& state) {
  return {{"domain", state.domain},
          {"verdict", to_string(state.verdict)},
          {"scope", to_string(state.scope)},
          {"since", format_time(state.since)},
          {"reporting", state.reporting},
          {"healthy", state.healthy},
          {"usable", state.healthy},
          {"failing", state.failing},
          {"affected_vantages", state.affected_vantages},
          {"affected_asns", state.affected_asns},
          {"affected_networks", state.affected_networks},
          {"isolated_vantages", state.isolated_vantages},
          {"establishing_vantages", state.establishing_vantages},
          {"stale_vantages", state.stale_vantages},
          {"evidence", state.evidence},
          {"expiring", expiring_to_json(state.expiring)}};
}

namespace {

json to_json(const std::vector<UptimeEntry>& uptime) {
  json windows = json::object();
  for (const auto& entry : uptime) {
    windows[entry.window] = {{"ratio", entry.ratio ? json(*entry.ratio) : json(nullptr)},
                             {"up", entry.up},
                             {"down", entry.down},
                             {"inconclusive", entry.inconclusive}};
  }
  return windows;
}

// "uptime", in the order written; absent (a collector before rollups): none.
std::vector<UptimeEntry> uptime_entries(const Reader& read) {
  std::vector<UptimeEntry> uptime;
  if (!read.has("uptime")) {
    return uptime;
  }
  const json windows = read.get<json>("uptime");
  if (!windows.is_object()) {
    read.fail("uptime", "not an object");
  }
  for (const auto& [window, value] : windows.items()) {
    const Reader item(value, "uptime." + window);
    uptime.push_back(UptimeEntry{.window = window,
                                 .ratio = item.optional<double>("ratio"),
                                 .up = item.get<uint64_t>("up"),
                                 .down = item.get<uint64_t>("down"),
                                 .inconclusive = item.get<uint64_t>("inconclusive")});
  }
  // JSON objects are read in key order ("24h", "30d", "7d"): shortest window first instead.
  const auto length = [](const UptimeEntry& entry) {
    return parse_period(entry.window).value_or(std::chrono::milliseconds::max());
  };
  std::stable_sort(uptime.begin(), uptime.end(), [&](const UptimeEntry& a, const UptimeEntry& b) {
    return length(a) < length(b);
  });
  return uptime;
}

json to_json(const LatencyEntry& latency) {
  return {{"check", to_string(latency.check)},
          {"samples", latency.samples},
          {"p50_ms", latency.p50_ms},
          {"p95_ms", latency.p95_ms},
          {"max_ms", latency.max_ms}};
}

LatencyEntry latency_entry(const Reader& read) {
  const auto check = check_from_string(read.get<std::string>("check"));
  if (!check) {
    read.fail("check", "not a check");
  }
  return LatencyEntry{.check = *check,
                      .samples = read.get<uint64_t>("samples"),
                      .p50_ms = read.get<double>("p50_ms"),
                      .p95_ms = read.get<double>("p95_ms"),
                      .max_ms = read.get<double>("max_ms")};
}

}  // namespace

json to_json(const StatusEntry& entry) {
  json document = to_json(entry.state);
  if (!entry.reported) {
    document["since"] = nullptr;
  }
  document["uptime"] = to_json(entry.uptime);
  document["muted"] = to_json(entry.muted);
  return document;
}

json to_json(const std::vector<StatusEntry>& status) {
  json entries = json::array();
  for (const auto& entry : status) {
    entries.push_back(to_json(entry));
  }
  return entries;
}

std::vector<StatusEntry> status_from_json(const json& document) {
  std::vector<StatusEntry> entries;
  for (const Reader& item : array_items(document, "status")) {
    entries.push_back(StatusEntry{.state = domain_state(item, false),
                                  .reported = item.has("since"),
                                  .uptime = uptime_entries(item),
                                  .muted = mute_entry(item)});
  }
  return entries;
}

json to_json(const AlertEntry& alert) {
  json deliveries = json::array();
  for (const auto& delivery : alert.deliveries) {
    // The top-level fields are the latest event's (the resolve's once the alert ended).
    json entry = to_json(delivery.latest());
    entry["receiver"] = delivery.receiver;
    entry["firing"] = to_json(delivery.firing);
    entry["resolve"] = delivery.resolve ? to_json(*delivery.resolve) : json(nullptr);
    deliveries.push_back(std::move(entry));
  }
  return {{"id", alert.id},
          {"domain", alert.domain},
          {"verdict", to_string(alert.verdict)},
          {"scope", to_string(alert.scope)},
          {"since", format_time(alert.since)},
          {"status", alert.resolved_at ? "resolved" : "firing"},
          {"resolved_at", optional_time(alert.resolved_at)},
          {"resolved_by", alert.resolved_at ? text_or_null(alert.resolved_by) : json(nullptr)},
          {"affected_vantages", alert.affected_vantages},
          {"affected_asns", alert.affected_asns},
          {"affected_networks", alert.affected_networks},
          {"evidence", alert.evidence},
          {"deliveries", deliveries},
          {"muted", to_json(alert.muted)}};
}

AlertEntry alert_entry_from_json(const json& document) {
  return alert_entry(Reader(document, ""));
}

json to_json(const AlertList& list) {
  json alerts = json::array();
  for (const auto& alert : list.alerts) {
    alerts.push_back(to_json(alert));
  }
  json document = {{"receivers", list.receivers}, {"alerts", std::move(alerts)}};
  if (list.warning) {
    document["warning"] = *list.warning;
  }
  return document;
}

AlertList alert_list_from_json(const json& document) {
  const Reader read(document, "");
  AlertList list;
  list.receivers = read.get_or<size_t>("receivers", 0);
  list.warning = read.optional<std::string>("warning");
  for (const Reader& item : read.objects("alerts")) {
    list.alerts.push_back(alert_entry(item));
  }
  return list;
}

json to_json(const DomainExplanation& explanation) {
  json document = to_json(explanation.state);
  document["min_vantages"] = explanation.min_vantages;
  json vantages = json::array();
  for (const auto& vantage : explanation.vantages) {
    vantages.push_back(to_json(vantage));
  }
  document["vantages"] = std::move(vantages);
  json changes = json::array();
  for (const auto& change : explanation.recent_changes) {
    changes.push_back(to_json(change));
  }
  document["recent_changes"] = std::move(changes);
  json alerts = json::array();
  for (const auto& alert : explanation.alerts) {
    alerts.push_back(to_json(alert));
  }
  document["alerts"] = std::move(alerts);
  document["uptime"] = to_json(explanation.uptime);
  json latency = json::array();
  for (const auto& entry : explanation.latency_24h) {
    latency.push_back(to_json(entry));
  }
  document["latency_24h"] = std::move(latency);
  return document;
}

DomainExplanation domain_explanation_from_json(const json& document) {
  const Reader read(document, "");
  DomainExplanation explanation;
  explanation.state = domain_state(read);
  explanation.min_vantages = read.get_or<int>("min_vantages", 0);
  for (const Reader& item : read.objects("vantages")) {
    explanation.vantages.push_back(vantage_entry(item));
  }
  for (const Reader& item : read.objects("recent_changes")) {
    explanation.recent_changes.push_back(change_entry(item));
  }
  for (const Reader& item : read.objects("alerts")) {
    explanation.alerts.push_back(alert_entry(item));
  }
  explanation.uptime = uptime_entries(read);
  for (const Reader& item : read.objects("latency_24h")) {
    explanation.latency_24h.push_back(latency_entry(item));
  }
  return explanation;
}

json to_json(const History& history) {
  json changes = json::array();
  for (const auto& entry : history.changes) {
    json change = to_json(entry.change);
    change["state"] = to_json(entry.state);
    changes.push_back(std::move(change));
  }
  return {{"domain", history.domain},
          {"since", format_time(history.since)},
          {"changes", std::move(changes)}};
}

History history_from_json(const json& document) {
  const Reader read(document, "");
  History history;
  history.domain = read.get<std::string>("domain");
  history.since = read.time("since");
  for (const Reader& item : read.objects("changes")) {
    HistoryEntry entry{.change = change_entry(item), .state = {}};
    if (item.has("state")) {
      entry.state = domain_state(item.object("state"));
    }
    history.changes.push_back(std::move(entry));
  }
  return history;
}

json to_json(const AgentEntry& agent) {
  return {{"name", agent.name},
          {"last_seen", format_time(agent.last_seen)},
          {"asn", agent.asn ? json(*agent.asn) : json(nullptr)},
          {"asn_source", text_or_null(std::string(to_string(agent.asn_source)))},
          {"network", text_or_null(agent.network)},
          {"address", agent.address},
          {"version", agent.version},
          {"uptime_s", agent.uptime_s},
          {"spool_depth", agent.spool_depth},
          {"spool_dropped", agent.spool_dropped},
          {"epoch", agent.epoch},
          {"interval_ms", agent.interval_ms ? json(*agent.interval_ms) : json(nullptr)},
          {"stale_after_ms", agent.stale_after_ms},
          {"state", to_string(agent.state)},
          {"isolated", agent.isolated}};
}

json to_json(const std::vector<AgentEntry>& agents) {
  json entries = json::array();
  for (const auto& agent : agents) {
    entries.push_back(to_json(agent));
  }
  return entries;
}

std::vector<AgentEntry> agents_from_json(const json& document) {
  std::vector<AgentEntry> agents;
  for (const Reader& read : array_items(document, "agents")) {
    AgentEntry agent;
    agent.name = read.get<std::string>("name");
    agent.last_seen = read.time("last_seen");
    agent.asn = read.optional<int64_t>("asn");
    const auto source = asn_source_from_string(read.get_or<std::string>("asn_source", ""));
    if (!source) {
      read.fail("asn_source", "not an ASN source (config, lookup, prefix or null)");
    }
    agent.asn_source = *source;
    agent.network = read.get_or<std::string>("network", "");
    agent.address = read.get_or<std::string>("address", "");
    agent.version = read.get_or<std::string>("version", "");
    agent.uptime_s = read.get_or<int64_t>("uptime_s", 0);
    agent.spool_depth = read.get_or<int64_t>("spool_depth", 0);
    agent.spool_dropped = read.get_or<int64_t>("spool_dropped", 0);
    agent.epoch = read.get_or<uint64_t>("epoch", 0);
    agent.interval_ms = read.optional<int64_t>("interval_ms");
    agent.stale_after_ms = read.get_or<int64_t>("stale_after_ms", 0);
    agent.isolated = read.get_or<bool>("isolated", false);
    // A collector without "state" only knew isolation.
    if (read.has("state")) {
      const auto state = agent_state_from_string(read.get<std::string>("state"));
      if (!state) {
        read.fail("state", "not an agent state (ok, isolated, stale)");
      }
      agent.state = *state;
    } else {
      agent.state = agent.isolated ? AgentState::Isolated : AgentState::Ok;
    }
    agents.push_back(std::move(agent));
  }
  return agents;
}

double uptime_percent(double ratio) {
  // 57 / 100 is 0.56999... in binary: the nudge keeps it at 57.00 %, and is far too small to lift
  // a ratio below 1 to 100 % (that would take more than 10^13 cycles).
  return std::floor(ratio * 10000.0 + 1e-9) / 100.0;
}

json to_json(const TargetList& list) {
  json targets = json::array();
  for (const auto& target : list.targets) {
    targets.push_back(to_json(target));
  }
  json document = {{"version", list.version}, {"targets", std::move(targets)}};
  if (list.agent_file_targets) {
    json local = json::array();
    for (const auto& target : *list.agent_file_targets) {
      local.push_back({{"domain", target.domain}, {"agents", target.agents}});
    }
    document["agent_file_targets"] = std::move(local);
  }
  return document;
}

TargetList target_list_from_json(const json& document) {
  const Reader read(document, "");
  TargetList list;
  list.version = read.get<int64_t>("version");
  for (const Reader& item : read.objects("targets")) {
    const auto kind_text = item.get_or<std::string>("kind", "https");
    const auto kind = target_kind_from_string(kind_text);
    if (!kind) {
      item.fail("kind", fmt::format("\"{}\" is not https, http or tcp", kind_text));
    }
    list.targets.push_back(
        Target{.domain = item.get<std::string>("domain"),
               .kind = *kind,
               .port = item.get_or<int>("port", 443),
               .path = item.get_or<std::string>("path", "/"),
               .expect_status = item.get_or<std::vector<int>>("expect_status", {}),
               .body_regex = item.get_or<std::string>("body_regex", ""),
               .ca_file = item.get_or<std::string>("ca_file", ""),
               .insecure = item.get_or<bool>("insecure", false),
               .warn_before = item.expiry_thresholds("warn_before")});
  }
  if (read.has("agent_file_targets")) {
    list.agent_file_targets.emplace();
    for (const Reader& item : read.objects("agent_file_targets")) {
      list.agent_file_targets->push_back(
          AgentFileTarget{.domain = item.get<std::string>("domain"),
                          .agents = item.get<std::vector<std::string>>("agents")});
    }
  }
  return list;
}

json to_json(const TargetsVersion& version) {
  return {{"version", version.version}};
}

TargetsVersion targets_version_from_json(const json& document) {
  return TargetsVersion{.version = Reader(document, "").get<int64_t>("version")};
}

}  // namespace vantage
