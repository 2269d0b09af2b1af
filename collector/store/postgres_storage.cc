// PostgreSQL storage: one libpq connection behind a mutex, every statement prepared once per
// connection. A result batch is a single INSERT … SELECT FROM unnest(arrays) with the arrays sent
// in binary, and no escaping of documents; only the results it skips as already stored are sent
// again, to compare their documents with the stored ones.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "document_codec.hh"
#include "group_commit.hh"
#include "rollup_sql.hh"
#include "storage.hh"
#include "storage_common.hh"
#include "storage_migrations.hh"
#include "stored_values.hh"
#include "verdict_state_format.hh"

namespace vantage {
namespace {

using storage_detail::checked_epoch;
using storage_detail::checked_seq;
using storage_detail::decode_expect_status;
using storage_detail::decode_target_kind;
using storage_detail::encode_expect_status;
using storage_detail::from_epoch_ms;
using storage_detail::limit_value;
using storage_detail::now_epoch_ms;
using storage_detail::to_epoch_ms;

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Type OIDs (pg_type.dat); fixed since PostgreSQL 7.
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kTextArrayOid = 1009;
constexpr Oid kInt8ArrayOid = 1016;
constexpr Oid kByteaOid = 17;
constexpr Oid kByteaArrayOid = 1001;

// Taken by migrate() for its transaction, so that collectors starting together migrate in turn.
constexpr int64_t kMigrationLockKey = 0x76616e7461676531;  // "vantage1"
// Advisory locks of two int4 keys, apart from the migration's one bigint key: the first names
// what is locked, the second which one (a day since the epoch, an agent's hashtext).
constexpr int32_t kPartitionLockClass = 0x76706172;  // "vpar"

// Results are kept in a partition per UTC day of started_at (storage_migrations.cc).
constexpr int64_t kDayMs = 86'400'000;

// The start of the UTC day of `ms`, also before 1970.
int64_t day_start(int64_t ms) {
  return ms - ((ms % kDayMs) + kDayMs) % kDayMs;
}

// "results_d20261128": the name the partitioning migration gives the day's partition too. Names of
// one length sort as their days do, which finding the expired ones relies on.
std::string partition_name(int64_t day_start_ms) {
  const std::chrono::year_month_day date(std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(day_start_ms))));
  return fmt::format("results_d{:04}{:02}{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

// A statement prepared under `name` on every connection before its first use.
struct Sql {
  const char* name;
  const char* text;
  std::span<const Oid> types;
};

constexpr std::array<Oid, 10> kInsertResultsTypes = {
    kTextArrayOid,  kInt8ArrayOid, kTextArrayOid, kInt8ArrayOid, kTextArrayOid,
    kByteaArrayOid, kInt8Oid,      kInt8ArrayOid, kTextArrayOid, kTextArrayOid};
// Rows go in key order: two batches that overlap then wait for each other's keys in the same
// order and cannot deadlock. Of a key repeated in the batch only the first row is offered (the
// primary key holds started_at, so a repeat with another start would not conflict with it);
// decide_fates judges the repeats. Returns the keys it inserted. Every unique key of a
// partitioned table must hold the partition key: a re-upload is the agent's same spooled
// document, of the same start, and so still conflicts here. The same (agent, epoch, seq) stored
// with another start is found before, by kStoredUnderOtherStart.
constexpr Sql kInsertResults{
    "vantage_insert_results",
    "INSERT INTO results (agent, epoch, seq, domain, started_at, verdict, document, "
    "document_zstd, received_at, summary, latency) "
    "SELECT DISTINCT ON (b.agent, b.epoch, b.seq) b.agent, b.epoch, b.seq, b.domain, "
    "b.started_at, b.verdict, '', b.document_zstd, $7, NULLIF(b.summary, ''), "
    "NULLIF(b.latency, '') "
    "FROM unnest($1::text[], $8::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], "
    "$6::bytea[], $9::text[], $10::text[]) WITH ORDINALITY AS b(agent, epoch, seq, domain, "
    "started_at, verdict, document_zstd, summary, latency, n) "
    "ORDER BY b.agent, b.epoch, b.seq, b.n "
    "ON CONFLICT (agent, epoch, seq, started_at) DO NOTHING RETURNING agent, epoch, seq",
    kInsertResultsTypes};
// A batch's keys: agents, epochs, seqs and starts, in the batch's order (batch_keys).
constexpr std::array<Oid, 4> kBatchKeysTypes = {kTextArrayOid, kInt8ArrayOid, kInt8ArrayOid,
                                                kInt8ArrayOid};
// Taken at the start of store_results' transaction, in one order, so that two uploads of one
// agent store in turn: kStoredUnderOtherStart then sees every row of the agent that another
// upload stored, which the primary key alone (it holds started_at) no longer guarantees.
// Uploads of one agent rarely overlap (a retry of a batch that timed out), so this costs no wait.
// 1986094964 is 0x76616774, "vagt", the class of these locks. Also reads the fold mark, shared:
// the fold takes it for update, so a batch and a fold (which both write rollups, and must agree
// on which results the fold has passed) do not overlap.
constexpr Sql kLockAgents{"vantage_lock_agents",
                          "SELECT COUNT(pg_advisory_xact_lock(1986094964, hashtext(a))), "
                          "(SELECT folded_before FROM rollup_fold WHERE id = 1 FOR SHARE) "
                          "FROM (SELECT DISTINCT a FROM unnest($1::text[]) AS a ORDER BY a) agents",
                          kBatchKeysTypes};
// The batch's results (1-based) whose (agent, epoch, seq) is stored with another start: another
// cycle under the same key, a conflict the primary key does not see. Each partition's key index
// is read once per agent and epoch of the batch, over the seqs the batch spans, not once per
// result: OFFSET 0 keeps the lateral subquery a nested loop over those few spans, which the
// planner would otherwise merge-join with all of the agent's rows.
constexpr Sql kStoredUnderOtherStart{
    "vantage_stored_under_other_start",
    "WITH batch AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], "
    "$4::bigint[]) WITH ORDINALITY AS b(agent, epoch, seq, started_at, n)), "
    "spans AS MATERIALIZED (SELECT agent, epoch, MIN(seq) AS first_seq, MAX(seq) AS last_seq "
    "FROM batch GROUP BY agent, epoch), "
    "stored AS MATERIALIZED (SELECT r.agent, r.epoch, r.seq, r.started_at FROM spans s "
    "CROSS JOIN LATERAL (SELECT agent, epoch, seq, started_at FROM results "
    "WHERE agent = s.agent AND epoch = s.epoch AND seq BETWEEN s.first_seq AND s.last_seq "
    "OFFSET 0) r) "
    "SELECT DISTINCT b.n FROM batch b JOIN stored r ON r.agent = b.agent AND r.epoch = b.epoch "
    "AND r.seq = b.seq AND r.started_at <> b.started_at",
    kBatchKeysTypes};
// For the results the insert skipped, in their order: is the key stored, and what to compare
// with (storage_common.hh: same_result). A statement of its own, so that under READ COMMITTED it
// also sees a row another upload committed while the insert waited for it.
constexpr Sql kStoredResults{
    "vantage_stored_results",
    "SELECT r.agent IS NOT NULL, r.document, r.document_zstd, r.started_at, r.domain "
    "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY "
    "AS u(agent, epoch, seq, started_at, n) "
    "LEFT JOIN results r ON r.agent = u.agent AND r.epoch = u.epoch AND r.seq = u.seq "
    "AND r.started_at = u.started_at "
    "ORDER BY u.n",
    kBatchKeysTypes};
constexpr Sql kCountResults{"vantage_count_results", "SELECT COUNT(*) FROM results", {}};
constexpr std::array<Oid, 1> kNewestEpochTypes = {kTextOid};
constexpr Sql kNewestEpoch{"vantage_newest_epoch",
                           "SELECT MAX(epoch) FROM results WHERE agent = $1", kNewestEpochTypes};
constexpr std::array<Oid, 2> kReplayResultsTypes = {kInt8Oid, kInt8Oid};
// A row without a summary (stored before migration 5) comes with its document instead.
constexpr Sql kReplayResults{
    "vantage_replay_results",
    "SELECT agent, seq, domain, started_at, verdict, "
    "CASE WHEN summary IS NULL THEN document ELSE '' END, epoch, summary, "
    "CASE WHEN summary IS NULL THEN document_zstd END FROM results "
    "WHERE started_at >= $1 ORDER BY started_at, agent, epoch, seq LIMIT $2",
    kReplayResultsTypes};
constexpr std::array<Oid, 4> kSelectResultsTypes = {kInt8Oid, kTextOid, kTextOid, kInt8Oid};
// Indexed by (domain given) + 2 * (agent given); separate statements so that each plan can use
// its index. Unused parameters are typed, so every variant takes the same four.
constexpr std::array<Sql, 4> kSelectResults = {
    Sql{"vantage_results_all",
        "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, document_zstd "
        "FROM results "
        "WHERE started_at >= $1 "
        "ORDER BY started_at, agent, epoch, seq LIMIT $4",
        kSelectResultsTypes},
    Sql{"vantage_results_domain",
        "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, document_zstd "
        "FROM results "
        "WHERE domain = $2 AND started_at >= $1 "
        "ORDER BY started_at, agent, epoch, seq LIMIT $4",
        kSelectResultsTypes},
    Sql{"vantage_results_agent",
        "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, document_zstd "
        "FROM results "
        "WHERE agent = $3 AND started_at >= $1 "
        "ORDER BY started_at, agent, epoch, seq LIMIT $4",
        kSelectResultsTypes},
    Sql{"vantage_results_domain_agent",
        "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, document_zstd "
        "FROM results "
        "WHERE domain = $2 AND agent = $3 AND started_at >= $1 "
        "ORDER BY started_at, agent, epoch, seq LIMIT $4",
        kSelectResultsTypes},
};
// Retention (Storage::prune): each kind of result row is removed in two steps, `oldest` the
// start of its oldest row (through an index of its own), then `remove` at most $2 of its rows in
// the partition of that row's UTC day, named where it reads {partition}. Within one partition a
// ctid names one row (across partitions it does not), so the rows are removed by ctid, and a pass
// reads what it removes and not what it keeps. The remove statements name their partition and
// are not prepared. Both take the same parameters ($2 unused by `oldest`). A document whose row
// goes too (started before $3, the results' cutoff) is left to the row's deletion: dropping it
// first would write it twice.
struct PruneStatements {
  Sql oldest;
  const char* remove;
};
constexpr std::array<Oid, 2> kPruneTypes = {kInt8Oid, kInt8Oid};
constexpr std::array<Oid, 3> kPruneDocumentsTypes = {kInt8Oid, kInt8Oid, kInt8Oid};
constexpr PruneStatements kPruneOkDocuments{
    {"vantage_oldest_ok_document",
     "SELECT MIN(started_at) FROM results WHERE document_zstd IS NOT NULL AND verdict = 'OK' "
     "AND started_at < $1 AND started_at >= $3",
     kPruneDocumentsTypes},
    "UPDATE {partition} SET document_zstd = NULL WHERE ctid = ANY(ARRAY(SELECT ctid "
    "FROM {partition} WHERE document_zstd IS NOT NULL AND verdict = 'OK' AND started_at < $1 "
    "AND started_at >= $3 LIMIT $2))"};
constexpr PruneStatements kPruneEvidence{
    {"vantage_oldest_evidence",
     "SELECT MIN(started_at) FROM results WHERE document_zstd IS NOT NULL AND verdict <> 'OK' "
     "AND started_at < $1 AND started_at >= $3",
     kPruneDocumentsTypes},
    "UPDATE {partition} SET document_zstd = NULL WHERE ctid = ANY(ARRAY(SELECT ctid "
    "FROM {partition} WHERE document_zstd IS NOT NULL AND verdict <> 'OK' AND started_at < $1 "
    "AND started_at >= $3 LIMIT $2))"};
// The rows of the day the cutoff falls in, and of expired days not dropped yet: the days before
// the cutoff's go whole (kExpiredPartition), one a call.
constexpr PruneStatements kPruneResults{
    {"vantage_oldest_result", "SELECT MIN(started_at) FROM results WHERE started_at < $1",
     kPruneTypes},
    "DELETE FROM {partition} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {partition} "
    "WHERE started_at < $1 LIMIT $2))"};
constexpr std::array<Oid, 1> kExpiredPartitionTypes = {kTextOid};
// The oldest partition of a day before $1, the name of the cutoff's day's partition: all its rows
// are past the cutoff.
constexpr Sql kExpiredPartition{"vantage_expired_partition",
                                "SELECT c.relname FROM pg_inherits i "
                                "JOIN pg_class c ON c.oid = i.inhrelid "
                                "WHERE i.inhparent = 'results'::regclass "
                                "AND c.relname::text COLLATE \"C\" < $1 "
                                "ORDER BY c.relname::text COLLATE \"C\" LIMIT 1",
                                kExpiredPartitionTypes};
constexpr Sql kPruneVerdictChanges{
    "vantage_prune_verdict_changes",
    "DELETE FROM verdict_changes WHERE ctid = ANY(ARRAY(SELECT ctid FROM verdict_changes v "
    "WHERE changed_at < $1 AND changed_at < (SELECT MAX(changed_at) FROM verdict_changes w "
    "WHERE w.domain = v.domain) LIMIT $2))",
    kPruneTypes};
// Their deliveries go with them (ON DELETE CASCADE).
constexpr Sql kPruneAlerts{"vantage_prune_alerts",
                           "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts "
                           "WHERE resolved_at < $1 ORDER BY resolved_at, id LIMIT $2)",
                           kPruneTypes};
constexpr std::array<Oid, 1> kTextDocumentsTypes = {kInt8Oid};
constexpr Sql kTextDocuments{
    "vantage_text_documents",
    "SELECT agent, epoch, seq, document, started_at FROM results WHERE document <> '' LIMIT $1",
    kTextDocumentsTypes};
constexpr std::array<Oid, 5> kCompressTextDocumentsTypes = {
    kTextArrayOid, kInt8ArrayOid, kInt8ArrayOid, kByteaArrayOid, kInt8ArrayOid};
// By the whole primary key, so that each row is looked up in its day's partition only.
constexpr Sql kCompressTextDocuments{
    "vantage_compress_text_documents",
    "UPDATE results r SET document = '', document_zstd = u.document_zstd "
    "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bigint[]) "
    "AS u(agent, epoch, seq, document_zstd, started_at) "
    "WHERE r.agent = u.agent AND r.epoch = u.epoch AND r.seq = u.seq "
    "AND r.started_at = u.started_at",
    kCompressTextDocumentsTypes};
// Rollups (rollup_sql.hh); their texts are built from the verdict columns, once.
constexpr std::array<Oid, 5 + kVerdicts> kAddToRollupsTypes = [] {
  std::array<Oid, 5 + kVerdicts> types{kTextArrayOid, kTextArrayOid, kInt8ArrayOid, kTextArrayOid};
  for (size_t i = 4; i < 4 + kVerdicts; ++i) {
    types[i] = kInt8ArrayOid;
  }
  types.back() = kTextArrayOid;
  return types;
}();
const Sql& add_to_rollups_statement() {
  static const Sql sql{"vantage_add_to_rollups", storage_detail::add_to_rollups_sql().c_str(),
                       kAddToRollupsTypes};
  return sql;
}
// A batch's rollups are read, merged (the latency column, in C++) and written under its agents'
// locks (kLockAgents, taken by store_results): a rollup is of one agent, so no other upload
// writes it between the read and the write.
// Not prepared: planned at each batch for the table as it is now. A prepared plan made while the
// table was new (no statistics, no pages) read the whole table for every key, and kept doing so
// as it grew until autovacuum analysed it: 33 ms a batch at 128,000 rollups (bench/ingest).
constexpr std::string_view kRollupLatencies =
    "SELECT u.domain, u.span, u.start_at, u.agent, r.latency "
    "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) "
    "AS u(domain, span, start_at, agent) CROSS JOIN LATERAL (SELECT latency FROM rollups "
    "WHERE domain = u.domain AND span = u.span AND start_at = u.start_at AND agent = u.agent) r";
constexpr std::array<Oid, 3> kSelectRollupsTypes = {kTextOid, kInt8Oid, kInt8Oid};
constexpr std::array<Oid, 4> kSelectDomainRollupsTypes = {kTextOid, kInt8Oid, kTextOid, kInt8Oid};
const Sql& select_rollups(bool one_domain) {
  static const Sql all{"vantage_rollups_all", storage_detail::select_rollups_sql(false).c_str(),
                       kSelectRollupsTypes};
  static const Sql one{"vantage_rollups_domain", storage_detail::select_rollups_sql(true).c_str(),
                       kSelectDomainRollupsTypes};
  return one_domain ? one : all;
}
constexpr std::array<Oid, 3> kUptimeTypes = {kInt8Oid, kInt8Oid, kTextOid};
const Sql& uptime_statement(RollupSpan span, bool one_domain) {
  const auto sql = [](const char* name, RollupSpan which, bool one) {
    return Sql{name, storage_detail::uptime_sql(which, one).c_str(),
               std::span(kUptimeTypes).first(one ? 3 : 2)};
  };
  static const std::array<Sql, 4> statements = {
      sql("vantage_uptime_hours", RollupSpan::Hour, false),
      sql("vantage_uptime_hours_domain", RollupSpan::Hour, true),
      sql("vantage_uptime_days", RollupSpan::Day, false),
      sql("vantage_uptime_days_domain", RollupSpan::Day, true)};
  return statements.at((span == RollupSpan::Hour ? 0 : 2) + (one_domain ? 1 : 0));
}
const Sql& prune_rollups(RollupSpan span) {
  static const Sql hours{"vantage_prune_hourly_rollups",
                         storage_detail::prune_rollups_sql(RollupSpan::Hour).c_str(), kPruneTypes};
  static const Sql days{"vantage_prune_daily_rollups",
                        storage_detail::prune_rollups_sql(RollupSpan::Day).c_str(), kPruneTypes};
  return span == RollupSpan::Hour ? hours : days;
}
constexpr Sql kDatabaseSize{
    "vantage_database_size", "SELECT pg_database_size(current_database())", {}};
constexpr std::array<Oid, 9> kUpsertAgentTypes = {kTextOid, kInt8Oid, kTextOid, kTextOid, kInt8Oid,
                                                  kInt8Oid, kInt8Oid, kInt8Oid, kInt8Oid};
constexpr Sql kUpsertAgent{
    "vantage_upsert_agent",
    "INSERT INTO agents (name, asn, address, version, last_seen, uptime_s, spool_depth, "
    "spool_dropped, epoch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
    "ON CONFLICT (name) DO UPDATE SET asn = EXCLUDED.asn, "
    "address = EXCLUDED.address, version = EXCLUDED.version, last_seen = EXCLUDED.last_seen, "
    "uptime_s = EXCLUDED.uptime_s, spool_depth = EXCLUDED.spool_depth, "
    "spool_dropped = EXCLUDED.spool_dropped, epoch = EXCLUDED.epoch",
    kUpsertAgentTypes};
constexpr Sql kSelectAgents{
    "vantage_agents",
    "SELECT name, asn, address, version, last_seen, uptime_s, spool_depth, spool_dropped, epoch "
    "FROM agents ORDER BY name",
    {}};
constexpr std::array<Oid, 5> kInsertTokenTypes = {kTextOid, kTextOid, kTextOid, kInt8Oid, kInt8Oid};
constexpr Sql kInsertToken{"vantage_insert_token",
                           "INSERT INTO tokens (hash, name, kind, created_at, expires_at) "
                           "VALUES ($1, $2, $3, $4, $5)",
                           kInsertTokenTypes};
constexpr std::array<Oid, 1> kOneTextType = {kTextOid};
constexpr Sql kSelectToken{"vantage_token",
                           "SELECT hash, name, kind, created_at, expires_at, last_used_at "
                           "FROM tokens WHERE hash = $1",
                           kOneTextType};
constexpr Sql kSelectTokens{"vantage_tokens",
                            "SELECT hash, name, kind, created_at, expires_at, last_used_at "
                            "FROM tokens ORDER BY name, created_at, hash",
                            {}};
constexpr std::array<Oid, 2> kTextInt8Types = {kTextOid, kInt8Oid};
constexpr Sql kEndTokens{"vantage_end_tokens",
                         "UPDATE tokens SET expires_at = $2 "
                         "WHERE name = $1 AND (expires_at IS NULL OR expires_at > $2)",
                         kTextInt8Types};
constexpr Sql kTokenUsed{"vantage_token_used",
                         "UPDATE tokens SET last_used_at = $2 WHERE hash = $1", kTextInt8Types};
constexpr Sql kSelectTargets{
    "vantage_targets",
    "SELECT domain, port, path, expect_status, body_regex, kind, ca_file, insecure, "
    "warn_certificate_ms, warn_signature_ms FROM targets ORDER BY domain",
    {}};
constexpr Sql kSelectTargetsVersion{
    "vantage_targets_version", "SELECT version FROM targets_state WHERE id = 1", {}};
constexpr std::array<Oid, 10> kPutTargetTypes = {kTextOid, kInt4Oid, kTextOid, kTextOid, kTextOid,
                                                 kTextOid, kTextOid, kInt4Oid, kInt8Oid, kInt8Oid};
// Changes nothing (and so counts no row) when the stored target is the same.
constexpr Sql kPutTarget{
    "vantage_put_target",
    "INSERT INTO targets (domain, port, path, expect_status, body_regex, kind, ca_file, insecure, "
    "warn_certificate_ms, warn_signature_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (domain) DO UPDATE "
    "SET port = EXCLUDED.port, path = EXCLUDED.path, expect_status = EXCLUDED.expect_status, "
    "body_regex = EXCLUDED.body_regex, kind = EXCLUDED.kind, ca_file = EXCLUDED.ca_file, "
    "insecure = EXCLUDED.insecure, warn_certificate_ms = EXCLUDED.warn_certificate_ms, "
    "warn_signature_ms = EXCLUDED.warn_signature_ms "
    "WHERE targets.port <> EXCLUDED.port OR targets.path <> EXCLUDED.path "
    "OR targets.expect_status <> EXCLUDED.expect_status "
    "OR targets.body_regex <> EXCLUDED.body_regex OR targets.kind <> EXCLUDED.kind "
    "OR targets.ca_file <> EXCLUDED.ca_file OR targets.insecure <> EXCLUDED.insecure "
    "OR targets.warn_certificate_ms <> EXCLUDED.warn_certificate_ms "
    "OR targets.warn_signature_ms <> EXCLUDED.warn_signature_ms",
    kPutTargetTypes};
constexpr Sql kRemoveTarget{"vantage_remove_target", "DELETE FROM targets WHERE domain = $1",
                            kOneTextType};
constexpr Sql kBumpTargetsVersion{"vantage_bump_targets_version",
                                  "UPDATE targets_state SET version = version + 1 WHERE id = 1",
                                  {}};
constexpr std::array<Oid, 6> kRecordVerdictTypes = {kTextOid, kInt8Oid, kTextOid,
                                                    kTextOid, kTextOid, kTextOid};
constexpr Sql kRecordVerdict{
    "vantage_record_verdict",
    "INSERT INTO verdict_changes (domain, changed_at, verdict, scope, previous_verdict, state) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (domain, changed_at) DO UPDATE SET "
    "verdict = EXCLUDED.verdict, scope = EXCLUDED.scope, "
    "previous_verdict = EXCLUDED.previous_verdict, state = EXCLUDED.state",
    kRecordVerdictTypes};
constexpr std::array<Oid, 3> kVerdictHistoryTypes = {kTextOid, kInt8Oid, kInt8Oid};
constexpr Sql kVerdictHistory{
    "vantage_verdict_history",
    "SELECT domain, changed_at, verdict, scope, previous_verdict, state FROM verdict_changes "
    "WHERE domain = $1 AND changed_at >= $2 ORDER BY changed_at LIMIT $3",
    kVerdictHistoryTypes};
constexpr Sql kLatestVerdicts{
    "vantage_latest_verdicts",
    "SELECT DISTINCT ON (domain) domain, changed_at, verdict, scope, previous_verdict, state "
    "FROM verdict_changes ORDER BY domain, changed_at DESC",
    {}};
constexpr std::array<Oid, 2> kLatestChangesTypes = {kTextOid, kInt8Oid};
constexpr Sql kLatestChanges{
    "vantage_latest_changes",
    "SELECT domain, changed_at, verdict, scope, previous_verdict, state FROM verdict_changes "
    "WHERE domain = $1 ORDER BY changed_at DESC LIMIT $2",
    kLatestChangesTypes};

// A parameter list for PQexecPrepared, owning its values.
class Params {
 public:
  // Text goes in binary format (the bytes themselves, with their length): a NUL or invalid UTF-8
  // is then refused by the server, never cut short by libpq.
  void text(std::string value) {
    storage_.push_back(std::move(value));
    formats_.push_back(1);
    null_.push_back(false);
  }
  void integer(int64_t value) {
    storage_.push_back(std::to_string(value));
    formats_.push_back(0);
    null_.push_back(false);
  }
  void optional_integer(std::optional<int64_t> value) {
    if (value) {
      integer(*value);
      return;
    }
    storage_.emplace_back();
    formats_.push_back(0);
    null_.push_back(true);
  }
  // Bytes in the parameter type's binary format.
  void binary(std::string bytes) { text(std::move(bytes)); }

  int size() const { return static_cast<int>(storage_.size()); }
  // Valid while this object lives and is not changed.
  void pointers(std::vector<const char*>& values, std::vector<int>& lengths) const {
    values.clear();
    lengths.clear();
    for (size_t i = 0; i < storage_.size(); ++i) {
      values.push_back(null_[i] ? nullptr : storage_[i].data());
      lengths.push_back(static_cast<int>(storage_[i].size()));
    }
  }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> storage_;
  std::vector<int> formats_;
  std::vector<bool> null_;
};

// Binary one-dimensional arrays (array_send's format): a header, then each element as a 32-bit
// length and its bytes, all integers in network order.
class BinaryArray {
 public:
  // `content_bytes`: the elements' own bytes, when known, so that the array is built in one
  // allocation (a batch's documents are hundreds of kilobytes).
  BinaryArray(Oid element_type, size_t count, size_t content_bytes = 0) {
    bytes_.reserve(20 + count * 12 + content_bytes);
    put32(1);  // dimensions
    put32(0);  // no NULLs
    put32(element_type);
    put32(static_cast<uint32_t>(count));
    put32(1);  // lower bound
  }
  void add(std::string_view text) {
    put32(static_cast<uint32_t>(text.size()));
    bytes_.append(text);
  }
  void add(int64_t value) {
    put32(8);
    const auto bits = static_cast<uint64_t>(value);
    put32(static_cast<uint32_t>(bits >> 32));
    put32(static_cast<uint32_t>(bits & 0xffffffffU));
  }
  std::string take() { return std::move(bytes_); }

 private:
  void put32(uint32_t value) {
    const uint32_t network = htonl(value);
    bytes_.append(reinterpret_cast<const char*>(&network), sizeof network);
  }
  std::string bytes_;
};

// The keys of batch[i] for each i of `which`, in that order, as kBatchKeysTypes reads them. The
// batch's epochs and seqs are checked before (checked_epoch, checked_seq).
Params batch_keys(const std::vector<StoredResult>& batch, const std::vector<size_t>& which) {
  BinaryArray agents(kTextOid, which.size());
  BinaryArray epochs(kInt8Oid, which.size());
  BinaryArray seqs(kInt8Oid, which.size());
  BinaryArray starts(kInt8Oid, which.size());
  for (const size_t i : which) {
    agents.add(batch[i].agent);
    epochs.add(static_cast<int64_t>(batch[i].epoch));
    seqs.add(static_cast<int64_t>(batch[i].seq));
    starts.add(to_epoch_ms(batch[i].started_at));
  }
  Params keys;
  keys.binary(agents.take());
  keys.binary(epochs.take());
  keys.binary(seqs.take());
  keys.binary(starts.take());
  return keys;
}

std::string int8_binary(int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  const uint32_t high = htonl(static_cast<uint32_t>(bits >> 32));
  const uint32_t low = htonl(static_cast<uint32_t>(bits & 0xffffffffU));
  std::string bytes(reinterpret_cast<const char*>(&high), sizeof high);
  bytes.append(reinterpret_cast<const char*>(&low), sizeof low);
  return bytes;
}

// libpq's messages end in a newline, and some run over several lines.
std::string one_line(std::string_view text) {
  std::string line;
  for (const char c : text) {
    if (c == '\n' || c == '\t') {
      if (!line.empty() && line.back() != ' ') {
        line += ' ';
      }
    } else {
      line += c;
    }
  }
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  return line;
}

// libpq prints notices ("relation already exists, skipping") on stderr unless told otherwise.
void log_notice(void* /*arg*/, const char* message) {
  std::string_view text(message);
  while (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  spdlog::debug("postgres: {}", text);
}

class PostgresStorage final : public Storage {
 public:
  explicit PostgresStorage(std::string conninfo);

  void migrate() override;
  int schema_version() override;
  StoreOutcome store_results(const std::vector<StoredResult>& batch) override;
  uint64_t count_results() override;
  std::optional<uint64_t> newest_epoch(const std::string& agent) override;
  std::vector<StoredResult> replay_results(TimePoint since, size_t limit) override;
  std::vector<StoredResult> results(const std::string& domain, const std::string& agent,
                                    TimePoint since, size_t limit) override;
  std::vector<Rollup> rollups(const std::string& domain, RollupSpan span, TimePoint since,
                              size_t limit) override;
  std::vector<DomainUptime> uptime(const std::string& domain, TimePoint now) override;
  void upsert_agent(const AgentRecord& agent) override;
  std::vector<AgentRecord> agents() override;
  void add_token(const TokenRecord& token) override;
  std::optional<TokenRecord> token_by_hash(const std::string& hash) override;
  std::vector<TokenRecord> tokens() override;
  size_t end_tokens(const std::string& name, TimePoint at,
                    const std::optional<TokenRecord>& successor) override;
  void token_used(const std::string& hash, TimePoint at) override;
  std::vector<Target> targets() override;
  int64_t targets_version() override;
  TargetSet target_set() override;
  bool put_target(const Target& target) override;
  bool remove_target(const std::string& domain) override;
  void record_verdict(const VerdictRecord& change) override;
  std::vector<VerdictRecord> verdict_history(const std::string& domain, TimePoint since,
                                             size_t limit) override;
  std::vector<VerdictRecord> latest_verdicts() override;
  std::vector<VerdictRecord> latest_changes(const std::string& domain, size_t count) override;
  PruneCounts prune(const RetentionCutoffs& cutoffs, size_t batch) override;
  size_t compress_text_documents(size_t batch) override;
  uint64_t reclaim_space(uint64_t pages) override;
  uint64_t size_bytes() override;
  StorageStats stats(const RetentionCutoffs& cutoffs) override;
  size_t fold_rollups(TimePoint before, size_t batch) override;

 private:
  // BEGIN … COMMIT; rolled back when left without commit(), also by an exception.
  class Transaction {
   public:
    Transaction(PostgresStorage& storage, std::string_view operation, const char* begin = "BEGIN")
        : storage_(storage), operation_(operation) {
      storage_.exec(operation_, begin);
    }
    ~Transaction() {
      PGconn* conn = storage_.conn_.get();
      // On a lost connection the server has rolled back already.
      if (!committed_ && storage_.usable() && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        const Result rollback(PQexec(conn, "ROLLBACK"), &PQclear);
      }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      storage_.exec(operation_, "COMMIT");
      committed_ = true;
    }

   private:
    PostgresStorage& storage_;
    std::string_view operation_;
    bool committed_ = false;
  };

  void connect(std::string_view operation);
  // False once the connection is known to be gone. libpq does not always say so in PQstatus
  // (after a server crash it can stay CONNECTION_OK), so fail() also notes errors that did not
  // come from a working server session.
  bool usable() const {
    return conn_ && !connection_lost_ && PQstatus(conn_.get()) == CONNECTION_OK;
  }
  // Runs `body` under the mutex on a live connection. If the connection turns out to be dead
  // (the server restarted, an idle connection was cut), and `retry_safe`, reconnects and runs
  // `body` once more: a transaction the dead connection had open is rolled back by the server, and
  // a retry-safe body has the same effect run twice.
  template <typename Body>
  auto with_connection(std::string_view operation, bool retry_safe, Body&& body);
  [[noreturn]] void fail(std::string_view operation, const PGresult* result);
  void exec(std::string_view operation, const char* sql);
  Result run(std::string_view operation, const Sql& sql, const Params& params);
  // A statement run once, its parameters' types read from where they stand.
  Result run_unprepared(std::string_view operation, const std::string& sql, const Params& params);
  // Adds what a batch stored to its rollups, in the open transaction.
  void add_to_rollups(const RollupDeltas& deltas);
  // One fold pass (Storage::fold_rollups) in the open transaction, the mark locked for update:
  // how many results it added, and the mark after it.
  std::pair<size_t, int64_t> fold_pass(int64_t before_ms, size_t batch);
  // The results not folded yet, from `since_ms` on (of `domain`; "": all), as rollup figures, in
  // the open transaction.
  RollupDeltas unfolded_deltas(std::string_view operation, int64_t since_ms,
                               const std::string& domain);
  // Creates the partitions of the batch's days not known to exist, each in a short transaction of
  // its own, before the batch's.
  void create_partitions(std::string_view operation, const std::vector<StoredResult>& batch);
  // The indexes (0-based) of the batch's results whose key is stored with another start, in the
  // open transaction.
  std::set<size_t> stored_under_other_start(std::string_view operation, const Params& keys);
  // The oldest partition of a day before `cutoff`'s; nullopt when there is none.
  std::optional<std::string> expired_partition(std::string_view operation, TimePoint cutoff);
  // Drops the oldest partition whose whole day is before `cutoff`; the rows it held.
  uint64_t drop_expired_partition(std::string_view operation, TimePoint cutoff);
  // One store_results call waiting for its batch to be committed.
  struct PendingBatch {
    const std::vector<StoredResult>* batch = nullptr;
    std::vector<std::string> compressed;  // each result's document, compressed by its caller
    StoreOutcome outcome;
    std::exception_ptr error;
  };
  // Stores the batches; sets each one's outcome or error.
  void store_group(const std::vector<PendingBatch*>& group);
  // The group as one batch: false, and nothing stored, if a batch of it conflicts or it fails.
  bool store_together(const std::vector<PendingBatch*>& group);
  // One batch (its documents compressed) in a transaction of its own, on the connection.
  StoreOutcome store_batch(const std::vector<StoredResult>& batch,
                           const std::vector<std::string>& compressed);
  // store_results' transaction, on the connection, partitions made.
  StoreOutcome store_in_transaction(const std::vector<StoredResult>& batch, const Params& rows,
                                    const Params& keys);
  int64_t single_integer(std::string_view operation, const Sql& sql);
  // A statement run once (not prepared), `parameters` as $1, $2, ...: the integer in its first
  // row; nullopt for NULL.
  std::optional<int64_t> one_integer(std::string_view operation, const std::string& sql,
                                     const std::vector<int64_t>& parameters = {});
  std::vector<Target> read_targets(std::string_view operation);
  TokenRecord token_row(const PGresult* result, int row, std::string_view operation) const;
  int applied_version(std::string_view operation);
  void rewrite_column(std::string_view operation, const ColumnRewrite& rewrite);
  std::vector<VerdictRecord> read_verdicts(const PGresult* result,
                                           std::string_view operation) const;

  std::string conninfo_;
  std::string backend_ = "postgres";
  std::mutex mutex_;
  storage_detail::GroupCommit<PendingBatch> group_commit_;
  Connection conn_{nullptr, &PQfinish};
  std::set<std::string_view> prepared_;  // statement names prepared on this connection
  // Day starts whose partition exists: created by this storage, or found existing. Forgotten
  // when this storage drops one, and when a batch fails (another collector may have dropped one).
  std::set<int64_t> known_days_;
  bool connection_lost_ = false;
};

int64_t parse_integer(const PGresult* result, int row, int column) {
  const char* text = PQgetvalue(result, row, column);
  const char* end = text + PQgetlength(result, row, column);
  int64_t value = 0;
  const auto [stop, error] = std::from_chars(text, end, value);
  if (error != std::errc() || stop != end) {
    throw StorageError(fmt::format("postgres: '{}' in column {} is not an integer", text,
                                   PQfname(result, column)));
  }
  return value;
}

std::string text_value(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column), PQgetlength(result, row, column));
}

// A bytea column in text format, \x and two hex digits per byte; nullopt for NULL.
std::optional<std::string> bytea_value(const PGresult* result, int row, int column,
                                       std::string_view backend) {
  if (PQgetisnull(result, row, column) != 0) {
    return std::nullopt;
  }
  const std::string_view hex(PQgetvalue(result, row, column),
                             static_cast<size_t>(PQgetlength(result, row, column)));
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  if (hex.size() < 2 || hex.substr(0, 2) != "\\x" || hex.size() % 2 != 0) {
    storage_detail::fail(backend, "read a bytea", "not in hex format (bytea_output = 'hex')");
  }
  std::string bytes(hex.size() / 2 - 1, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int high = digit(hex[2 + 2 * i]);
    const int low = digit(hex[3 + 2 * i]);
    if (high < 0 || low < 0) {
      storage_detail::fail(backend, "read a bytea", "not in hex format (bytea_output = 'hex')");
    }
    bytes[i] = static_cast<char>(high * 16 + low);
  }
  return bytes;
}

PostgresStorage::PostgresStorage(std::string conninfo) : conninfo_(std::move(conninfo)) {
  connect("connect");
  // Set once: store_results reads it outside the mutex. The database name, never the password.
  backend_ = fmt::format("postgres {}", PQdb(conn_.get()));
}

void PostgresStorage::connect(std::string_view operation) {
  prepared_.clear();
  connection_lost_ = false;
  // The conninfo (a URI or key=value text) is expanded in place of dbname, after the defaults
  // here, so anything it sets wins.
  const std::array<const char*, 4> keywords = {"connect_timeout", "fallback_application_name",
                                               "dbname", nullptr};
  const std::array<const char*, 4> values = {"10", "vantage-collector", conninfo_.c_str(), nullptr};
  conn_.reset(PQconnectdbParams(keywords.data(), values.data(), 1));
  if (!conn_) {
    storage_detail::fail(backend_, operation, "cannot connect: out of memory");
  }
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    const std::string message = one_line(PQerrorMessage(conn_.get()));
    conn_.reset();
    storage_detail::fail(backend_, operation, "cannot connect: " + message);
  }
  PQsetNoticeProcessor(conn_.get(), &log_notice, nullptr);
  if (PQsetClientEncoding(conn_.get(), "UTF8") != 0) {
    fail(operation, nullptr);
  }
}

