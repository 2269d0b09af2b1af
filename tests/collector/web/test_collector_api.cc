#include <fmt/format.h>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "collector_fixture.hh"
#include "result_json.hh"
#include "sample_cycle.hh"
#include "support/net.hh"
#include "upload_body.hh"

using namespace vantage::testing;
using nlohmann::json;

namespace {

// A small body bound keeps the oversized cases cheap.
constexpr const char* kLimits = "limits: { max_body_bytes: 65536, requests_per_second: 1000 }\n";

struct Tokens {
  std::string agent;
  std::string other_agent;
  std::string op;
};

Tokens make_tokens(CollectorFixture& collector) {
  return {collector.create_token("vp-1"), collector.create_token("vp-2"),
          collector.create_token("alice", true)};
}

}  // namespace

TEST_CASE("a valid batch is stored once; the same batch again is all duplicates", "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();

  const std::string batch = result_batch("vp-1", {1, 2, 3}).dump();
  const auto first = collector.post("/api/v1/results", tokens.agent, batch);
  REQUIRE(first.status == 200);
  CHECK(first.json() == json{{"accepted", 3}, {"duplicates", 0}, {"expired", 0}, {"acked_seq", 3}});
  CHECK(collector.stored_results() == 3);

  const auto again = collector.post("/api/v1/results", tokens.agent, batch);
  REQUIRE(again.status == 200);
  CHECK(again.json() == json{{"accepted", 0}, {"duplicates", 3}, {"expired", 0}, {"acked_seq", 3}});
  CHECK(collector.stored_results() == 3);

  // What is stored is what the agent sent.
  const auto stored = collector.open_store()->results("", "vp-1", {}, 10);
  REQUIRE(stored.size() == 3);
  CHECK(stored[0].domain == "social.example");
  CHECK(stored[0].verdict == "OK");
  CHECK(json::parse(stored[0].document)["reading"]["summary"] == "all layers healthy");
}

TEST_CASE("hostile JSON, paths and dates are 400s with a JSON error, never 500s", "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  std::string huge_number = result_batch("vp-1", {1}).dump();
  huge_number.replace(huge_number.find("\"schema_version\":1"), 18, "\"schema_version\":1e400");
  const auto number = collector.post("/api/v1/results", tokens.agent, huge_number);
  CHECK(number.status == 400);
  CHECK(number.json()["error"] == "malformed JSON: a number is malformed or beyond a 64-bit float");

  // %ff decodes to a byte that is not UTF-8.
  for (const std::string path :
       {"/api/v1/domains/%ff", "/api/v1/domains/%ff/history", "/api/v1/domains/a%1b%5b2K.example",
        "/api/v1/domains/social.example/history?since=%ff"}) {
    CAPTURE(path);
    const auto reply = collector.get(path, tokens.op);
    CHECK(reply.status == 400);
    CHECK(reply.json()["error"].is_string());
  }
  CHECK(collector.get("/api/v1/domains/%ff", tokens.op).json()["error"] ==
        "\"\\xff\" is not a domain name or an IP address");

  const auto date =
      collector.get("/api/v1/domains/social.example/history?since=2026-02-31T00:00:00Z", tokens.op);
  CHECK(date.status == 400);
  CHECK_THAT(date.json().value("error", ""), Catch::Contains("RFC 3339 UTC time of a real date"));
  CHECK(
      collector.get("/api/v1/domains/social.example/history?since=2026-02-28T00:00:00Z", tokens.op)
          .status == 200);
  CHECK(collector.stored_results() == 0);
}

TEST_CASE("a domain is one domain however an agent or operator spells it", "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  REQUIRE(collector.post("/api/v1/targets", tokens.op, R"({"domain":"Social.EXAMPLE."})").status ==
          201);
  REQUIRE(
      collector
          .post("/api/v1/results", tokens.agent, result_batch("vp-1", {1}, "SOCIAL.EXAMPLE").dump())
          .status == 200);
  REQUIRE(collector
              .post("/api/v1/results", tokens.other_agent,
                    result_batch("vp-2", {1}, "social.example.").dump())
              .status == 200);
  const auto stored = collector.open_store()->results("", "", {}, 10);
  REQUIRE(stored.size() == 2);
  CHECK(stored[0].domain == "social.example");
  CHECK(stored[1].domain == "social.example");
  const json status = collector.get("/api/v1/status", tokens.op).json();
  REQUIRE(status.size() == 1);
  CHECK(status[0]["domain"] == "social.example");
  const auto explained = collector.get("/api/v1/domains/Social.Example.", tokens.op);
  REQUIRE(explained.status == 200);
  CHECK(explained.json()["vantages"].size() == 2);
  CHECK(collector.get("/api/v1/domains/SOCIAL.example/history", tokens.op).json()["domain"] ==
        "social.example");
}

