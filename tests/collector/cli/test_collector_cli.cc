#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "api_model.hh"
#include "collector_fixture.hh"
#include "collector_fleet.hh"
#include "result_json.hh"
#include "sample_cycle.hh"
#include "tokens.hh"

using namespace vantage::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("token create prints a new token once and stores only its hash", "[cli]") {
  CollectorFixture collector;
  const auto created =
      collector.cli({"token", "create", "vp-fra-1", "--config", collector.config_file().string()});
  REQUIRE(created.exit_code == 0);
  CHECK_THAT(created.out, Catch::Matches("vat_[0-9a-f]{64}\n"));
  CHECK_THAT(created.err, Catch::Contains("shown only this once"));
  const std::string token = created.out.substr(0, created.out.size() - 1);

  auto store = collector.open_store();
  const auto record = store->token_by_hash(vantage::hash_token(token));
  REQUIRE(record);
  CHECK(record->name == "vp-fra-1");
  CHECK(record->kind == vantage::TokenKind::Agent);
  store.reset();
  // The secret itself is nowhere in the database (nor its WAL).
  for (const char* suffix : {"", "-wal"}) {
    CHECK(read_text(collector.db_file().string() + suffix).find(token) == std::string::npos);
  }

  const auto op = collector.cli(
      {"token", "create", "alice", "--operator", "--config", collector.config_file().string()});
  REQUIRE(op.exit_code == 0);
  const std::string op_token = op.out.substr(0, op.out.size() - 1);
  CHECK(collector.open_store()->token_by_hash(vantage::hash_token(op_token))->kind ==
        vantage::TokenKind::Operator);
  CHECK(op_token != token);

  const auto bad_name =
      collector.cli({"token", "create", "bad name", "--config", collector.config_file().string()});
  CHECK(bad_name.exit_code == 2);
  CHECK(bad_name.out.empty());
  CHECK_THAT(bad_name.err, Catch::Contains("\"bad name\" is not a valid name"));
}

