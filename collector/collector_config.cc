#include "collector_config.hh"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "config_file.hh"
#include "config_node.hh"
#include "duration.hh"
#include "muting.hh"
#include "target.hh"
#include "tls_credentials.hh"

namespace vantage {
namespace {

double as_number(const ConfigNode& node, double min_exclusive, double max) {
  const std::string text = node.as_string();
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    node.fail(fmt::format("\"{}\" is not a number", text));
  }
  if (!(value > min_exclusive && value <= max)) {
    node.fail(
        fmt::format("{} is out of range (more than {}, at most {})", text, min_exclusive, max));
  }
  return value;
}

// A PEM file the config names: read whole (with the checks of ConfigNode::as_readable_file), and
// not empty.
std::string pem_file(const ConfigNode& node) {
  const std::string path = node.as_string();
  std::string text;
  try {
    text = read_config_file(path, kMaxConfigFileBytes);
  } catch (const FileError& error) {
    node.fail(fmt::format("cannot read \"{}\": {}", path, error.what()));
  }
  if (text.empty()) {
    node.fail(fmt::format("\"{}\" is empty", path));
  }
  return text;
}

// Both files are read and loaded here, so that a certificate or key the HTTPS server would refuse
// (or, empty, would once have let it fall back to plain HTTP) is a config error, the same from
// check-config as from serve.
void read_tls(const ConfigNode& node, CollectorConfig& config) {
  node.allow_only({"cert", "key"});
  const ConfigNode cert = node.child("cert");
  const ConfigNode key = node.child("key");
  config.tls_cert_file = cert.as_string();
  config.tls_key_file = key.as_string();
  config.tls_cert_pem = pem_file(cert);
  config.tls_key_pem = pem_file(key);
  if (const auto problem = check_tls_pair(config.tls_cert_pem, config.tls_key_pem)) {
    const ConfigNode& culprit = problem->part == TlsPairProblem::Part::Certificate ? cert : key;
    culprit.fail(fmt::format("\"{}\" {}", culprit.as_string(), problem->reason));
  }
}

std::string http_url(const ConfigNode& node) {
  std::string url = node.as_string();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    node.fail(fmt::format("\"{}\" must start with http:// or https://", url));
  }
  return url;
}

std::chrono::milliseconds duration_in(const ConfigNode& node, std::chrono::milliseconds min,
                                      std::chrono::milliseconds max) {
  const auto duration = node.as_duration();
  if (duration < min || duration > max) {
    node.fail(fmt::format("{} is out of range ({} to {})", node.as_string(), format_duration(min),
                          format_duration(max)));
  }
  return duration;
}

Endpoint read_listen(const ConfigNode& node) {
  const std::string text = node.as_string();
  // Port 0 is allowed on purpose: the kernel picks a free port and the startup log names it,
  // which is how tests run several collectors side by side.
  // (parse_endpoint itself refuses port 0, rightly for everything it is used for elsewhere.)
  std::string_view spec = text;
  const bool any_port = spec.size() > 2 && spec.substr(spec.size() - 2) == ":0" &&
                        (spec[spec.size() - 3] == ']' || spec.find(':') == spec.size() - 2);
  if (any_port) {
    spec.remove_suffix(2);
  }
  auto endpoint = parse_endpoint(spec, kDefaultCollectorPort);
  if (endpoint && any_port) {
    endpoint = endpoint->with_port(0);
  }
  if (!endpoint) {
    node.fail(fmt::format(
        "\"{}\" is not IP:PORT (a literal address, like 0.0.0.0:8470 or [::]:8470)", text));
  }
  return *endpoint;
}

StorageConfig read_storage(const ConfigNode& node) {
  node.allow_only({"sqlite", "postgres"});
  const bool sqlite = node.has("sqlite");
  if (sqlite == node.has("postgres")) {
    node.fail("needs exactly one of: sqlite, postgres");
  }
  StorageConfig storage;
  if (sqlite) {
    const auto path = node.child("sqlite");
    storage.kind = StorageConfig::Kind::Sqlite;
    storage.location = path.as_string();
    const auto dir = std::filesystem::path(storage.location).parent_path();
    if (storage.location.empty() || (!dir.empty() && !std::filesystem::is_directory(dir))) {
      path.fail(fmt::format("directory \"{}\" does not exist", dir.string()));
    }
  } else {
    const auto conninfo = node.child("postgres");
    storage.kind = StorageConfig::Kind::Postgres;
    storage.location = conninfo.as_string();
    if (storage.location.empty()) {
      conninfo.fail("must not be empty");
    }
  }
  return storage;
}

