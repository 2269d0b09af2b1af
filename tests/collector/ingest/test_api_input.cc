#include <catch2/catch.hpp>

#include <string>

#include "api_input.hh"
#include "api_rate_limit.hh"
#include "batch_log.hh"
#include "collector_fixture.hh"
#include "result_json.hh"
#include "tokens.hh"
#include "upload_body.hh"

using namespace vantage;
using nlohmann::json;
using vantage::testing::cycle_document;
using vantage::testing::result_batch;

namespace {

const TimePoint kNow = std::chrono::system_clock::now();

// The status and message an input is refused with, or {0, ""} if it is accepted.
template <typename Parse>
std::pair<int, std::string> refusal(Parse parse) {
  try {
    parse();
  } catch (const ApiError& error) {
    return {error.status(), error.what()};
  }
  return {0, ""};
}

}  // namespace

TEST_CASE("a valid batch becomes one StoredResult per cycle, as sent", "[unit]") {
  const json body = result_batch("vp-1", {7, 3, 9});
  const auto batch = parse_result_batch(body.dump(), "vp-1", kNow);
  REQUIRE(batch.results.size() == 3);
  CHECK(batch.max_seq == 9);
  CHECK(batch.results[1].agent == "vp-1");
  CHECK(batch.results[1].seq == 3);
  CHECK(batch.results[1].domain == "social.example");
  CHECK(batch.results[1].verdict == "OK");
  CHECK(batch.results[1].document == body["results"][1]["cycle"].dump());
}

TEST_CASE("each bad batch is refused with its status and the field it names", "[unit]") {
  const auto with = [](const std::function<void(json&)>& change) {
    json body = result_batch("vp-1", {1, 2, 3, 4});
    change(body);
    return refusal([&] { parse_result_batch(body.dump(), "vp-1", kNow); });
  };
  using Expected = std::pair<int, std::string>;
  CHECK(with([](json& b) { b["schema_version"] = 2; }) ==
        Expected{422, "unsupported schema_version 2 (this collector reads 1)"});
  CHECK(with([](json& b) { b.erase("schema_version"); }) ==
        Expected{422, "missing field \"schema_version\""});
  CHECK(with([](json& b) { b["agent"] = "vp-2"; }) ==
        Expected{403, "the token belongs to agent \"vp-1\", not to \"vp-2\""});
  CHECK(with([](json& b) { b["results"] = json::array(); }) ==
        Expected{422, "results: must be a list of 1 to 1000 results"});
  CHECK(with([](json& b) { b["results"][3]["cycle"].erase("domain"); }) ==
        Expected{422, "results[3].cycle: missing field \"domain\""});
  CHECK(with([](json& b) { b["results"][0]["seq"] = 0; }) ==
        Expected{422, "results[0].seq: must be a whole number from 1 to 9223372036854775807"});
  CHECK(with([](json& b) { b["results"][1]["seq"] = "2"; }).first == 422);
  CHECK(with([](json& b) { b["results"][1]["seq"] = 2.5; }).first == 422);
  CHECK(with([](json& b) { b["results"][1]["seq"] = -1; }).first == 422);
  CHECK(with([](json& b) { b["results"][1]["seq"] = 18446744073709551615ULL; }).first == 422);
  CHECK(with([](json& b) { b["results"][2].erase("cycle"); }) ==
        Expected{422, "results[2]: missing field \"cycle\""});
  CHECK(with([](json& b) { b["results"][0]["cycle"]["domain"] = "bad domain!"; }) ==
        Expected{422,
                 "results[0].cycle.domain: \"bad domain!\" is not a domain name or an IP address"});
  CHECK(with([](json& b) {
          b["results"][0]["cycle"]["started_at"] = "2019-01-01T00:00:00.000Z";
        }).first == 422);
  CHECK(with([](json& b) { b["results"][0]["cycle"]["reading"]["verdict"] = "FINE"; }) ==
        Expected{422, "results[0].cycle: field \"verdict\" has unknown value \"FINE\""});
  CHECK(refusal([] { parse_result_batch(json::array().dump(), "vp-1", kNow); }) ==
        Expected{422, "the body must be a JSON object"});
  json too_many = result_batch("vp-1", {1});
  for (uint64_t seq = 2; seq <= kMaxResultsPerBatch + 1; ++seq) {
    too_many["results"].push_back(too_many["results"][0]);
  }
  CHECK(refusal([&] { parse_result_batch(too_many.dump(), "vp-1", kNow); }).first == 422);
}

