#include <catch2/catch.hpp>

#include <string>

#include "collector_fixture.hh"

using namespace vantage::testing;
using nlohmann::json;

TEST_CASE("with tls.cert and tls.key the collector serves HTTPS; a client trusting the CA gets in",
          "[tls]") {
  CollectorFixture collector("", /*tls=*/true);
  const std::string op = collector.create_token("alice", true);
  const std::string agent = collector.create_token("vp-1");
  collector.start();  // waits for /healthz over HTTPS, trusting the test's certificate
  CHECK_THAT(collector.url(), Catch::StartsWith("https://"));
  CHECK_THAT(collector.log(), Catch::Contains("(TLS)"));

  const auto batch = collector.post("/api/v1/results", agent, result_batch("vp-1", {1}).dump());
  CHECK(batch.status == 200);
  CHECK(collector.stored_results() == 1);

  const std::vector<std::string> env = {"VANTAGE_TOKEN=" + op};
  const auto added = collector.cli({"targets", "add", "social.example", "--url", collector.url(),
                                    "--ca", collector.ca_file().string()},
                                   env);
  CHECK(added.exit_code == 0);
  CHECK(added.err.empty());
  const auto listed = collector.cli(
      {"targets", "list", "--json", "--url", collector.url(), "--ca", collector.ca_file().string()},
      env);
  CHECK(listed.exit_code == 0);
  CHECK(json::parse(listed.out)["targets"][0]["domain"] == "social.example");

  // Without the CA the certificate is not trusted: a failed request, not a silent downgrade.
  const auto untrusted = collector.cli({"targets", "list", "--url", collector.url()}, env);
  CHECK(untrusted.exit_code == 1);
  CHECK_THAT(untrusted.err, Catch::StartsWith("vantage-collector: cannot reach the collector at " +
                                              collector.url()));

  // Plain HTTP to the TLS port gets no HTTP answer.
  Request plain;
  plain.url = "http://" + collector.url().substr(std::string("https://").size()) + "/healthz";
  CHECK(send(plain).status != 200);
}

TEST_CASE("a TLS key that does not parse stops serve at startup with a clear error", "[tls]") {
  CollectorFixture collector("", /*tls=*/true);
  write_text(collector.dir() / "tls.key",
             "-----BEGIN PRIVATE KEY-----\nnot a key\n"
             "-----END PRIVATE KEY-----\n");
  const auto serve = collector.cli({"serve", "--config", collector.config_file().string()});
  CHECK(serve.exit_code == 1);
  CHECK_THAT(serve.err, Catch::Contains("cannot listen on 127.0.0.1:0"));
}
