#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "alert_config.hh"
#include "correlation.hh"
#include "endpoint.hh"
#include "muting.hh"
#include "public_status.hh"
#include "routing.hh"
#include "storage.hh"
#include "storage_retention.hh"

namespace vantage {

inline constexpr uint16_t kDefaultCollectorPort = 8470;

struct StorageConfig {
  enum class Kind : uint8_t { Sqlite, Postgres };
  Kind kind = Kind::Sqlite;
  std::string location;  // the SQLite file, or the PostgreSQL conninfo (may hold a password)
};

struct LimitsConfig {
  uint64_t max_body_bytes = uint64_t{8} << 20;  // compressed and decompressed alike
  double requests_per_second = 50;              // per token; the burst is twice this
  // How far ahead of the collector's clock a result may start (or end); further is refused.
  std::chrono::milliseconds max_clock_skew{std::chrono::minutes(5)};
  // Open connections, in all and from one client address: past the first, the kernel's backlog
  // holds new ones; past the second, the connection is closed at once. So one address cannot
  // take every connection and lock the agents out.
  unsigned max_connections = 1024;
  unsigned max_connections_per_ip = 64;
  // A connection must deliver a request's complete headers this long after it opens (or after
  // its previous request), however slowly it keeps sending, or it is closed.
  std::chrono::seconds header_timeout{10};
  // A connection that sends nothing for this long is closed.
  std::chrono::seconds idle_timeout{30};
};

struct CollectorConfig {
  Endpoint listen;
  std::string tls_cert_file;  // both empty = plain HTTP
  std::string tls_key_file;
  // Their contents, read and checked with the config: a PEM certificate (chain) and the PEM
  // private key that belongs to it.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  StorageConfig storage;
  RetentionConfig retention;
  CorrelationConfig correlation;
  std::vector<AlertReceiverConfig> alerts;
  AlertTimingConfig alert_timing;
  // Windows from collector.yaml's maintenance list; the API adds others at run time.
  std::vector<MaintenanceWindow> maintenance;
  std::vector<AlertRoute> routes;  // empty: every receiver gets every alert
  // A MaxMind ASN database (GeoLite2-ASN format): the ASN of an agent whose agent.yaml has no
  // `asn` is looked up from the address it connects from. Empty: no lookup.
  std::string asn_database;
  LimitsConfig limits;
  StatusPageConfig status_page;  // no domains: no public status page
  // metrics.token_file's token: /metrics then answers only a request bearing it. Empty: open.
  std::string metrics_token;

  bool tls() const { return !tls_cert_file.empty(); }
};

// Reads and checks collector.yaml; throws ConfigError "FILE:LINE: KEY: problem" on the first
// mistake.
CollectorConfig load_collector_config(const std::string& file);

// Opens (without migrating) the store collector.yaml names. Throws StorageError.
std::unique_ptr<Storage> open_storage(const StorageConfig& config);

std::string_view to_string(StorageConfig::Kind kind);

}  // namespace vantage