TEST_CASE("malformed or absurdly nested JSON is a 400", "[unit]") {
  CHECK(refusal([] { parse_json_body("{\"schema_version\":1,"); }) ==
        std::pair<int, std::string>{400, "malformed JSON at byte 21"});
  CHECK(refusal([] { parse_json_body(""); }).first == 400);
  CHECK(refusal([] { parse_json_body(std::string(100000, '[')); }) ==
        std::pair<int, std::string>{400, "malformed JSON: nested deeper than 32 levels"});
  // Brackets inside strings are not nesting.
  CHECK(parse_json_body(R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[["})")["a"]
            .get<std::string>()
            .size() == 44);
}

TEST_CASE("numbers beyond a double are a 400, not an internal error", "[unit]") {
  CHECK(refusal([] { parse_json_body(R"({"schema_version":1e400})"); }) ==
        std::pair<int, std::string>{
            400, "malformed JSON: a number is out of range (beyond a 64-bit float)"});
  CHECK(refusal([] { parse_json_body("[-1e999]"); }).first == 400);
  CHECK(parse_json_body("[1e300]")[0].get<double>() == 1e300);
}

TEST_CASE("a cycle is stored as the bytes the agent sent, and their re-upload is a duplicate",
          "[unit]") {
  // Valid JSON as no dump() writes it: indented, a member first that sorts last, an escape.
  const std::string cycle =
      "{\"zz-note\" : \"caf\\u00e9\",\n" + cycle_document("social.example").dump(2).substr(1);
  const std::string body =
      "{ \"schema_version\": 1, \"agent\": \"vp-1\",\n \"results\": [ {\"seq\": 1,"
      " \"cycle\": " +
      cycle + " \n} ] }";
  const auto batch = parse_result_batch(body, "vp-1", kNow);
  REQUIRE(batch.results.size() == 1);
  CHECK(batch.results[0].document == cycle);

  vantage::testing::TempDir dir;
  auto store = open_sqlite_storage((dir / "t.db").string());
  store->migrate();
  CHECK(store->store_results(batch.results).inserted == 1);
  const auto stored = store->results("", "", kNow - std::chrono::hours(1), 10);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].document == cycle);
  // The agent's spool sends the same bytes again after a lost acknowledgement.
  const auto again = store->store_results(parse_result_batch(body, "vp-1", kNow).results);
  CHECK(again.fates == std::vector<StoreFate>{StoreFate::Duplicate});
}

TEST_CASE("what is not JSON is a 400 wherever it is, also in members no reader knows", "[unit]") {
  const std::string cycle = cycle_document("social.example").dump();
  // The cycle with `member` added as its first member.
  const auto upload = [&](const std::string& member) {
    return R"({"schema_version":1,"agent":"vp-1","results":[{"seq":1,"cycle":{)" + member + "," +
           cycle.substr(1) + "}]}";
  };
  for (const std::string& member :
       {std::string(R"("x":[1,])"), std::string(R"("x":tru)"), std::string(R"("x":1e400)"),
        std::string(R"("x":"\q")"), std::string("\"x\":\"a\nb\""), std::string("\"x\":\"\xff\""),
        std::string(R"("x":-)"), std::string(R"("x":{"a" 1})"),
        R"("x":)" + std::string(40, '[') + std::string(40, ']')}) {
    CAPTURE(member);
    CHECK(refusal([&] { parse_result_batch(upload(member), "vp-1", kNow); }).first == 400);
  }
  CHECK(refusal([&] {
          parse_result_batch(upload(R"("x":[{"y":null}])") + " {}", "vp-1", kNow);
        }).first == 400);
  CHECK(refusal([&] {
          parse_result_batch(upload(R"("x":)" + std::string(40, '[') + std::string(40, ']')),
                             "vp-1", kNow);
        }) == std::pair<int, std::string>{400, "malformed JSON: nested deeper than 32 levels"});
  // JSON of the wrong shape is a 422 naming the field, wherever the field is.
  CHECK(parse_result_batch(upload(R"("x":[{"y":null,"z":[1.5e300,-0,"\u00e9"]}])"), "vp-1", kNow)
            .results.size() == 1);
  CHECK(refusal([&] { parse_result_batch(upload(R"("domain":7)"), "vp-1", kNow); }) ==
        std::pair<int, std::string>{422, "results[0].cycle: field \"domain\" has the wrong type"});
  json body = result_batch("vp-1", {1});
  body["results"][0]["cycle"]["results"][0]["dns"] = {{"qname", 5}};
  CHECK(refusal([&] { parse_result_batch(body.dump(), "vp-1", kNow); }) ==
        std::pair<int, std::string>{422, "results[0].cycle: field \"qname\" has the wrong type"});
  body["results"][0]["cycle"]["results"][0]["dns"] = "dns";
  CHECK(refusal([&] { parse_result_batch(body.dump(), "vp-1", kNow); }) ==
        std::pair<int, std::string>{422, "results[0].cycle: field \"dns\" must be an object"});
}