CorrelationConfig read_correlation(const ConfigNode& node) {
  node.allow_only({"quorum", "min_vantages", "enter_after", "exit_after", "freshness", "settle"});
  CorrelationConfig correlation;
  if (auto quorum = node.optional_child("quorum")) {
    correlation.quorum = as_number(*quorum, 0, 1);
  }
  if (auto min = node.optional_child("min_vantages")) {
    correlation.min_vantages = static_cast<int>(min->as_int(1, 10000));
  }
  if (auto enter = node.optional_child("enter_after")) {
    correlation.enter_after = static_cast<int>(enter->as_int(1, 1000));
  }
  if (auto exit = node.optional_child("exit_after")) {
    correlation.exit_after = static_cast<int>(exit->as_int(1, 1000));
  }
  if (auto settle = node.optional_child("settle")) {
    correlation.settle =
        settle->as_string() == "0s"
            ? std::chrono::milliseconds(0)
            : duration_in(*settle, std::chrono::milliseconds(0), std::chrono::hours(1));
  }
  if (auto freshness = node.optional_child("freshness")) {
    correlation.freshness =
        duration_in(*freshness, std::chrono::seconds(1), std::chrono::hours(24));
  }
  return correlation;
}

// A domain, a pattern of them ("*.shop.example") or "*", as windows and silences match them.
std::string domain_pattern(const ConfigNode& node) {
  const std::string text = node.as_string();
  auto pattern = canonical_domain_pattern(text);
  if (!pattern) {
    node.fail(
        fmt::format("\"{}\" is not a domain name, an IP address, a pattern such as "
                    "*.shop.example, or *",
                    text));
  }
  return *pattern;
}

// A receiver's name, as routes name it: letters, digits, '.', '_' and '-'.
std::string receiver_name_in(const ConfigNode& node) {
  std::string name = node.as_string();
  const bool valid = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(), [](unsigned char c) {
                       return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
                     });
  if (!valid) {
    node.fail(fmt::format("\"{}\" is not a name: 1 to 64 letters, digits, '.', '_' or '-'", name));
  }
  return name;
}

AlertReceiverConfig read_alert(const ConfigNode& node) {
  node.allow_only({"name", "webhook", "slack", "alertmanager"});
  static const std::pair<const char*, AlertReceiverConfig::Kind> kKinds[] = {
      {"webhook", AlertReceiverConfig::Kind::Webhook},
      {"slack", AlertReceiverConfig::Kind::Slack},
      {"alertmanager", AlertReceiverConfig::Kind::Alertmanager}};
  std::optional<AlertReceiverConfig> receiver;
  for (const auto& [key, kind] : kKinds) {
    auto body = node.optional_child(key);
    if (!body) {
      continue;
    }
    if (receiver) {
      body->fail("one receiver per list item (start another item with -)");
    }
    body->allow_only({"url"});
    receiver = AlertReceiverConfig{kind, http_url(body->child("url"))};
  }
  if (!receiver) {
    node.fail("needs one of: webhook, slack, alertmanager");
  }
  if (auto name = node.optional_child("name")) {
    receiver->name = receiver_name_in(*name);
  }
  return *receiver;
}

