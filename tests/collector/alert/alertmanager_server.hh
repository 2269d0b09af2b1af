#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "support/process.hh"
#include "support/temp_dir.hh"

namespace vantage::testing {

// A real prometheus-alertmanager on 127.0.0.1 with a config of its own that routes everything to
// a receiver that does nothing, no clustering, and its data in a temp dir; started by the
// constructor (which waits, bounded, for /-/ready) and always stopped by the destructor.
class AlertmanagerServer {
 public:
  // The binary, or nullopt where the Debian package is not installed.
  static std::optional<std::filesystem::path> binary();
  // VANTAGE_REQUIRE_LAB=1: a missing binary fails the tests instead of skipping them.
  static bool required();

  AlertmanagerServer();
  AlertmanagerServer(const AlertmanagerServer&) = delete;
  AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

  std::string url() const;
  // GET /api/v2/alerts with `query` ("?active=false"); throws std::runtime_error unless 200.
  nlohmann::json alerts(const std::string& query = "");
  // The listed alert whose label domain is `domain`, if any.
  std::optional<nlohmann::json> alert_for(const std::string& domain, const std::string& query = "");

 private:
  TempDir dir_{"vantage-alertmanager"};
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace vantage::testing
