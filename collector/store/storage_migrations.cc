#include "storage_migrations.hh"

#include <array>

#include "verdict_state_format.hh"

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

// Results keyed by (agent, epoch, seq): an agent whose state directory is new numbers from 1
// again under a new epoch. Neither backend can change a primary key in place, so the table is
// copied; rows from before keep epoch 0, which agents that send no epoch go on using. Agents
// gain the epoch and the spool's dropped count of their latest heartbeat.
constexpr std::string_view kVersion3 = R"sql(
CREATE TABLE results_by_epoch (
  agent TEXT NOT NULL CHECK (agent <> ''),
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  seq BIGINT NOT NULL CHECK (seq >= 0),
  domain TEXT NOT NULL CHECK (domain <> ''),
  started_at BIGINT NOT NULL,
  verdict TEXT NOT NULL,
  document TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (agent, epoch, seq)
);
INSERT INTO results_by_epoch (agent, epoch, seq, domain, started_at, verdict, document, received_at)
  SELECT agent, 0, seq, domain, started_at, verdict, document, received_at FROM results;
DROP TABLE results;
ALTER TABLE results_by_epoch RENAME TO results;
CREATE INDEX results_domain_started_at ON results (domain, started_at);
ALTER TABLE agents ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN spool_dropped BIGINT NOT NULL DEFAULT 0;
)sql";

// Alerts and, per receiver, where each of their events stands (collector/store/alert_store.hh),
// so that a restart neither forgets an alert nor claims a delivery that did not happen; and the
// domains whose targets were removed, which a restart must not bring back. At most one firing
// alert per domain.
constexpr std::string_view kVersion4 = R"sql(
CREATE TABLE alerts (
  id BIGINT PRIMARY KEY CHECK (id > 0),
  domain TEXT NOT NULL CHECK (domain <> ''),
  verdict TEXT NOT NULL CHECK (verdict IN ('ROUTE_LOSS', 'DNS_FAILURE', 'DOMAIN_VANISHED',
    'SERVER_DOWN', 'TLS_FAILURE', 'HTTP_ERROR', 'DEGRADED')),
  scope TEXT NOT NULL,
  since BIGINT NOT NULL,
  affected_vantages TEXT NOT NULL,
  affected_asns TEXT NOT NULL,
  affected_networks TEXT NOT NULL,
  evidence TEXT NOT NULL,
  resolved_at BIGINT,
  resolved_by TEXT CHECK (resolved_by IN ('verdict', 'target_removed')),
  resolved_to TEXT CHECK (resolved_to IN ('OK', 'ROUTE_LOSS', 'DNS_FAILURE', 'DOMAIN_VANISHED',
    'SERVER_DOWN', 'TLS_FAILURE', 'HTTP_ERROR', 'DEGRADED', 'UNKNOWN', 'VANTAGE_ISOLATED')),
  CHECK ((resolved_at IS NULL) = (resolved_by IS NULL)),
  CHECK ((resolved_to IS NOT NULL) = (resolved_by IS NOT NULL AND resolved_by = 'verdict'))
);
CREATE UNIQUE INDEX alerts_one_firing_per_domain ON alerts (domain) WHERE resolved_at IS NULL;
CREATE INDEX alerts_resolved_at ON alerts (resolved_at);
CREATE TABLE alert_deliveries (
  alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  receiver TEXT NOT NULL CHECK (receiver <> ''),
  event TEXT NOT NULL CHECK (event IN ('firing', 'resolve')),
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
  attempts BIGINT NOT NULL CHECK (attempts >= 0),
  last_attempt BIGINT,
  delivered_at BIGINT,
  last_error TEXT NOT NULL,
  PRIMARY KEY (alert_id, receiver, event)
);
CREATE INDEX alert_deliveries_state ON alert_deliveries (state);
CREATE TABLE removed_targets (
  domain TEXT PRIMARY KEY CHECK (domain <> ''),
  removed_at BIGINT NOT NULL
);
)sql";

// verdict_changes.state from the read API's document of the time to storage's own format 1
// (verdict_state_format.hh). The (domain, changed_at) primary key already serves "the latest N
// changes of a domain", so no index is added.
constexpr ColumnRewrite kVersion6Rewrite{"verdict_changes", "domain, changed_at", "state",
                                         &convert_api_document_state};

// What correlation needs of each result (collector/correlate/cycle_summary.hh), so that a restart
// replays recent results without reading their documents. Rows from before have none (NULL) and
// are summarised from their documents when a replay reads them.
constexpr std::string_view kVersion5 = R"sql(
ALTER TABLE results ADD COLUMN summary TEXT;
)sql";

