#include "storage_migrations.hh"

#include <array>

namespace vantage {
namespace {

// Times are epoch milliseconds (BIGINT), so both backends compare and index them alike. The
// CHECKs keep rows the collector could not serve (an empty key, a port of 0) out of the database.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE results (
  agent TEXT NOT NULL CHECK (agent <> ''),
  seq BIGINT NOT NULL CHECK (seq >= 0),
  domain TEXT NOT NULL CHECK (domain <> ''),
  started_at BIGINT NOT NULL,
  verdict TEXT NOT NULL,
  document TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (agent, seq)
);
CREATE INDEX results_domain_started_at ON results (domain, started_at);
CREATE TABLE agents (
  name TEXT PRIMARY KEY,
  asn BIGINT,
  address TEXT NOT NULL,
  version TEXT NOT NULL,
  last_seen BIGINT NOT NULL,
  uptime_s BIGINT NOT NULL,
  spool_depth BIGINT NOT NULL
);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('agent', 'operator')),
  created_at BIGINT NOT NULL
);
CREATE TABLE targets (
  domain TEXT PRIMARY KEY CHECK (domain <> ''),
  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  path TEXT NOT NULL,
  expect_status TEXT NOT NULL,
  body_regex TEXT NOT NULL
);
CREATE TABLE targets_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version BIGINT NOT NULL
);
INSERT INTO targets_state (id, version) VALUES (1, 0);
)sql";

// Every change of a domain's verdict or scope. Two changes of one domain within one millisecond
// keep the later (ON CONFLICT DO UPDATE): the state a reader should see.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE verdict_changes (
  domain TEXT NOT NULL CHECK (domain <> ''),
  changed_at BIGINT NOT NULL,
  verdict TEXT NOT NULL,
  scope TEXT NOT NULL,
  previous_verdict TEXT NOT NULL,
  state TEXT NOT NULL,
  PRIMARY KEY (domain, changed_at)
);
)sql";

constexpr std::array kMigrations = {
    Migration{1, "results, agents, tokens, targets", kVersion1},
    Migration{2, "verdict_changes", kVersion2},
};

}  // namespace

std::span<const Migration> schema_migrations() {
  return kMigrations;
}

int latest_schema_version() {
  return kMigrations.back().version;
}

}  // namespace vantage
