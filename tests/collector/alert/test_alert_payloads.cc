#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "alert_payloads.hh"
#include "alert_test_events.hh"

namespace vantage::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const TimePoint kResolvedAt = at("2026-11-25T07:30:00.250Z");

TEST_CASE("the summary names domain, verdict, scope, start, vantages and networks", "[unit]") {
  CHECK(alert_summary(route_loss()) ==
        "social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, "
        "AS64511");
  CHECK(alert_summary(resolved(route_loss(), kResolvedAt)) ==
        "social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, "
        "AS64511; resolved 2026-11-25T07:30:00Z (now OK)");

  AlertEvent partial = route_loss();
  partial.verdict = Verdict::ServerDown;
  partial.scope = Scope::Partial;
  partial.affected_vantages = {"vp-fra-1"};
  partial.affected_asns = {0};
  partial.affected_networks.clear();  // an event from before networks were kept
  CHECK(alert_summary(partial) ==
        "social.example SERVER_DOWN (partial) since 2026-11-25T07:00:00Z: 1 vantage in unknown "
        "ASN");
  // A vantage without an ASN is named by the network it connects from.
  partial.affected_networks = {"192.0.2.0/24"};
  CHECK(alert_summary(partial) ==
        "social.example SERVER_DOWN (partial) since 2026-11-25T07:00:00Z: 1 vantage in "
        "192.0.2.0/24");

  AlertEvent bare = route_loss();
  bare.scope = Scope::None;
  bare.affected_vantages.clear();
  bare.affected_asns.clear();
  bare.affected_networks.clear();
  CHECK(alert_summary(bare) == "social.example ROUTE_LOSS since 2026-11-25T07:00:00Z");
}

TEST_CASE("the webhook body of a firing alert has no resolved_at or resolved_by", "[unit]") {
  CHECK(webhook_payload(route_loss()) == json::parse(R"({
    "version": 1,
    "status": "firing",
    "domain": "social.example",
    "verdict": "ROUTE_LOSS",
    "scope": "global",
    "since": "2026-11-25T07:00:00.000Z",
    "affected_vantages": ["vp-fra-1", "vp-fra-2", "vp-nyc-1"],
    "affected_asns": [64510, 64511],
    "affected_networks": ["AS64510", "AS64511"],
    "evidence": [
      "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64510, AS64511",
      "Tcp 198.51.100.10:443 NetUnreachable from 3 vantages in AS64510, AS64511"],
    "summary": "social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, AS64511"
  })"));
}

TEST_CASE("the webhook body of a resolved alert says when and into what", "[unit]") {
  const json body = webhook_payload(resolved(route_loss(), kResolvedAt, Verdict::DnsFailure));
  CHECK(body["status"] == "resolved");
  CHECK(body["resolved_at"] == "2026-11-25T07:30:00.250Z");
  CHECK(body["resolved_by"] == "DNS_FAILURE");
  CHECK(body["verdict"] == "ROUTE_LOSS");
  CHECK(body["since"] == "2026-11-25T07:00:00.000Z");
  CHECK(body["summary"] ==
        "social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, "
        "AS64511; resolved 2026-11-25T07:30:00Z (now DNS_FAILURE)");
  CHECK(body.size() == 13);
}

TEST_CASE("the Slack message is red while firing and green once resolved", "[unit]") {
  CHECK(slack_payload(route_loss()) == json::parse(R"({
    "text": "[FIRING] social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, AS64511\nDnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64510, AS64511",
    "attachments": [{
      "color": "danger",
      "fallback": "social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, AS64511",
      "title": "social.example ROUTE_LOSS",
      "text": "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64510, AS64511\nTcp 198.51.100.10:443 NetUnreachable from 3 vantages in AS64510, AS64511",
      "fields": [
        {"title": "Scope", "value": "global", "short": true},
        {"title": "Since", "value": "2026-11-25T07:00:00Z", "short": true},
        {"title": "Vantages", "value": "vp-fra-1, vp-fra-2, vp-nyc-1", "short": false},
        {"title": "Networks", "value": "AS64510, AS64511", "short": true}
      ]
    }]
  })"));

  const json done = slack_payload(resolved(route_loss(), kResolvedAt));
  CHECK_THAT(done["text"].get<std::string>(), Catch::StartsWith("[RESOLVED] social.example"));
  CHECK(done["attachments"][0]["color"] == "good");
  CHECK(done["attachments"][0]["fields"].back() ==
        json({{"title", "Resolved"}, {"value", "2026-11-25T07:30:00Z (now OK)"}, {"short", true}}));
}

