#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "agent_config.hh"
#include "config_node.hh"
#include "support/process.hh"
#include "support/temp_dir.hh"

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

// The error `load` gives for `path`, failing the test (instead of hanging it) when `load` is still
// waiting after a few seconds: a FIFO then gets a writer that closes at once, which ends the wait.
template <typename Load>
std::string prompt_error_of(Load load, const std::string& path) {
  auto error = std::async(std::launch::async, [&] {
    try {
      load(path);
    } catch (const ConfigError& caught) {
      return std::string(caught.what());
    }
    return std::string("(no error)");
  });
  if (error.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    close(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    FAIL_CHECK("still reading " << path << " after 5 s");
  }
  return error.get();
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
  REQUIRE(config.targets.size() == 4);
  CHECK(config.targets[0].expect_status == std::vector<int>{200});
  CHECK(config.targets[1].kind == TargetKind::Https);
  CHECK(config.targets[1].port == 443);
  CHECK(config.targets[1].body_regex.text() == "welcome");
  CHECK(config.targets[1].warn_before.certificate == std::chrono::days(30));
  CHECK(config.targets[1].warn_before.signature == std::chrono::hours(36));
  CHECK(config.targets[0].warn_before == ExpiryThresholds{});
  CHECK(config.targets[0].warn_before.certificate == std::chrono::days(14));
  CHECK(config.targets[0].warn_before.signature == std::chrono::days(3));
  CHECK(config.targets[2].domain == "192.0.2.10");
  CHECK(config.targets[2].kind == TargetKind::Http);
  CHECK(config.targets[2].port == 80);
  CHECK(config.targets[2].path == "/status");
  CHECK(config.targets[3].kind == TargetKind::Tcp);
  CHECK(config.targets[3].port == 5432);
}

TEST_CASE("every invalid agent.yaml names its file, line and key", "[config]") {
  const std::pair<const char*, const char*> cases[] = {
      {"invalid-unknown-key.yaml",
       ":4: probe.intervall: unknown key (expected one of: interval, timeout)"},
      {"invalid-duration.yaml",
       ":4: probe.interval: \"30x\" is not a duration like 500ms, 30s or 2m"},
      {"invalid-missing-name.yaml", ":2: agent.name: is required"},
      {"invalid-port.yaml", ":5: targets[0].port: 70000 is out of range (1 to 65535)"},
      {"invalid-domain.yaml",
       ":5: targets[1].domain: \"bad domain!\" is not a domain name or an IP address"},
      {"invalid-kind.yaml", ":5: targets[1].kind: \"smtp\" is not https, http or tcp"},
      {"invalid-tcp-port.yaml", ":5: targets[1]: port: a tcp target needs its port"},
      {"invalid-kind-settings.yaml",
       ":5: targets[0].kind: an http target has no TLS: ca_file and insecure do not apply"},
      {"invalid-resolver.yaml", ":4: dns.resolvers[1]: \"resolver.example\" is not IP[:PORT]"},
      {"invalid-url.yaml",
       ":3: collector.url: \"collector.example:8470\" must start with http:// or https://"},
      {"invalid-timeout.yaml", ":5: probe.timeout: must be shorter than probe.interval (10000 ms)"},
      {"invalid-token-file.yaml",
       ":4: collector.token_file: cannot read \"/nonexistent/agent.token\": No such file or "
       "directory"},
      {"invalid-control.yaml", ":4: control_targets[0]: \"192.0.2.1\" is not IP:PORT"},
      {"invalid-asn-database.yaml",
       ":4: agent.asn_database: cannot read \"/nonexistent/GeoLite2-ASN.mmdb\": No such file or "
       "directory"},
      {"invalid-duplicate-key.yaml", ":6: probe.interval: duplicate key (first given on line 4)"},
      {"invalid-warn-before.yaml",
       ":7: targets[0].warn_before.signature: \"3x\" is not a period such as 14d, 12h or 30m "
       "(0d: never warn)"},
      {"invalid-body-regex.yaml",
       ":5: targets[0].body_regex: \"(?=welcome)\" is not a valid regular expression (RE2 "
       "syntax): invalid perl operator: (?="},
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
  CHECK(error_of("no-such-file.yaml") ==
        kDir + "/no-such-file.yaml: cannot read the file: No such file or directory");
}

TEST_CASE("a config path that is a FIFO is refused at once, not waited on", "[config]") {
  vantage::testing::TempDir dir;
  const std::string fifo = (dir / "agent.yaml").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::string expected =
      fifo + ": cannot read the file: is a FIFO (named pipe), not a regular file";
  CHECK(prompt_error_of(load_agent_config, fifo) == expected);
}

TEST_CASE("a device or an oversized file as agent.yaml is refused before it is read", "[config]") {
  CHECK(prompt_error_of(load_agent_config, "/dev/zero") ==
        "/dev/zero: cannot read the file: is a character device, not a regular file");
  vantage::testing::TempDir dir;
  const std::string big = (dir / "agent.yaml").string();
  vantage::testing::write_text(big, "# " + std::string(1 << 20, 'x') + "\n");
  CHECK(prompt_error_of(load_agent_config, big) ==
        big + ": cannot read the file: is 1048579 bytes, more than the 1048576-byte limit");
}

TEST_CASE("a token_file that is a FIFO names the key and what the file is", "[config]") {
  vantage::testing::TempDir dir;
  const std::string fifo = (dir / "agent.token").string();
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::string config = (dir / "agent.yaml").string();
  vantage::testing::write_text(config,
                               "agent: { name: vp-1, state_dir: /tmp/v }\n"
                               "collector:\n"
                               "  url: http://127.0.0.1:8470\n"
                               "  token_file: " +
                                   fifo + "\n");
  CHECK(prompt_error_of(load_agent_config, config) ==
        config + ":4: collector.token_file: cannot read \"" + fifo +
            "\": is a FIFO (named pipe), not a regular file");
}