template <typename Body>
auto PostgresStorage::with_connection(std::string_view operation, bool retry_safe, Body&& body) {
  std::lock_guard lock(mutex_);
  if (!usable()) {
    connect(operation);
  }
  try {
    return body();
  } catch (const StorageError&) {
    if (!retry_safe || usable()) {
      throw;
    }
    spdlog::warn("{}: {}: connection lost, reconnecting", backend_, operation);
    connect(operation);
    return body();
  }
}

void PostgresStorage::fail(std::string_view operation, const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  // No SQLSTATE: libpq's own error (the socket closed, nothing could be sent). Class 08 is a
  // connection exception, 57P01..57P03 a server shutting down or crashed.
  const std::string_view code = state != nullptr ? state : "";
  if (code.empty() || code.starts_with("08") || code.starts_with("57P")) {
    connection_lost_ = true;
  }
  std::string message;
  if (state != nullptr && PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) != nullptr) {
    message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) {
      message += fmt::format(" ({})", detail);
    }
    message += fmt::format(" [SQLSTATE {}]", code);
  } else {
    message = one_line(result != nullptr ? PQresultErrorMessage(result) : "");
    if (message.empty()) {
      message = one_line(PQerrorMessage(conn_.get()));
    }
    if (message.empty()) {
      message = "no answer from the server";
    }
  }
  storage_detail::fail(backend_, operation, message);
}

