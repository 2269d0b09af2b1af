#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "collector_config.hh"
#include "collector_fixture.hh"
#include "config_node.hh"

using namespace vantage;

namespace {

const std::string kDir = VANTAGE_TESTDATA_DIR;

std::string error_of(const std::string& name) {
  try {
    load_collector_config(kDir + "/" + name);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

// A collector.yaml written by the test: the config it loads, or the error after the file name.
struct ConfigText {
  vantage::testing::TempDir dir;
  std::string path() const { return (dir / "c.yaml").string(); }
  CollectorConfig load(const std::string& text) const {
    vantage::testing::write_text(dir / "c.yaml", text);
    return load_collector_config(path());
  }
  std::string error_in(const std::string& text) const {
    try {
      load(text);
    } catch (const ConfigError& error) {
      return std::string(error.what()).substr(path().size());
    }
    return "(no error)";
  }
};

}  // namespace

TEST_CASE("a valid collector.yaml loads every key", "[config]") {
  const auto config = load_collector_config(kDir + "/valid-collector.yaml");
  CHECK(config.listen.to_string() == "[::1]:8471");
  CHECK_FALSE(config.tls());
  CHECK(config.storage.kind == StorageConfig::Kind::Sqlite);
  CHECK(config.storage.location == "/tmp/vantage-collector-valid.db");
  CHECK(config.correlation.quorum == Approx(0.6));
  CHECK(config.correlation.min_vantages == 3);
  CHECK(config.correlation.enter_after == 2);
  CHECK(config.correlation.exit_after == 4);
  REQUIRE(config.alerts.size() == 3);
  CHECK(config.alerts[0].kind == AlertReceiverConfig::Kind::Webhook);
  CHECK(config.alerts[0].url == "http://127.0.0.1:9000/hook");
  CHECK(config.alerts[1].kind == AlertReceiverConfig::Kind::Slack);
  CHECK(config.alerts[2].kind == AlertReceiverConfig::Kind::Alertmanager);
  CHECK(config.alerts[2].url == "http://127.0.0.1:9093");
  CHECK(config.limits.max_body_bytes == 1048576);
  CHECK(config.limits.requests_per_second == Approx(20));
  using std::chrono::hours;
  CHECK(config.retention.documents == hours(36));
  CHECK(config.retention.evidence == hours(90 * 24));
  CHECK(config.retention.results == hours(90 * 24));
  CHECK(config.retention.verdict_changes == hours(730 * 24));
  CHECK(config.retention.alerts == hours(365 * 24));
  // Unset, the rollups are kept as long as the results they count, at least.
  CHECK(config.retention.hourly_rollups == hours(90 * 24));
  CHECK(config.retention.daily_rollups == hours(400 * 24));
  CHECK(config.retention.every == std::chrono::minutes(5));
  CHECK(config.status_page.title == "Example & Co status");
  CHECK(config.status_page.url == "https://status.example.org");
  // Spelt as the collector keys domains, so that the page finds their verdicts.
  CHECK(config.status_page.domains == std::vector<std::string>{"social.example", "shop.example"});
}

TEST_CASE(
    "collector.yaml defaults: listen 127.0.0.1:8470, 8 MiB bodies, 50 requests/s, open /metrics",
    "[config]") {
  vantage::testing::TempDir dir;
  vantage::testing::write_text(dir / "c.yaml", "storage: { postgres: \"dbname=vantage\" }\n");
  const auto config = load_collector_config((dir / "c.yaml").string());
  CHECK(config.listen.to_string() == "127.0.0.1:8470");  // loopback until told otherwise
  CHECK(config.metrics_token.empty());
  CHECK(config.storage.kind == StorageConfig::Kind::Postgres);
  CHECK(config.storage.location == "dbname=vantage");
  CHECK(config.correlation.quorum == Approx(0.5));
  CHECK(config.correlation.min_vantages == 2);
  CHECK(config.alerts.empty());
  CHECK(config.limits.max_body_bytes == 8u << 20);
  CHECK(config.limits.requests_per_second == Approx(50));
  using std::chrono::hours;
  CHECK(config.retention.documents == hours(3 * 24));
  CHECK(config.retention.evidence == hours(30 * 24));
  CHECK(config.retention.results == hours(30 * 24));
  CHECK(config.retention.verdict_changes == hours(400 * 24));
  CHECK(config.retention.alerts == hours(400 * 24));
  CHECK(config.retention.hourly_rollups == hours(30 * 24));
  CHECK(config.retention.daily_rollups == hours(400 * 24));
  CHECK(config.retention.every == std::chrono::minutes(1));
  CHECK_FALSE(config.status_page.enabled());  // a public page only when asked for
}

TEST_CASE("every invalid collector.yaml names its file, line and key", "[config]") {
  const std::pair<const char*, const char*> cases[] = {
      {"invalid-collector-unknown-key.yaml",
       ":3: limits.max_body_byte: unknown key (expected one of: max_body_bytes, "
       "requests_per_second, max_connections, max_connections_per_ip, header_timeout, "
       "idle_timeout, max_clock_skew)"},
      {"invalid-collector-listen.yaml",
       ":1: listen: \"collector.example:8470\" is not IP:PORT (a literal address, like "
       "0.0.0.0:8470 or [::]:8470)"},
      {"invalid-collector-storage-both.yaml",
       ":3: storage: needs exactly one of: sqlite, postgres"},
      {"invalid-collector-storage-missing.yaml", ":1: storage: is required"},
      {"invalid-collector-sqlite-dir.yaml",
       ":3: storage.sqlite: directory \"/nonexistent/vantage\" does not exist"},
      {"invalid-collector-quorum.yaml",
       ":4: correlation.quorum: 1.5 is out of range (more than 0, at most 1)"},
      {"invalid-collector-min-vantages.yaml",
       ":2: correlation.min_vantages: 0 is out of range (1 to 10000)"},
      {"invalid-collector-alert-kind.yaml",
       ":4: alerts[1].pagerduty: unknown key (expected one of: name, webhook, slack, "
       "alertmanager)"},
      {"invalid-collector-alert-url.yaml",
       ":4: alerts[0].webhook.url: \"ftp://127.0.0.1/hook\" must start with http:// or https://"},
      {"invalid-collector-alert-two.yaml",
       ":4: alerts[0].slack: one receiver per list item (start another item with -)"},
      {"invalid-collector-tls-cert.yaml",
       ":3: tls.cert: cannot read \"/nonexistent/tls.crt\": No such file or directory"},
      {"invalid-collector-tls-key.yaml", ":2: tls.key: is required"},
      {"invalid-collector-body-limit.yaml",
       ":2: limits.max_body_bytes: 10 is out of range (1024 to 1073741824)"},
      {"invalid-collector-rate.yaml", ":3: limits.requests_per_second: \"fast\" is not a number"},
      {"invalid-collector-tls-dir.yaml",
       ":3: tls.cert: cannot read \"/tmp\": is a directory, not a regular file"},
      {"invalid-collector-tls-empty.yaml", ":3: tls.cert: \"/dev/null\" is empty"},
      {"invalid-collector-connections-per-ip.yaml",
       ":4: limits.max_connections_per_ip: 32 is more than max_connections (16)"},
      {"invalid-collector-header-timeout.yaml",
       ":2: limits.header_timeout: 1500ms is not a whole number of seconds"},
      {"invalid-collector-retention-order.yaml",
       ":4: retention.evidence: evidence (3d) must be at least documents (7d)"},
      {"invalid-collector-retention-unit.yaml",
       ":3: retention.results: \"1y\" is not a period: a whole number of days, hours or minutes "
       "(\"30d\", \"36h\", \"90m\"), at most 3650d"},
      {"invalid-collector-retention-short.yaml",
       ":3: retention.documents: 30m is shorter than the least allowed, 1h"},
      {"invalid-collector-retention-rollups.yaml",
       ":4: retention.hourly_rollups: hourly_rollups (30d) must be at least results (60d)"},
      {"invalid-collector-retention-daily.yaml",
       ":3: retention.daily_rollups: daily_rollups (60d) must be at least the 90d uptime window "
       "(90d)"},
      {"invalid-collector-status-domain.yaml",
       ":4: status_page.domains[1]: \"not a domain\" is not a domain name or an IP address"},
      {"invalid-collector-status-twice.yaml",
       ":5: status_page.domains[1]: a.example is listed twice"},
      {"invalid-collector-status-empty.yaml",
       ":4: status_page.domains: lists no domain: a status page shows at least one"},
      {"invalid-collector-status-url.yaml",
       ":3: status_page.url: \"status.example.org\" is not an http:// or https:// URL"},
      {"invalid-collector-duplicate-key.yaml",
       ":5: correlation: duplicate key (first given on line 2)"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    CHECK(error_of(file) == kDir + "/" + file + message);
  }
}

TEST_CASE("metrics.token_file: one token of 16 characters or more, read with the config",
          "[config]") {
  vantage::testing::TempDir dir;
  const auto load = [&](const std::string& token) {
    vantage::testing::write_text(dir / "metrics.token", token);
    vantage::testing::write_text(dir / "c.yaml",
                                 "storage: { sqlite: c.db }\nmetrics:\n  token_file: " +
                                     (dir / "metrics.token").string() + "\n");
    return load_collector_config((dir / "c.yaml").string());
  };
  CHECK(load("0123456789abcdef0123\n").metrics_token == "0123456789abcdef0123");
  const std::string where = (dir / "c.yaml").string() + ":3: metrics.token_file: ";
  CHECK_THROWS_WITH(load("short\n"), where + (dir / "metrics.token").string() +
                                         " must hold one token of at least 16 characters on one "
                                         "line (openssl rand -hex 32 makes one)");
  CHECK_THROWS_WITH(load("0123456789abcdef\n0123456789abcdef\n"),
                    Catch::StartsWith(where) && Catch::Contains("on one line"));
  vantage::testing::write_text(dir / "c.yaml",
                               "storage: { sqlite: c.db }\nmetrics: { token: x }\n");
  CHECK_THROWS_WITH(
      load_collector_config((dir / "c.yaml").string()),
      Catch::Contains(":2: metrics.token: unknown key (expected one of: token_file)"));
}

TEST_CASE("a YAML syntax error in collector.yaml names the file and a line", "[config]") {
  const auto error = error_of("invalid-collector-syntax.yaml");
  CHECK_THAT(error, Catch::StartsWith(kDir + "/invalid-collector-syntax.yaml:"));
  CHECK_THAT(error, Catch::Contains("YAML syntax error"));
}

TEST_CASE("listen takes IPv6 and port 0, and refuses host names", "[config]") {
  vantage::testing::TempDir dir;
  const auto listen_of = [&](const std::string& value) {
    vantage::testing::write_text(dir / "c.yaml",
                                 "listen: \"" + value + "\"\nstorage: { sqlite: c.db }\n");
    return load_collector_config((dir / "c.yaml").string()).listen.to_string();
  };
  CHECK(listen_of("[::]:8470") == "[::]:8470");
  CHECK(listen_of("127.0.0.1:0") == "127.0.0.1:0");
  CHECK(listen_of("[::1]:0") == "[::1]:0");
  CHECK(listen_of("192.0.2.1") == "192.0.2.1:8470");
  CHECK_THROWS_AS(listen_of("localhost:8470"), ConfigError);
  CHECK_THROWS_AS(listen_of("127.0.0.1:70000"), ConfigError);
}

TEST_CASE("check-config exits 0 on a valid file and 2 with the message on an invalid one",
          "[config]") {
  vantage::testing::CollectorFixture collector;
  const auto good = collector.cli({"check-config", "--config", kDir + "/valid-collector.yaml"});
  CHECK(good.exit_code == 0);
  CHECK_THAT(good.out, Catch::Contains("OK"));
  const auto bad =
      collector.cli({"check-config", "--config", kDir + "/invalid-collector-quorum.yaml"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == kDir +
                       "/invalid-collector-quorum.yaml:4: correlation.quorum: 1.5 is out of "
                       "range (more than 0, at most 1)\n");
  const auto serve = collector.cli({"serve", "--config", kDir + "/invalid-collector-listen.yaml"});
  CHECK(serve.exit_code == 2);
  CHECK_THAT(serve.err, Catch::Contains("invalid-collector-listen.yaml:1: listen:"));
}

TEST_CASE("check-config refuses a FIFO or a device as collector.yaml at once, saying what it is",
          "[config]") {
  vantage::testing::TempDir dir;
  const std::string fifo = (dir / "collector.yaml").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::pair<std::string, std::string> cases[] = {
      {fifo, "is a FIFO (named pipe), not a regular file"},
      {"/dev/zero", "is a character device, not a regular file"},
  };
  for (const auto& [path, what] : cases) {
    const auto result = vantage::testing::run_command(
        {VANTAGE_COLLECTOR_PATH, "check-config", "--config", path}, std::chrono::seconds(10));
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_code == 2);
    CHECK(result.err == path + ": cannot read the file: " + what + "\n");
  }
}

TEST_CASE(
    "check-config refuses what serve would refuse: a store that does not open, an ASN "
    "database that is not one",
    "[config]") {
  vantage::testing::CollectorFixture collector;
  const auto dir = collector.dir();
  std::filesystem::create_directory(dir / "a-directory");
  vantage::testing::write_text(dir / "not-a-database", "just text, not SQLite\n");
  vantage::testing::write_text(dir / "not-mmdb", "just text, not MaxMind\n");
  const std::pair<std::string, std::string> cases[] = {
      {"storage: { sqlite: " + (dir / "a-directory").string() + " }\n", "sqlite "},
      {"storage: { sqlite: " + (dir / "not-a-database").string() + " }\n", "sqlite "},
      {"storage: { sqlite: " + collector.db_file().string() +
           " }\nasn_database: " + (dir / "not-mmdb").string() + "\n",
       "cannot open ASN database "},
  };
  for (const auto& [yaml, error] : cases) {
    INFO(yaml);
    vantage::testing::write_text(collector.config_file(), "listen: \"127.0.0.1:0\"\n" + yaml);
    const auto check =
        collector.cli({"check-config", "--config", collector.config_file().string()});
    const auto serve = collector.cli({"serve", "--config", collector.config_file().string()});
    CHECK(serve.exit_code == 1);
    CHECK(check.exit_code == serve.exit_code);
    CHECK(check.err == serve.err);
    CHECK_THAT(check.err, Catch::StartsWith("vantage-collector: " + error));
  }
  // A SQLite file not created yet is no error: serve creates it, and check-config leaves none.
  vantage::testing::write_text(collector.config_file(),
                               "storage: { sqlite: " + (dir / "new.db").string() + " }\n");
  CHECK(collector.cli({"check-config", "--config", collector.config_file().string()}).exit_code ==
        0);
  CHECK_FALSE(std::filesystem::exists(dir / "new.db"));
}

TEST_CASE("maintenance windows in collector.yaml load, and a bad one names its line and key",
          "[config]") {
  const ConfigText file;
  const std::string head =
      "storage: { sqlite: " + (file.dir / "c.db").string() + " }\nmaintenance:\n";
  const auto load = [&](const std::string& windows) { return file.load(head + windows); };
  const auto error_in = [&](const std::string& windows) { return file.error_in(head + windows); };
  const auto config = load(
      "  - { domain: \"*.Shop.Example\", start: \"02:00\", duration: 90m, every: [Mon, Thu],\n"
      "      timezone: Europe/Berlin, reason: weekly vacuum }\n"
      "  - { domain: Social.Example, start: \"2026-12-01T02:00\", duration: 1d, reason: move }\n");
  REQUIRE(config.maintenance.size() == 2);
  CHECK(config.maintenance[0].domain == "*.shop.example");
  CHECK(config.maintenance[0].weekdays == 0b0001001);
  CHECK(config.maintenance[0].duration == std::chrono::minutes(90));
  CHECK(config.maintenance[0].timezone == "Europe/Berlin");
  CHECK(config.maintenance[0].created_by == "collector.yaml");
  CHECK(config.maintenance[1].domain == "social.example");
  CHECK(config.maintenance[1].weekdays == 0);
  CHECK(config.maintenance[1].timezone == "UTC");
  CHECK(config.maintenance[1].duration == std::chrono::hours(24));

  CHECK(error_in("  - { domain: a.example, start: \"02:00\", duration: 1h, every: daily,\n"
                 "      timezone: Mars/Olympus, reason: r }\n") ==
        ":4: maintenance[0].timezone: no time zone 'Mars/Olympus' (use UTC or a name such as "
        "Europe/Berlin)");
  CHECK(error_in("  - { domain: a.example, start: \"02:00\", duration: 1h, reason: r }\n") ==
        ":3: maintenance[0].start: '02:00' is not a local date and time such as 2026-12-01T02:00");
  CHECK(error_in("  - { domain: a.example, start: \"02:00\", duration: 1h, every: [Mon, Funday],"
                 " reason: r }\n") ==
        ":3: maintenance[0].every: \"Mon,Funday\" is not a list of days like [Mon, Thu] or daily");
  CHECK(error_in("  - { domain: a.example, start: \"02:00\", duration: 1h, every: Mon }\n") ==
        ":3: maintenance[0].reason: is required");
  CHECK(error_in("  - { domain: a.example, start: \"02:00\", duration: 8d, every: Mon, reason: r "
                 "}\n") == ":3: maintenance[0].duration: must be above zero and at most 7 days");
}

TEST_CASE("receivers with names and routes to them; a route that would lose alerts is refused",
          "[config]") {
  const ConfigText file;
  const std::string head =
      "storage: { sqlite: " + (file.dir / "c.db").string() +
      " }\n"
      "alerts:\n"
      "  - { name: pager, webhook: { url: \"http://127.0.0.1:9/p\" } }\n"
      "  - { name: shop-slack, slack: { url: \"https://hooks.example/T/B\" } }\n";
  const auto load = [&](const std::string& rest) { return file.load(head + rest); };
  const auto error_in = [&](const std::string& rest) { return file.error_in(head + rest); };
  const auto config = load(
      "alerting: { repeat_after: 4h, external_url: \"https://vantage.example.org:8470/\" }\n"
      "routes:\n"
      "  - { domains: [\"*.shop.example\"], receivers: [shop-slack] }\n"
      "  - { verdicts: [ROUTE_LOSS, DNS_FAILURE], scope: global, receivers: pager,\n"
      "      continue: true, repeat_after: 30m }\n"
      "  - { receivers: [pager] }\n");
  CHECK(config.alerts[0].name == "pager");
  CHECK(config.alert_timing.repeat_after == std::chrono::hours(4));
  CHECK(config.alert_timing.external_url == "https://vantage.example.org:8470");
  REQUIRE(config.routes.size() == 3);
  CHECK(config.routes[0].domains == std::vector<std::string>{"*.shop.example"});
  CHECK(config.routes[0].receivers == std::vector<size_t>{1});
  CHECK(config.routes[1].verdicts == std::vector<Verdict>{Verdict::RouteLoss, Verdict::DnsFailure});
  CHECK(config.routes[1].scope == Scope::Global);
  CHECK(config.routes[1].continue_matching);
  CHECK(config.routes[1].repeat_after == std::chrono::minutes(30));

  CHECK(error_in("routes:\n  - { receivers: [pagr, shop-slack] }\n") ==
        ":6: routes[0].receivers[0]: no receiver named \"pagr\" (give it as name: in alerts)");
  CHECK(error_in("routes:\n  - { receivers: [pager, shop-slack] }\n"
                 "  - { scope: global, receivers: pager }\n") ==
        ":7: routes[1]: the last route must match every alert (no domains, verdicts or scope), so "
        "that none goes nowhere");
  CHECK(error_in("routes:\n  - { receivers: [pager] }\n") ==
        ":6: routes: no route sends anything to alerts[1] (shop-slack)");
  CHECK(error_in("routes:\n  - { verdicts: [DOWN], receivers: [pager] }\n"
                 "  - { receivers: [pager, shop-slack] }\n") ==
        ":6: routes[0].verdicts[0]: \"DOWN\" is not a verdict such as ROUTE_LOSS");
  CHECK(error_in("  - { name: pager, webhook: { url: \"http://127.0.0.1:9/q\" } }\n") ==
        ":5: alerts[2].name: \"pager\" names another receiver already");
}
