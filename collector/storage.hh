#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vantage {

using TimePoint = std::chrono::system_clock::time_point;

// One accepted cycle result of one agent. (agent, seq) identifies it: the agent numbers its
// results and the store keeps each number once, however often it is uploaded.
struct StoredResult {
  std::string agent;
  uint64_t seq = 0;
  std::string domain;
  TimePoint started_at;
  std::string verdict;  // the vantage's reading, SPEC §2 name
  std::string document;  // the cycle document (JSON text, schema_version 1)
  bool operator==(const StoredResult&) const = default;
};

struct StoreOutcome {
  size_t inserted = 0;
  size_t duplicates = 0;
};

struct TokenRecord {
  std::string name;  // agent name, or operator name
  std::string kind;  // "agent" or "operator"
  std::string hash;  // hex SHA-256 of the token; the token itself is never stored
  TimePoint created_at;
};

struct AgentRecord {
  std::string name;
  std::optional<int64_t> asn;
  std::string address;  // the peer address it last connected from
  std::string version;
  TimePoint last_seen;
  int64_t uptime_s = 0;
  int64_t spool_depth = 0;
};

struct TargetRecord {
  std::string domain;
  int port = 443;
  std::string path = "/";
  std::vector<int> expect_status;
  std::string body_regex;
  bool operator==(const TargetRecord&) const = default;
};

// The collector's storage, one interface over SQLite (embedded default) and PostgreSQL. Every
// method is safe to call from several threads. Errors throw StorageError.
class Storage {
 public:
  virtual ~Storage() = default;

  // Applies the versioned schema migrations not yet applied; safe on every start.
  virtual void migrate() = 0;
  virtual int schema_version() = 0;

  // Stores a batch in one transaction: all of it or none. A result whose (agent, seq) is already
  // stored is skipped and counted as a duplicate.
  virtual StoreOutcome store_results(const std::vector<StoredResult>& batch) = 0;
  virtual uint64_t count_results() = 0;
  // Results with started_at >= since, oldest first; empty `domain`/`agent` = all.
  virtual std::vector<StoredResult> results(const std::string& domain, const std::string& agent,
                                            TimePoint since, size_t limit) = 0;

  virtual void upsert_agent(const AgentRecord& agent) = 0;
  virtual std::vector<AgentRecord> agents() = 0;

  virtual void add_token(const TokenRecord& token) = 0;
  virtual std::optional<TokenRecord> token_by_hash(const std::string& hash) = 0;

  virtual std::vector<TargetRecord> targets() = 0;
  // Grows by one on every change of the target list; agents use it as the ETag.
  virtual int64_t targets_version() = 0;
  // Adds or replaces the target for its domain.
  virtual void put_target(const TargetRecord& target) = 0;
  // False when there was no such target.
  virtual bool remove_target(const std::string& domain) = 0;
};

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "storage: { sqlite: PATH }": WAL mode, one writer.
std::unique_ptr<Storage> open_sqlite_storage(const std::string& path);
// "storage: { postgres: CONNINFO }": libpq, prepared statements.
std::unique_ptr<Storage> open_postgres_storage(const std::string& conninfo);

}  // namespace vantage