void PostgresStorage::exec(std::string_view operation, const char* sql) {
  Result result(PQexec(conn_.get(), sql), &PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    fail(operation, result.get());
  }
}

Result PostgresStorage::run(std::string_view operation, const Sql& sql, const Params& params) {
  if (!prepared_.contains(sql.name)) {
    Result prepared(PQprepare(conn_.get(), sql.name, sql.text, static_cast<int>(sql.types.size()),
                              sql.types.data()),
                    &PQclear);
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      fail(operation, prepared.get());
    }
    prepared_.insert(sql.name);
  }
  std::vector<const char*> values;
  std::vector<int> lengths;
  params.pointers(values, lengths);
  Result result(PQexecPrepared(conn_.get(), sql.name, params.size(), values.data(), lengths.data(),
                               params.formats(), 0),
                &PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    fail(operation, result.get());
  }
  return result;
}

Result PostgresStorage::run_unprepared(std::string_view operation, const std::string& sql,
                                       const Params& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  params.pointers(values, lengths);
  Result result(PQexecParams(conn_.get(), sql.c_str(), params.size(), nullptr, values.data(),
                             lengths.data(), params.formats(), 0),
                &PQclear);
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    fail(operation, result.get());
  }
  return result;
}

int64_t PostgresStorage::single_integer(std::string_view operation, const Sql& sql) {
  const Result result = run(operation, sql, Params());
  if (PQntuples(result.get()) != 1) {
    storage_detail::fail(backend_, operation, "the query returned no row");
  }
  return parse_integer(result.get(), 0, 0);
}

