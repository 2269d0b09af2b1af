#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "endpoint.hh"
#include "storage.hh"

namespace vantage {

inline constexpr uint16_t kDefaultCollectorPort = 8470;

struct StorageConfig {
  enum class Kind : uint8_t { Sqlite, Postgres };
  Kind kind = Kind::Sqlite;
  std::string location;  // the SQLite file, or the PostgreSQL conninfo (may hold a password)
};

// How the next issue's correlation turns per-vantage readings into domain verdicts.
struct CorrelationConfig {
  double quorum = 0.5;  // share of healthy vantages that must agree, 0 < q <= 1
  int min_vantages = 2;
  int enter_after = 2;  // consecutive rounds before a verdict is entered
  int exit_after = 2;   // consecutive OK rounds before it is left
};

struct AlertReceiverConfig {
  enum class Kind : uint8_t { Webhook, Slack, Alertmanager };
  Kind kind = Kind::Webhook;
  std::string url;
};

struct LimitsConfig {
  uint64_t max_body_bytes = uint64_t{8} << 20;  // compressed and decompressed alike
  double requests_per_second = 50;              // per token; the burst is twice this
};

struct CollectorConfig {
  Endpoint listen;
  std::string tls_cert_file;  // both empty = plain HTTP
  std::string tls_key_file;
  StorageConfig storage;
  CorrelationConfig correlation;
  std::vector<AlertReceiverConfig> alerts;
  LimitsConfig limits;

  bool tls() const { return !tls_cert_file.empty(); }
};

// Reads and checks collector.yaml; throws ConfigError "FILE:LINE: KEY: problem" on the first
// mistake.
CollectorConfig load_collector_config(const std::string& file);

// Opens (without migrating) the store collector.yaml names. Throws StorageError.
std::unique_ptr<Storage> open_storage(const StorageConfig& config);

std::string_view to_string(StorageConfig::Kind kind);
std::string_view to_string(AlertReceiverConfig::Kind kind);

}  // namespace vantage