TEST_CASE("the schema version and the agent are checked first wherever they are in the body",
          "[unit]") {
  const std::string results =
      R"("results":[{"seq":1,"cycle":{"schema_version":2}}])";  // a cycle missing every field
  CHECK(refusal([&] {
          parse_result_batch("{" + results + R"(,"agent":"vp-2","schema_version":1})", "vp-1",
                             kNow);
        }).first == 403);
  CHECK(refusal([&] {
          parse_result_batch("{" + results + R"(,"agent":"vp-1","schema_version":7})", "vp-1",
                             kNow);
        }) ==
        std::pair<int, std::string>{422, "unsupported schema_version 7 (this collector reads 1)"});
  CHECK(refusal([&] {
          parse_result_batch("{" + results + R"(,"agent":"vp-1","schema_version":1})", "vp-1",
                             kNow);
        }) == std::pair<int, std::string>{422, "results[0].cycle: missing field \"domain\""});
}

TEST_CASE("integers of a cycle outside their type's range are refused, never wrapped", "[unit]") {
  const auto with = [](const std::function<void(json&)>& change) {
    json body = result_batch("vp-1", {1});
    change(body["results"][0]["cycle"]);
    return refusal([&] { parse_result_batch(body.dump(), "vp-1", kNow); });
  };
  using Expected = std::pair<int, std::string>;
  // 2^32 + 1: as an int it would be 1, a schema this collector reads.
  CHECK(with([](json& c) { c["schema_version"] = 4294967297ULL; }) ==
        Expected{422,
                 "results[0].cycle: field \"schema_version\" must be a whole number from "
                 "-2147483648 to 2147483647"});
  CHECK(with([](json& c) { c["schema_version"] = 1.5; }).first == 422);
  CHECK(with([](json& c) { c["duration_us"] = 18446744073709551615ULL; }).first == 422);
  CHECK(with([](json& c) { c["duration_us"] = 86400000001LL; }) ==
        Expected{422, "results[0].cycle.duration_us: must be from 0 to a day (86400000000)"});
  CHECK(with([](json& c) { c["results"][0]["native_code"] = 4294967296LL; }).first == 422);
  CHECK(with([](json& c) { c["results"][0]["http_status"] = -4294967096LL; }).first == 422);
  CHECK(with([](json& c) { c["results"][0]["timings_us"]["connect"] = 9.5e18; }).first == 422);
  CHECK(with([](json& c) {
          c["results"][0]["dns"] = {{"qname", "social.example"},
                                    {"qtype", 65537},
                                    {"rcode", 0},
                                    {"aa", false},
                                    {"answers", json::array()},
                                    {"authority", json::array()},
                                    {"additional", json::array()}};
        }) == Expected{422,
                       "results[0].cycle: field \"qtype\" must be a whole number from 0 to "
                       "65535"});
  CHECK(with([](json& c) {
          c["results"][0]["dns"] = {
              {"qname", "social.example"},
              {"qtype", 1},
              {"rcode", 0},
              {"aa", false},
              {"answers", {{{"name", "a"}, {"type", 1}, {"ttl", -1}, {"data", "192.0.2.1"}}}},
              {"authority", json::array()},
              {"additional", json::array()}};
        }).first == 422);
}