// Compact rows and retention. New documents are stored zstd-compressed in document_zstd (BYTEA:
// SQLite keeps a blob as a blob whatever the declared type), `document` is '' for them;
// compress_text_documents converts the rows of earlier versions in batches, found by
// results_text_documents, which empties as it goes, so an interrupted conversion resumes where
// it stopped. Each retention rule reads an index of its own: the results and changes older than
// a cutoff, and the documents still held, OK and not OK apart. Results by start time replace
// results by domain and start time, which no query of the collector's needs (a restart replays
// by time, history reads verdict_changes): each index is paid for by every insert.
constexpr std::string_view kVersion7 = R"sql(
ALTER TABLE results ADD COLUMN document_zstd BYTEA;
DROP INDEX results_domain_started_at;
CREATE INDEX results_started_at ON results (started_at);
CREATE INDEX results_ok_documents ON results (started_at)
  WHERE document_zstd IS NOT NULL AND verdict = 'OK';
CREATE INDEX results_evidence ON results (started_at)
  WHERE document_zstd IS NOT NULL AND verdict <> 'OK';
CREATE INDEX results_text_documents ON results (agent, epoch, seq) WHERE document <> '';
CREATE INDEX verdict_changes_changed_at ON verdict_changes (changed_at);
)sql";

// Rollups (collector/store/rollup.hh): per domain, agent and hour or UTC day, the cycles read each
// verdict, a column each, and each timed check's latency histogram. Keyed domain first: uptime
// and explain read one domain's, pruning reads by span and start. The results already stored are
// counted in, by verdict; their latency is in their documents only, so those rollups have none.
constexpr std::string_view kVersion8 = R"sql(
CREATE TABLE rollups (
  domain TEXT NOT NULL CHECK (domain <> ''),
  span TEXT NOT NULL CHECK (span IN ('hour', 'day')),
  start_at BIGINT NOT NULL,
  agent TEXT NOT NULL CHECK (agent <> ''),
  ok BIGINT NOT NULL CHECK (ok >= 0),
  route_loss BIGINT NOT NULL CHECK (route_loss >= 0),
  dns_failure BIGINT NOT NULL CHECK (dns_failure >= 0),
  domain_vanished BIGINT NOT NULL CHECK (domain_vanished >= 0),
  server_down BIGINT NOT NULL CHECK (server_down >= 0),
  tls_failure BIGINT NOT NULL CHECK (tls_failure >= 0),
  http_error BIGINT NOT NULL CHECK (http_error >= 0),
  degraded BIGINT NOT NULL CHECK (degraded >= 0),
  unknown BIGINT NOT NULL CHECK (unknown >= 0),
  vantage_isolated BIGINT NOT NULL CHECK (vantage_isolated >= 0),
  latency TEXT NOT NULL,
  PRIMARY KEY (domain, span, start_at, agent)
);
CREATE INDEX rollups_span_start_at ON rollups (span, start_at);
INSERT INTO rollups (domain, span, start_at, agent, ok, route_loss, dns_failure, domain_vanished,
  server_down, tls_failure, http_error, degraded, unknown, vantage_isolated, latency)
SELECT domain, 'hour', started_at - started_at % 3600000, agent,
  SUM(CASE WHEN verdict = 'OK' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'ROUTE_LOSS' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'DNS_FAILURE' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'DOMAIN_VANISHED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'SERVER_DOWN' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'TLS_FAILURE' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'HTTP_ERROR' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'DEGRADED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'UNKNOWN' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'VANTAGE_ISOLATED' THEN 1 ELSE 0 END),
  ''
FROM results GROUP BY domain, started_at - started_at % 3600000, agent;
INSERT INTO rollups (domain, span, start_at, agent, ok, route_loss, dns_failure, domain_vanished,
  server_down, tls_failure, http_error, degraded, unknown, vantage_isolated, latency)
SELECT domain, 'day', started_at - started_at % 86400000, agent,
  SUM(CASE WHEN verdict = 'OK' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'ROUTE_LOSS' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'DNS_FAILURE' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'DOMAIN_VANISHED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'SERVER_DOWN' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'TLS_FAILURE' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'HTTP_ERROR' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'DEGRADED' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'UNKNOWN' THEN 1 ELSE 0 END),
  SUM(CASE WHEN verdict = 'VANTAGE_ISOLATED' THEN 1 ELSE 0 END),
  ''
FROM results GROUP BY domain, started_at - started_at % 86400000, agent;
)sql";

// Rollups: the index by span and start, for pruning and uptime, became PostgreSQL's choice for the
// latency update of a batch's rollups (a join on the whole key), scanning every rollup of the
// hour for each, thousands per key in a fleet: an index per span on the start alone serves the
// reads that name their span and cannot serve a lookup by key.
constexpr std::string_view kVersion9 = R"sql(
DROP INDEX rollups_span_start_at;
CREATE INDEX rollups_hours ON rollups (start_at) WHERE span = 'hour';
CREATE INDEX rollups_days ON rollups (start_at) WHERE span = 'day';
)sql";

