#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "support/process.hh"

namespace vantage::testing {

struct RootServer {
  std::string name;  // "ns.test."
  std::vector<std::string> addresses;
};

struct UnboundConfig {
  std::filesystem::path dir;  // the config, root hints and pid file go here
  std::vector<std::string> addresses = {"127.0.0.1", "::1"};  // to listen on
  uint16_t port = 53;
  std::vector<RootServer> root_servers;  // the lab's root, written as root hints
  // Special-use zones Unbound answers itself (RFC 6761 makes `test.` one), which the lab needs
  // resolved the real way instead.
  std::vector<std::string> undefault_zones = {"test."};
  // Zones Unbound serves itself, as a company's internal resolver serves its own names
  // ("corp.test."; local-zone static), and their records ("app.corp.test. A 192.0.2.10").
  std::vector<std::string> local_zones;
  std::vector<std::string> local_data;
  // The lab root's DS record ("." presentation form): when set, Unbound validates from it and
  // says why validation failed with Extended DNS Errors (ede: yes), as a public resolver does.
  std::string trust_anchor;
};

// unbound.conf for an iterating resolver (validating when given a trust anchor) that runs in the
// foreground as the calling user, logs to stderr, and caches only briefly.
std::string unbound_config_text(const UnboundConfig& config);

// Writes the config and root hints, starts `unbound -d` and returns once every address answers.
// Throws std::runtime_error, quoting Unbound's log, if it dies or stays silent.
ChildProcess start_unbound(const UnboundConfig& config, std::string_view name = "unbound");

}  // namespace vantage::testing