TEST_CASE("a cycle from the future beyond the clock skew bound is refused; old ones are replays",
          "[unit]") {
  using std::chrono::hours;
  using std::chrono::minutes;
  const auto batch_at = [](TimePoint started_at) {
    json body = result_batch("vp-1", {1});
    body["results"][0]["cycle"]["started_at"] = format_time(started_at);
    return body;
  };
  const auto [status, message] =
      refusal([&] { parse_result_batch(batch_at(kNow + hours(23)).dump(), "vp-1", kNow); });
  CHECK(status == 422);
  CHECK_THAT(message, Catch::StartsWith("results[0].cycle.started_at: ") &&
                          Catch::Contains("is 23h0m ahead of the collector's clock") &&
                          Catch::Contains("at most 5m0s is accepted (limits.max_clock_skew): "
                                          "check the agent's clock (NTP)"));
  CHECK(refusal([&] {
          parse_result_batch(batch_at(kNow + minutes(2)).dump(), "vp-1", kNow, minutes(1));
        }).first == 422);
  CHECK(parse_result_batch(batch_at(kNow + minutes(4)).dump(), "vp-1", kNow).results.size() == 1);
  // A spool that waited a month for the collector is delivered, not refused.
  CHECK(parse_result_batch(batch_at(kNow - hours(24 * 30)).dump(), "vp-1", kNow).results.size() ==
        1);
  // Nor may a long duration carry the cycle's end into the future.
  json long_cycle = batch_at(kNow - minutes(1));
  long_cycle["results"][0]["cycle"]["duration_us"] = int64_t{3600} * 1000 * 1000;
  CHECK_THAT(refusal([&] { parse_result_batch(long_cycle.dump(), "vp-1", kNow); }).second,
             Catch::Contains("cycle.end (started_at + duration_us): "));
}

TEST_CASE("a date that is not in the calendar is not a time", "[unit]") {
  CHECK(parse_time("2026-02-28T12:00:00.000Z"));
  CHECK(parse_time("2024-02-29T12:00:00Z"));
  CHECK_FALSE(parse_time("2026-02-29T12:00:00Z"));
  CHECK_FALSE(parse_time("2026-02-31T12:00:00.000Z"));
  CHECK_FALSE(parse_time("2026-04-31T00:00:00Z"));
  // Years the clock cannot hold are not times either (they overflowed it).
  CHECK(parse_time("1970-01-01T00:00:00Z"));
  CHECK(parse_time("2261-12-31T23:59:59.999Z"));
  CHECK_FALSE(parse_time("0735-11-27T13:49:54.437Z"));
  CHECK_FALSE(parse_time("1969-12-31T23:59:59Z"));
  CHECK_FALSE(parse_time("2262-01-01T00:00:00Z"));
  CHECK_FALSE(parse_time("9999-12-31T00:00:00Z"));
  json body = result_batch("vp-1", {1});
  body["results"][0]["cycle"]["started_at"] = "2026-02-31T12:00:00.000Z";
  CHECK(refusal([&] { parse_result_batch(body.dump(), "vp-1", kNow); }) ==
        std::pair<int, std::string>{
            422, "results[0].cycle: field \"started_at\" is not an RFC 3339 UTC time"});
}

TEST_CASE("a result's domain is stored in its one spelling", "[unit]") {
  json body = result_batch("vp-1", {1, 2});
  body["results"][0]["cycle"]["domain"] = "SOCIAL.Example.";
  const auto batch = parse_result_batch(body.dump(), "vp-1", kNow);
  CHECK(batch.results[0].domain == "social.example");
  CHECK(batch.cycles[0].domain == "social.example");
  CHECK(batch.results[1].domain == "social.example");
  CHECK(normalize_domain("Shop.EXAMPLE.") == "shop.example");
  for (const std::string bad : {"", ".", "a..example", "social.example..", "\xff.example"}) {
    CAPTURE(bad);
    CHECK(refusal([&] { normalize_domain(bad); }).first == 400);
  }
  CHECK(refusal([] { normalize_domain("\xff"); }) ==
        std::pair<int, std::string>{400, "\"\\xff\" is not a domain name or an IP address"});
}