TEST_CASE("targets add, list and remove through the CLI with an operator token", "[cli]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  write_text(collector.dir() / "op.token", op + "\n");
  const std::string token_file = (collector.dir() / "op.token").string();
  const std::vector<std::string> common = {"--url", collector.url(), "--token-file", token_file};
  const auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), common.begin(), common.end());
    return collector.cli(args);
  };

  const auto empty = with({"targets", "list"});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out == "no targets, version 0\n");

  const auto added =
      with({"targets", "add", "Social.Example", "--port", "8443", "--path", "/health",
            "--expect-status", "200", "--expect-status", "204", "--warn-certificate", "30d"});
  CHECK(added.exit_code == 0);
  CHECK(added.out == "added social.example (https, port 8443, path /health); targets version 1\n");
  CHECK(with({"targets", "add", "https://shop.example/", "--ca-file", "/etc/vantage/shop-ca.pem"})
            .exit_code == 0);
  const auto mail = with({"targets", "add", "tcp://mail.example:25"});
  CHECK(mail.out == "added mail.example (tcp, port 25); targets version 3\n");
  const auto intranet = with({"targets", "add", "http://192.0.2.10:8080/status"});
  CHECK(intranet.out == "added 192.0.2.10 (http, port 8080, path /status); targets version 4\n");

  // An agent that probes a domain from its own agent.yaml: the collector knows it by its cycles.
  REQUIRE(collector.post("/api/v1/results", agent, result_batch("vp-1", {1}, "own.example").dump())
              .status == 200);
  const auto table = with({"targets", "list"});
  CHECK(table.exit_code == 0);
  CHECK(table.out ==
        "DOMAIN          KIND   ORIGIN              PORT  PATH     EXPECT   BODY_REGEX  "
        "WARN_BEFORE       TLS\n"
        "192.0.2.10      http   central             8080  /status  2xx/3xx              "
        "-                 -\n"
        "mail.example    tcp    central             25    -        -                    "
        "sig 3d            -\n"
        "shop.example    https  central             443   /        2xx/3xx              "
        "cert 14d, sig 3d  ca /etc/vantage/shop-ca.pem\n"
        "social.example  https  central             8443  /health  200,204              "
        "cert 30d, sig 3d  system CAs\n"
        "own.example     -      agent.yaml of vp-1  -     -        -        -           "
        "-                 -\n"
        "4 central targets and 1 from agents' own files, version 4\n");

  const auto listed = with({"targets", "list", "--json"});
  CHECK(listed.exit_code == 0);
  const json document = json::parse(listed.out);
  CHECK(document["version"] == 4);
  CHECK(document["agent_file_targets"] ==
        json::array({{{"domain", "own.example"}, {"agents", {"vp-1"}}}}));
  REQUIRE(document["targets"].size() == 4);
  CHECK(document["targets"][3] ==
        json{{"domain", "social.example"},
             {"kind", "https"},
             {"port", 8443},
             {"path", "/health"},
             {"expect_status", {200, 204}},
             {"body_regex", ""},
             {"ca_file", ""},
             {"insecure", false},
             {"warn_before", {{"certificate", "30d"}, {"signature", "3d"}}}});

  // What does not describe a target is a usage error before anything is sent.
  const auto no_port = with({"targets", "add", "tcp://mail.example"});
  CHECK(no_port.exit_code == 2);
  CHECK_THAT(no_port.err, Catch::Contains("a tcp target needs its port (tcp://HOST:PORT)"));
  const auto twice = with({"targets", "add", "https://shop.example:8443/", "--port", "443"});
  CHECK(twice.exit_code == 2);
  CHECK_THAT(twice.err, Catch::Contains("has a port already; leave out --port"));
  const auto plain_ca = with({"targets", "add", "http://intranet.example/", "--insecure"});
  CHECK(plain_ca.exit_code == 2);
  CHECK_THAT(plain_ca.err, Catch::Contains("an http target has no TLS"));
  CHECK(with({"targets", "list", "--json"}).out == listed.out);

  const auto removed = with({"targets", "remove", "social.example"});
  CHECK(removed.exit_code == 0);
  CHECK(removed.out == "removed social.example; targets version 5\n");
  // Written as it was added.
  CHECK(with({"targets", "remove", "tcp://mail.example:25"}).out ==
        "removed mail.example; targets version 6\n");
  const auto again = with({"targets", "remove", "social.example"});
  CHECK(again.exit_code == 1);
  CHECK(again.err == "vantage-collector: collector at " + collector.url() +
                         " answered 404: no target \"social.example\"\n");

  const auto invalid = with({"targets", "add", "bad_domain!"});
  CHECK(invalid.exit_code == 2);
  CHECK_THAT(invalid.err, Catch::Contains("\"bad_domain!\" is not a domain name or an IP address"));

  // VANTAGE_TOKEN instead of --token-file; an agent's token may read but not change targets.
  const auto by_env = collector.cli({"targets", "list", "--json", "--url", collector.url()},
                                    {"VANTAGE_TOKEN=" + agent});
  CHECK(by_env.exit_code == 0);
  CHECK(json::parse(by_env.out)["targets"].size() == 2);
  CHECK_FALSE(json::parse(by_env.out).contains("agent_file_targets"));  // agents poll this list
  const auto forbidden = collector.cli({"targets", "add", "x.example", "--url", collector.url()},
                                       {"VANTAGE_TOKEN=" + agent});
  CHECK(forbidden.exit_code == 1);
  CHECK(forbidden.err == "vantage-collector: collector at " + collector.url() +
                             " answered 403: this endpoint needs an operator token\n");

  // VANTAGE_URL instead of --url; a --url given still wins.
  const auto by_url_env = collector.cli(
      {"targets", "list", "--json"}, {"VANTAGE_TOKEN=" + agent, "VANTAGE_URL=" + collector.url()});
  CHECK(by_url_env.exit_code == 0);
  CHECK(json::parse(by_url_env.out)["targets"].size() == 2);
  const auto flag_wins =
      collector.cli({"targets", "list", "--url", collector.url()},
                    {"VANTAGE_TOKEN=" + agent, "VANTAGE_URL=http://127.0.0.1:9"});
  CHECK(flag_wins.exit_code == 0);
}