TEST_CASE("a gzip batch is accepted like a plain one", "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  const auto reply = collector.post("/api/v1/results", tokens.agent,
                                    vantage::gzip_fast(result_batch("vp-1", {10, 11}).dump()),
                                    {"Content-Encoding: gzip"});
  REQUIRE(reply.status == 200);
  CHECK(reply.json() ==
        json{{"accepted", 2}, {"duplicates", 0}, {"expired", 0}, {"acked_seq", 11}});
  CHECK(collector.stored_results() == 2);
}

TEST_CASE("bad input is refused with its status, a JSON error and a log line; nothing is stored",
          "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  const std::string valid = result_batch("vp-1", {1}).dump();

  json wrong_schema = result_batch("vp-1", {1});
  wrong_schema["schema_version"] = 2;
  json bad_cycle = result_batch("vp-1", {1, 2, 3, 4});
  bad_cycle["results"][3]["cycle"].erase("domain");
  json bad_seq = result_batch("vp-1", {1, 2});
  bad_seq["results"][1]["seq"] = 0;
  json float_seq = result_batch("vp-1", {1});
  float_seq["results"][0]["seq"] = 1.5;
  json old_cycle = result_batch("vp-1", {1});
  old_cycle["results"][0]["cycle"]["started_at"] = "2001-01-01T00:00:00.000Z";
  json empty = result_batch("vp-1", {1});
  empty["results"] = json::array();
  // Each cycle compresses to a few hundred bytes, but the batch inflates past the bound.
  std::vector<uint64_t> many(400);
  for (size_t i = 0; i < many.size(); ++i) {
    many[i] = i + 1;
  }
  const std::string gzip_bomb = vantage::gzip_fast(result_batch("vp-1", many).dump());
  REQUIRE(gzip_bomb.size() < 65536);

  struct Case {
    const char* name;
    std::string token;
    std::string body;
    std::vector<std::string> headers;
    bool chunked;
    long status;
    std::string error;     // the whole {"error": ...} text
    std::string log_line;  // what the collector's log must say
  };
  const std::string path = " POST /api/v1/results from 127.0.0.1";
  const std::vector<Case> cases = {
      {"malformed JSON",
       tokens.agent,
       R"({"schema_version":1,"agent":)",
       {},
       false,
       400,
       "malformed JSON: JSON document ended early in the middle of an object or array.",
       "HTTP 400" + path +
           " agent vp-1: malformed JSON: JSON document ended early in the middle of an object or "
           "array."},
      {"wrong schema_version",
       tokens.agent,
       wrong_schema.dump(),
       {},
       false,
       422,
       "unsupported schema_version 2 (this collector reads 1)",
       "HTTP 422" + path + " agent vp-1: unsupported schema_version 2"},
      {"oversized body",
       tokens.agent,
       std::string(65537, ' '),
       {},
       false,
       413,
       "body of 65537 bytes is larger than 65536 bytes",
       "HTTP 413" + path + " agent vp-1: body of 65537 bytes is larger than 65536 bytes"},
      {"oversized body without a length",
       tokens.agent,
       std::string(70000, ' '),
       {},
       true,
       413,
       "body is larger than 65536 bytes",
       "HTTP 413" + path + " agent vp-1: body is larger than 65536 bytes"},
      {"gzip body inflating past the bound",
       tokens.agent,
       gzip_bomb,
       {"Content-Encoding: gzip"},
       false,
       413,
       "body inflates to more than 65536 bytes",
       "HTTP 413" + path + " agent vp-1: body inflates to more than 65536 bytes"},
      {"unsupported Content-Encoding",
       tokens.agent,
       valid,
       {"Content-Encoding: br"},
       false,
       415,
       "unsupported Content-Encoding \"br\" (gzip or none)",
       "HTTP 415" + path + " agent vp-1: unsupported Content-Encoding"},
      {"unknown token",
       "vat_" + std::string(64, '0'),
       valid,
       {},
       false,
       401,
       "unknown token",
       "HTTP 401" + path + ": unknown token"},
      {"no token",
       "",
       valid,
       {},
       false,
       401,
       "missing bearer token",
       "HTTP 401" + path + ": missing bearer token"},
      {"another agent's name",
       tokens.other_agent,
       valid,
       {},
       false,
       403,
       "the token belongs to agent \"vp-2\", not to \"vp-1\"",
       "HTTP 403" + path + " agent vp-2: the token belongs to agent \"vp-2\", not to \"vp-1\""},
      {"an operator token",
       tokens.op,
       valid,
       {},
       false,
       403,
       "this endpoint is for agent tokens",
       "HTTP 403" + path + " operator alice: this endpoint is for agent tokens"},
      {"invalid cycle (the fourth of four)",
       tokens.agent,
       bad_cycle.dump(),
       {},
       false,
       422,
       "results[3].cycle: missing field \"domain\"",
       "HTTP 422" + path + " agent vp-1: results[3].cycle: missing field \"domain\""},
      {"seq 0",
       tokens.agent,
       bad_seq.dump(),
       {},
       false,
       422,
       "results[1].seq: must be a whole number from 1 to 9223372036854775807",
       "HTTP 422" + path + " agent vp-1: results[1].seq: must be a whole number"},
      {"fractional seq",
       tokens.agent,
       float_seq.dump(),
       {},
       false,
       422,
       "results[0].seq: must be a whole number from 1 to 9223372036854775807",
       "HTTP 422" + path + " agent vp-1: results[0].seq: must be a whole number"},
      {"cycle from 2001",
       tokens.agent,
       old_cycle.dump(),
       {},
       false,
       422,
       "results[0].cycle.started_at: 2001-01-01T00:00:00.000Z is before 2020; is the agent's "
       "clock right?",
       "HTTP 422" + path + " agent vp-1: results[0].cycle.started_at: 2001-01-01"},
      {"empty batch",
       tokens.agent,
       empty.dump(),
       {},
       false,
       422,
       "results: must be a list of 1 to 1000 results",
       "HTTP 422" + path + " agent vp-1: results: must be a list"},
      {"truncated gzip",
       tokens.agent,
       vantage::gzip_fast(valid).substr(0, 40),
       {"Content-Encoding: gzip"},
       false,
       400,
       "gzip body is truncated",
       "HTTP 400" + path + " agent vp-1: gzip body is truncated"},
  };

  for (const auto& c : cases) {
    INFO(c.name);
    const size_t log_offset = collector.log().size();
    Request request;
    request.method = "POST";
    request.url = collector.url() + "/api/v1/results";
    request.token = c.token;
    request.body = c.body;
    request.headers = c.headers;
    request.chunked = c.chunked;
    const Reply reply = send(request);
    CHECK(reply.status == c.status);
    CHECK(reply.header("content-type") == "application/json");
    CHECK(reply.json() == json{{"error", c.error}});
    CHECK(
        wait_until([&] { return collector.log(log_offset).find(c.log_line) != std::string::npos; },
                   {20, std::chrono::milliseconds(50), std::chrono::seconds(1)}));
    INFO("log: " << collector.log(log_offset));
    // Never the token itself, whatever was rejected.
    CHECK(collector.log(log_offset).find("vat_") == std::string::npos);
    CHECK(collector.stored_results() == 0);
  }

  // A body without a length that goes on far past the bound gets no answer at all: the
  // connection is dropped rather than read to its end.
  const size_t endless_offset = collector.log().size();
  Request endless;
  endless.method = "POST";
  endless.url = collector.url() + "/api/v1/results";
  endless.token = tokens.agent;
  endless.body = std::string(1 << 20, ' ');
  endless.chunked = true;
  CHECK(send(endless).status != 200);
  CHECK(wait_until([&] {
    return collector.log(endless_offset)
               .find("HTTP 413" + path +
                     " agent vp-1: body without a length went on past "
                     "131072 bytes; connection dropped") != std::string::npos;
  }));
  CHECK(collector.stored_results() == 0);

  // The rest of the service is unaffected.
  CHECK(collector.get("/healthz").status == 200);
  const auto after = collector.post("/api/v1/results", tokens.agent, valid);
  CHECK(after.status == 200);
  CHECK(collector.stored_results() == 1);
}

