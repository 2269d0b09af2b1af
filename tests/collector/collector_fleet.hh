#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collector_fixture.hh"
#include "result.hh"

namespace vantage::testing {

// Three stand-in agents in two networks, as in the lab: vp1 and vp2 in AS64510, vp3 in AS64511,
// uploading cycles of social.example to a CollectorFixture, and an operator reading it back.
struct Fleet {
  // Rounds are 20 s apart, as if the agents' interval were 20 s: the collector derives that from
  // the spacing of their cycles, and counts each reading for two intervals.
  static constexpr auto kSpacing = std::chrono::seconds(20);
  static constexpr const char* kDomain = "social.example";

  CollectorFixture& collector;
  std::string op;                             // an operator token
  std::map<std::string, std::string> tokens;  // agent -> its token
  std::map<std::string, uint64_t> seqs;       // agent -> its last seq
  std::chrono::system_clock::time_point round_at =
      std::chrono::system_clock::now() - std::chrono::seconds(60);

  // Creates the tokens; the collector need not run yet.
  explicit Fleet(CollectorFixture& fixture);

  void heartbeats();
  // One cycle per vantage, each its own upload. A read decides what is pending first, so the
  // verdict read right after is current; steps no one read in between may be folded together.
  void round(Verdict vp1, Verdict vp2, Verdict vp3, const std::vector<ProbeResult>& warnings = {});
  // Two rounds of `verdict` from every vantage: enough for every reading to settle (enter_after,
  // exit_after).
  void rounds(Verdict verdict);
  // Two OK rounds: every vantage's reading established, the domain OK.
  void warm_up() { rounds(Verdict::Ok); }
  // One cycle from `agent` under its next seq; the upload must be accepted. `source`: the local
  // address to connect from ("" for the default).
  void upload(const std::string& agent, Verdict verdict,
              std::chrono::system_clock::time_point started_at,
              const std::vector<ProbeResult>& warnings = {}, const std::string& source = "");
  // One cycle under a seq the test chooses, its reply as it came.
  Reply send(const std::string& agent, uint64_t seq, Verdict verdict,
             std::chrono::system_clock::time_point started_at);

  nlohmann::json status() const;
  // The domain's entry in status, or null if status does not list it.
  nlohmann::json domain() const;
  // The domain's verdict in status, or "" if status does not list it.
  std::string verdict() const;
  // What explain says of one vantage, or null.
  nlohmann::json vantage(const std::string& name) const;
  // The agent's entry in /api/v1/agents, or null.
  nlohmann::json agent(const std::string& name) const;
  nlohmann::json alerts() const;
  // The domain's newest alert, or null.
  nlohmann::json alert() const;
  // The CLI against this collector with the operator token.
  CommandResult cli(std::vector<std::string> args) const;
};

}  // namespace vantage::testing