AlertTimingConfig read_alerting(const ConfigNode& node) {
  node.allow_only({"resend_interval", "retry_initial", "retry_max", "max_attempts", "timeout",
                   "repeat_after", "external_url"});
  AlertTimingConfig timing;
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  if (auto resend = node.optional_child("resend_interval")) {
    timing.resend_interval = duration_in(*resend, milliseconds(100), hours(1));
  }
  if (auto initial = node.optional_child("retry_initial")) {
    timing.retry_initial = duration_in(*initial, milliseconds(10), hours(1));
  }
  if (auto max = node.optional_child("retry_max")) {
    timing.retry_max = duration_in(*max, milliseconds(10), hours(24));
  }
  if (timing.retry_max < timing.retry_initial) {
    node.fail("retry_max must not be less than retry_initial");
  }
  if (auto attempts = node.optional_child("max_attempts")) {
    timing.max_attempts = static_cast<int>(attempts->as_int(1, 1000));
  }
  if (auto timeout = node.optional_child("timeout")) {
    timing.request_timeout = duration_in(*timeout, milliseconds(100), seconds(300));
  }
  if (auto repeat = node.optional_child("repeat_after")) {
    timing.repeat_after = duration_in(*repeat, seconds(1), hours(24 * 7));
  }
  if (auto external = node.optional_child("external_url")) {
    timing.external_url = http_url(*external);
    while (!timing.external_url.empty() && timing.external_url.back() == '/') {
      timing.external_url.pop_back();
    }
  }
  return timing;
}

// A key that takes one value or a list of them, as a list.
std::vector<ConfigNode> one_or_more(const ConfigNode& node) {
  return node.is_list() ? node.items() : std::vector<ConfigNode>{node};
}

AlertRoute read_route(const ConfigNode& node, const std::vector<AlertReceiverConfig>& receivers) {
  node.allow_only({"domains", "verdicts", "scope", "receivers", "continue", "repeat_after"});
  AlertRoute route;
  if (auto domains = node.optional_child("domains")) {
    for (const ConfigNode& domain : one_or_more(*domains)) {
      route.domains.push_back(domain_pattern(domain));
    }
  }
  if (auto verdicts = node.optional_child("verdicts")) {
    for (const ConfigNode& item : one_or_more(*verdicts)) {
      const auto verdict = verdict_from_string(item.as_string());
      if (!verdict) {
        item.fail(fmt::format("\"{}\" is not a verdict such as ROUTE_LOSS", item.as_string()));
      }
      route.verdicts.push_back(*verdict);
    }
  }
  if (auto scope = node.optional_child("scope")) {
    const auto parsed = scope_from_string(scope->as_string());
    if (!parsed || *parsed == Scope::None) {
      scope->fail("must be global or partial");
    }
    route.scope = parsed;
  }
  for (const ConfigNode& item : one_or_more(node.child("receivers"))) {
    const std::string name = item.as_string();
    const auto found = std::find_if(receivers.begin(), receivers.end(),
                                    [&](const auto& receiver) { return receiver.name == name; });
    if (found == receivers.end()) {
      item.fail(fmt::format("no receiver named \"{}\" (give it as name: in alerts)", name));
    }
    route.receivers.push_back(static_cast<size_t>(found - receivers.begin()));
  }
  if (auto more = node.optional_child("continue")) {
    route.continue_matching = more->as_bool();
  }
  if (auto repeat = node.optional_child("repeat_after")) {
    route.repeat_after = duration_in(*repeat, std::chrono::seconds(1), std::chrono::hours(24 * 7));
  }
  return route;
}

// routes: every receiver named and reached by one, and the last one matching every alert, so
// that no alert goes nowhere.
std::vector<AlertRoute> read_routes(const ConfigNode& node,
                                    const std::vector<AlertReceiverConfig>& receivers) {
  std::vector<AlertRoute> routes;
  const auto items = node.items();
  routes.reserve(items.size());
  for (const ConfigNode& item : items) {
    routes.push_back(read_route(item, receivers));
  }
  if (routes.empty()) {
    node.fail("lists no route; leave routes out to send every alert to every receiver");
  }
  const AlertRoute& last = routes.back();
  if (!last.domains.empty() || !last.verdicts.empty() || last.scope) {
    items.back().fail(
        "the last route must match every alert (no domains, verdicts or scope), so that none "
        "goes nowhere");
  }
  for (size_t i = 0; i < receivers.size(); ++i) {
    const bool reached = std::any_of(routes.begin(), routes.end(), [&](const AlertRoute& route) {
      return std::find(route.receivers.begin(), route.receivers.end(), i) != route.receivers.end();
    });
    if (!reached) {
      node.fail(fmt::format(
          "no route sends anything to alerts[{}]{}", i,
          receivers[i].name.empty() ? " (it has no name)" : " (" + receivers[i].name + ")"));
    }
  }
  return routes;
}