// SQLite gives a page back only once every row on it is gone, and appends rows in rowid order:
// dropping a document from a row that stays (retention keeps rows longer than documents) freed
// almost nothing, and a month's results took ~1.7 KB a row with 85 % of the documents dropped.
// Documents move to a table of their own, keyed by the result's new id, so they age in id order
// and whole pages of them empty together. `results.document_zstd` stays, as an empty blob where
// the document is in result_documents (what the retention indexes and counts of both backends
// read). The explicit id keeps the key across a VACUUM, which renumbers implicit rowids. The copy
// goes in start order, the order in which retention removes rows and documents. PostgreSQL reuses
// the space of a dropped document in place and keeps its documents in the row.
constexpr std::string_view kVersion9Sqlite = R"sql(
CREATE TABLE results_by_id (
  id INTEGER PRIMARY KEY,
  agent TEXT NOT NULL CHECK (agent <> ''),
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  seq BIGINT NOT NULL CHECK (seq >= 0),
  domain TEXT NOT NULL CHECK (domain <> ''),
  started_at BIGINT NOT NULL,
  verdict TEXT NOT NULL,
  document TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  summary TEXT,
  document_zstd BYTEA,
  UNIQUE (agent, epoch, seq)
);
CREATE TABLE result_documents (
  result_id INTEGER PRIMARY KEY,
  document_zstd BYTEA NOT NULL
);
INSERT INTO results_by_id (agent, epoch, seq, domain, started_at, verdict, document, received_at,
  summary, document_zstd)
SELECT agent, epoch, seq, domain, started_at, verdict, document, received_at, summary,
  CASE WHEN document_zstd IS NULL THEN NULL ELSE X'' END
FROM results ORDER BY started_at, agent, epoch, seq;
INSERT INTO result_documents (result_id, document_zstd)
SELECT n.id, o.document_zstd FROM results o
JOIN results_by_id n ON n.agent = o.agent AND n.epoch = o.epoch AND n.seq = o.seq
WHERE o.document_zstd IS NOT NULL ORDER BY n.id;
DROP TABLE results;
ALTER TABLE results_by_id RENAME TO results;
CREATE INDEX results_started_at ON results (started_at);
CREATE INDEX results_ok_documents ON results (started_at)
  WHERE document_zstd IS NOT NULL AND verdict = 'OK';
CREATE INDEX results_evidence ON results (started_at)
  WHERE document_zstd IS NOT NULL AND verdict <> 'OK';
CREATE INDEX results_text_documents ON results (agent, epoch, seq) WHERE document <> '';
CREATE TRIGGER results_document_dropped AFTER UPDATE OF document_zstd ON results
  WHEN new.document_zstd IS NULL
BEGIN
  DELETE FROM result_documents WHERE result_id = old.id;
END;
CREATE TRIGGER results_deleted AFTER DELETE ON results
BEGIN
  DELETE FROM result_documents WHERE result_id = old.id;
END;
)sql";

// PostgreSQL keeps results in a partition per UTC day of started_at, so that retention drops a
// whole expired day instead of deleting its rows one by one (and leaving them to vacuum). The
// table is copied in this transaction: the day partitions of the rows already stored first, the
// rows, then the key and the indexes of version 7, made on the parent so that every partition,
// also those store_results creates later, has them. A unique key of a partitioned table must hold
// the partition key, so the primary key gains started_at: a re-upload is the same spooled document
// with the same start, and store_results finds a stored (agent, epoch, seq) of another start
// itself (postgres_storage.cc). SQLite keeps its one table.
constexpr std::string_view kVersion9Postgres = R"sql(
ALTER TABLE results RENAME TO results_unpartitioned;
CREATE TABLE results (
  agent TEXT NOT NULL CHECK (agent <> ''),
  epoch BIGINT NOT NULL CHECK (epoch >= 0),
  seq BIGINT NOT NULL CHECK (seq >= 0),
  domain TEXT NOT NULL CHECK (domain <> ''),
  started_at BIGINT NOT NULL,
  verdict TEXT NOT NULL,
  document TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  summary TEXT,
  document_zstd BYTEA
) PARTITION BY RANGE (started_at);
DO $$
DECLARE
  day BIGINT;
BEGIN
  FOR day IN SELECT DISTINCT started_at - ((started_at % 86400000) + 86400000) % 86400000
             FROM results_unpartitioned LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF results FOR VALUES FROM (%s) TO (%s)',
                   'results_d' || to_char(to_timestamp(day / 1000) AT TIME ZONE 'UTC', 'YYYYMMDD'),
                   day, day + 86400000);
  END LOOP;
END
$$;
INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, document, received_at,
  summary, document_zstd)
