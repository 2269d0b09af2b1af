#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace vantage {

// One domain to probe, as the collector's target list holds it, the API carries it and the CLI
// sends it. Agents add their own settings (a CA file, insecure) in agent.yaml.
struct Target {
  std::string domain;  // canonical (canonical_domain_name)
  int port = 443;      // 1..65535
  std::string path = "/";
  std::vector<int> expect_status;  // empty: the agent's default (any 2xx or 3xx)
  std::string body_regex;          // RE2 syntax; empty: no content check
  bool operator==(const Target&) const = default;
};

// The API's target document: {"domain","port","path","expect_status","body_regex"}.
nlohmann::json to_json(const Target& target);

}  // namespace vantage