TEST_CASE("agents lists who sent heartbeats, as a table or JSON", "[cli]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  REQUIRE(collector
              .post("/api/v1/heartbeat", agent,
                    R"({"agent":"vp-1","version":"0.1.0","uptime_s":5,"spool_depth":0,
                        "asn":64501})")
              .status == 200);
  const std::vector<std::string> env = {"VANTAGE_TOKEN=" + op};
  const auto table = collector.cli({"agents", "--url", collector.url()}, env);
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::StartsWith("NAME  LAST_SEEN"));
  CHECK_THAT(table.out, Catch::Contains("vp-1"));
  CHECK_THAT(table.out, Catch::Contains("64501"));
  CHECK_THAT(table.out, Catch::Contains("127.0.0.1"));
  const auto listed = collector.cli({"agents", "--json", "--url", collector.url()}, env);
  CHECK(listed.exit_code == 0);
  const json agents = json::parse(listed.out);
  REQUIRE(agents.size() == 1);
  CHECK(agents[0]["name"] == "vp-1");
  CHECK(agents[0]["asn"] == 64501);
  CHECK(agents[0].contains("last_seen"));
}

TEST_CASE("an agent's version cannot forge rows or rewrite the operator's terminal", "[cli]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  const json beat = {{"agent", "vp-1"}, {"version", "\x1b[2K\rforged-row\nvp-9"}, {"uptime_s", 5}};
  REQUIRE(collector.post("/api/v1/heartbeat", agent, beat.dump()).status == 200);
  const auto table = collector.cli({"agents", "--url", collector.url()}, {"VANTAGE_TOKEN=" + op});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find('\x1b') == std::string::npos);
  CHECK(table.out.find('\r') == std::string::npos);
  CHECK(std::count(table.out.begin(), table.out.end(), '\n') == 2);  // the header and vp-1
  CHECK_THAT(table.out, Catch::Contains("\\x1b[2K\\x0dforged-row\\x0avp-9"));

  // What the collector says back of a bad request is escaped too.
  const auto refused =
      collector.cli({"explain", "a\x1b[2Kb", "--url", collector.url()}, {"VANTAGE_TOKEN=" + op});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find('\x1b') == std::string::npos);
  CHECK_THAT(refused.err, Catch::Contains("\\x1b[2Kb"));
}

TEST_CASE(
    "status, explain, the API and /metrics show what expires soon beside the verdict, with who "
    "saw it",
    "[cli][expiry]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  const auto now = std::chrono::system_clock::now();
  vantage::CycleResult cycle = healthy_cycle("social.example");
  cycle.started_at = now - std::chrono::seconds(5);
  vantage::ProbeResult https;
  https.check = vantage::Check::Https;
  https.target = "192.0.2.10:443";
  https.phase = vantage::Phase::Response;
  https.http_status = 200;
  https.tls = vantage::TlsDetails{.version = "TLSv1.3",
                                  .subject = "CN=social.example",
                                  .issuer = "CN=Lab CA",
                                  .not_after = "2026-12-02T10:00:00Z",
                                  .earliest_subject = "CN=social.example",
                                  .earliest_not_after = "2026-12-02T10:00:00Z"};
  cycle.results.push_back(https);
  const std::string text =
      "certificate CN=social.example expires 2026-12-02T10:00:00Z (in 3 days), served at "
      "192.0.2.10:443 (1 of 2 addresses; the others serve one valid until 2027-02-27T10:00:00Z)";
  cycle.reading.expiring = {{vantage::ExpiryKind::Certificate,
                             "CN=social.example",
                             std::chrono::sys_seconds(1796205600s),
                             {"192.0.2.10:443"},
                             2,
                             text}};
  json batch = {{"schema_version", 1},
                {"agent", "vp-1"},
                {"results", {{{"seq", 1}, {"cycle", vantage::to_json(cycle)}}}}};
  REQUIRE(collector.post("/api/v1/results", agent, batch.dump()).status == 200);

  const json status = collector.get("/api/v1/status", op).json();
  REQUIRE(status.size() == 1);
  CHECK(status[0]["expiring"] == json::array({{{"kind", "certificate"},
                                               {"subject", "CN=social.example"},
                                               {"expires_at", "2026-12-02T10:00:00.000Z"},
                                               {"at", {"192.0.2.10:443"}},
                                               {"vantages", {"vp-1"}},
                                               {"text", text}}}));
  const auto table = collector.cli({"status", "--url", collector.url()}, {"VANTAGE_TOKEN=" + op});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("\nExpiring soon (warnings beside the verdicts):\n"
                                        "  social.example: " +
                                        text + "; seen from 1 vantage\n"));
  const auto explained = collector.cli({"explain", "social.example", "--url", collector.url()},
                                       {"VANTAGE_TOKEN=" + op});
  REQUIRE(explained.exit_code == 0);
  CHECK_THAT(explained.out, Catch::Contains("\nExpiring soon (warnings beside the verdict):\n  " +
                                            text + "\n     at 192.0.2.10:443; seen from vp-1\n"));

  const std::string metrics = collector.get("/metrics").body;
  CHECK_THAT(
      metrics,
      Catch::Contains(
          R"(vantage_domain_expiring_timestamp_seconds{domain="social.example",kind="certificate"} 1796205600)"));
  CHECK_THAT(
      metrics,
      Catch::Contains(
          R"(vantage_tls_chain_not_after_timestamp_seconds{domain="social.example",vantage="vp-1"} 1796205600)"));
}