int PostgresStorage::applied_version(std::string_view operation) {
  Result result(PQexec(conn_.get(), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"),
                &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    fail(operation, result.get());
  }
  return static_cast<int>(parse_integer(result.get(), 0, 0));
}

void PostgresStorage::rewrite_column(std::string_view operation, const ColumnRewrite& rewrite) {
  const auto keys = storage_detail::split_columns(rewrite.key);
  const std::string select =
      fmt::format("SELECT {}, {} FROM {}", rewrite.key, rewrite.column, rewrite.table);
  std::string update = fmt::format("UPDATE {} SET {} = $1 WHERE ", rewrite.table, rewrite.column);
  for (size_t i = 0; i < keys.size(); ++i) {
    update += fmt::format("{}{} = ${}", i == 0 ? "" : " AND ", keys[i], i + 2);
  }
  const Result rows(PQexec(conn_.get(), select.c_str()), &PQclear);
  if (PQresultStatus(rows.get()) != PGRES_TUPLES_OK) {
    fail(operation, rows.get());
  }
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    std::vector<std::string> values;
    for (size_t column = 0; column <= keys.size(); ++column) {
      values.push_back(text_value(rows.get(), row, static_cast<int>(column)));
    }
    const std::string value = storage_detail::rewritten(rewrite, values, backend_, operation);
    // Text parameters of no stated type: the server reads each as its column's type.
    std::vector<const char*> parameters = {value.c_str()};
    for (size_t i = 0; i < keys.size(); ++i) {
      parameters.push_back(values[i].c_str());
    }
    const Result updated(
        PQexecParams(conn_.get(), update.c_str(), static_cast<int>(parameters.size()), nullptr,
                     parameters.data(), nullptr, nullptr, 0),
        &PQclear);
    if (PQresultStatus(updated.get()) != PGRES_COMMAND_OK) {
      fail(operation, updated.get());
    }
  }
}