TEST_CASE("gzip bodies inflate within the bound and no further", "[unit]") {
  const std::string text = result_batch("vp-1", {1, 2}).dump();
  CHECK(gunzip_bounded(gzip_fast(text), 1 << 20) == text);
  const std::string bomb = gzip_fast(std::string(4 << 20, ' '));
  CHECK(bomb.size() < 32 * 1024);  // 4 MiB from a body far under any limit
  CHECK(refusal([&] { gunzip_bounded(bomb, 1 << 20); }) ==
        std::pair<int, std::string>{413, "body inflates to more than 1048576 bytes"});
  CHECK(refusal([&] { gunzip_bounded("not gzip at all", 1 << 20); }).first == 400);
  const std::string whole = gzip_fast(text);
  CHECK(refusal([&] { gunzip_bounded(whole.substr(0, whole.size() / 2), 1 << 20); }) ==
        std::pair<int, std::string>{400, "gzip body is truncated"});
  CHECK(refusal([&] { gunzip_bounded(whole + "junk", 1 << 20); }).first == 400);
}

TEST_CASE("a heartbeat becomes the agent's record; out-of-range values are 422", "[unit]") {
  const json body = {{"agent", "vp-1"},
                     {"version", "0.1.0"},
                     {"uptime_s", 12},
                     {"spool_depth", 3},
                     {"asn", 64501}};
  const auto agent = parse_heartbeat(body, "vp-1", "192.0.2.7", kNow);
  CHECK(agent.name == "vp-1");
  CHECK(agent.address == "192.0.2.7");
  CHECK(agent.asn == 64501);
  CHECK(agent.uptime_s == 12);
  CHECK(agent.spool_depth == 3);
  CHECK(agent.last_seen == kNow);
  CHECK_FALSE(parse_heartbeat({{"agent", "vp-1"}}, "vp-1", "::1", kNow).asn);
  json bad = body;
  bad["asn"] = 0;
  CHECK(refusal([&] { parse_heartbeat(bad, "vp-1", "::1", kNow); }).first == 422);
  bad = body;
  bad["spool_depth"] = -1;
  CHECK(refusal([&] { parse_heartbeat(bad, "vp-1", "::1", kNow); }).first == 422);
  CHECK(refusal([&] { parse_heartbeat(body, "vp-2", "::1", kNow); }).first == 403);
}

TEST_CASE("a heartbeat may state the agent's probe interval; agents that do not are fine",
          "[unit]") {
  CHECK_FALSE(parse_heartbeat_interval({{"agent", "vp-1"}}));
  CHECK_FALSE(parse_heartbeat_interval({{"agent", "vp-1"}, {"interval_ms", nullptr}}));
  CHECK(parse_heartbeat_interval({{"agent", "vp-1"}, {"interval_ms", 30000}}) ==
        std::chrono::seconds(30));
  CHECK(refusal([&] {
          parse_heartbeat_interval({{"interval_ms", 0}});
        }) ==
        std::pair<int, std::string>{422, "interval_ms: must be a whole number from 1 to 86400000"});
  CHECK(refusal([&] { parse_heartbeat_interval({{"interval_ms", "30s"}}); }).first == 422);
}

TEST_CASE("a target is checked field by field and its domain normalised", "[unit]") {
  const auto target = parse_target({{"domain", "Social.Example."},
                                    {"port", 8443},
                                    {"path", "/health"},
                                    {"expect_status", {200, 204}},
                                    {"body_regex", "ok|fine"}});
  CHECK(target.domain == "social.example");
  CHECK(target.port == 8443);
  CHECK(target.path == "/health");
  CHECK(target.expect_status == std::vector<int>{200, 204});
  CHECK(target.body_regex == "ok|fine");
  const auto defaults = parse_target({{"domain", "shop.example"}});
  CHECK(defaults.port == 443);
  CHECK(defaults.path == "/");
  CHECK(defaults.expect_status.empty());

  using Expected = std::pair<int, std::string>;
  CHECK(refusal([] {
          parse_target({{"port", 443}});
        }) == Expected{422, "missing field \"domain\""});
  CHECK(refusal([] {
          parse_target({{"domain", "bad domain!"}});
        }) == Expected{422, "domain: \"bad domain!\" is not a domain name or an IP address"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"port", 70000}});
        }) == Expected{422, "port: must be a whole number from 1 to 65535"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"path", "health"}});
        }) == Expected{422, "path: \"health\" must start with / and hold no spaces"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"expect_status", {200, 99}}});
        }) == Expected{422, "expect_status[1]: must be a whole number from 100 to 599"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"body_regex", "(unclosed"}});
        }) == Expected{422,
                       "body_regex: \"(unclosed\" is not a valid regular expression (RE2 "
                       "syntax): missing ): (unclosed"});
  CHECK(refusal([] { parse_target({{"domain", "a.example"}, {"prot", 443}}); }).first == 422);
}