TEST_CASE("unknown paths are 404, wrong methods 405, operator endpoints 403 for agents",
          "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();

  const auto missing = collector.get("/api/v2/results", tokens.agent);
  CHECK(missing.status == 404);
  CHECK(missing.json() == json{{"error", "no such endpoint"}});

  Request put;
  put.method = "PUT";
  put.url = collector.url() + "/api/v1/targets";
  put.token = tokens.op;
  put.body = "{}";
  const auto wrong_method = send(put);
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("allow") == "GET, POST");
  CHECK(wrong_method.json() == json{{"error", "PUT is not allowed here"}});

  const auto agents = collector.get("/api/v1/agents", tokens.agent);
  CHECK(agents.status == 403);
  CHECK(agents.json() == json{{"error", "this endpoint needs an operator token"}});
  const auto add = collector.post("/api/v1/targets", tokens.agent, R"({"domain":"a.example"})");
  CHECK(add.status == 403);
  CHECK_THAT(collector.log(), Catch::Contains("HTTP 403 GET /api/v1/agents from 127.0.0.1 agent "
                                              "vp-1: this endpoint needs an operator token"));
}

TEST_CASE("a heartbeat records the agent, its peer address and version; operators list them",
          "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();

  const auto none = collector.get("/api/v1/agents", tokens.op);
  REQUIRE(none.status == 200);
  CHECK(none.json() == json::array());

  const json heartbeat = {{"agent", "vp-1"},
                          {"version", "0.1.0"},
                          {"uptime_s", 12},
                          {"spool_depth", 3},
                          {"asn", 64501}};
  const auto reply = collector.post("/api/v1/heartbeat", tokens.agent, heartbeat.dump());
  REQUIRE(reply.status == 200);
  CHECK(reply.json() == json{{"ok", true}});
  const auto other = collector.post("/api/v1/heartbeat", tokens.other_agent,
                                    R"({"agent":"vp-2","version":"0.1.0","uptime_s":1,
                                        "spool_depth":0})");
  REQUIRE(other.status == 200);
  const auto spoofed = collector.post("/api/v1/heartbeat", tokens.other_agent, heartbeat.dump());
  CHECK(spoofed.status == 403);

  const auto list = collector.get("/api/v1/agents", tokens.op);
  REQUIRE(list.status == 200);
  const json agents = list.json();
  REQUIRE(agents.size() == 2);
  CHECK(agents[0]["name"] == "vp-1");
  CHECK(agents[0]["address"] == "127.0.0.1");
  CHECK(agents[0]["asn"] == 64501);
  CHECK(agents[0]["version"] == "0.1.0");
  CHECK(agents[0]["uptime_s"] == 12);
  CHECK(agents[0]["spool_depth"] == 3);
  CHECK_THAT(agents[0]["last_seen"].get<std::string>(),
             Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
  CHECK(agents[1]["name"] == "vp-2");
  CHECK(agents[1]["asn"].is_null());
}

