// The agent's log as an operator reads it: one line when a target's reading changes, every probe
// at debug, and failures named in words ("Connection refused"), never as a library's error code.
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "agent_deployment.hh"
#include "support/net.hh"
#include "support/process.hh"

using namespace vantage;
using namespace vantage::testing;
using namespace std::chrono_literals;

namespace {

// The log's lines that contain `text`.
std::vector<std::string> lines_with(const std::string& log, const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(text) != std::string::npos) {
      lines.push_back(line);
    }
  }
  return lines;
}

}  // namespace

TEST_CASE(
    "the agent logs a target's reading when it changes, every probe at debug, and names "
    "failures",
    "[logging]") {
  // The resolver's port and the collector's are closed: every cycle fails the same way, and no
  // upload gets through.
  AgentDeployment deployment("vp-log", "log", 1);
  deployment.start_agent({"--log-level", "debug"});
  const auto cycles = [&] {
    return lines_with(deployment.agent_log(), "[debug] log1.test: DnsParent ").size();
  };
  const bool ran = wait_until([&] { return cycles() >= 4; }, {100, 100ms, 10s});
  deployment.stop_agent();
  const std::string log = deployment.agent_log();
  INFO(log.substr(0, 6000));
  REQUIRE(ran);

  // Every probe, at debug, with its outcome and time.
  CHECK(lines_with(log, "[debug] log1.test: DnsRecursive 127.0.0.1:9: ConnRefused in ").size() >=
        4);
  // The reading at info: once for the first cycle, then only when it changes.
  const auto changes = lines_with(log, "[info] log1.test: ");
  REQUIRE_FALSE(changes.empty());
  CHECK_THAT(changes.front(),
             Catch::Contains("log1.test: (first cycle) -> DNS_FAILURE: every recursive resolver"));
  const std::regex change(R"(: (\S+|\(first cycle\)) -> (\S+): )");
  std::string previous;
  for (const std::string& line : changes) {
    std::smatch match;
    REQUIRE(std::regex_search(line, match, change));
    CHECK(match[1].str() != match[2].str());
    if (!previous.empty()) {
      CHECK(match[1].str() == previous);
    }
    previous = match[2].str();
  }
  CHECK(changes.size() < cycles());
  // The collector's failure in the system's words, not as a curl code.
  CHECK_THAT(log, Catch::Contains("[warning] collector unreachable (Connection refused);"));
  CHECK_THAT(log, !Catch::Contains("curl error"));
  CHECK_THAT(log, !Catch::Contains("(curl "));
}

TEST_CASE(
    "VANTAGE_LOG_LEVEL sets the agent's log level when --log-level is not given; an unknown "
    "level is a usage error",
    "[logging]") {
  AgentDeployment deployment("vp-level", "level", 1);
  const std::string config = (deployment.dir() / "agent.yaml").string();
  // A daemon: it runs until run_command's time is up and stops it.
  const auto quiet = run_command(
      {"/usr/bin/env", "VANTAGE_LOG_LEVEL=warn", VANTAGE_AGENT_PATH, "run", "--config", config},
      2s);
  const std::string said = quiet.out + quiet.err;
  INFO(said.substr(0, 3000));
  CHECK(quiet.timed_out);
  CHECK_THAT(said, Catch::Contains("[warning] collector unreachable (Connection refused);"));
  CHECK(lines_with(said, "[info]").empty());
  CHECK(lines_with(said, "[debug]").empty());

  const auto unknown = run_command(
      {"/usr/bin/env", "VANTAGE_LOG_LEVEL=loud", VANTAGE_AGENT_PATH, "run", "--config", config},
      10s);
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.out + unknown.err,
             Catch::Contains("--log-level: loud not in {trace,debug,info,warn,error,off}"));
}