void PostgresStorage::migrate() {
  constexpr std::string_view kOperation = "migrate";
  with_connection(kOperation, true, [&] {
    const auto migrations = schema_migrations();
    for (;;) {
      Transaction transaction(*this, kOperation);
      // Collectors starting together take turns; the lock ends with the transaction.
      exec(kOperation, fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey).c_str());
      exec(kOperation, std::string(kSchemaMigrationsTableSql).c_str());
      const int applied = applied_version(kOperation);
      if (applied > latest_schema_version()) {
        storage_detail::fail(backend_, kOperation,
                             fmt::format("the database has schema version {}, newer than this "
                                         "collector's {}: run a newer collector",
                                         applied, latest_schema_version()));
      }
      if (applied == latest_schema_version()) {
        transaction.commit();
        break;
      }
      const Migration& next = migrations[static_cast<size_t>(applied)];
      const std::string step = fmt::format("migrate to version {}", next.version);
      for (const std::string_view sql : {next.sql, next.postgres_sql}) {
        if (!sql.empty()) {
          exec(step, std::string(sql).c_str());
        }
      }
      if (next.rewrite) {
        rewrite_column(step, *next.rewrite);
      }
      const std::string version = std::to_string(next.version);
      const std::string description(next.description);
      const std::string applied_at = std::to_string(now_epoch_ms());
      const std::array<const char*, 3> values = {version.c_str(), description.c_str(),
                                                 applied_at.c_str()};
      Result recorded(PQexecParams(conn_.get(),
                                   "INSERT INTO schema_migrations (version, description, "
                                   "applied_at) VALUES ($1, $2, $3)",
                                   3, nullptr, values.data(), nullptr, nullptr, 0),
                      &PQclear);
      if (PQresultStatus(recorded.get()) != PGRES_COMMAND_OK) {
        fail(step, recorded.get());
      }
      transaction.commit();
    }
    // Plans prepared before a schema change are replanned by the server; forgetting them here
    // keeps that from ever mattering.
    exec(kOperation, "DEALLOCATE ALL");
    prepared_.clear();
  });
}

int PostgresStorage::schema_version() {
  constexpr std::string_view kOperation = "schema_version";
  return with_connection(kOperation, true, [&] {
    Result result(PQexec(conn_.get(), "SELECT to_regclass('schema_migrations') IS NOT NULL"),
                  &PQclear);
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
      fail(kOperation, result.get());
    }
    if (std::string_view(PQgetvalue(result.get(), 0, 0)) != "t") {
      return 0;
    }
    return applied_version(kOperation);
  });
}

StoreOutcome PostgresStorage::store_results(const std::vector<StoredResult>& batch) {
  if (batch.empty()) {
    return {};
  }
  PendingBatch mine;
  mine.batch = &batch;
  // Compressed here, on the caller's thread, before the group's writer takes the connection.
  mine.compressed.reserve(batch.size());
  for (const StoredResult& result : batch) {
    mine.compressed.push_back(document_codec::compress(result.document));
  }
  group_commit_.submit(mine,
                       [this](const std::vector<PendingBatch*>& group) { store_group(group); });
  if (mine.error) {
    std::rethrow_exception(mine.error);
  }
  return mine.outcome;
}

// One connection, and every upload's transaction a few round trips and an fsync: the batches of
// a group are stored as one, in one transaction with one statement per step. Only if a batch of
// it conflicts, or the group fails, is each stored again in a transaction of its own, where it
// learns its own outcome.
void PostgresStorage::store_group(const std::vector<PendingBatch*>& group) {
  if (group.size() > 1 && store_together(group)) {
    return;
  }
  for (PendingBatch* pending : group) {
    try {
      pending->outcome = store_batch(*pending->batch, pending->compressed);
    } catch (...) {
      pending->error = std::current_exception();
    }
  }
}

bool PostgresStorage::store_together(const std::vector<PendingBatch*>& group) {
  std::vector<StoredResult> joined;
  std::vector<std::string> compressed;
  for (const PendingBatch* pending : group) {
    joined.insert(joined.end(), pending->batch->begin(), pending->batch->end());
    compressed.insert(compressed.end(), pending->compressed.begin(), pending->compressed.end());
  }
  StoreOutcome outcome;
  try {
    outcome = store_batch(joined, compressed);
  } catch (...) {
    return false;
  }
  if (outcome.conflicts > 0) {
    return false;  // rolled back: nothing of the group is stored
  }
  auto fate = outcome.fates.begin();
  for (PendingBatch* pending : group) {
    StoreOutcome& mine = pending->outcome;
    mine.fates.assign(fate, fate + static_cast<std::ptrdiff_t>(pending->batch->size()));
    fate += static_cast<std::ptrdiff_t>(pending->batch->size());
    mine.inserted =
        static_cast<size_t>(std::count(mine.fates.begin(), mine.fates.end(), StoreFate::Stored));
    mine.duplicates =
        static_cast<size_t>(std::count(mine.fates.begin(), mine.fates.end(), StoreFate::Duplicate));
  }
  return true;
}

StoreOutcome PostgresStorage::store_batch(const std::vector<StoredResult>& batch,
                                          const std::vector<std::string>& compressed) {
  constexpr std::string_view kOperation = "store_results";
  BinaryArray agents(kTextOid, batch.size());
  BinaryArray epochs(kInt8Oid, batch.size());
  BinaryArray seqs(kInt8Oid, batch.size());
  BinaryArray domains(kTextOid, batch.size());
  BinaryArray started(kInt8Oid, batch.size());
  BinaryArray verdicts(kTextOid, batch.size());
  size_t document_bytes = 0;
  size_t summary_bytes = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    document_bytes += compressed[i].size();
    summary_bytes += batch[i].summary.size();
  }
  BinaryArray documents(kByteaOid, batch.size(), document_bytes);
  BinaryArray summaries(kTextOid, batch.size(), summary_bytes);
  BinaryArray latencies(kTextOid, batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const StoredResult& result = batch[i];
    agents.add(result.agent);
    epochs.add(checked_epoch(result.epoch, backend_, kOperation));
    seqs.add(checked_seq(result.seq, backend_, kOperation));
    domains.add(result.domain);
    started.add(to_epoch_ms(result.started_at));
    verdicts.add(result.verdict);
    documents.add(compressed[i]);
    summaries.add(result.summary);
    latencies.add(encode_check_latencies(result.latencies));
  }
  Params params;
  params.binary(agents.take());
  params.binary(seqs.take());
  params.binary(domains.take());
  params.binary(started.take());
  params.binary(verdicts.take());
  params.binary(documents.take());
  params.binary(int8_binary(now_epoch_ms()));
  params.binary(epochs.take());
  params.binary(summaries.take());
  params.binary(latencies.take());
  std::vector<size_t> every(batch.size());
  std::iota(every.begin(), every.end(), size_t{0});
  const Params keys = batch_keys(batch, every);
  // Retry-safe: if the connection died after the server committed, the second run finds every
  // row stored with the same document and counts it a duplicate.
  return with_connection(kOperation, true, [&] {
    try {
      create_partitions(kOperation, batch);
      return store_in_transaction(batch, params, keys);
    } catch (const StorageError&) {
      known_days_.clear();
      throw;
    }
  });
}

StoreOutcome PostgresStorage::store_in_transaction(const std::vector<StoredResult>& batch,
                                                   const Params& rows, const Params& keys) {
  constexpr std::string_view kOperation = "store_results";
  Transaction transaction(*this, kOperation);
  const Result locked = run(kOperation, kLockAgents, keys);
  const int64_t folded_before_ms = parse_integer(locked.get(), 0, 1);
  // Before the insert, so that it reads only rows of other uploads.
  const std::set<size_t> elsewhere = stored_under_other_start(kOperation, keys);
  const Result inserted = run(kOperation, kInsertResults, rows);
  std::set<std::tuple<std::string, int64_t, int64_t>> new_keys;
  for (int row = 0; row < PQntuples(inserted.get()); ++row) {
    new_keys.emplace(text_value(inserted.get(), row, 0), parse_integer(inserted.get(), row, 1),
                     parse_integer(inserted.get(), row, 2));
  }
  // A result stored elsewhere is seen neither inserted nor the same: a conflict.
  std::vector<storage_detail::SeenResult> seen(batch.size());
  std::vector<size_t> skipped;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (elsewhere.contains(i)) {
      continue;
    }
    seen[i].inserted = new_keys.contains(
        {batch[i].agent, static_cast<int64_t>(batch[i].epoch), static_cast<int64_t>(batch[i].seq)});
    if (!seen[i].inserted) {
      skipped.push_back(i);
    }
  }
  if (!skipped.empty()) {
    const Result stored = run(kOperation, kStoredResults, batch_keys(batch, skipped));
    if (PQntuples(stored.get()) != static_cast<int>(skipped.size())) {
      storage_detail::fail(backend_, kOperation, "the comparison missed results");
    }
    for (size_t k = 0; k < skipped.size(); ++k) {
      const int row = static_cast<int>(k);
      // Skipped yet not stored: the upload that held the key rolled back after the insert
      // waited for it. Rare; running the whole batch again stores it.
      if (text_value(stored.get(), row, 0) != "t") {
        storage_detail::fail(
            backend_, kOperation,
            fmt::format("seq {} (epoch {}) of agent {} was skipped but is "
                        "not stored",
                        batch[skipped[k]].seq, batch[skipped[k]].epoch, batch[skipped[k]].agent));
      }
      seen[skipped[k]].same_as_stored = storage_detail::same_result(
          storage_detail::StoredForm{.text = text_value(stored.get(), row, 1),
                                     .compressed = bytea_value(stored.get(), row, 2, backend_),
                                     .started_at_ms = parse_integer(stored.get(), row, 3),
                                     .domain = text_value(stored.get(), row, 4)},
          batch[skipped[k]], backend_);
    }
  }
  StoreOutcome outcome = storage_detail::decide_fates(batch, seen);
  // A conflict stores nothing: the transaction rolls back as it goes out of scope.
  if (outcome.conflicts == 0) {
    add_to_rollups(storage_detail::stored_deltas(batch, outcome, folded_before_ms, backend_));
    transaction.commit();
  }
  return outcome;
}