TEST_CASE("targets: operators add and remove, agents read, ETag answers 304 until a change",
          "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();

  const auto empty = collector.get("/api/v1/targets", tokens.agent);
  REQUIRE(empty.status == 200);
  CHECK(empty.json() == json{{"version", 0}, {"targets", json::array()}});
  CHECK(empty.header("etag") == "\"0\"");

  const auto added = collector.post(
      "/api/v1/targets", tokens.op,
      R"({"domain":"social.example","port":443,"path":"/","expect_status":[200],"body_regex":""})");
  REQUIRE(added.status == 201);
  CHECK(added.json() == json{{"version", 1}});

  const auto list = collector.get("/api/v1/targets", tokens.agent);
  REQUIRE(list.status == 200);
  CHECK(list.header("etag") == "\"1\"");
  CHECK(list.json() == json{{"version", 1},
                            {"targets",
                             {{{"domain", "social.example"},
                               {"kind", "https"},
                               {"port", 443},
                               {"path", "/"},
                               {"expect_status", {200}},
                               {"body_regex", ""},
                               {"ca_file", ""},
                               {"insecure", false},
                               {"warn_before", {{"certificate", "14d"}, {"signature", "3d"}}}}}}});

  Request conditional;
  conditional.url = collector.url() + "/api/v1/targets";
  conditional.token = tokens.agent;
  conditional.headers = {"If-None-Match: \"1\""};
  const auto unchanged = send(conditional);
  CHECK(unchanged.status == 304);
  CHECK(unchanged.body.empty());
  CHECK(unchanged.header("etag") == "\"1\"");
  // An operator's list holds the agents' own targets too, which change without the version.
  conditional.token = tokens.op;
  const auto operator_list = send(conditional);
  CHECK(operator_list.status == 200);
  CHECK(operator_list.json().contains("agent_file_targets"));

  const auto invalid =
      collector.post("/api/v1/targets", tokens.op, R"({"domain":"social.example","port":0})");
  CHECK(invalid.status == 422);
  CHECK(invalid.json() == json{{"error", "port: must be a whole number from 1 to 65535"}});

  Request remove;
  remove.method = "DELETE";
  remove.url = collector.url() + "/api/v1/targets/social.example";
  remove.token = tokens.op;
  const auto removed = send(remove);
  REQUIRE(removed.status == 200);
  CHECK(removed.json() == json{{"version", 2}});
  CHECK(send(conditional).status == 200);  // "1" is stale now
  const auto gone = send(remove);
  CHECK(gone.status == 404);
  CHECK(gone.json() == json{{"error", "no target \"social.example\""}});

  remove.token = tokens.agent;
  CHECK(send(remove).status == 403);
}

TEST_CASE("a target whose body_regex RE2 refuses is a 422 naming why, from the API and the CLI",
          "[server]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();

  const auto refused = collector.post(
      "/api/v1/targets", tokens.op, R"j({"domain":"social.example","body_regex":"(?=welcome)"})j");
  CHECK(refused.status == 422);
  CHECK(refused.json() == json{{"error",
                                "body_regex: \"(?=welcome)\" is not a valid regular "
                                "expression (RE2 syntax): invalid perl operator: (?="}});

  const auto added = collector.cli(
      {"targets", "add", "social.example", "--body-regex", R"((a)\1)", "--url", collector.url()},
      {"VANTAGE_TOKEN=" + tokens.op});
  CHECK(added.exit_code == 1);
  // The CLI prints the collector's words escaped (vantage::printable): a backslash doubled.
  CHECK_THAT(added.err, Catch::Contains(R"(answered 422: body_regex: "(a)\\1" is not a valid )"
                                        R"(regular expression (RE2 syntax): invalid escape )"
                                        R"(sequence: \\1)"));

  // Nothing was stored: agents never receive a pattern they cannot compile.
  CHECK(collector.get("/api/v1/targets", tokens.agent).json() ==
        json{{"version", 0}, {"targets", json::array()}});
}