TEST_CASE("status, explain and /metrics give each domain's uptime and latency from the rollups",
          "[cli][rollups]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  // Four cycles whose HTTPS probe took 80, 120, 160 and 200 ms, and one that found the server
  // down, all within the last hour.
  json batch = {{"schema_version", 1}, {"agent", "vp-1"}, {"results", json::array()}};
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 4; ++i) {
    vantage::CycleResult cycle = healthy_cycle("social.example");
    cycle.started_at = now - std::chrono::minutes(5 + i);
    vantage::ProbeResult https;
    https.check = vantage::Check::Https;
    https.target = "192.0.2.10:443";
    https.phase = vantage::Phase::Response;
    https.http_status = 200;
    https.timings.total = std::chrono::milliseconds(80 + 40 * i);
    cycle.results.push_back(https);
    batch["results"].push_back({{"seq", i + 1}, {"cycle", vantage::to_json(cycle)}});
  }
  batch["results"].push_back(
      {{"seq", 5},
       {"cycle", cycle_document("social.example", vantage::Verdict::ServerDown,
                                now - std::chrono::minutes(1))}});
  REQUIRE(collector.post("/api/v1/results", agent, batch.dump()).status == 200);

  const json status = collector.get("/api/v1/status", op).json();
  REQUIRE(status.size() == 1);
  for (const char* window : {"24h", "7d", "30d", "90d"}) {
    INFO(window);
    CHECK(status[0]["uptime"][window] ==
          json{{"ratio", 0.8}, {"up", 4}, {"down", 1}, {"inconclusive", 0}});
  }
  const json explained = collector.get("/api/v1/domains/social.example", op).json();
  REQUIRE(explained["latency_24h"].size() == 1);
  const json& https = explained["latency_24h"][0];
  CHECK(https["check"] == "Https");
  CHECK(https["samples"] == 4);
  CHECK(https["max_ms"] == 200.0);
  // Bucket bounds: at most 19% above the exact median (120 ms) and 95th percentile (200 ms).
  CHECK(https["p50_ms"].get<double>() >= 120.0);
  CHECK(https["p50_ms"].get<double>() <= 120.0 * 1.19);
  CHECK(https["p95_ms"] == 200.0);

  const auto table = collector.cli({"status", "--url", collector.url()}, {"VANTAGE_TOKEN=" + op});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("  UP_24H  "));
  CHECK_THAT(table.out, Catch::Contains("  80.00%"));
  const auto text = collector.cli({"explain", "social.example", "--url", collector.url()},
                                  {"VANTAGE_TOKEN=" + op});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("\nUptime (cycles of all vantages read OK or DEGRADED"));
  CHECK_THAT(text.out, Catch::Matches("(.|\n)*\n24h +80\\.00% +4 +1 +0\n(.|\n)*"));
  CHECK_THAT(text.out, Catch::Matches("(.|\n)*\n90d +80\\.00% +4 +1 +0\n(.|\n)*"));
  CHECK_THAT(text.out, Catch::Contains("\nLatency over the last 24 hours"));
  CHECK_THAT(text.out, Catch::Matches("(.|\n)*\nHttps +4 +[0-9.]+ +200\\.0 +200\\.0\n(.|\n)*"));

  const std::string metrics = collector.get("/metrics").body;
  CHECK_THAT(
      metrics,
      Catch::Contains(R"(vantage_domain_uptime_ratio{domain="social.example",window="24h"} 0.8)"));
  CHECK_THAT(
      metrics,
      Catch::Contains(R"(vantage_domain_uptime_ratio{domain="social.example",window="90d"} 0.8)"));
}