// libmicrohttpd counts its timeouts in whole seconds.
std::chrono::seconds whole_seconds_in(const ConfigNode& node, std::chrono::seconds min,
                                      std::chrono::seconds max) {
  const auto duration = duration_in(node, min, max);
  if (duration % std::chrono::seconds(1) != std::chrono::milliseconds(0)) {
    node.fail(fmt::format("{} is not a whole number of seconds", node.as_string()));
  }
  return std::chrono::duration_cast<std::chrono::seconds>(duration);
}

LimitsConfig read_limits(const ConfigNode& node) {
  node.allow_only({"max_body_bytes", "requests_per_second", "max_connections",
                   "max_connections_per_ip", "header_timeout", "idle_timeout", "max_clock_skew"});
  LimitsConfig limits;
  if (auto skew = node.optional_child("max_clock_skew")) {
    limits.max_clock_skew = duration_in(*skew, std::chrono::seconds(1), std::chrono::hours(24));
  }
  if (auto body = node.optional_child("max_body_bytes")) {
    limits.max_body_bytes = static_cast<uint64_t>(body->as_int(1024, int64_t{1} << 30));
  }
  if (auto rate = node.optional_child("requests_per_second")) {
    limits.requests_per_second = as_number(*rate, 0, 100000);
  }
  if (auto connections = node.optional_child("max_connections")) {
    limits.max_connections = static_cast<unsigned>(connections->as_int(4, 65536));
  }
  if (auto per_ip = node.optional_child("max_connections_per_ip")) {
    limits.max_connections_per_ip = static_cast<unsigned>(per_ip->as_int(1, 65536));
    if (limits.max_connections_per_ip > limits.max_connections) {
      per_ip->fail(fmt::format("{} is more than max_connections ({})",
                               limits.max_connections_per_ip, limits.max_connections));
    }
  } else {
    limits.max_connections_per_ip = std::min(limits.max_connections_per_ip, limits.max_connections);
  }
  using std::chrono::hours;
  using std::chrono::seconds;
  if (auto header = node.optional_child("header_timeout")) {
    limits.header_timeout = whole_seconds_in(*header, seconds(1), seconds(600));
  }
  if (auto idle = node.optional_child("idle_timeout")) {
    limits.idle_timeout = whole_seconds_in(*idle, seconds(1), hours(1));
  }
  return limits;
}

std::chrono::milliseconds period_in(const ConfigNode& node, std::chrono::milliseconds min) {
  const std::string text = node.as_string();
  const auto period = parse_period(text);
  if (!period) {
    node.fail(
        fmt::format("\"{}\" is not a period: a whole number of days, hours or minutes "
                    "(\"30d\", \"36h\", \"90m\"), at most 3650d",
                    text));
  }
  if (*period < min) {
    node.fail(fmt::format("{} is shorter than the least allowed, {}", text, format_period(min)));
  }
  return *period;
}