void PostgresStorage::create_partitions(std::string_view operation,
                                        const std::vector<StoredResult>& batch) {
  std::set<int64_t> days;
  for (const StoredResult& result : batch) {
    const int64_t day = day_start(to_epoch_ms(result.started_at));
    if (!known_days_.contains(day)) {
      days.insert(day);
    }
  }
  for (const int64_t day : days) {
    // CREATE TABLE … PARTITION OF takes an ACCESS EXCLUSIVE lock on results until its commit, so
    // it commits at once, before the batch's transaction takes any lock. IF NOT EXISTS is checked
    // before that lock: two collectors creating one day would both go on and the second fail on
    // the catalog's unique name, so they take the day's advisory lock first, and the second then
    // finds the first's partition.
    Transaction transaction(*this, operation);
    exec(operation,
         fmt::format("SELECT pg_advisory_xact_lock({}, {})", kPartitionLockClass, day / kDayMs)
             .c_str());
    exec(operation, fmt::format("CREATE TABLE IF NOT EXISTS {} PARTITION OF results "
                                "FOR VALUES FROM ({}) TO ({})",
                                partition_name(day), day, day + kDayMs)
                        .c_str());
    transaction.commit();
    known_days_.insert(day);
  }
}

std::set<size_t> PostgresStorage::stored_under_other_start(std::string_view operation,
                                                           const Params& keys) {
  const Result found = run(operation, kStoredUnderOtherStart, keys);
  std::set<size_t> indexes;
  for (int row = 0; row < PQntuples(found.get()); ++row) {
    indexes.insert(static_cast<size_t>(parse_integer(found.get(), row, 0) - 1));
  }
  return indexes;
}

uint64_t PostgresStorage::count_results() {
  return with_connection("count_results", true, [&] {
    return static_cast<uint64_t>(single_integer("count_results", kCountResults));
  });
}

std::optional<uint64_t> PostgresStorage::newest_epoch(const std::string& agent) {
  constexpr std::string_view kOperation = "newest_epoch";
  Params params;
  params.text(agent);
  return with_connection(kOperation, true, [&]() -> std::optional<uint64_t> {
    const Result result = run(kOperation, kNewestEpoch, params);
    if (PQntuples(result.get()) != 1 || PQgetisnull(result.get(), 0, 0) != 0) {
      return std::nullopt;
    }
    return static_cast<uint64_t>(parse_integer(result.get(), 0, 0));
  });
}

// A row of kSelectResults or kReplayResults.
StoredResult stored_result(const PGresult* result, int row, std::string_view backend) {
  const std::optional<std::string> compressed = bytea_value(result, row, 8, backend);
  return StoredResult{
      .agent = text_value(result, row, 0),
      .epoch = static_cast<uint64_t>(parse_integer(result, row, 6)),
      .seq = static_cast<uint64_t>(parse_integer(result, row, 1)),
      .domain = text_value(result, row, 2),
      .started_at = from_epoch_ms(parse_integer(result, row, 3)),
      .verdict = text_value(result, row, 4),
      .document = compressed ? document_codec::decompress(*compressed, backend)
                             : text_value(result, row, 5),
      .summary = text_value(result, row, 7),
  };
}

std::vector<StoredResult> PostgresStorage::replay_results(TimePoint since, size_t limit) {
  constexpr std::string_view kOperation = "replay_results";
  Params params;
  params.integer(to_epoch_ms(since));
  params.integer(limit_value(limit));
  return with_connection(kOperation, true, [&] {
    const Result result = run(kOperation, kReplayResults, params);
    std::vector<StoredResult> found;
    const int rows = PQntuples(result.get());
    found.reserve(static_cast<size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      found.push_back(stored_result(result.get(), row, backend_));
    }
    return found;
  });
}

std::vector<StoredResult> PostgresStorage::results(const std::string& domain,
                                                   const std::string& agent, TimePoint since,
                                                   size_t limit) {
  constexpr std::string_view kOperation = "results";
  Params params;
  params.integer(to_epoch_ms(since));
  params.text(domain);
  params.text(agent);
  params.integer(limit_value(limit));
  const Sql& sql = kSelectResults[(domain.empty() ? 0 : 1) + (agent.empty() ? 0 : 2)];
  return with_connection(kOperation, true, [&] {
    const Result result = run(kOperation, sql, params);
    std::vector<StoredResult> found;
    const int rows = PQntuples(result.get());
    found.reserve(static_cast<size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      found.push_back(stored_result(result.get(), row, backend_));
    }
    return found;
  });
}

void PostgresStorage::upsert_agent(const AgentRecord& agent) {
  constexpr std::string_view kOperation = "upsert_agent";
  Params params;
  params.text(agent.name);
  params.optional_integer(agent.asn);
  params.text(agent.address);
  params.text(agent.version);
  params.integer(to_epoch_ms(agent.last_seen));
  params.integer(agent.uptime_s);
  params.integer(agent.spool_depth);
  params.integer(agent.spool_dropped);
  params.integer(checked_epoch(agent.epoch, backend_, kOperation));
  with_connection(kOperation, true, [&] { run(kOperation, kUpsertAgent, params); });
}

std::vector<AgentRecord> PostgresStorage::agents() {
  constexpr std::string_view kOperation = "agents";
  return with_connection(kOperation, true, [&] {
    const Result result = run(kOperation, kSelectAgents, Params());
    const int rows = PQntuples(result.get());
    std::vector<AgentRecord> found;
    found.reserve(static_cast<size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      found.push_back(AgentRecord{
          .name = text_value(result.get(), row, 0),
          .asn = PQgetisnull(result.get(), row, 1) != 0
                     ? std::nullopt
                     : std::optional<int64_t>(parse_integer(result.get(), row, 1)),
          .address = text_value(result.get(), row, 2),
          .version = text_value(result.get(), row, 3),
          .last_seen = from_epoch_ms(parse_integer(result.get(), row, 4)),
          .uptime_s = parse_integer(result.get(), row, 5),
          .spool_depth = parse_integer(result.get(), row, 6),
          .spool_dropped = parse_integer(result.get(), row, 7),
          .epoch = static_cast<uint64_t>(parse_integer(result.get(), row, 8)),
      });
    }
    return found;
  });
}

namespace {

Params token_insert_params(const TokenRecord& token) {
  Params params;
  params.text(token.hash);
  params.text(token.name);
  params.text(std::string(to_string(token.kind)));
  params.integer(to_epoch_ms(token.created_at));
  params.optional_integer(token.expires_at ? std::optional<int64_t>(to_epoch_ms(*token.expires_at))
                                           : std::nullopt);
  return params;
}

std::optional<TimePoint> optional_time(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column) != 0) {
    return std::nullopt;
  }
  return from_epoch_ms(parse_integer(result, row, column));
}

}  // namespace

void PostgresStorage::add_token(const TokenRecord& token) {
  constexpr std::string_view kOperation = "add_token";
  const Params params = token_insert_params(token);
  // Not retried: had the lost connection committed it, the retry would report a duplicate hash.
  with_connection(kOperation, false, [&] { run(kOperation, kInsertToken, params); });
}

TokenRecord PostgresStorage::token_row(const PGresult* result, int row,
                                       std::string_view operation) const {
  return TokenRecord{
      .name = text_value(result, row, 1),
      .kind = storage_detail::token_kind_column(text_value(result, row, 2), backend_, operation),
      .hash = text_value(result, row, 0),
      .created_at = from_epoch_ms(parse_integer(result, row, 3)),
      .expires_at = optional_time(result, row, 4),
      .last_used_at = optional_time(result, row, 5),
  };
}

std::optional<TokenRecord> PostgresStorage::token_by_hash(const std::string& hash) {
  constexpr std::string_view kOperation = "token_by_hash";
  Params params;
  params.text(hash);
  return with_connection(kOperation, true, [&]() -> std::optional<TokenRecord> {
    const Result result = run(kOperation, kSelectToken, params);
    if (PQntuples(result.get()) == 0) {
      return std::nullopt;
    }
    return token_row(result.get(), 0, kOperation);
  });
}

std::vector<TokenRecord> PostgresStorage::tokens() {
  constexpr std::string_view kOperation = "tokens";
  return with_connection(kOperation, true, [&] {
    const Result result = run(kOperation, kSelectTokens, Params());
    const int rows = PQntuples(result.get());
    std::vector<TokenRecord> found;
    found.reserve(static_cast<size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      found.push_back(token_row(result.get(), row, kOperation));
    }
    return found;
  });
}

size_t PostgresStorage::end_tokens(const std::string& name, TimePoint at,
                                   const std::optional<TokenRecord>& successor) {
  constexpr std::string_view kOperation = "end_tokens";
  Params params;
  params.text(name);
  params.integer(to_epoch_ms(at));
  // Retried only without a successor: a lost commit would make the retry's insert a duplicate.
  return with_connection(kOperation, !successor, [&] {
    Transaction transaction(*this, kOperation);
    const Result ended = run(kOperation, kEndTokens, params);
    if (successor) {
      run(kOperation, kInsertToken, token_insert_params(*successor));
    }
    transaction.commit();
    return static_cast<size_t>(std::stoull(PQcmdTuples(ended.get())));
  });
}

void PostgresStorage::token_used(const std::string& hash, TimePoint at) {
  constexpr std::string_view kOperation = "token_used";
  Params params;
  params.text(hash);
  params.integer(to_epoch_ms(at));
  with_connection(kOperation, true, [&] { run(kOperation, kTokenUsed, params); });
}

std::vector<Target> PostgresStorage::read_targets(std::string_view operation) {
  const Result result = run(operation, kSelectTargets, Params());
  const int rows = PQntuples(result.get());
  std::vector<Target> found;
  found.reserve(static_cast<size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    found.push_back(Target{
        .domain = text_value(result.get(), row, 0),
        .kind = decode_target_kind(text_value(result.get(), row, 5), backend_),
        .port = static_cast<int>(parse_integer(result.get(), row, 1)),
        .path = text_value(result.get(), row, 2),
        .expect_status = decode_expect_status(text_value(result.get(), row, 3), backend_),
        .body_regex = text_value(result.get(), row, 4),
        .ca_file = text_value(result.get(), row, 6),
        .insecure = parse_integer(result.get(), row, 7) != 0,
        .warn_before = {.certificate =
                            std::chrono::milliseconds(parse_integer(result.get(), row, 8)),
                        .signature =
                            std::chrono::milliseconds(parse_integer(result.get(), row, 9))},
    });
  }
  return found;
}