TEST_CASE(
    "an http target named by its IPv6 address is a domain like any other: status, explain, "
    "latency and metrics",
    "[cli][rollups]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  json batch = {{"schema_version", 1}, {"agent", "vp-1"}, {"results", json::array()}};
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 2; ++i) {
    vantage::CycleResult cycle;
    cycle.domain = "2001:db8::5";
    cycle.started_at = now - std::chrono::seconds(2 - i);
    vantage::ProbeResult tcp;
    tcp.check = vantage::Check::Tcp;
    tcp.target = "[2001:db8::5]:8080";
    tcp.timings.total = std::chrono::milliseconds(2);
    vantage::ProbeResult http;
    http.check = vantage::Check::Http;
    http.target = "[2001:db8::5]:8080";
    http.phase = vantage::Phase::Response;
    http.http_status = 200;
    http.timings.connect = std::chrono::milliseconds(2);
    http.timings.first_byte = std::chrono::milliseconds(30);
    http.timings.total = std::chrono::milliseconds(40);
    cycle.results = {tcp, http};
    cycle.reading.summary = "2001:db8::5 works from this vantage";
    batch["results"].push_back({{"seq", i + 1}, {"cycle", vantage::to_json(cycle)}});
  }
  REQUIRE(collector.post("/api/v1/results", agent, batch.dump()).status == 200);

  const auto text = collector.cli({"explain", "2001:DB8:0::5", "--url", collector.url()},
                                  {"VANTAGE_TOKEN=" + op});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::StartsWith("2001:db8::5: "));
  CHECK_THAT(text.out, Catch::Matches("(.|\n)*\nHttp +2 +[0-9.]+ +40\\.0 +40\\.0\n(.|\n)*"));
  const auto table = collector.cli({"status", "--url", collector.url()}, {"VANTAGE_TOKEN=" + op});
  CHECK_THAT(table.out, Catch::Contains("\n2001:db8::5 "));
  const std::string metrics = collector.get("/metrics").body;
  CHECK_THAT(metrics,
             Catch::Contains(R"(vantage_probe_success{domain="2001:db8::5",vantage="vp-1",)"
                             R"(check="Http"} 1)"));
  CHECK_THAT(metrics, Catch::Contains(R"(vantage_probe_https_phase_seconds{domain="2001:db8::5",)"
                                      R"(vantage="vp-1",phase="first_byte"} 0.03)"));
  CHECK_THAT(metrics, !Catch::Contains(R"(domain="2001:db8::5",vantage="vp-1",phase="tls")"));
}

TEST_CASE("CLI failures: no token is a usage error, a wrong token or no collector a failure",
          "[cli]") {
  CollectorFixture collector;
  collector.start();
  const auto no_token = collector.cli({"targets", "list", "--url", collector.url()});
  CHECK(no_token.exit_code == 2);
  CHECK(no_token.err ==
        "vantage-collector: no token: pass --token-file FILE or set VANTAGE_TOKEN\n");

  const auto missing_file =
      collector.cli({"agents", "--url", collector.url(), "--token-file", "/nonexistent/token"});
  CHECK(missing_file.exit_code == 2);

  const auto wrong = collector.cli({"agents", "--url", collector.url()},
                                   {"VANTAGE_TOKEN=vat_" + std::string(64, 'f')});
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.err ==
        "vantage-collector: collector at " + collector.url() + " answered 401: unknown token\n");
  CHECK_THAT(collector.log(),
             Catch::Contains("HTTP 401 GET /api/v1/agents from 127.0.0.1: unknown token"));

  const std::string url = collector.url();
  collector.stop();
  const auto away = collector.cli({"agents", "--url", url}, {"VANTAGE_TOKEN=vat_x"});
  CHECK(away.exit_code == 1);
  CHECK_THAT(away.err,
             Catch::StartsWith("vantage-collector: cannot reach the collector at " + url));

  const auto usage = collector.cli({"targets", "frobnicate"});
  CHECK(usage.exit_code == 2);
}