TEST_CASE("a target's warn_before sets how long before expiry certificates and signatures warn",
          "[unit]") {
  CHECK(parse_target({{"domain", "shop.example"}}).warn_before == ExpiryThresholds{});
  const auto soon = parse_target(
      {{"domain", "shop.example"}, {"warn_before", {{"certificate", "30d"}, {"signature", "0d"}}}});
  CHECK(soon.warn_before.certificate == std::chrono::hours(30 * 24));
  CHECK(soon.warn_before.signature == std::chrono::milliseconds(0));
  CHECK(to_json(soon)["warn_before"] == json{{"certificate", "30d"}, {"signature", "0d"}});

  using Expected = std::pair<int, std::string>;
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"warn_before", {{"signature", "3x"}}}});
        }) == Expected{422,
                       "warn_before.signature: \"3x\" is not a period such as 14d, 12h or 30m (0d: "
                       "never warn)"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"warn_before", {{"signature", 3}}}});
        }) == Expected{422,
                       "warn_before.signature: 3 is not a period such as \"14d\", \"12h\" or "
                       "\"30m\""});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"warn_before", {{"cert", "3d"}}}});
        }) == Expected{422, "warn_before.cert: unknown key (certificate, signature)"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"warn_before", "3d"}});
        }).first == 422);
}

TEST_CASE("a target of another kind than https is checked against its kind", "[unit]") {
  const auto plain = parse_target({{"domain", "Intranet.Corp.Example"}, {"kind", "http"}});
  CHECK(plain.kind == TargetKind::Http);
  CHECK(plain.port == 80);
  const auto database = parse_target({{"domain", "2001:DB8::5"}, {"kind", "tcp"}, {"port", 5432}});
  CHECK(database.domain == "2001:db8::5");
  CHECK(database.kind == TargetKind::Tcp);
  const auto pinned = parse_target(
      {{"domain", "192.0.2.10"}, {"ca_file", "/etc/vantage/lab-ca.pem"}, {"insecure", false}});
  CHECK(pinned.kind == TargetKind::Https);
  CHECK(pinned.ca_file == "/etc/vantage/lab-ca.pem");

  using Expected = std::pair<int, std::string>;
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"kind", "ftp"}});
        }) == Expected{422, "kind: \"ftp\" is not https, http or tcp"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"kind", "tcp"}});
        }) == Expected{422, "port: a tcp target needs its port"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"kind", "tcp"}, {"port", 25}, {"path", "/x"}});
        }) == Expected{422,
                       "kind: a tcp target has no HTTP layer: path, expect_status and "
                       "body_regex do not apply"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"kind", "http"}, {"insecure", true}});
        }) == Expected{422, "kind: an http target has no TLS: ca_file and insecure do not apply"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"ca_file", "ca.pem"}});
        }) == Expected{422, "ca_file: \"ca.pem\" must be an absolute path on the agents"});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"insecure", "yes"}});
        }) == Expected{422, "insecure: must be true or false"});
}

TEST_CASE("a body_regex only a backtracking engine accepts is refused, naming what RE2 lacks",
          "[unit]") {
  using Expected = std::pair<int, std::string>;
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"body_regex", "(?=welcome)"}});
        }) == Expected{422,
                       "body_regex: \"(?=welcome)\" is not a valid regular expression (RE2 "
                       "syntax): invalid perl operator: (?="});
  CHECK(refusal([] {
          parse_target({{"domain", "a.example"}, {"body_regex", R"((a)\1)"}});
        }) == Expected{422, R"(body_regex: "(a)\1" is not a valid regular expression (RE2 )"
                            R"(syntax): invalid escape sequence: \1)"});
  // RE2 syntax an ECMAScript engine refuses is accepted: the agents match with RE2.
  CHECK(parse_target({{"domain", "a.example"}, {"body_regex", "(?i)welcome"}}).body_regex ==
        "(?i)welcome");
}