std::vector<Target> PostgresStorage::targets() {
  return with_connection("targets", true, [&] { return read_targets("targets"); });
}

int64_t PostgresStorage::targets_version() {
  return with_connection("targets_version", true,
                         [&] { return single_integer("targets_version", kSelectTargetsVersion); });
}

TargetSet PostgresStorage::target_set() {
  constexpr std::string_view kOperation = "target_set";
  return with_connection(kOperation, true, [&] {
    // One snapshot for both reads.
    Transaction transaction(*this, kOperation, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    TargetSet set;
    set.targets = read_targets(kOperation);
    set.version = single_integer(kOperation, kSelectTargetsVersion);
    transaction.commit();
    return set;
  });
}

bool PostgresStorage::put_target(const Target& target) {
  constexpr std::string_view kOperation = "put_target";
  Params params;
  params.text(target.domain);
  params.integer(target.port);
  params.text(target.path);
  params.text(encode_expect_status(target.expect_status));
  params.text(target.body_regex);
  params.text(std::string(to_string(target.kind)));
  params.text(target.ca_file);
  params.integer(target.insecure ? 1 : 0);
  params.integer(target.warn_before.certificate.count());
  params.integer(target.warn_before.signature.count());
  // Retry-safe: a second put of the same target is no change and bumps nothing.
  return with_connection(kOperation, true, [&] {
    Transaction transaction(*this, kOperation);
    const Result put = run(kOperation, kPutTarget, params);
    const bool changed = std::string_view(PQcmdTuples(put.get())) != "0";
    if (changed) {
      run(kOperation, kBumpTargetsVersion, Params());
    }
    transaction.commit();
    return changed;
  });
}

bool PostgresStorage::remove_target(const std::string& domain) {
  constexpr std::string_view kOperation = "remove_target";
  Params params;
  params.text(domain);
  return with_connection(kOperation, true, [&] {
    Transaction transaction(*this, kOperation);
    const Result removed = run(kOperation, kRemoveTarget, params);
    const bool changed = std::string_view(PQcmdTuples(removed.get())) != "0";
    if (changed) {
      run(kOperation, kBumpTargetsVersion, Params());
    }
    transaction.commit();
    return changed;
  });
}

void PostgresStorage::record_verdict(const VerdictRecord& change) {
  constexpr std::string_view kOperation = "record_verdict";
  Params params;
  params.text(change.domain);
  params.integer(to_epoch_ms(change.changed_at));
  params.text(std::string(to_string(change.verdict)));
  params.text(std::string(to_string(change.scope)));
  params.text(std::string(to_string(change.previous_verdict)));
  params.text(encode_verdict_state(change.state));
  with_connection(kOperation, true, [&] { run(kOperation, kRecordVerdict, params); });
}

std::vector<VerdictRecord> PostgresStorage::read_verdicts(const PGresult* result,
                                                          std::string_view operation) const {
  const int rows = PQntuples(result);
  std::vector<VerdictRecord> found;
  found.reserve(static_cast<size_t>(rows));
  for (int row = 0; row < rows; ++row) {
    const std::string verdict = text_value(result, row, 2);
    const std::string scope = text_value(result, row, 3);
    const std::string previous = text_value(result, row, 4);
    const std::string state = text_value(result, row, 5);
    found.push_back(storage_detail::verdict_record({.domain = text_value(result, row, 0),
                                                    .changed_at_ms = parse_integer(result, row, 1),
                                                    .verdict = verdict,
                                                    .scope = scope,
                                                    .previous_verdict = previous,
                                                    .state = state},
                                                   backend_, operation));
  }
  return found;
}

std::vector<VerdictRecord> PostgresStorage::verdict_history(const std::string& domain,
                                                            TimePoint since, size_t limit) {
  constexpr std::string_view kOperation = "verdict_history";
  Params params;
  params.text(domain);
  params.integer(to_epoch_ms(since));
  params.integer(limit_value(limit));
  return with_connection(kOperation, true, [&] {
    return read_verdicts(run(kOperation, kVerdictHistory, params).get(), kOperation);
  });
}

std::vector<VerdictRecord> PostgresStorage::latest_verdicts() {
  constexpr std::string_view kOperation = "latest_verdicts";
  return with_connection(kOperation, true, [&] {
    return read_verdicts(run(kOperation, kLatestVerdicts, Params()).get(), kOperation);
  });
}

std::vector<VerdictRecord> PostgresStorage::latest_changes(const std::string& domain,
                                                           size_t count) {
  constexpr std::string_view kOperation = "latest_changes";
  Params params;
  params.text(domain);
  params.integer(limit_value(count));
  return with_connection(kOperation, true, [&] {
    return read_verdicts(run(kOperation, kLatestChanges, params).get(), kOperation);
  });
}

}  // namespace

void PostgresStorage::add_to_rollups(const RollupDeltas& deltas) {
  constexpr std::string_view kOperation = "store_results";
  if (deltas.empty()) {
    return;
  }
  const size_t count = deltas.by_key().size();
  // The keys, in the order of by_key(), as the four key arrays of a statement.
  const auto key_params = [&] {
    BinaryArray domains(kTextOid, count);
    BinaryArray spans(kTextOid, count);
    BinaryArray starts(kInt8Oid, count);
    BinaryArray agents(kTextOid, count);
    for (const auto& [key, figures] : deltas.by_key()) {
      domains.add(key.domain);
      spans.add(to_string(key.span));
      starts.add(to_epoch_ms(key.start));
      agents.add(key.agent);
    }
    Params params;
    params.binary(domains.take());
    params.binary(spans.take());
    params.binary(starts.take());
    params.binary(agents.take());
    return params;
  };
  // Each stored row's latency column, by key; a key without a row has none yet.
  std::map<RollupKey, std::string> stored;
  {
    const Result read = run_unprepared(kOperation, std::string(kRollupLatencies), key_params());
    for (int row = 0; row < PQntuples(read.get()); ++row) {
      const std::string span = text_value(read.get(), row, 1);
      stored.emplace(RollupKey{.domain = text_value(read.get(), row, 0),
                               .agent = text_value(read.get(), row, 3),
                               .span = span == "hour" ? RollupSpan::Hour : RollupSpan::Day,
                               .start = from_epoch_ms(parse_integer(read.get(), row, 2))},
                     text_value(read.get(), row, 4));
    }
  }
  std::vector<BinaryArray> verdicts;
  verdicts.reserve(kVerdicts);
  for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
    verdicts.emplace_back(kInt8Oid, count);
  }
  BinaryArray latencies(kTextOid, count);
  for (const auto& [key, figures] : deltas.by_key()) {
    for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
      verdicts[verdict].add(static_cast<int64_t>(figures.verdicts[verdict]));
    }
    const auto before = stored.find(key);
    latencies.add(storage_detail::merged_latency(before != stored.end() ? before->second : "",
                                                 figures, key, backend_));
  }
  Params params = key_params();
  for (BinaryArray& column : verdicts) {
    params.binary(column.take());
  }
  params.binary(latencies.take());
  run(kOperation, add_to_rollups_statement(), params);
}

namespace {

std::vector<storage_detail::UnfoldedResult> unfolded_results(const PGresult* read) {
  std::vector<storage_detail::UnfoldedResult> found;
  found.reserve(static_cast<size_t>(PQntuples(read)));
  for (int row = 0; row < PQntuples(read); ++row) {
    found.push_back({.domain = text_value(read, row, 0),
                     .agent = text_value(read, row, 1),
                     .started_at_ms = parse_integer(read, row, 2),
                     .verdict = text_value(read, row, 3),
                     .latency = text_value(read, row, 4)});
  }
  return found;
}

}  // namespace

std::pair<size_t, int64_t> PostgresStorage::fold_pass(int64_t before_ms, size_t batch) {
  constexpr std::string_view kOperation = "fold_rollups";
  const int64_t mark =
      one_integer(kOperation, std::string(storage_detail::kFoldMarkSql) + " FOR UPDATE").value();
  if (before_ms <= mark) {
    return {0, mark};
  }
  Params range;
  range.integer(mark);
  range.integer(before_ms);
  range.integer(limit_value(batch));
  std::vector<storage_detail::UnfoldedResult> read = unfolded_results(
      run_unprepared(kOperation, std::string(storage_detail::kUnfoldedResultsSql), range).get());
  storage_detail::FoldStep step = storage_detail::fold_step(read, batch, before_ms);
  if (step.whole_millisecond) {
    Params at;
    at.integer(read.front().started_at_ms);
    read = unfolded_results(
        run_unprepared(kOperation, std::string(storage_detail::kResultsStartedAtSql), at).get());
    step.count = read.size();
  }
  add_to_rollups(storage_detail::deltas_of(read, step.count, backend_, kOperation));
  Params mark_after;
  mark_after.integer(step.folded_before_ms);
  run_unprepared(kOperation, std::string(storage_detail::kSetFoldMarkSql), mark_after);
  return {step.count, step.folded_before_ms};
}

size_t PostgresStorage::fold_rollups(TimePoint before, size_t batch) {
  constexpr std::string_view kOperation = "fold_rollups";
  // Retry-safe: a pass that did not commit left the mark where it was.
  return with_connection(kOperation, true, [&] {
    Transaction transaction(*this, kOperation);
    const size_t folded = fold_pass(to_epoch_ms(before), batch).first;
    transaction.commit();
    return folded;
  });
}

RollupDeltas PostgresStorage::unfolded_deltas(std::string_view operation, int64_t since_ms,
                                              const std::string& domain) {
  const int64_t mark = one_integer(operation, std::string(storage_detail::kFoldMarkSql)).value();
  Params params;
  params.integer(std::max(since_ms, mark));
  if (!domain.empty()) {
    params.text(domain);
  }
  const auto read = unfolded_results(
      run_unprepared(operation, storage_detail::results_not_folded_sql(!domain.empty()), params)
          .get());
  return storage_detail::deltas_of(read, read.size(), backend_, operation);
}

