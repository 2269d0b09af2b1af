// The operator UI as a browser uses it: a login form, a session cookie, CSRF-checked forms, and
// pages that show every domain from every vantage with nothing from an agent run as markup.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "collector_fleet.hh"

namespace vantage::testing {
namespace {

using Catch::Contains;
using nlohmann::json;

// A cookie jar over CollectorFixture's requests, as a browser keeps one (no redirects followed).
struct Browser {
  CollectorFixture& collector;
  std::map<std::string, std::string> cookies;

  void keep(const Reply& reply) {
    std::string lines = reply.header("set-cookie");
    size_t start = 0;
    while (start < lines.size()) {
      size_t end = lines.find('\n', start);
      end = end == std::string::npos ? lines.size() : end;
      const std::string line = lines.substr(start, end - start);
      const auto equals = line.find('=');
      const auto semicolon = line.find(';');
      const std::string name = line.substr(0, equals);
      const std::string value = line.substr(equals + 1, semicolon - equals - 1);
      if (line.find("Max-Age=0") != std::string::npos) {
        cookies.erase(name);
      } else {
        cookies[name] = value;
      }
      start = end + 1;
    }
  }
  std::vector<std::string> headers() const {
    std::string header = "Cookie: ";
    for (const auto& [name, value] : cookies) {
      header += name + "=" + value + "; ";
    }
    return {header};
  }
  Reply get(const std::string& path) {
    Request request;
    request.url = collector.url() + path;
    request.headers = headers();
    Reply reply = send(request);
    keep(reply);
    return reply;
  }
  Reply post_form(const std::string& path, const std::string& body) {
    auto all = headers();
    all.emplace_back("Content-Type: application/x-www-form-urlencoded");
    Reply reply = collector.post(path, "", body, all);
    keep(reply);
    return reply;
  }
};

// The value of the form's hidden csrf field.
std::string csrf_of(const std::string& page) {
  std::smatch match;
  const std::regex field(R"re(name="csrf" value="([0-9a-f]{64})")re");
  return std::regex_search(page, match, field) ? match[1].str() : "";
}

// Logs in with `token` through the form; the reply to the POST.
Reply log_in(Browser& browser, const std::string& token) {
  const Reply form = browser.get("/ui/login");
  REQUIRE(form.status == 200);
  return browser.post_form("/ui/login", "csrf=" + csrf_of(form.body) + "&token=" + token);
}

}  // namespace

TEST_CASE("the operator UI needs a login with an operator token, then a session cookie",
          "[server]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  Browser browser{collector, {}};

  const Reply anonymous = browser.get("/ui/");
  CHECK(anonymous.status == 303);
  CHECK(anonymous.header("location") == "/ui/login");
  CHECK(browser.get("/ui/agents").status == 303);

  const Reply form = browser.get("/ui/login");
  REQUIRE(form.status == 200);
  CHECK_THAT(form.body, Contains(R"(<form method="post" action="/ui/login">)"));
  CHECK_THAT(form.body, Contains(R"(type="password")"));
  CHECK_THAT(form.header("set-cookie"), Contains("HttpOnly; SameSite=Strict"));
  CHECK_THAT(form.header("content-security-policy"), Contains("frame-ancestors 'none'"));

  SECTION("an agent token or a wrong one is refused, and no session is opened") {
    const Reply agent = log_in(browser, fleet.tokens["vp1"]);
    CHECK(agent.status == 401);
    CHECK_THAT(agent.body, Contains("That is not an operator token."));
    CHECK(log_in(browser, "vat_0000").status == 401);
    CHECK(browser.cookies.count("vantage_session") == 0);
    CHECK(browser.get("/ui/").status == 303);
  }

  SECTION("a login posted without the form's own CSRF value is refused") {
    browser.cookies.clear();
    const Reply forged =
        browser.post_form("/ui/login", "csrf=" + std::string(64, 'a') + "&token=" + fleet.op);
    CHECK(forged.status == 403);
    CHECK(browser.cookies.count("vantage_session") == 0);
  }

  SECTION("an operator logs in, reads every page, and logs out with the session's CSRF token") {
    const Reply login = log_in(browser, fleet.op);
    REQUIRE(login.status == 303);
    CHECK(login.header("location") == "/ui/");
    // The token never travels in a URL, and the session cookie is out of scripts' reach.
    CHECK_THAT(login.header("location"), !Contains(fleet.op));
    CHECK_THAT(login.header("set-cookie"),
               Contains("Path=/ui; Max-Age=43200; HttpOnly; SameSite=Strict"));
    REQUIRE(browser.cookies.count("vantage_session") == 1);

    const Reply overview = browser.get("/ui/");
    REQUIRE(overview.status == 200);
    CHECK_THAT(overview.body, Contains("<h1>Overview</h1>"));
    CHECK_THAT(overview.body, Contains("<span>ops</span>"));
    CHECK(browser.get("/ui/agents").status == 200);
    CHECK(browser.get("/ui/alerts").status == 200);

    const std::string csrf = csrf_of(overview.body);
    REQUIRE_FALSE(csrf.empty());
    CHECK(browser.post_form("/ui/logout", "csrf=" + std::string(64, '0')).status == 403);
    CHECK(browser.get("/ui/").status == 200);  // the forged logout changed nothing
    const std::string stolen = browser.cookies["vantage_session"];
    const Reply logout = browser.post_form("/ui/logout", "csrf=" + csrf);
    CHECK(logout.status == 303);
    CHECK(logout.header("location") == "/ui/login");
    CHECK(browser.get("/ui/").status == 303);
    // The session is closed on the collector, not only forgotten by this browser.
    browser.cookies["vantage_session"] = stolen;
    CHECK(browser.get("/ui/").status == 303);
  }
}

TEST_CASE("the operator UI shows every domain from every vantage, and escapes what agents sent",
          "[server]") {
  CollectorFixture collector;
  Fleet fleet(collector);
  collector.start();
  fleet.heartbeats();
  // An agent's version and evidence are its own words: markup in them must stay text.
  const json beat = {{"agent", "vp3"},
                     {"version", "<script>document.title='pwned'</script>"},
                     {"uptime_s", 5},
                     {"spool_depth", 0},
                     {"asn", 64511}};
  REQUIRE(collector.post("/api/v1/heartbeat", fleet.tokens["vp3"], beat.dump()).status == 200);
  fleet.warm_up();
  // An operator's comment is text too.
  REQUIRE(collector
              .post("/api/v1/silences", fleet.op,
                    R"({"domain":"social.example","duration":"1h","comment":"<b>INC-42</b>"})")
              .status == 201);
  fleet.rounds(Verdict::RouteLoss);
  REQUIRE(fleet.verdict() == "ROUTE_LOSS");
  json cycle =
      cycle_document(Fleet::kDomain, Verdict::RouteLoss, fleet.round_at + std::chrono::seconds(5));
  cycle["reading"]["evidence"].push_back("<img src=x onerror=alert(1)> from vp1");
  // A warning beside the verdict, in the agent's words (markup stays text there too).
  cycle["reading"]["expiring"] = {{{"kind", "certificate"},
                                   {"subject", "CN=social.example"},
                                   {"expires_at", "2026-12-02T10:00:00Z"},
                                   {"at", {"203.0.113.80:443"}},
                                   {"of", 1},
                                   {"text", "certificate <b>CN=social.example</b> expires soon"}}};
  const json batch = {{"schema_version", 1},
                      {"agent", "vp1"},
                      {"results", {{{"seq", ++fleet.seqs["vp1"]}, {"cycle", cycle}}}}};
  REQUIRE(collector.post("/api/v1/results", fleet.tokens["vp1"], batch.dump()).status == 200);

  Browser browser{collector, {}};
  REQUIRE(log_in(browser, fleet.op).status == 303);

  const Reply overview = browser.get("/ui/");
  REQUIRE(overview.status == 200);
  for (const char* vantage : {"vp1", "vp2", "vp3"}) {
    CHECK_THAT(overview.body, Contains(fmt::format(R"(<th scope="col">{}</th>)", vantage)));
  }
  CHECK_THAT(overview.body,
             Contains(R"(<tr data-domain="social.example" data-verdict="ROUTE_LOSS">)"));
  CHECK_THAT(overview.body,
             Contains(R"(<span class="verdict v-failure">ROUTE_LOSS (global)</span>)"));
  CHECK_THAT(overview.body, Contains("64510, 64511"));
  // The silence is beside the verdict, which stays: what holds the alerts, who and why.
  CHECK_THAT(overview.body, Contains(R"(</span> <span class="held" title="until )"));
  CHECK_THAT(overview.body, Contains(R"( by ops: &lt;b&gt;INC-42&lt;/b&gt;">silenced</span>)"));
  CHECK_THAT(overview.body,
             Contains(R"( <span class="expiring" title="certificate &lt;b&gt;CN=social.example)"
                      R"(&lt;/b&gt; expires soon">certificate expiring</span>)"));
  CHECK(browser.get("/ui/?verdict=OK").body.find("data-domain=") == std::string::npos);
  CHECK_THAT(browser.get("/ui/?verdict=ROUTE_LOSS").body,
             Contains("data-domain=\"social.example\""));
  CHECK(browser.get("/ui/?verdict=%3Cb%3E").status == 400);

  const Reply domain = browser.get("/ui/domains/social.example");
  REQUIRE(domain.status == 200);
  CHECK_THAT(domain.body, Contains("the domain&#39;s networks are unreachable"));
  // The first evidence line is the probe that decided the verdict.
  CHECK_THAT(domain.body,
             Contains(R"(<ol class="evidence" id="evidence"><li>DnsAuthoritative 203.0.113.53:53 )"
                      R"(NetUnreachable from 3 vantages in AS64510, AS64511</li>)"));
  CHECK_THAT(domain.body, Contains(R"(<h2>Expiring soon</h2>)"));
  CHECK_THAT(domain.body,
             Contains(R"(<ul id="expiring"><li>certificate &lt;b&gt;CN=social.example&lt;/b&gt; )"
                      R"(expires soon <small>(seen from vp1)</small></li></ul>)"));
  CHECK_THAT(domain.body, Contains(R"(<tr data-agent="vp1"><th scope="row">vp1</th>)"));
  CHECK_THAT(domain.body, Contains("&lt;img src=x onerror=alert(1)&gt; from vp1"));
  CHECK_THAT(domain.body, !Contains("<img"));
  CHECK_THAT(
      domain.body,
      Contains(R"(<svg id="days" role="img" aria-label="Last 90 days: 1 with a failure verdict")"));
  CHECK(browser.get("/ui/domains/nothing.example").status == 404);

  const Reply agents = browser.get("/ui/agents");
  CHECK_THAT(agents.body, Contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
  CHECK_THAT(agents.body, !Contains("<script"));

  const Reply alerts = browser.get("/ui/alerts");
  CHECK_THAT(alerts.body, Contains("no alert receivers configured"));
  CHECK_THAT(alerts.body, Contains("<strong>silenced</strong> until "));
  CHECK_THAT(alerts.body, Contains(" by ops: &lt;b&gt;INC-42&lt;/b&gt;"));
}

}  // namespace vantage::testing