TEST_CASE("past its rate a token gets 429; other tokens and /healthz do not", "[server]") {
  CollectorFixture collector("limits: { requests_per_second: 1 }\n");
  const Tokens tokens = make_tokens(collector);
  collector.start();
  int ok = 0;
  Reply limited;
  for (int i = 0; i < 6 && limited.status == 0; ++i) {
    const auto reply = collector.get("/api/v1/targets", tokens.agent);
    if (reply.status == 200) {
      ++ok;
    } else {
      limited = reply;
    }
  }
  CHECK(ok >= 2);  // the burst is twice the rate
  CHECK(ok <= 3);  // and a second may pass while it is spent
  CHECK(limited.status == 429);
  CHECK(limited.header("retry-after") == "1");
  CHECK(limited.json() == json{{"error", "more than 1 requests per second with this token"}});
  CHECK(collector.get("/api/v1/targets", tokens.other_agent).status == 200);
  CHECK(collector.get("/healthz").status == 200);
  CHECK_THAT(collector.log(), Catch::Contains("HTTP 429 GET /api/v1/targets from 127.0.0.1 agent "
                                              "vp-1: more than 1 requests per second"));
}

TEST_CASE("agents posting concurrently all get their batches stored", "[server]") {
  CollectorFixture collector(kLimits);
  const std::vector<std::string> agent_tokens = {
      collector.create_token("vp-a"), collector.create_token("vp-b"),
      collector.create_token("vp-c"), collector.create_token("vp-d")};
  collector.start();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  const std::string names = "abcd";
  for (size_t a = 0; a < agent_tokens.size(); ++a) {
    threads.emplace_back([&, a] {
      for (uint64_t batch = 0; batch < 5; ++batch) {
        const auto body =
            result_batch(std::string("vp-") + names[a], {batch * 2 + 1, batch * 2 + 2}).dump();
        if (collector.post("/api/v1/results", agent_tokens[a], body).status != 200) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(failures == 0);
  CHECK(collector.stored_results() == 40);
}

TEST_CASE("SIGTERM stops the collector cleanly", "[server]") {
  CollectorFixture collector(kLimits);
  collector.start();
  // Within the grace period, by itself and with status 0: not SIGKILLed, not crashed on the way.
  const ProcessExit end = collector.stop();
  CHECK(end.by_itself);
  CHECK(end.code == 0);
  const std::string log = collector.log();
  CHECK_THAT(log, Catch::Contains("Terminated: finishing the requests in progress"));
  CHECK_THAT(log, Catch::Contains("stopped"));
  CHECK_THAT(log, Catch::Contains("plain HTTP, no TLS"));
  CHECK_THAT(log, Catch::Contains("storage sqlite"));
  CHECK_THAT(log, Catch::Contains("schema version"));
}

TEST_CASE("on SIGTERM a request in progress is finished before the collector exits", "[server]") {
  CollectorFixture collector(kLimits);
  const std::string token = collector.create_token("vp-1");
  collector.start();

  // Half a request by hand: headers and the first bytes of the body, the rest after the signal.
  const std::string body = R"({"agent":"vp-1","version":"0.1.0","uptime_s":1,"spool_depth":0})";
  const std::string head =
      "POST /api/v1/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      token + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body.substr(0, 10);
  const auto address = socket_address("127.0.0.1", collector.port());
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const timeval timeout{5, 0};  // a collector that never answers fails the test, not hangs it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  REQUIRE(connect(fd, address.get(), address.length) == 0);
  REQUIRE(write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size()));
  // The collector has seen the request begin once the headers are in; give it that moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(kill(collector.pid(), SIGTERM) == 0);
  REQUIRE(wait_until([&] {
    return collector.log().find("finishing the requests in progress") != std::string::npos;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(collector.exited());  // still waiting for our request

  const std::string rest = body.substr(10);
  REQUIRE(write(fd, rest.data(), rest.size()) == static_cast<ssize_t>(rest.size()));
  std::string reply;
  char buffer[4096];
  // Until the collector closes the connection, which it does once it has replied and stops.
  for (ssize_t got = 0; (got = read(fd, buffer, sizeof(buffer))) > 0;) {
    reply.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(reply, Catch::EndsWith(R"({"ok":true})"));
  CHECK(wait_until([&] { return collector.exited(); }));
  const ProcessExit end = collector.stop();
  CHECK(end.by_itself);
  CHECK(end.code == 0);
  CHECK_THAT(collector.log(), Catch::Contains("stopped"));
  CHECK(collector.open_store()->agents().size() == 1);
}

TEST_CASE("the same seq in two epochs is two results; acked_seq and duplicates are per epoch",
          "[server][epoch]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  std::string last_body;
  const auto upload = [&](uint64_t epoch, const std::vector<uint64_t>& seqs,
                          const std::string& domain = "social.example") {
    json batch = result_batch("vp-1", seqs, domain);
    batch["epoch"] = epoch;
    last_body = batch.dump();
    return collector.post("/api/v1/results", tokens.agent, last_body);
  };

  const auto first = upload(1764201600000000, {1, 2, 3});
  REQUIRE(first.status == 200);
  CHECK(first.json() == json{{"accepted", 3}, {"duplicates", 0}, {"expired", 0}, {"acked_seq", 3}});
  CHECK_THAT(collector.log(), Catch::Contains("agent vp-1: first results, epoch 1764201600000000"));

  // The state directory was wiped: numbering restarts at 1 under a newer epoch.
  const size_t before_wipe = collector.log().size();
  const auto wiped = upload(1764205200000000, {1, 2});
  REQUIRE(wiped.status == 200);
  CHECK(wiped.json() == json{{"accepted", 2}, {"duplicates", 0}, {"expired", 0}, {"acked_seq", 2}});
  CHECK(collector.stored_results() == 5);
  CHECK_THAT(collector.log(before_wipe),
             Catch::Contains("agent vp-1 started epoch 1764205200000000 (its state directory is "
                             "new; the previous epoch was 1764201600000000); sequence restarts "
                             "at 1"));

  // A re-upload within an epoch is still a duplicate, and logged as a new epoch no more.
  const size_t before_retry = collector.log().size();
  const auto retried = collector.post("/api/v1/results", tokens.agent, last_body);
  REQUIRE(retried.status == 200);
  CHECK(retried.json() ==
        json{{"accepted", 0}, {"duplicates", 2}, {"expired", 0}, {"acked_seq", 2}});
  CHECK_THAT(collector.log(before_retry), !Catch::Contains("started epoch"));
  CHECK_THAT(collector.get("/metrics").body,
             Catch::Contains("vantage_ingest_results_total{outcome=\"duplicate\"} 2"));

  // One seq of one epoch is still one cycle.
  const auto conflict = upload(1764205200000000, {2}, "other.example");
  CHECK(conflict.status == 409);
  CHECK_THAT(conflict.json().value("error", ""),
             Catch::Contains("seq 2 is already stored with a different cycle document (epoch "
                             "1764205200000000;"));

  // An older epoch is stored, with a warning: two agents behind one name?
  const size_t before_old = collector.log().size();
  const auto old = upload(1764201600000000, {4});
  REQUIRE(old.status == 200);
  CHECK(old.json() == json{{"accepted", 1}, {"duplicates", 0}, {"expired", 0}, {"acked_seq", 4}});
  CHECK_THAT(collector.log(before_old),
             Catch::Contains("[warning]") &&
                 Catch::Contains("agent vp-1 sent 1 results of epoch 1764201600000000, older "
                                 "than its newest epoch 1764205200000000: stored 1"));
  CHECK(collector.stored_results() == 6);
}

TEST_CASE("an agent's spool_dropped and epoch show in agents, its CLI table and /metrics",
          "[server][epoch]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  const json beat = {{"agent", "vp-1"},  {"version", "0.1.0"},  {"uptime_s", 5},
                     {"spool_depth", 2}, {"spool_dropped", 17}, {"epoch", 1764201600000000}};
  REQUIRE(collector.post("/api/v1/heartbeat", tokens.agent, beat.dump()).status == 200);

  const auto agents = collector.get("/api/v1/agents", tokens.op).json();
  REQUIRE(agents.size() == 1);
  CHECK(agents[0].value("spool_dropped", json()) == 17);
  CHECK(agents[0].value("epoch", json()) == 1764201600000000);

  const std::vector<std::string> env = {"VANTAGE_TOKEN=" + tokens.op};
  const auto table = collector.cli({"agents", "--url", collector.url()}, env);
  REQUIRE(table.exit_code == 0);
  const auto header_end = table.out.find('\n');
  REQUIRE(header_end != std::string::npos);
  CHECK_THAT(table.out.substr(0, header_end), Catch::EndsWith("SPOOL  DROPPED"));
  CHECK_THAT(table.out.substr(header_end), Catch::Matches(R"(\s*vp-1 .* 2 +17\s*)"));
  const auto listed = collector.cli({"agents", "--json", "--url", collector.url()}, env);
  REQUIRE(listed.exit_code == 0);
  CHECK(json::parse(listed.out)[0].value("spool_dropped", json()) == 17);

  CHECK_THAT(collector.get("/metrics").body,
             Catch::Contains("vantage_agent_spool_dropped{agent=\"vp-1\"} 17\n"));
}

TEST_CASE("a second serve on the same SQLite file refuses to start, naming the first one's pid",
          "[server][lock]") {
  CollectorFixture collector(kLimits);
  const Tokens tokens = make_tokens(collector);
  collector.start();
  // Its own port (the fixture's config listens on port 0): only the database is shared.
  const auto second =
      run_command({collector_binary(), "serve", "--config", collector.config_file().string()},
                  std::chrono::seconds(10));
  CHECK_FALSE(second.timed_out);
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err,
             Catch::Contains(fmt::format("{} is in use by another collector (pid {})",
                                         collector.db_file().string(), collector.pid())));

  // Commands that only open the database keep working beside the running collector.
  const auto token =
      collector.cli({"token", "create", "vp-3", "--config", collector.config_file().string()});
  CHECK(token.exit_code == 0);
  const auto check = collector.cli({"check-config", "--config", collector.config_file().string()});
  CHECK(check.exit_code == 0);
  CHECK(collector.post("/api/v1/results", tokens.agent, result_batch("vp-1", {1}).dump()).status ==
        200);

  // Stopped, it leaves the lock to the next one.
  collector.stop();
  collector.start();
  CHECK(collector.get("/healthz").status == 200);
}

namespace vantage::testing {

TEST_CASE(
    "a running collector prunes what is past its retention, in the background, and says so in "
    "/metrics",
    "[server][retention]") {
  CollectorFixture collector(
      "retention: { documents: 1h, evidence: 2h, results: 3h, every: 1s }\n");
  const Tokens tokens = make_tokens(collector);
  collector.start();
  CHECK_THAT(collector.log(),
             Catch::Contains("retention: documents 1h, evidence 2h, results 3h, verdict changes "
                             "400d, alerts 400d"));

  // A cycle stored 4 h ago, when it was recent (the API now refuses one that old: see below).
  const auto now = std::chrono::system_clock::now();
  const auto old_document =
      cycle_document("social.example", Verdict::Ok, now - std::chrono::minutes(240));
  REQUIRE(collector.open_store()
              ->store_results({StoredResult{.agent = "vp-1",
                                            .seq = 1,
                                            .domain = "social.example",
                                            .started_at = now - std::chrono::minutes(240),
                                            .verdict = "OK",
                                            .document = old_document.dump(),
                                            .summary = ""}})
              .inserted == 1);
  // Spool replays from an agent that was cut off: one cycle of each age (cycles from the past are
  // accepted, back to the results' period), the newest a failure.
  json batch = {{"schema_version", 1}, {"agent", "vp-1"}, {"results", json::array()}};
  const std::pair<int, Verdict> cycles[] = {
      {150, Verdict::Ok}, {90, Verdict::ServerDown}, {5, Verdict::ServerDown}, {200, Verdict::Ok}};
  uint64_t seq = 1;
  for (const auto& [minutes_ago, verdict] : cycles) {
    batch["results"].push_back(
        {{"seq", ++seq},
         {"cycle",
          cycle_document("social.example", verdict, now - std::chrono::minutes(minutes_ago))}});
  }
  // The cycle of 200 minutes ago is past the results' period: acknowledged, not stored, so that
  // it can never count twice in its rollups once pruned.
  const auto reply = collector.post("/api/v1/results", tokens.agent, batch.dump());
  REQUIRE(reply.status == 200);
  CHECK(reply.json() == json{{"accepted", 3}, {"duplicates", 0}, {"expired", 1}, {"acked_seq", 5}});

  // At most 10 s for a pass (one a second) to reach them.
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = collector.get("/metrics").body;
    if (metrics.find("vantage_storage_pruned_total{kind=\"results\"} 1") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The cycle of 4 h ago is gone with its document; of those left, the OK cycle of 2.5 h ago has
  // lost its document, and the failure of 1.5 h ago keeps its evidence.
  CHECK_THAT(metrics, Catch::Contains("vantage_storage_pruned_total{kind=\"results\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("vantage_storage_pruned_total{kind=\"documents\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("vantage_storage_bytes "));
  CHECK_THAT(metrics, Catch::Contains("vantage_ingest_results_total{outcome=\"expired\"} 1"));
  const auto kept = collector.open_store()->results("", "vp-1", {}, 10);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].seq == 2);
  CHECK(kept[0].document.empty());
  CHECK(kept[1].seq == 3);
  CHECK(!kept[1].document.empty());
  CHECK(kept[2].seq == 4);
  CHECK(!kept[2].document.empty());
}

}  // namespace vantage::testing

TEST_CASE("with metrics.token_file, /metrics answers only the bearer of that token", "[api]") {
  vantage::testing::TempDir secrets;
  const std::string token = "9f3c1e7a5b2d4c6e8a0b1c2d3e4f5a6b";
  write_text(secrets / "metrics.token", token + "\n");
  CollectorFixture collector("metrics: { token_file: " + (secrets / "metrics.token").string() +
                             " }\n");
  const std::string op = collector.create_token("alice", true);
  collector.start();
  CHECK(collector.get("/metrics").status == 401);
  CHECK(collector.get("/metrics", token.substr(0, token.size() - 1) + "0").status == 401);
  CHECK(collector.get("/metrics", op).status == 401);  // an operator token is not this one
  const auto scraped = collector.get("/metrics", token);
  CHECK(scraped.status == 200);
  CHECK_THAT(scraped.body, Catch::Contains("vantage_ingest_results_total"));
  CHECK(collector.get("/healthz").status == 200);  // still open
  CHECK_THAT(collector.log(), Catch::Contains("/metrics needs the bearer token of "
                                              "metrics.token_file"));
}

TEST_CASE(
    "/metrics exports each fresh vantage's latest probe timings, HTTPS phases and certificate "
    "expiry",
    "[api][metrics]") {
  using std::chrono::microseconds;
  CollectorFixture collector;
  const std::string agent = collector.create_token("vp-1");
  collector.start();

  vantage::CycleResult cycle = vantage::testing::healthy_cycle("shop.example");
  const auto probe = [](vantage::Check check, const std::string& target, microseconds total) {
    vantage::ProbeResult result;
    result.check = check;
    result.target = target;
    result.phase = vantage::Phase::Response;
    result.timings.total = total;
    return result;
  };
  cycle.results.front().timings.total = microseconds(1500);
  cycle.results.push_back(probe(vantage::Check::DnsRecursive, "192.0.2.53:53", microseconds(2000)));
  cycle.results.push_back(probe(vantage::Check::DnsRecursive, "192.0.2.54:53", microseconds(9000)));
  auto https = probe(vantage::Check::Https, "192.0.2.10:443", microseconds(48000));
  https.timings.resolve = microseconds(0);
  https.timings.connect = microseconds(4000);
  https.timings.tls = microseconds(12000);
  https.timings.first_byte = microseconds(30000);
  https.tls = vantage::TlsDetails{.version = "TLSv1.3",
                                  .subject = "CN=shop.example",
                                  .issuer = "CN=Lab CA",
                                  .not_after = "2027-03-01T00:00:00Z",
                                  .earliest_subject = "CN=shop.example",
                                  .earliest_not_after = "2027-03-01T00:00:00Z"};
  cycle.results.push_back(https);
  auto second = https;  // another address, whose certificate expires sooner, timed out
  second.target = "192.0.2.11:443";
  second.tls->not_after = "2027-01-15T12:00:00Z";
  second.tls->earliest_not_after = "2027-01-15T12:00:00Z";
  second.failure = vantage::Failure::Timeout;
  second.timings.total = microseconds(5000000);
  cycle.results.push_back(second);
  const json batch = {{"schema_version", 1},
                      {"agent", "vp-1"},
                      {"results", json::array({{{"seq", 1}, {"cycle", vantage::to_json(cycle)}}})}};
  REQUIRE(collector.post("/api/v1/results", agent, batch.dump()).status == 200);

  std::string metrics;
  REQUIRE(wait_until([&] {
    metrics = collector.get("/metrics").body;
    return metrics.find("vantage_probe_success{") != std::string::npos;
  }));
  INFO(metrics);
  const std::string at = R"(domain="shop.example",vantage="vp-1")";
  CHECK_THAT(metrics, Catch::Contains("vantage_probe_success{" + at + R"(,check="Tcp"} 1)"));
  CHECK_THAT(metrics,
             Catch::Contains("vantage_probe_success{" + at + R"(,check="DnsRecursive"} 1)"));
  CHECK_THAT(metrics, Catch::Contains("vantage_probe_success{" + at + R"(,check="Https"} 0)"));
  // The slowest probe of each check: the second resolver, the HTTPS request that timed out.
  CHECK_THAT(metrics, Catch::Contains("vantage_probe_duration_seconds{" + at +
                                      R"(,check="DnsRecursive"} 0.009)"));
  CHECK_THAT(metrics,
             Catch::Contains("vantage_probe_duration_seconds{" + at + R"(,check="Https"} 5)"));
  CHECK_THAT(metrics,
             Catch::Contains("vantage_probe_duration_seconds{" + at + R"(,check="Tcp"} 0.0015)"));
  // The phases of the request that succeeded.
  CHECK_THAT(metrics,
             Catch::Contains("vantage_probe_https_phase_seconds{" + at + R"(,phase="tls"} 0.012)"));
  CHECK_THAT(metrics, Catch::Contains("vantage_probe_https_phase_seconds{" + at +
                                      R"(,phase="first_byte"} 0.03)"));
  // The earliest certificate expiry of the two addresses: 2027-01-15T12:00:00Z.
  CHECK_THAT(metrics, Catch::Contains("vantage_tls_cert_not_after_timestamp_seconds{" + at +
                                      "} 1800014400\n"));
  CHECK_THAT(metrics, Catch::Contains("vantage_probe_cycle_timestamp_seconds{" + at + "} "));
  // Checks the cycle did not run have no series.
  CHECK_THAT(metrics, !Catch::Contains(R"(check="DnsAuthoritative")"));
}