TEST_CASE("every document the CLI reads parses into the API model and writes back byte for byte",
          "[cli]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();
  fleet.rounds(vantage::Verdict::RouteLoss);
  REQUIRE(fleet.verdict() == "ROUTE_LOSS");
  // A target no agent has reported yet: status lists it with "since": null.
  REQUIRE(collector.post("/api/v1/targets", fleet.op, R"({"domain":"shop.example"})").status ==
          201);

  // `rewrite`: the body read into the model and written back.
  const auto same_bytes = [&](const std::string& path, const auto& rewrite) {
    const auto reply = collector.get(path, fleet.op);
    REQUIRE(reply.status == 200);
    json body = json::parse(reply.body);
    INFO(path << ": " << reply.body);
    CHECK(rewrite(body).dump() == reply.body);
    return body;
  };
  const json status = same_bytes("/api/v1/status", [](const json& body) {
    return vantage::to_json(vantage::status_from_json(body));
  });
  REQUIRE(status.size() == 2);
  CHECK(status[0]["since"].is_null());  // shop.example
  const json explanation = same_bytes("/api/v1/domains/social.example", [](const json& body) {
    return vantage::to_json(vantage::domain_explanation_from_json(body));
  });
  CHECK(!explanation["recent_changes"].empty());
  CHECK(explanation["alerts"].size() == 1);
  CHECK(explanation["vantages"].size() == 3);
  same_bytes("/api/v1/domains/social.example/history?since=1h",
             [](const json& body) { return vantage::to_json(vantage::history_from_json(body)); });
  same_bytes("/api/v1/alerts", [](const json& body) {
    return vantage::to_json(vantage::alert_list_from_json(body));
  });
  same_bytes("/api/v1/targets", [](const json& body) {
    return vantage::to_json(vantage::target_list_from_json(body));
  });
  same_bytes("/api/v1/agents",
             [](const json& body) { return vantage::to_json(vantage::agents_from_json(body)); });

  // A value outside its set is refused, naming where it is, rather than shown as if it were one.
  json odd = explanation;
  odd["vantages"][1]["latest_reading"] = "MOSTLY_FINE";
  CHECK_THROWS_WITH(
      vantage::domain_explanation_from_json(odd),
      Catch::Contains("vantages[1].latest_reading") && Catch::Contains("not a verdict"));
  json wide = status;
  wide[1]["scope"] = "worldwide";
  CHECK_THROWS_WITH(vantage::status_from_json(wide), Catch::Contains("status[1].scope"));
}

TEST_CASE(
    "db stats shows each table's rows, size and oldest entry, and what retention removes next",
    "[cli][retention]") {
  CollectorFixture collector("retention: { documents: 1h, evidence: 2h, results: 3h }\n");
  const std::string agent = collector.create_token("vp-1");
  collector.start();
  json batch = result_batch("vp-1", {1, 2, 3, 4});
  // The first result started 2.5 h ago: its document (OK) is past its period, its row is not. The
  // last started 4 h ago, past the results' period: acknowledged, not stored.
  const auto now = std::chrono::system_clock::now();
  batch["results"][0]["cycle"] =
      cycle_document("social.example", vantage::Verdict::Ok, now - std::chrono::minutes(150));
  batch["results"][3]["cycle"] =
      cycle_document("social.example", vantage::Verdict::Ok, now - std::chrono::hours(4));
  // Read before retention's first pass could reach it: that pass ran at start, before the upload,
  // and the next comes a minute later.
  const auto reply = collector.post("/api/v1/results", agent, batch.dump());
  REQUIRE(reply.status == 200);
  CHECK(reply.json() == json{{"accepted", 3}, {"duplicates", 0}, {"expired", 1}, {"acked_seq", 4}});

  const auto text = collector.cli({"db", "stats", "--config", collector.config_file().string()});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("sqlite " + collector.db_file().string() + ": "));
  CHECK_THAT(text.out, Catch::Contains("schema version"));
  CHECK_THAT(text.out, Catch::Matches("(.|\n)*\nresults +3 +[0-9.]+ [KM]B  20[0-9-]+T(.|\n)*"));
  CHECK_THAT(text.out, Catch::Matches("(.|\n)*\nrollups +[2-4] +[0-9.]+ [KM]B  20[0-9-]+T(.|\n)*"));
  CHECK_THAT(text.out, Catch::Contains("3 of 3 results hold their cycle document."));
  CHECK_THAT(text.out,
             Catch::Contains("Retention (documents 1h, evidence 2h, results 3h, verdict changes "
                             "400d, alerts 400d, hourly rollups 30d, daily rollups 400d) removes "
                             "next: 1 documents, 0 results, 0 verdict changes, 0 alerts, 0 "
                             "rollups."));

  const auto as_json =
      collector.cli({"db", "stats", "--json", "--config", collector.config_file().string()});
  REQUIRE(as_json.exit_code == 0);
  const json document = json::parse(as_json.out);
  CHECK(document["due"]["documents"] == 1);
  CHECK(document["due"]["results"] == 0);
  CHECK(document["due"]["rollups"] == 0);
  CHECK(document["documents"] == 3);
  CHECK(document["tables"][0]["table"] == "results");
  CHECK(document["tables"][0]["rows"] == 3);
  CHECK(document["size_bytes"].get<uint64_t>() > 0);
  CHECK(document["retention"]["results"] == "3h");
}