TEST_CASE("the Alertmanager alert carries the labels that identify it, endsAt once resolved",
          "[unit]") {
  CHECK(alertmanager_payload(route_loss()) == json::parse(R"([{
    "labels": {"alertname": "VantageVerdict", "domain": "social.example",
               "verdict": "ROUTE_LOSS", "scope": "global"},
    "annotations": {
      "summary": "social.example ROUTE_LOSS (global) since 2026-11-25T07:00:00Z: 3 vantages in AS64510, AS64511",
      "evidence": "DnsAuthoritative 203.0.113.53:53 NetUnreachable from 3 vantages in AS64510, AS64511\nTcp 198.51.100.10:443 NetUnreachable from 3 vantages in AS64510, AS64511",
      "vantages": "vp-fra-1, vp-fra-2, vp-nyc-1",
      "asns": "AS64510, AS64511",
      "networks": "AS64510, AS64511"
    },
    "startsAt": "2026-11-25T07:00:00.000Z"
  }])"));

  const json done = alertmanager_payload(resolved(route_loss(), kResolvedAt));
  CHECK(done[0]["endsAt"] == "2026-11-25T07:30:00.250Z");
  CHECK(done[0]["labels"] == alertmanager_payload(route_loss())[0]["labels"]);

  // Alertmanager refuses an end before the start; a clock step must not lose the resolution.
  const json stepped = alertmanager_payload(resolved(route_loss(), at("2026-11-25T06:59:00Z")));
  CHECK(stepped[0]["endsAt"] == stepped[0]["startsAt"]);
}

TEST_CASE("the Alertmanager URL gets /api/v2/alerts however the base ends", "[unit]") {
  CHECK(alertmanager_alerts_url("http://127.0.0.1:9093") == "http://127.0.0.1:9093/api/v2/alerts");
  CHECK(alertmanager_alerts_url("http://127.0.0.1:9093/") == "http://127.0.0.1:9093/api/v2/alerts");
  CHECK(alertmanager_alerts_url("http://am.example/prefix/") ==
        "http://am.example/prefix/api/v2/alerts");
}

TEST_CASE("failing verdicts and DEGRADED raise alerts; OK, UNKNOWN and VANTAGE_ISOLATED never",
          "[unit]") {
  const auto [verdict, raises] = GENERATE(table<Verdict, bool>({
      {Verdict::RouteLoss, true},
      {Verdict::DnsFailure, true},
      {Verdict::DomainVanished, true},
      {Verdict::ServerDown, true},
      {Verdict::TlsFailure, true},
      {Verdict::HttpError, true},
      {Verdict::Degraded, true},
      {Verdict::Ok, false},
      {Verdict::Unknown, false},
      {Verdict::VantageIsolated, false},
  }));
  INFO(to_string(verdict));
  CHECK(raises_alert(verdict) == raises);
}

