#include <catch2/catch.hpp>

#include "agent_config.hh"
#include "config_node.hh"

using namespace vantage;

namespace {

const std::string kDir = VANTAGE_TESTDATA_DIR;

std::string error_of(const std::string& name) {
  try {
    load_agent_config(kDir + "/" + name);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a valid agent.yaml loads every key", "[config]") {
  const auto config = load_agent_config(kDir + "/valid-agent.yaml");
  CHECK(config.name == "vp-fra-1");
  CHECK(config.asn == 64501u);
  CHECK(config.collector_url == "https://collector.example:8470");
  REQUIRE(config.resolvers.size() == 2);
  CHECK(config.resolvers[1].to_string() == "[2001:db8::53]:53");
  CHECK(config.interval == std::chrono::seconds(30));
  CHECK(config.timeout == std::chrono::seconds(5));
  REQUIRE(config.control_targets.size() == 1);
  CHECK(config.control_targets[0].to_string() == "192.0.2.1:443");
  REQUIRE(config.targets.size() == 2);
  CHECK(config.targets[0].expect_status == std::vector<int>{200});
  CHECK(config.targets[1].port == 443);
  CHECK(config.targets[1].body_regex == "welcome");
}

TEST_CASE("every invalid agent.yaml names its file, line and key", "[config]") {
  const std::pair<const char*, const char*> cases[] = {
      {"invalid-unknown-key.yaml",
       ":4: probe.intervall: unknown key (expected one of: interval, timeout)"},
      {"invalid-duration.yaml",
       ":4: probe.interval: \"30x\" is not a duration like 500ms, 30s or 2m"},
      {"invalid-missing-name.yaml", ":2: agent.name: is required"},
      {"invalid-port.yaml", ":5: targets[0].port: 70000 is out of range (1 to 65535)"},
      {"invalid-domain.yaml", ":5: targets[1].domain: \"bad domain!\" is not a domain name"},
      {"invalid-resolver.yaml", ":4: dns.resolvers[1]: \"resolver.example\" is not IP[:PORT]"},
      {"invalid-url.yaml",
       ":3: collector.url: \"collector.example:8470\" must start with http:// or https://"},
      {"invalid-timeout.yaml", ":5: probe.timeout: must be shorter than probe.interval (10000 ms)"},
      {"invalid-token-file.yaml",
       ":4: collector.token_file: cannot read \"/nonexistent/agent.token\""},
      {"invalid-control.yaml", ":4: control_targets[0]: \"192.0.2.1\" is not IP:PORT"},
      {"invalid-asn-database.yaml",
       ":4: agent.asn_database: cannot open ASN database /nonexistent/GeoLite2-ASN.mmdb: Error "
       "opening the specified MaxMind DB file: No such file or directory"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    CHECK(error_of(file) == kDir + "/" + file + message);
  }
}

TEST_CASE("a YAML syntax error names the file and a line", "[config]") {
  const auto error = error_of("invalid-syntax.yaml");
  CHECK_THAT(error, Catch::StartsWith(kDir + "/invalid-syntax.yaml:"));
  CHECK_THAT(error, Catch::Contains("YAML syntax error"));
}

TEST_CASE("a missing config file is a clear error", "[config]") {
  CHECK(error_of("no-such-file.yaml") == kDir + "/no-such-file.yaml: cannot read the file");
}