std::vector<Rollup> PostgresStorage::rollups(const std::string& domain, RollupSpan span,
                                             TimePoint since, size_t limit) {
  constexpr std::string_view kOperation = "rollups";
  Params params;
  params.text(std::string(to_string(span)));
  params.integer(to_epoch_ms(since));
  if (!domain.empty()) {
    params.text(domain);
  }
  params.integer(limit_value(limit));
  return with_connection(kOperation, true, [&] {
    // One snapshot for the rollups and the results not folded into them.
    Transaction transaction(*this, kOperation, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const Result result = run(kOperation, select_rollups(!domain.empty()), params);
    std::vector<Rollup> found;
    for (int row = 0; row < PQntuples(result.get()); ++row) {
      std::array<int64_t, kVerdicts> counts{};
      for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
        counts[verdict] = parse_integer(result.get(), row, static_cast<int>(4 + verdict));
      }
      found.push_back(storage_detail::rollup_of(
          text_value(result.get(), row, 0), text_value(result.get(), row, 1),
          parse_integer(result.get(), row, 2), text_value(result.get(), row, 3), counts,
          text_value(result.get(), row, static_cast<int>(4 + kVerdicts)), backend_));
    }
    storage_detail::add_unfolded(found, unfolded_deltas(kOperation, to_epoch_ms(since), domain),
                                 span, since, limit);
    transaction.commit();
    return found;
  });
}

std::vector<DomainUptime> PostgresStorage::uptime(const std::string& domain, TimePoint now) {
  constexpr std::string_view kOperation = "uptime";
  return with_connection(kOperation, true, [&] {
    // One snapshot for both spans.
    Transaction transaction(*this, kOperation, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    std::map<std::string, DomainUptime> by_domain;
    for (const RollupSpan span : {RollupSpan::Hour, RollupSpan::Day}) {
      const auto starts = storage_detail::uptime_window_starts(span, now);
      Params params;
      params.integer(starts[0]);
      params.integer(starts[1]);
      if (!domain.empty()) {
        params.text(domain);
      }
      const Result result = run(kOperation, uptime_statement(span, !domain.empty()), params);
      for (int row = 0; row < PQntuples(result.get()); ++row) {
        std::array<int64_t, 6> sums{};
        for (size_t i = 0; i < sums.size(); ++i) {
          sums[i] = parse_integer(result.get(), row, static_cast<int>(1 + i));
        }
        storage_detail::add_uptime_row(by_domain, text_value(result.get(), row, 0), span, sums);
      }
    }
    Params unfolded;
    unfolded.integer(
        std::max(to_epoch_ms(window_start(kUptimeWindows.back(), now)),
                 one_integer(kOperation, std::string(storage_detail::kFoldMarkSql)).value()));
    if (!domain.empty()) {
      unfolded.text(domain);
    }
    const Result counted = run_unprepared(
        kOperation, storage_detail::unfolded_verdicts_sql(!domain.empty()), unfolded);
    for (int row = 0; row < PQntuples(counted.get()); ++row) {
      storage_detail::add_unfolded_verdicts(
          by_domain, text_value(counted.get(), row, 0), parse_integer(counted.get(), row, 1),
          text_value(counted.get(), row, 2), parse_integer(counted.get(), row, 3), now, backend_);
    }
    transaction.commit();
    return storage_detail::uptime_list(std::move(by_domain));
  });
}

PruneCounts PostgresStorage::prune(const RetentionCutoffs& cutoffs, size_t batch) {
  constexpr std::string_view kOperation = "prune";
  const auto parameters = [&](TimePoint cutoff, std::optional<TimePoint> results) {
    Params params;
    params.integer(to_epoch_ms(cutoff));
    params.integer(limit_value(batch));
    if (results) {
      params.integer(to_epoch_ms(*results));
    }
    return params;
  };
  const auto removed = [&](const Sql& sql, TimePoint cutoff) {
    const Result result = run(kOperation, sql, parameters(cutoff, std::nullopt));
    return static_cast<uint64_t>(std::strtoull(PQcmdTuples(result.get()), nullptr, 10));
  };
  const auto removed_in_oldest_day = [&](const PruneStatements& statements, TimePoint cutoff,
                                         std::optional<TimePoint> results = std::nullopt) {
    const Result oldest = run(kOperation, statements.oldest, parameters(cutoff, results));
    if (PQgetisnull(oldest.get(), 0, 0) != 0) {
      return uint64_t{0};
    }
    const std::string partition = partition_name(day_start(parse_integer(oldest.get(), 0, 0)));
    const Result result = run_unprepared(
        kOperation, fmt::format(fmt::runtime(statements.remove), fmt::arg("partition", partition)),
        parameters(cutoff, results));
    return static_cast<uint64_t>(std::strtoull(PQcmdTuples(result.get()), nullptr, 10));
  };
  // Retry-safe: what the first run removed is gone, and a second removes the next rows.
  return with_connection(kOperation, true, [&] {
    // A result leaves only once its rollups hold it: the fold goes first, in its own transaction.
    TimePoint results_cutoff = cutoffs.results;
    {
      Transaction fold(*this, kOperation);
      results_cutoff = std::min(
          results_cutoff, from_epoch_ms(fold_pass(to_epoch_ms(cutoffs.results), batch).second));
      fold.commit();
    }
    PruneCounts pruned;
    pruned.results = drop_expired_partition(kOperation, results_cutoff);
    Transaction transaction(*this, kOperation);
    pruned.documents = removed_in_oldest_day(kPruneOkDocuments, cutoffs.documents, cutoffs.results);
    pruned.documents += removed_in_oldest_day(kPruneEvidence, cutoffs.evidence, cutoffs.results);
    pruned.results += removed_in_oldest_day(kPruneResults, results_cutoff);
    pruned.verdict_changes = removed(kPruneVerdictChanges, cutoffs.verdict_changes);
    pruned.alerts = removed(kPruneAlerts, cutoffs.alerts);
    pruned.rollups =
        removed(prune_rollups(RollupSpan::Hour),
                ended_by(RollupSpan::Hour, cutoffs.hourly_rollups)) +
        removed(prune_rollups(RollupSpan::Day), ended_by(RollupSpan::Day, cutoffs.daily_rollups));
    transaction.commit();
    return pruned;
  });
}

std::optional<std::string> PostgresStorage::expired_partition(std::string_view operation,
                                                              TimePoint cutoff) {
  Params params;
  params.text(partition_name(day_start(to_epoch_ms(cutoff))));
  const Result found = run(operation, kExpiredPartition, params);
  if (PQntuples(found.get()) == 0) {
    return std::nullopt;
  }
  return text_value(found.get(), 0, 0);
}

uint64_t PostgresStorage::drop_expired_partition(std::string_view operation, TimePoint cutoff) {
  // Looked up first without a lock: most calls find none and then lock nothing.
  if (!expired_partition(operation, cutoff)) {
    return 0;
  }
  // DROP TABLE of a partition locks results ACCESS EXCLUSIVE, the parent before the partition.
  // Taken first, so that the count is of the rows dropped (no insert of a late result in
  // between) and no lock is raised midway, which could deadlock with such an insert. Ingest then
  // waits for the count of one day, read from its index. Looked up again under the lock: another
  // collector may have dropped it.
  Transaction transaction(*this, operation);
  exec(operation, "LOCK TABLE results IN ACCESS EXCLUSIVE MODE");
  const std::optional<std::string> partition = expired_partition(operation, cutoff);
  if (!partition) {
    transaction.commit();
    return 0;
  }
  const auto rows = one_integer(operation, fmt::format("SELECT COUNT(*) FROM {}", *partition));
  exec(operation, fmt::format("DROP TABLE {}", *partition).c_str());
  transaction.commit();
  known_days_.clear();
  return static_cast<uint64_t>(rows.value_or(0));
}

size_t PostgresStorage::compress_text_documents(size_t batch) {
  constexpr std::string_view kOperation = "compress_text_documents";
  Params query;
  query.integer(limit_value(batch));
  return with_connection(kOperation, true, [&] {
    Transaction transaction(*this, kOperation);
    const Result found = run(kOperation, kTextDocuments, query);
    const auto rows = static_cast<size_t>(PQntuples(found.get()));
    BinaryArray agents(kTextOid, rows);
    BinaryArray epochs(kInt8Oid, rows);
    BinaryArray seqs(kInt8Oid, rows);
    BinaryArray documents(kByteaOid, rows);
    BinaryArray starts(kInt8Oid, rows);
    for (int row = 0; row < static_cast<int>(rows); ++row) {
      agents.add(text_value(found.get(), row, 0));
      epochs.add(parse_integer(found.get(), row, 1));
      seqs.add(parse_integer(found.get(), row, 2));
      documents.add(document_codec::compress(text_value(found.get(), row, 3)));
      starts.add(parse_integer(found.get(), row, 4));
    }
    Params update;
    update.binary(agents.take());
    update.binary(epochs.take());
    update.binary(seqs.take());
    update.binary(documents.take());
    update.binary(starts.take());
    run(kOperation, kCompressTextDocuments, update);
    transaction.commit();
    return rows;
  });
}

uint64_t PostgresStorage::reclaim_space(uint64_t /*pages*/) {
  return 0;
}

uint64_t PostgresStorage::size_bytes() {
  return with_connection("size_bytes", true, [&] {
    return static_cast<uint64_t>(single_integer("size_bytes", kDatabaseSize));
  });
}

std::optional<int64_t> PostgresStorage::one_integer(std::string_view operation,
                                                    const std::string& sql,
                                                    const std::vector<int64_t>& parameters) {
  std::vector<std::string> texts;
  std::vector<const char*> values;
  texts.reserve(parameters.size());
  values.reserve(parameters.size());
  for (const int64_t parameter : parameters) {
    values.push_back(texts.emplace_back(std::to_string(parameter)).c_str());
  }
  const Result result(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                                   nullptr, values.data(), nullptr, nullptr, 0),
                      &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    fail(operation, result.get());
  }
  if (PQntuples(result.get()) < 1 || PQgetisnull(result.get(), 0, 0) != 0) {
    return std::nullopt;
  }
  return parse_integer(result.get(), 0, 0);
}

StorageStats PostgresStorage::stats(const RetentionCutoffs& cutoffs) {
  constexpr std::string_view kOperation = "stats";
  return with_connection(kOperation, true, [&] {
    // One snapshot: every figure is of the same instant.
    const Transaction snapshot(*this, kOperation,
                               "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    return storage_detail::collect_stats(
        cutoffs,
        [&](const std::string& sql, const std::vector<int64_t>& parameters) {
          return one_integer(kOperation, sql, parameters);
        },
        // A partitioned table has no storage of its own: the sum of its partitions'. Of any
        // other table the tree is empty, and its own size is what counts.
        [&](std::string_view table) -> std::optional<uint64_t> {
          const auto bytes = one_integer(
              kOperation, fmt::format("SELECT COALESCE((SELECT SUM(pg_total_relation_size(relid)) "
                                      "FROM pg_partition_tree('{0}') WHERE isleaf), "
                                      "pg_total_relation_size('{0}'))",
                                      table));
          return bytes ? std::optional<uint64_t>(static_cast<uint64_t>(*bytes)) : std::nullopt;
        });
  });
}

std::unique_ptr<Storage> open_postgres_storage(const std::string& conninfo) {
  return std::make_unique<PostgresStorage>(conninfo);
}

}  // namespace vantage