TEST_CASE(
    "token list, rotate and revoke: one token per name, the old one kept for the grace period, "
    "a revoked one refused at once",
    "[cli][tokens]") {
  CollectorFixture collector;
  const std::string config = collector.config_file().string();
  const std::string first = collector.create_token("vp-1");
  collector.create_token("alice", true);
  collector.start();
  const std::string heartbeat = R"({"agent":"vp-1","version":"t","uptime_s":1,"spool_depth":0})";
  REQUIRE(collector.post("/api/v1/heartbeat", first, heartbeat).status == 200);

  const auto again = collector.cli({"token", "create", "vp-1", "--config", config});
  CHECK(again.exit_code == 1);
  CHECK(again.out.empty());
  CHECK_THAT(again.err,
             Catch::Contains("vp-1 already has a token") && Catch::Contains("token rotate vp-1"));

  const auto rotated =
      collector.cli({"token", "rotate", "vp-1", "--grace", "1h", "--config", config});
  REQUIRE(rotated.exit_code == 0);
  CHECK_THAT(rotated.out, Catch::Matches("vat_[0-9a-f]{64}\n"));
  CHECK_THAT(rotated.err, Catch::Contains("old token of vp-1 keeps working until"));
  const std::string second = rotated.out.substr(0, rotated.out.size() - 1);
  CHECK(collector.post("/api/v1/heartbeat", first, heartbeat).status == 200);  // grace
  CHECK(collector.post("/api/v1/heartbeat", second, heartbeat).status == 200);

  const auto listed = collector.cli({"token", "list", "--config", config});
  REQUIRE(listed.exit_code == 0);
  CHECK_THAT(listed.out, Catch::StartsWith("NAME   KIND      CREATED"));
  CHECK_THAT(listed.out, Catch::Contains("alice  operator") && Catch::Contains("never"));
  CHECK_THAT(listed.out, Catch::Matches("(.|\n)*vp-1 +agent +\\S+ +\\d+s ago +accepted until "
                                        "\\S+Z\n(.|\n)*"));
  CHECK(listed.out.find("vat_") == std::string::npos);  // never a secret
  const auto listed_json = collector.cli({"token", "list", "--json", "--config", config});
  REQUIRE(listed_json.exit_code == 0);
  const auto tokens = json::parse(listed_json.out).at("tokens");
  REQUIRE(tokens.size() == 3);
  CHECK(tokens[0].at("name") == "alice");
  CHECK(tokens[0].at("last_used_at").is_null());
  CHECK(tokens[1].at("expires_at").is_string());
  CHECK(tokens[2].at("expires_at").is_null());
  CHECK(tokens[2].at("accepted") == true);

  const size_t log_before = collector.log().size();
  const auto revoked = collector.cli({"token", "revoke", "vp-1", "--config", config});
  REQUIRE(revoked.exit_code == 0);
  CHECK(revoked.out == "revoked 2 tokens of vp-1: refused from the next request on\n");
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto refused = collector.post("/api/v1/heartbeat", second, heartbeat);
    CHECK(refused.status == 401);
    CHECK(refused.json().value("error", "") == "token revoked or expired");
  }
  CHECK(collector.post("/api/v1/heartbeat", first, heartbeat).status == 401);
  // Logged once per token, however often the agent retries.
  const std::string log = collector.log(log_before);
  size_t lines = 0;
  for (size_t at = log.find("the agent token of vp-1 ended"); at != std::string::npos;
       at = log.find("the agent token of vp-1 ended", at + 1)) {
    ++lines;
  }
  CHECK(lines == 2);

  const auto nothing_left = collector.cli({"token", "revoke", "vp-1", "--config", config});
  CHECK(nothing_left.exit_code == 1);
  CHECK_THAT(nothing_left.err, Catch::Contains("vp-1 has no token still accepted"));
  const auto no_rotate = collector.cli({"token", "rotate", "vp-1", "--config", config});
  CHECK(no_rotate.exit_code == 1);
  CHECK_THAT(no_rotate.err, Catch::Contains("vp-1 has no token to rotate"));
  const auto bad_grace =
      collector.cli({"token", "rotate", "alice", "--grace", "soon", "--config", config});
  CHECK(bad_grace.exit_code == 2);
  CHECK_THAT(bad_grace.err, Catch::Contains("--grace \"soon\""));

  // After a revoke the name can be given a token again.
  const std::string third = collector.create_token("vp-1");
  CHECK(collector.post("/api/v1/heartbeat", third, heartbeat).status == 200);
}

