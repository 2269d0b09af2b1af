#include <fmt/format.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

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

namespace {

// A self-signed certificate and its key in `dir`, made with the openssl CLI: `key_spec` is
// openssl req's -newkey argument ("rsa:2048", "ec").
void make_certificate(const std::filesystem::path& dir, const std::string& name,
                      const std::string& key_spec) {
  const auto openssl = find_program("openssl");
  REQUIRE(openssl);
  std::vector<std::string> argv = {openssl->string(), "req", "-x509", "-newkey", key_spec};
  if (key_spec == "ec") {
    argv.insert(argv.end(), {"-pkeyopt", "ec_paramgen_curve:prime256v1"});
  }
  argv.insert(
      argv.end(),
      {"-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
       "-keyout", (dir / (name + ".key")).string(), "-out", (dir / (name + ".crt")).string()});
  REQUIRE(run_command(argv).exit_code == 0);
}

// check-config and serve on collector.yaml with this tls section (its line 3); both must refuse
// it with the same config error, and serve must not start listening.
std::string refusal(const CollectorFixture& collector, const std::string& cert,
                    const std::string& key) {
  write_text(collector.config_file(),
             fmt::format("listen: \"127.0.0.1:0\"\nstorage: {{ sqlite: {} }}\n"
                         "tls: {{ cert: {}, key: {} }}\n",
                         collector.db_file().string(), cert, key));
  const auto check = collector.cli({"check-config", "--config", collector.config_file().string()});
  const auto serve = collector.cli({"serve", "--config", collector.config_file().string()});
  CHECK(check.exit_code == 2);
  CHECK(serve.exit_code == 2);
  CHECK(check.err == serve.err);
  CHECK(check.out.empty());
  const std::string prefix = collector.config_file().string() + ":3: ";
  REQUIRE_THAT(serve.err, Catch::StartsWith(prefix));
  return serve.err.substr(prefix.size());
}

// Does `openssl s_client` with these protocol and cipher options complete a handshake?
bool handshake(uint16_t port, std::vector<std::string> options) {
  const auto openssl = find_program("openssl");
  REQUIRE(openssl);
  std::vector<std::string> argv = {openssl->string(), "s_client", "-connect",
                                   fmt::format("127.0.0.1:{}", port)};
  argv.insert(argv.end(), options.begin(), options.end());
  return run_command(argv, std::chrono::seconds(10)).exit_code == 0;
}

}  // namespace

TEST_CASE("a TLS certificate or key that is empty, a directory or not PEM refuses to start",
          "[tls]") {
  CollectorFixture collector("", /*tls=*/true);
  const auto dir = collector.dir();
  const std::string cert = (dir / "tls.crt").string();
  const std::string key = (dir / "tls.key").string();
  write_text(dir / "empty", "");
  write_text(dir / "garbage.key",
             "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  const std::string empty = (dir / "empty").string();

  // An empty or directory certificate once made serve listen in plain HTTP, saying TLS.
  CHECK(refusal(collector, empty, key) == "tls.cert: \"" + empty + "\" is empty\n");
  CHECK(refusal(collector, dir.string(), key) ==
        "tls.cert: cannot read \"" + dir.string() + "\": is a directory, not a regular file\n");
  CHECK(refusal(collector, cert, empty) == "tls.key: \"" + empty + "\" is empty\n");
  CHECK(refusal(collector, cert, dir.string()) ==
        "tls.key: cannot read \"" + dir.string() + "\": is a directory, not a regular file\n");
  CHECK_THAT(refusal(collector, key, key),
             Catch::StartsWith("tls.cert: \"" + key + "\" holds no PEM certificate ("));
  CHECK_THAT(refusal(collector, cert, (dir / "garbage.key").string()),
             Catch::StartsWith("tls.key: \"" + (dir / "garbage.key").string() +
                               "\" holds no unencrypted PEM private key ("));
}

TEST_CASE("a TLS key that is not the certificate's refuses to start", "[tls]") {
  CollectorFixture collector("", /*tls=*/true);
  make_certificate(collector.dir(), "other", "ec");
  const std::string other_key = (collector.dir() / "other.key").string();
  CHECK(refusal(collector, collector.ca_file().string(), other_key) ==
        "tls.key: \"" + other_key + "\" is not the key of the certificate in tls.cert\n");
}

TEST_CASE(
    "HTTPS takes TLS 1.2 with ECDHE and TLS 1.3, not TLS 1.1 nor suites without forward "
    "secrecy or AEAD",
    "[tls]") {
  CollectorFixture collector("", /*tls=*/true);
  // An RSA certificate: only with one could a client pick RSA key exchange (no forward secrecy).
  make_certificate(collector.dir(), "tls", "rsa:2048");
  collector.start();
  const uint16_t port = collector.port();
  CHECK(handshake(port, {"-tls1_3"}));
  CHECK(handshake(port, {"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}));
  CHECK(handshake(port, {"-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"}));
  // OpenSSL itself refuses TLS 1.1 below security level 0.
  CHECK_FALSE(handshake(port, {"-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"}));
  CHECK_FALSE(handshake(port, {"-tls1_2", "-cipher", "AES128-GCM-SHA256"}));     // RSA kx
  CHECK_FALSE(handshake(port, {"-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"}));  // CBC
  CHECK(collector.get("/healthz").status == 200);
}