// Each kind is kept at least as long as the one it contains or outlives: a document lives in its
// result row, and the evidence of a failure is worth more than a healthy cycle's document.
RetentionConfig read_retention(const ConfigNode& node) {
  node.allow_only({"documents", "evidence", "results", "verdict_changes", "alerts",
                   "hourly_rollups", "daily_rollups", "every"});
  RetentionConfig retention;
  using std::chrono::hours;
  const auto read = [&](std::string_view key, RetentionConfig::Duration& into) {
    if (auto child = node.optional_child(std::string(key))) {
      into = period_in(*child, hours(1));
    }
  };
  read("documents", retention.documents);
  read("evidence", retention.evidence);
  read("results", retention.results);
  read("verdict_changes", retention.verdict_changes);
  read("alerts", retention.alerts);
  // Unset, the rollups are kept at least as long as what they must outlive.
  retention.hourly_rollups = std::max(retention.hourly_rollups, retention.results);
  read("hourly_rollups", retention.hourly_rollups);
  retention.daily_rollups = std::max(retention.daily_rollups, retention.hourly_rollups);
  read("daily_rollups", retention.daily_rollups);
  const auto at_least = [&](std::string_view key, RetentionConfig::Duration value,
                            std::string_view other, RetentionConfig::Duration floor) {
    if (value < floor) {
      const auto child = node.optional_child(std::string(key));
      (child ? *child : node)
          .fail(fmt::format("{} ({}) must be at least {} ({})", key, format_period(value), other,
                            format_period(floor)));
    }
  };
  at_least("evidence", retention.evidence, "documents", retention.documents);
  at_least("results", retention.results, "evidence", retention.evidence);
  // A result that may still be stored must not land in a rollup pruned already; and each uptime
  // window needs its rollups whole.
  at_least("hourly_rollups", retention.hourly_rollups, "results", retention.results);
  at_least("hourly_rollups", retention.hourly_rollups, "the 7d uptime window",
           7 * RetentionConfig::kDay);
  at_least("daily_rollups", retention.daily_rollups, "hourly_rollups", retention.hourly_rollups);
  at_least("daily_rollups", retention.daily_rollups, "the 90d uptime window",
           90 * RetentionConfig::kDay);
  if (auto every = node.optional_child("every")) {
    retention.every = duration_in(*every, std::chrono::seconds(1), hours(1));
  }
  return retention;
}

// metrics: { token_file: PATH }: the file Prometheus reads too (authorization.credentials_file),
// one line.
std::string read_metrics_token(const ConfigNode& node) {
  node.allow_only({"token_file"});
  const ConfigNode file = node.child("token_file");
  constexpr uint64_t kMaxTokenFileBytes = 4096;
  const std::string path = file.as_readable_file(kMaxTokenFileBytes);
  std::string token = read_config_file(path, kMaxTokenFileBytes);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())) != 0) {
    token.pop_back();
  }
  constexpr size_t kMinTokenLength = 16;
  if (token.size() < kMinTokenLength || token.find_first_of(" \t\r\n") != std::string::npos) {
    file.fail(
        fmt::format("{} must hold one token of at least {} characters on one line "
                    "(openssl rand -hex 32 makes one)",
                    path, kMinTokenLength));
  }
  return token;
}

// One item of maintenance: { domain, start, duration, every?, timezone?, reason }.
MaintenanceWindow read_window(const ConfigNode& node) {
  node.allow_only({"domain", "start", "duration", "every", "timezone", "reason"});
  MaintenanceWindow window;
  window.domain = domain_pattern(node.child("domain"));
  window.start = node.child("start").as_string();
  const ConfigNode duration = node.child("duration");
  auto length = parse_period(duration.as_string());
  if (!length) {
    length = parse_duration(duration.as_string());
  }
  if (!length) {
    duration.fail(fmt::format("\"{}\" is not a duration like 30m, 2h or 1d", duration.as_string()));
  }
  window.duration = std::chrono::duration_cast<std::chrono::seconds>(*length);
  if (auto every = node.optional_child("every")) {
    std::string days;
    if (every->is_list()) {
      for (const ConfigNode& day : every->items()) {
        days += (days.empty() ? "" : ",") + day.as_string();
      }
    } else {
      days = every->as_string();
    }
    const auto weekdays = parse_weekdays(days);
    if (!weekdays) {
      every->fail(fmt::format("\"{}\" is not a list of days like [Mon, Thu] or daily", days));
    }
    window.weekdays = *weekdays;
  }
  if (auto timezone = node.optional_child("timezone")) {
    window.timezone = timezone->as_string();
  }
  const ConfigNode reason = node.child("reason");
  window.reason = reason.as_string();
  if (window.reason.empty()) {
    reason.fail("say why, for whoever is on call when it starts");
  }
  window.created_by = "collector.yaml";
  if (const auto problem = window_problem(window)) {
    // "start: ..." names the key at fault.
    const auto colon = problem->find(": ");
    const std::string key = problem->substr(0, colon);
    const auto at = node.optional_child(key);
    (at ? *at : node).fail(problem->substr(colon + 2));
  }
  return window;
}