SELECT agent, epoch, seq, domain, started_at, verdict, document, received_at, summary,
  document_zstd
FROM results_unpartitioned;
DROP TABLE results_unpartitioned;
ALTER TABLE results ADD PRIMARY KEY (agent, epoch, seq, started_at);
CREATE INDEX results_started_at ON results (started_at);
CREATE INDEX results_ok_documents ON results (started_at)
  WHERE document_zstd IS NOT NULL AND verdict = 'OK';
CREATE INDEX results_evidence ON results (started_at)
  WHERE document_zstd IS NOT NULL AND verdict <> 'OK';
CREATE INDEX results_text_documents ON results (agent, epoch, seq) WHERE document <> '';
)sql";

// Rollups are folded from the stored results after the upload's transaction (rollup.hh), up to
// the mark in rollup_fold; each result keeps its check latencies until then. Every result stored
// before this version is in the rollups already (version 8 counted them, and every store since
// added to them), so the mark starts past the newest of them.
constexpr std::string_view kVersion10 = R"sql(
ALTER TABLE results ADD COLUMN latency TEXT;
CREATE TABLE rollup_fold (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  folded_before BIGINT NOT NULL
);
INSERT INTO rollup_fold (id, folded_before) SELECT 1, COALESCE(MAX(started_at) + 1, 0) FROM results;
)sql";

// A token can end (revoked now, or rotated: the old secret works for a grace period) and records
// when it was last presented, so that `token list` can say which ones are still in use.
constexpr std::string_view kVersion11 = R"sql(
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX tokens_name ON tokens (name);
)sql";

// Maintenance windows and silences hold alerts back (collector/alert/muting.hh). A window's start
// is local wall-clock time in its time zone, so that "02:00 in Europe/Berlin" stays 02:00 across
// daylight-saving changes.
constexpr std::string_view kVersion12 = R"sql(
CREATE TABLE maintenance_windows (
  id BIGINT PRIMARY KEY,
  domain TEXT NOT NULL,
  start_local TEXT NOT NULL,
  duration_s BIGINT NOT NULL,
  weekdays INTEGER NOT NULL,
  timezone TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE silences (
  id BIGINT PRIMARY KEY,
  domain TEXT NOT NULL,
  verdict TEXT,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  comment TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expired_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX silences_ends_at ON silences (ends_at);
)sql";

// Targets of other kinds than https (http, tcp) and their certificate settings; a target's
// domain may be an IP address.
constexpr std::string_view kVersion13 = R"sql(
ALTER TABLE targets ADD COLUMN kind TEXT NOT NULL DEFAULT 'https';
ALTER TABLE targets ADD COLUMN ca_file TEXT NOT NULL DEFAULT '';
ALTER TABLE targets ADD COLUMN insecure INTEGER NOT NULL DEFAULT 0;
)sql";

// How long before expiry a target's certificates and DNSSEC signatures are warned of.
constexpr std::string_view kVersion14 = R"sql(
ALTER TABLE targets ADD COLUMN warn_certificate_ms BIGINT NOT NULL DEFAULT 1209600000;
ALTER TABLE targets ADD COLUMN warn_signature_ms BIGINT NOT NULL DEFAULT 259200000;
)sql";

constexpr std::array kMigrations = {
    Migration{1, "results, agents, tokens, targets", kVersion1},
    Migration{2, "verdict_changes", kVersion2},
    Migration{3, "results keyed by agent epoch; agents epoch, spool_dropped", kVersion3},
    Migration{4, "alerts, alert_deliveries, removed_targets", kVersion4},
    Migration{5, "results.summary", kVersion5},
    Migration{6, "verdict_changes.state in storage format 1", "", kVersion6Rewrite},
    Migration{7, "results.document_zstd; retention indexes", kVersion7},
    Migration{8, "rollups, counted from the results stored", kVersion8},
    Migration{.version = 9,
              .description = "rollups indexed by start per span; results: on SQLite keyed by id, "
                             "documents in result_documents; on PostgreSQL partitioned by UTC day",
              .sql = kVersion9,
              .sqlite_sql = kVersion9Sqlite,
              .postgres_sql = kVersion9Postgres},
    Migration{10, "results.latency; rollup_fold: rollups folded after the upload", kVersion10},
    Migration{11, "tokens.expires_at, tokens.last_used_at", kVersion11},
    Migration{12, "maintenance_windows, silences", kVersion12},
    Migration{13, "targets.kind, targets.ca_file, targets.insecure", kVersion13},
    Migration{14, "targets.warn_certificate_ms, targets.warn_signature_ms", kVersion14},
};

}  // namespace

std::span<const Migration> schema_migrations() {
  return kMigrations;
}

int latest_schema_version() {
  return kMigrations.back().version;
}

}  // namespace vantage