TEST_CASE(
    "the client file names the collector once; a flag, then the environment, win over it; a "
    "broken one is exit 2 with file, line and key",
    "[cli][client-file]") {
  CollectorFixture collector;
  const std::string op = collector.create_token("alice", true);
  collector.start();
  const auto xdg = collector.dir() / "xdg" / "vantage";
  std::filesystem::create_directories(xdg);
  write_text(xdg / "operator.token", op + "\n");
  const auto client_file = xdg / "client.yaml";
  write_text(client_file, "url: " + collector.url() + "\ntoken_file: operator.token\n");

  // No flag, no variable: the client file's collector and token (relative to the file).
  const auto from_file = collector.cli({"agents", "--json"});
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out == "[]\n");
  // The environment wins over the file, the flag over both.
  const auto from_env = collector.cli({"agents"}, {"VANTAGE_URL=http://127.0.0.1:9"});
  CHECK(from_env.exit_code == 1);
  CHECK_THAT(from_env.err, Catch::Contains("http://127.0.0.1:9"));
  const auto from_flag = collector.cli({"agents", "--json", "--url", collector.url()},
                                       {"VANTAGE_URL=http://127.0.0.1:9"});
  CHECK(from_flag.exit_code == 0);
  const auto wrong_token = collector.cli({"agents"}, {"VANTAGE_TOKEN=vat_wrong"});
  CHECK(wrong_token.exit_code == 1);
  CHECK_THAT(wrong_token.err, Catch::Contains("401"));

  // VANTAGE_CLIENT_CONFIG names another file; a mistake there names its line and key.
  const auto other = collector.dir() / "other.yaml";
  const auto with_other = [&](const std::string& text) {
    write_text(other, text);
    return collector.cli({"status"}, {"VANTAGE_CLIENT_CONFIG=" + other.string()});
  };
  auto broken = with_other("token_file: " + (xdg / "operator.token").string() +
                           "\nurl: collector.example.net:8470\n");
  CHECK(broken.exit_code == 2);
  CHECK(broken.err == other.string() +
                          ":2: url: \"collector.example.net:8470\" must start with http:// or "
                          "https://\n");
  broken = with_other("url: " + collector.url() + "\ntoken: x\n");
  CHECK(broken.exit_code == 2);
  CHECK_THAT(broken.err, Catch::Contains(":2: token: unknown key (expected one of: url, ca_file, "
                                         "token_file)"));
  broken = with_other("url: " + collector.url() + "\ntoken_file: missing.token\n");
  CHECK(broken.exit_code == 2);
  CHECK_THAT(broken.err, Catch::Contains(":2: token_file: cannot read \"" +
                                         (collector.dir() / "missing.token").string() + "\""));
  const auto absent = collector.cli(
      {"status"}, {"VANTAGE_CLIENT_CONFIG=" + (collector.dir() / "none.yaml").string()});
  CHECK(absent.exit_code == 2);
  CHECK_THAT(absent.err, Catch::Contains("none.yaml"));
  // The daemon's own commands never read it.
  CHECK(collector
            .cli({"check-config", "--config", collector.config_file().string()},
                 {"VANTAGE_CLIENT_CONFIG=" + other.string()})
            .exit_code == 0);
}
