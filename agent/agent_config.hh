#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asn_database.hh"
#include "body_pattern.hh"
#include "endpoint.hh"
#include "target.hh"

namespace vantage {

struct TargetConfig {
  std::string domain;  // canonical_target_name: a domain name or an IP address
  TargetKind kind = TargetKind::Https;
  uint16_t port = 443;
  std::string path = "/";
  std::vector<int> expect_status;  // empty = any 2xx or 3xx
  std::string ca_file;
  BodyPattern body_regex;
  bool insecure = false;
  ExpiryThresholds warn_before;
  bool operator==(const TargetConfig&) const = default;
};

struct AgentConfig {
  std::string name;
  std::filesystem::path state_dir;
  std::optional<uint32_t> asn;
  // Names the AS and network of every hop when a cycle traces the path to a silent address.
  std::shared_ptr<const AsnDatabase> asn_database;
  std::string collector_url;
  std::string token_file;
  std::string collector_ca_file;
  std::vector<Endpoint> resolvers;  // empty = resolv.conf
  std::chrono::milliseconds interval{30'000};
  std::chrono::milliseconds timeout{5'000};
  std::vector<Endpoint> control_targets;
  std::vector<TargetConfig> targets;
  uint64_t spool_max_bytes = 256ULL << 20;
  size_t max_concurrent_probes = 256;
};

// Reads and checks agent.yaml; throws ConfigError "FILE:LINE: KEY: problem" on the first mistake.
AgentConfig load_agent_config(const std::string& file);

}  // namespace vantage