TEST_CASE("the retry backoff doubles from retry_initial up to retry_max", "[unit]") {
  AlertTimingConfig timing;
  timing.retry_initial = milliseconds(1000);
  timing.retry_max = milliseconds(300'000);
  CHECK(retry_ceiling(timing, 1) == milliseconds(1000));
  CHECK(retry_ceiling(timing, 2) == milliseconds(2000));
  CHECK(retry_ceiling(timing, 3) == milliseconds(4000));
  CHECK(retry_ceiling(timing, 9) == milliseconds(256'000));
  CHECK(retry_ceiling(timing, 10) == milliseconds(300'000));
  CHECK(retry_ceiling(timing, 1000) == milliseconds(300'000));  // no overflow

  // Full jitter: anywhere from no wait to the ceiling, and not always the same.
  std::mt19937_64 random(42);
  std::set<milliseconds::rep> seen;
  for (int draw = 0; draw < 200; ++draw) {
    const milliseconds delay = retry_delay(timing, 3, random);
    REQUIRE(delay >= milliseconds(0));
    REQUIRE(delay <= milliseconds(4000));
    seen.insert(delay.count());
  }
  CHECK(seen.size() > 100);
}

TEST_CASE("a receiver's name keeps scheme, host and path but no credentials", "[unit]") {
  using Kind = AlertReceiverConfig::Kind;
  CHECK(receiver_name({Kind::Webhook, "http://127.0.0.1:8080/hook"}) ==
        "webhook http://127.0.0.1:8080/hook");
  CHECK(receiver_name({Kind::Webhook, "https://user:secret@hooks.example/in?token=abc"}) ==
        "webhook https://hooks.example/in");
  CHECK(receiver_name({Kind::Slack, "https://hooks.slack.com/services/T0/B0/XXXX"}) ==
        "slack https://hooks.slack.com/");
  CHECK(receiver_name({Kind::Alertmanager, "http://127.0.0.1:9093"}) ==
        "alertmanager http://127.0.0.1:9093/");
}

TEST_CASE("with an external URL every format links to the domain's page", "[unit]") {
  const std::string page = domain_page_url("https://vantage.example.org:8470", "social.example");
  CHECK(page == "https://vantage.example.org:8470/ui/domains/social.example");
  CHECK(domain_page_url("", "social.example").empty());
  CHECK(webhook_payload(route_loss(), page)["url"] == page);
  CHECK_FALSE(webhook_payload(route_loss()).contains("url"));
  const json slack = slack_payload(route_loss(), page);
  CHECK_THAT(slack["text"].get<std::string>(),
             Catch::EndsWith("AS64511\n<https://vantage.example.org:8470/ui/domains/"
                             "social.example|social.example in Vantage>"));
  CHECK(slack["attachments"][0]["title_link"] == page);
  CHECK(alertmanager_payload(route_loss(), page)[0]["generatorURL"] == page);
  CHECK_FALSE(alertmanager_payload(route_loss())[0].contains("generatorURL"));
}

TEST_CASE("routes: the first match decides unless it continues; none sends everything everywhere",
          "[unit]") {
  AlertRoute shop;
  shop.domains = {"*.shop.example"};
  shop.receivers = {1};
  AlertRoute pager;
  pager.verdicts = {Verdict::RouteLoss};
  pager.scope = Scope::Global;
  pager.receivers = {0};
  pager.continue_matching = true;
  pager.repeat_after = std::chrono::minutes(30);
  AlertRoute rest;
  rest.receivers = {2};
  const std::vector<AlertRoute> routes = {shop, pager, rest};
  const auto routed = [&](const AlertEvent& event) {
    std::vector<size_t> to;
    const auto choices = route_alert(routes, 3, event, std::chrono::hours(4));
    for (size_t i = 0; i < choices.size(); ++i) {
      if (choices[i].routed) {
        to.push_back(i);
      }
    }
    return to;
  };
  CHECK(routed(route_loss("eu.shop.example")) == std::vector<size_t>{1});
  CHECK(routed(route_loss("social.example")) == std::vector<size_t>{0, 2});
  AlertEvent partial = route_loss("social.example");
  partial.scope = Scope::Partial;
  CHECK(routed(partial) == std::vector<size_t>{2});
  const auto choices = route_alert(routes, 3, route_loss("social.example"), std::chrono::hours(4));
  CHECK(choices[0].repeat_after == std::chrono::minutes(30));  // the route's own
  CHECK(choices[2].repeat_after == std::chrono::hours(4));     // alerting.repeat_after
  const auto everywhere = route_alert({}, 3, route_loss("eu.shop.example"), std::nullopt);
  CHECK(std::all_of(everywhere.begin(), everywhere.end(), [](const RouteChoice& choice) {
    return choice.routed && !choice.repeat_after;
  }));
}

TEST_CASE("the Slack text escapes what agents sent, so it cannot mention or link", "[unit]") {
  AlertEvent event = route_loss();
  event.evidence = {"Https 203.0.113.80:443 <!channel> & <https://evil.example|click>"};
  const std::string text = slack_payload(event)["text"];
  CHECK_THAT(
      text,
      Catch::EndsWith(
          "\nHttps 203.0.113.80:443 &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"));
}

}  // namespace
}  // namespace vantage::testing