TEST_CASE("the rate limiter allows a burst of twice the rate, then the rate", "[unit]") {
  RateLimiter limiter(10, 20);
  const auto start = RateLimiter::Clock::now();
  int allowed = 0;
  for (int i = 0; i < 30; ++i) {
    allowed += limiter.allow("a", start) ? 1 : 0;
  }
  CHECK(allowed == 20);
  CHECK(limiter.allow("b", start));  // another token has a bucket of its own
  CHECK_FALSE(limiter.allow("a", start + std::chrono::milliseconds(50)));
  CHECK(limiter.allow("a", start + std::chrono::milliseconds(100)));
  CHECK_FALSE(limiter.allow("a", start + std::chrono::milliseconds(100)));
}

TEST_CASE("tokens are random, prefixed, and only their hash identifies them", "[unit]") {
  const std::string one = generate_token();
  const std::string two = generate_token();
  CHECK(one != two);
  CHECK_THAT(one, Catch::Matches("vat_[0-9a-f]{64}"));
  CHECK(hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(is_valid_principal_name("vp-fra-1"));
  CHECK_FALSE(is_valid_principal_name("-vp"));
  CHECK_FALSE(is_valid_principal_name("vp 1"));
  CHECK_FALSE(is_valid_principal_name(""));
}

// A migrated SQLite store in a temporary directory and the verifier over it.
struct TokenStore {
  vantage::testing::TempDir dir;
  std::unique_ptr<Storage> store = open_sqlite_storage((dir / "t.db").string());
  TokenVerifier verifier{*store};
  TokenStore() { store->migrate(); }
};

TEST_CASE("a stored token verifies, and nothing else does", "[unit]") {
  TokenStore tokens;
  auto& store = tokens.store;
  auto& verifier = tokens.verifier;
  const auto now = std::chrono::system_clock::now();
  const std::string token = create_token(*store, "vp-1", TokenKind::Agent, now);
  const auto record = verifier.verify(token, now).accepted;
  REQUIRE(record);
  CHECK(record->name == "vp-1");
  CHECK(record->kind == TokenKind::Agent);
  CHECK(record->hash == hash_token(token));
  CHECK_FALSE(verifier.verify(token + "x", now).accepted);
  CHECK_FALSE(verifier.verify("", now).accepted);
  CHECK_FALSE(verifier.verify(hash_token(token), now).accepted);  // the hash is not a token
  CHECK_THROWS_AS(create_token(*store, "bad name", TokenKind::Agent, now), std::invalid_argument);
}

TEST_CASE("a name gets one token; rotate keeps the old one for the grace period, revoke ends all",
          "[unit][tokens]") {
  TokenStore tokens;
  auto& store = tokens.store;
  auto& verifier = tokens.verifier;
  const auto now = std::chrono::system_clock::now();
  const std::string first = create_token(*store, "vp-1", TokenKind::Agent, now);
  CHECK_THROWS_AS(create_token(*store, "vp-1", TokenKind::Agent, now), TokenNameTaken);
  CHECK_THROWS_AS(rotate_token(*store, "vp-2", std::chrono::hours(1), now), NoSuchToken);

  const auto rotated = rotate_token(*store, "vp-1", std::chrono::hours(1), now);
  CHECK(rotated.kind == TokenKind::Agent);
  CHECK(rotated.replaced == 1);
  CHECK(verifier.verify(first, now + std::chrono::minutes(59)).accepted);
  CHECK(verifier.verify(rotated.token, now + std::chrono::minutes(59)).accepted);
  const auto after_grace = verifier.verify(first, now + std::chrono::hours(1));
  CHECK_FALSE(after_grace.accepted);
  REQUIRE(after_grace.ended);
  CHECK(after_grace.ended->name == "vp-1");
  CHECK(after_grace.first_refusal);
  CHECK_FALSE(verifier.verify(first, now + std::chrono::hours(2)).first_refusal);  // said once
  CHECK(verifier.verify(rotated.token, now + std::chrono::hours(2)).accepted);

  CHECK(revoke_tokens(*store, "vp-1", now + std::chrono::hours(3)) == 1);
  CHECK(verifier.verify(rotated.token, now + std::chrono::hours(3)).ended);
  CHECK_FALSE(verifier.accepted(hash_token(rotated.token), now + std::chrono::hours(3)));
  // A revoked name can be given a new token.
  const std::string fresh =
      create_token(*store, "vp-1", TokenKind::Agent, now + std::chrono::hours(3));
  CHECK(verifier.verify(fresh, now + std::chrono::hours(3)).accepted);
}

TEST_CASE("a token's last use is written at most once a minute", "[unit][tokens]") {
  TokenStore tokens;
  auto& store = tokens.store;
  auto& verifier = tokens.verifier;
  const auto now = std::chrono::system_clock::now();
  const std::string token = create_token(*store, "vp-1", TokenKind::Agent, now);
  CHECK(store->token_by_hash(hash_token(token))->last_used_at == std::nullopt);
  const auto used = [&] { return store->token_by_hash(hash_token(token))->last_used_at; };
  REQUIRE(verifier.verify(token, now).accepted);
  const auto first = used();
  REQUIRE(first);
  REQUIRE(verifier.verify(token, now + std::chrono::seconds(30)).accepted);
  CHECK(used() == first);
  REQUIRE(verifier.verify(token, now + std::chrono::seconds(61)).accepted);
  CHECK(used() > first);
}

TEST_CASE("an upload's epoch keys each of its results; an upload without one is epoch 0",
          "[unit][epoch]") {
  json body = result_batch("vp-1", {1, 2});
  CHECK(parse_result_batch(body.dump(), "vp-1", kNow).epoch == 0);
  CHECK(parse_result_batch(body.dump(), "vp-1", kNow).results[1].epoch == 0);
  body["epoch"] = 1764201600123456;
  const auto batch = parse_result_batch(body.dump(), "vp-1", kNow);
  CHECK(batch.epoch == 1764201600123456);
  CHECK(batch.results[0].epoch == 1764201600123456);
  CHECK(batch.results[1].epoch == 1764201600123456);
  CHECK(batch.results[1].seq == 2);
}

TEST_CASE("an epoch that is not a whole number from 0 up is refused, naming the field",
          "[unit][epoch]") {
  using Expected = std::pair<int, std::string>;
  const Expected refused{422, "epoch: must be a whole number from 0 to 9223372036854775807"};
  for (const json& epoch : {json(-1), json("1764201600123456"), json(1.5), json(nullptr),
                            json(18446744073709551615ULL), json::array()}) {
    INFO(epoch.dump());
    json upload = result_batch("vp-1", {1});
    upload["epoch"] = epoch;
    CHECK(refusal([&] { parse_result_batch(upload.dump(), "vp-1", kNow); }) == refused);
    const json beat = {{"agent", "vp-1"}, {"epoch", epoch}};
    CHECK(refusal([&] { parse_heartbeat(beat, "vp-1", "::1", kNow); }) == refused);
  }
}

TEST_CASE("a heartbeat's spool_dropped and epoch reach the agent's record", "[unit][epoch]") {
  const json body = {
      {"agent", "vp-1"}, {"spool_depth", 3}, {"spool_dropped", 17}, {"epoch", 1764201600123456}};
  const auto agent = parse_heartbeat(body, "vp-1", "192.0.2.7", kNow);
  CHECK(agent.spool_dropped == 17);
  CHECK(agent.epoch == 1764201600123456);
  const auto older = parse_heartbeat({{"agent", "vp-1"}}, "vp-1", "::1", kNow);
  CHECK(older.spool_dropped == 0);
  CHECK(older.epoch == 0);
  json bad = body;
  bad["spool_dropped"] = -1;
  CHECK(refusal([&] { parse_heartbeat(bad, "vp-1", "::1", kNow); }) ==
        std::pair<int, std::string>{
            422, "spool_dropped: must be a whole number from 0 to 9223372036854775807"});
}

TEST_CASE("duplicate seqs are logged as ranges", "[unit][epoch]") {
  CHECK(seq_ranges({}).empty());
  CHECK(seq_ranges({7}) == "7");
  CHECK(seq_ranges({5, 1, 2, 3, 9, 10, 3}) == "1-3, 5, 9-10");
  CHECK(seq_ranges({1, 3, 5, 7}, 2) == "1, 3 and 2 more");
}