StatusPageConfig read_status_page(const ConfigNode& node) {
  node.allow_only({"title", "url", "domains"});
  StatusPageConfig page;
  if (auto title = node.optional_child("title")) {
    page.title = title->as_string();
    constexpr size_t kMaxTitle = 200;
    if (page.title.empty() || page.title.size() > kMaxTitle) {
      title->fail(fmt::format("must be 1 to {} characters", kMaxTitle));
    }
  }
  if (auto url = node.optional_child("url")) {
    page.url = url->as_string();
    if (page.url.rfind("https://", 0) != 0 && page.url.rfind("http://", 0) != 0) {
      url->fail(fmt::format("\"{}\" is not an http:// or https:// URL", page.url));
    }
  }
  const ConfigNode domains = node.child("domains");
  for (const ConfigNode& item : domains.items()) {
    const std::string text = item.as_string();
    auto domain = canonical_target_name(text);
    if (!domain) {
      item.fail(fmt::format("\"{}\" is not a domain name or an IP address", text));
    }
    if (std::find(page.domains.begin(), page.domains.end(), *domain) != page.domains.end()) {
      item.fail(fmt::format("{} is listed twice", *domain));
    }
    page.domains.push_back(std::move(*domain));
  }
  if (page.domains.empty()) {
    domains.fail("lists no domain: a status page shows at least one");
  }
  return page;
}

}  // namespace

CollectorConfig load_collector_config(const std::string& file) {
  const ConfigNode root = ConfigNode::load(file);
  root.allow_only({"listen", "tls", "storage", "retention", "correlation", "alerts", "alerting",
                   "asn_database", "limits", "status_page", "metrics", "maintenance", "routes"});
  CollectorConfig config;

  // Loopback unless listen says otherwise: a collector installed and started before anyone
  // edited its config must not answer the world (its /metrics names every domain).
  config.listen = *parse_endpoint("127.0.0.1", kDefaultCollectorPort);
  if (auto listen = root.optional_child("listen")) {
    config.listen = read_listen(*listen);
  }
  if (auto tls = root.optional_child("tls")) {
    read_tls(*tls, config);
  }
  config.storage = read_storage(root.child("storage"));
  if (auto retention = root.optional_child("retention")) {
    config.retention = read_retention(*retention);
  }
  if (auto correlation = root.optional_child("correlation")) {
    config.correlation = read_correlation(*correlation);
  }
  if (auto alerts = root.optional_child("alerts")) {
    for (const auto& alert : alerts->items()) {
      config.alerts.push_back(read_alert(alert));
      const std::string& name = config.alerts.back().name;
      if (!name.empty() &&
          std::count_if(config.alerts.begin(), config.alerts.end(),
                        [&](const auto& receiver) { return receiver.name == name; }) > 1) {
        alert.child("name").fail(fmt::format("\"{}\" names another receiver already", name));
      }
    }
  }
  if (auto routes = root.optional_child("routes")) {
    config.routes = read_routes(*routes, config.alerts);
  }
  if (auto maintenance = root.optional_child("maintenance")) {
    for (const auto& window : maintenance->items()) {
      config.maintenance.push_back(read_window(window));
    }
  }
  if (auto alerting = root.optional_child("alerting")) {
    config.alert_timing = read_alerting(*alerting);
  }
  if (auto database = root.optional_child("asn_database")) {
    config.asn_database = database->as_readable_file(kMaxAsnDatabaseBytes);
  }
  if (auto limits = root.optional_child("limits")) {
    config.limits = read_limits(*limits);
  }
  if (auto page = root.optional_child("status_page")) {
    config.status_page = read_status_page(*page);
  }
  if (auto metrics = root.optional_child("metrics")) {
    config.metrics_token = read_metrics_token(*metrics);
  }
  return config;
}

std::unique_ptr<Storage> open_storage(const StorageConfig& config) {
  switch (config.kind) {
    case StorageConfig::Kind::Sqlite:
      return open_sqlite_storage(config.location);
    case StorageConfig::Kind::Postgres:
      return open_postgres_storage(config.location);
  }
  throw StorageError("unknown storage kind");
}

std::string_view to_string(StorageConfig::Kind kind) {
  return kind == StorageConfig::Kind::Sqlite ? "sqlite" : "postgres";
}

}  // namespace vantage
