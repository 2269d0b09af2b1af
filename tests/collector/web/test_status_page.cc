// The public status page: what anyone may read without a token, in Statuspage's words, and
// nothing an operator alone should see.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "collector_fleet.hh"
#include "html.hh"
#include "public_status.hh"
#include "status_render.hh"

namespace vantage::testing {
namespace {

using Catch::Contains;
using nlohmann::json;

constexpr const char* kStatusYaml =
    "status_page:\n"
    "  title: \"Example <b>status</b>\"\n"
    "  url: https://status.example.org\n"
    "  domains: [social.example, quiet.example]\n";

// What only operators may see: vantage names, their networks, the addresses and failures of the
// evidence.
void check_nothing_internal(const std::string& text) {
  for (const char* secret : {"vp1", "vp2", "vp3", "AS6451", "64510", "203.0.113", "ConnRefused",
                             "SERVER_DOWN", "127.0.0.1"}) {
    INFO(secret);
    CHECK_THAT(text, !Contains(secret));
  }
}

}  // namespace

TEST_CASE("status page: verdict and scope map to Statuspage's component states", "[unit]") {
  CHECK(component_status(Verdict::Ok, Scope::None) == ComponentStatus::Operational);
  CHECK(component_status(Verdict::Degraded, Scope::Global) == ComponentStatus::DegradedPerformance);
  CHECK(component_status(Verdict::RouteLoss, Scope::Global) == ComponentStatus::MajorOutage);
  CHECK(component_status(Verdict::DnsFailure, Scope::Partial) == ComponentStatus::PartialOutage);
  CHECK(component_status(Verdict::HttpError, Scope::Global) == ComponentStatus::MajorOutage);
  // Nothing is claimed where no vantage could judge.
  CHECK(component_status(Verdict::Unknown, Scope::None) == ComponentStatus::Unknown);
  CHECK(component_status(Verdict::VantageIsolated, Scope::Global) == ComponentStatus::Unknown);
  CHECK(to_string(ComponentStatus::DegradedPerformance) == "degraded_performance");
  CHECK(to_string(ComponentStatus::MajorOutage) == "major_outage");

  CHECK(day_status({.up = 0, .down = 0, .inconclusive = 5}) == ComponentStatus::Unknown);
  CHECK(day_status({.up = 2880, .down = 0, .inconclusive = 0}) == ComponentStatus::Operational);
  CHECK(day_status({.up = 2879, .down = 1, .inconclusive = 0}) ==
        ComponentStatus::DegradedPerformance);
  CHECK(day_status({.up = 95, .down = 5, .inconclusive = 0}) == ComponentStatus::PartialOutage);
  CHECK(day_status({.up = 50, .down = 50, .inconclusive = 0}) == ComponentStatus::MajorOutage);

  // A window's badge forgives what a day's mark does not: one failed cycle in 2,880 is green.
  CHECK(uptime_status(2879.0 / 2880) == ComponentStatus::Operational);
  CHECK(uptime_status(0.999) == ComponentStatus::Operational);
  CHECK(uptime_status(0.998) == ComponentStatus::DegradedPerformance);
  CHECK(uptime_status(0.95) == ComponentStatus::PartialOutage);
  CHECK(uptime_status(0.5) == ComponentStatus::MajorOutage);
}

TEST_CASE("pages: percentages round down, so one failed cycle never reads 100%", "[unit]") {
  CHECK(format_percent(1.0) == "100%");
  CHECK(format_percent(0.99999) == "99.99%");
  CHECK(format_percent(0.9995) == "99.95%");
  CHECK(format_percent(0.5) == "50%");
  CHECK(format_percent(57.0 / 100) == "57%");  // not 56.99: 0.57 is 0.56999... in binary
  CHECK(format_percent(2879.0 / 2880) == "99.96%");
  CHECK(format_percent(0.0) == "0%");
}

TEST_CASE("status page: the indicator claims all systems operational only when each is", "[unit]") {
  PublicStatus status;
  status.components.resize(2);
  status.components[0].status = ComponentStatus::Operational;
  status.components[1].status = ComponentStatus::Operational;
  CHECK(page_indicator(status).description == "All Systems Operational");
  status.components[1].status = ComponentStatus::Unknown;
  CHECK(page_indicator(status).indicator == "none");
  CHECK(page_indicator(status).description == "Status Not Known for Every System");
  status.components[0].status = ComponentStatus::PartialOutage;
  CHECK(page_indicator(status).indicator == "major");
  status.components[1].status = ComponentStatus::MajorOutage;
  CHECK(page_indicator(status).indicator == "critical");
  CHECK(page_indicator(status).description == "Major Service Outage");
}

TEST_CASE("status page: every name is escaped in the page and in badges", "[unit]") {
  CHECK(html_escape(R"(<a href="x">'&'</a>)") ==
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  PublicStatus status;
  status.title = "<script>alert(1)</script>";
  StatusComponent component;
  component.domain = "x\"><img src=x onerror=alert(1)>";
  status.components.push_back(component);
  const std::string page = render_status_page(status);
  CHECK_THAT(page, !Contains("<script"));
  CHECK_THAT(page, !Contains("<img"));
  CHECK_THAT(page, Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(status_badge(component), !Contains("<img"));
  CHECK_THAT(uptime_badge(component, UptimeWindow::Day), Contains("uptime 24h: no data"));
}

TEST_CASE("the public status page needs no token, shows the chosen domains and nothing internal",
          "[server]") {
  CollectorFixture collector(kStatusYaml);
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  fleet.warm_up();  // two rounds of three OK cycles; no one has read uptime yet

  const auto page = collector.get("/status");
  REQUIRE(page.status == 200);
  CHECK(page.header("content-type") == "text/html; charset=utf-8");
  CHECK_THAT(page.header("content-security-policy"), Contains("default-src 'none'"));
  CHECK_THAT(page.body, Contains("<title>Example &lt;b&gt;status&lt;/b&gt;</title>"));
  CHECK_THAT(page.body, Contains(R"(<tr data-domain="social.example">)"));
  CHECK_THAT(page.body, Contains(R"(<td class="status operational">)"));
  CHECK_THAT(page.body, Contains(R"(<tr data-domain="quiet.example">)"));
  CHECK_THAT(page.body, Contains(R"(<td class="status unknown">)"));
  CHECK_THAT(page.body, Contains("No data"));
  // Today's bar holds the six cycles, each up.
  CHECK_THAT(page.body, Contains(": 100% up (0 of 6 cycles down)</title>"));
  CHECK_THAT(page.body, Contains("No current incidents."));
  CHECK_THAT(page.body, Contains("Status Not Known for Every System"));
  check_nothing_internal(page.body);

  const auto summary = collector.get("/status/summary.json");
  REQUIRE(summary.status == 200);
  CHECK(summary.header("access-control-allow-origin") == "*");
  json document = summary.json();
  CHECK(document["page"]["name"] == "Example <b>status</b>");
  CHECK(document["page"]["url"] == "https://status.example.org");
  REQUIRE(document["components"].size() == 2);
  CHECK(document["components"][0]["name"] == "social.example");
  CHECK(document["components"][0]["status"] == "operational");
  CHECK(document["components"][0]["uptime"]["24h"] == 1.0);
  CHECK(document["components"][1]["status"] == "unknown");
  CHECK(document["components"][1]["uptime"]["24h"].is_null());
  CHECK(document["incidents"].empty());
  CHECK(document["status"]["indicator"] == "none");

  fleet.rounds(Verdict::ServerDown);
  REQUIRE(fleet.verdict() == "SERVER_DOWN");
  document = collector.get("/status/summary.json").json();
  CHECK(document["components"][0]["status"] == "major_outage");
  CHECK(document["status"]["indicator"] == "critical");
  CHECK(document["status"]["description"] == "Major Service Outage");
  REQUIRE(document["incidents"].size() == 1);
  CHECK(document["incidents"][0]["name"] == "social.example: Major outage");
  CHECK(document["incidents"][0]["impact"] == "critical");
  CHECK(document["incidents"][0]["status"] == "investigating");
  CHECK(document["incidents"][0]["started_at"] == fleet.domain()["since"]);
  CHECK(document["incidents"][0]["components"][0]["name"] == "social.example");
  check_nothing_internal(document.dump());

  const auto outage = collector.get("/status");
  CHECK_THAT(outage.body, Contains(R"(data-indicator="critical")"));
  CHECK_THAT(outage.body, Contains(R"(<li class="incident major_outage"><strong>social.example)"
                                   R"(</strong>: Major outage since )"));
  check_nothing_internal(outage.body);

  const auto badge = collector.get("/status/badges/Social.Example/status.svg");
  REQUIRE(badge.status == 200);
  CHECK(badge.header("content-type") == "image/svg+xml");
  CHECK_THAT(badge.body, Contains(R"(aria-label="social.example: Major outage")"));
  const auto uptime = collector.get("/status/badges/social.example/uptime-30d.svg");
  REQUIRE(uptime.status == 200);
  CHECK_THAT(uptime.body, Contains("<title>uptime 30d: "));

  // Only the chosen domains, and only the badges there are; reading is all anyone may do.
  CHECK(collector.get("/status/badges/other.example/status.svg").status == 404);
  CHECK(collector.get("/status/badges/social.example/uptime-1y.svg").status == 404);
  CHECK(collector.post("/status", "", "").status == 405);
}

TEST_CASE("without status_page in collector.yaml there is no public page", "[server]") {
  CollectorFixture collector;
  collector.start();
  for (const char* path :
       {"/status", "/status/summary.json", "/status/badges/social.example/status.svg"}) {
    INFO(path);
    const auto reply = collector.get(path);
    CHECK(reply.status == 404);
    CHECK_THAT(reply.body, Contains("no status page is configured"));
  }
}

}  // namespace vantage::testing
