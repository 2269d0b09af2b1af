#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain_state.hh"
#include "result.hh"
#include "rollup.hh"
#include "target.hh"
#include "vocabulary.hh"

namespace vantage {

using TimePoint = std::chrono::system_clock::time_point;

// Times are stored as whole milliseconds since the epoch: a TimePoint read back is the one
// written, rounded down to the millisecond.

// One accepted cycle result of one agent. (agent, epoch, seq) identifies it: the agent numbers
// its results and the store keeps each number once, however often it is uploaded. The epoch names
// the agent's state directory (created when it was), so an agent whose directory was wiped starts
// a new epoch and numbers from 1 again without its results being taken for re-uploads.
struct StoredResult {
  std::string agent;   // not empty
  uint64_t epoch = 0;  // 0 for agents that send none; at most INT64_MAX, as seq
  uint64_t seq = 0;    // at most INT64_MAX (both databases store a signed 64-bit integer)
  std::string domain;  // not empty
  TimePoint started_at;
  std::string verdict;  // the vantage's reading, a verdict name (docs/verdicts.md)
  // The cycle document, the bytes the agent sent (stored compressed); empty once retention has
  // dropped it, the row still kept.
  std::string document;
  // What correlation needs of it (collector/correlate/cycle_summary.hh); empty for a row stored
  // before there were summaries.
  std::string summary;
  // What the result adds to its rollups' latency; not stored with the row, nor read back.
  CheckLatencies latencies{};
  bool operator==(const StoredResult&) const = default;
};

// What store_results did with one result of a batch.
enum class StoreFate : uint8_t {
  Stored,     // new, and now stored
  Duplicate,  // the same document is stored under its key already, or earlier in the batch
  Conflict,   // its (agent, epoch, seq) holds a different document: one seq cannot be two cycles
  Withheld,   // new, but not stored because another result of the batch conflicts
};

struct StoreOutcome {
  size_t inserted = 0;
  size_t duplicates = 0;
  size_t conflicts = 0;
  std::vector<StoreFate> fates;  // one per result, in the batch's order
  bool operator==(const StoreOutcome&) const = default;
};

// The instants before which retention drops what it keeps (collector.yaml `retention`).
struct RetentionCutoffs {
  TimePoint documents;        // the documents of results read OK started before it
  TimePoint evidence;         // the documents of all other results (the evidence of failures)
  TimePoint results;          // result rows, summaries included
  TimePoint verdict_changes;  // verdict changes, but never a domain's latest
  TimePoint alerts;           // alerts resolved before it, with their deliveries
  TimePoint hourly_rollups;   // hourly rollups that ended before it
  TimePoint daily_rollups;    // daily rollups that ended before it
};

// What one call of Storage::prune removed.
struct PruneCounts {
  uint64_t documents = 0;
  uint64_t results = 0;
  uint64_t verdict_changes = 0;
  uint64_t alerts = 0;
  uint64_t rollups = 0;
  uint64_t total() const { return documents + results + verdict_changes + alerts + rollups; }
  PruneCounts& operator+=(const PruneCounts& other);
  bool operator==(const PruneCounts&) const = default;
};

// One table's share of the database (vantage-collector db stats).
struct TableStats {
  std::string table;
  uint64_t rows = 0;
  std::optional<uint64_t> bytes;    // with its indexes (and TOAST); nullopt if the backend
                                    // cannot say
  std::optional<TimePoint> oldest;  // its oldest entry, in the tables retention prunes
  bool operator==(const TableStats&) const = default;
};

struct StorageStats {
  std::vector<TableStats> tables;  // every table the collector keeps, largest first
  uint64_t documents = 0;          // results that still hold their document
  PruneCounts due;                 // what pruning with the given cutoffs would remove, all of it
};

struct TokenRecord {
  std::string name;  // agent name, or operator name
  TokenKind kind = TokenKind::Agent;
  std::string hash;  // hex SHA-256 of the token; the token itself is never stored
  TimePoint created_at;
  // When it stops being accepted: now for a revoked token, the end of the grace period for one
  // replaced by `token rotate`; nullopt while it has no end.
  std::optional<TimePoint> expires_at;
  std::optional<TimePoint> last_used_at;  // last presented (written at most once a minute)
  bool operator==(const TokenRecord&) const = default;

  bool accepted_at(TimePoint now) const { return !expires_at || now < *expires_at; }
};

struct AgentRecord {
  std::string name;
  std::optional<int64_t> asn;
  std::string address;  // the peer address it last connected from
  std::string version;
  TimePoint last_seen;
  int64_t uptime_s = 0;
  int64_t spool_depth = 0;
  int64_t spool_dropped = 0;  // results the agent's full spool dropped unsent since it started
  uint64_t epoch = 0;         // of its state directory, as of its latest heartbeat (0: none sent)
  bool operator==(const AgentRecord&) const = default;
};

// One change of a domain's verdict or scope, as history and explain show it.
struct VerdictRecord {
  std::string domain;  // not empty
  TimePoint changed_at;
  Verdict verdict = Verdict::Unknown;
  Scope scope = Scope::None;
  Verdict previous_verdict = Verdict::Unknown;
  // The domain's state after the change; stored in a format of storage's own
  // (verdict_state_format.hh), its domain, verdict, scope and since those of the change.
  DomainState state;
  bool operator==(const VerdictRecord&) const = default;
};

// The target list and its version, read in one transaction: serve both from one call, or an
// agent could get the new version's ETag with the old list and keep the old list for good.
struct TargetSet {
  int64_t version = 0;
  std::vector<Target> targets;
};

// The collector's storage, one interface over SQLite (embedded default) and PostgreSQL. Every
// method is safe to call from several threads. Errors throw StorageError, whose message names the
// backend, the operation and the database's own words.
class Storage {
 public:
  virtual ~Storage() = default;

  // Applies the versioned schema migrations not yet applied, each in a transaction of its own;
  // safe on every start, also from two processes at once. Throws if the database was migrated by
  // a newer collector (a version this one does not know). No other method works before it ran.
  virtual void migrate() = 0;
  // The highest migration applied; 0 for a database never migrated.
  virtual int schema_version() = 0;

  // Stores a batch in one transaction: all of it or none; a result that started before the fold
  // mark is added to its hour's and its day's rollup in it, the others later by fold_rollups
  // (rollup.hh), so a rollup counts each stored result exactly once. A
  // result whose (agent, epoch, seq) is already stored with the same document, or appears earlier
  // in the same batch with it, is skipped as a duplicate. One whose key holds a different document
  // is a conflict, and then nothing of the batch is stored (the new results are Withheld). The
  // fates are the database's own. Once it returns, what it stored survives a crash of the process
  // (and, by default, of the machine). Safe to retry after any error: nothing is stored twice.
  virtual StoreOutcome store_results(const std::vector<StoredResult>& batch) = 0;
  virtual uint64_t count_results() = 0;
  // The highest epoch of the agent's stored results; nullopt when it has none.
  virtual std::optional<uint64_t> newest_epoch(const std::string& agent) = 0;
  // At most `limit` results with started_at >= since, oldest first (then by agent, epoch, seq);
  // empty `domain`/`agent` = all.
  virtual std::vector<StoredResult> results(const std::string& domain, const std::string& agent,
                                            TimePoint since, size_t limit) = 0;
  // The same order, of all domains and agents, as a restart replays them: each result with its
  // summary and without its document, but for a row stored without a summary, which comes with
  // its document instead.
  virtual std::vector<StoredResult> replay_results(TimePoint since, size_t limit) = 0;

  // Adds the stored results that started before `before` and are not in their rollups yet to
  // them, at most about `batch` of them (all of one millisecond at least), in one transaction, and
  // moves the fold mark past them; returns how many it added (0: none are left before `before`).
  virtual size_t fold_rollups(TimePoint before, size_t batch) = 0;
  // At most `limit` rollups of `span` that started at or after `since`, of `domain` ("": all), by
  // domain, start and agent; the results not folded yet included.
  virtual std::vector<Rollup> rollups(const std::string& domain, RollupSpan span, TimePoint since,
                                      size_t limit) = 0;
  // Each domain's uptime over each window (rollup.hh: UptimeWindow) as of `now`, by domain; of
  // `domain` alone unless it is "", the results not folded yet included. A domain without
  // results in the windows is not listed.
  virtual std::vector<DomainUptime> uptime(const std::string& domain, TimePoint now) = 0;

  // Inserts, or replaces every field of the agent of that name.
  virtual void upsert_agent(const AgentRecord& agent) = 0;
  // All agents, by name.
  virtual std::vector<AgentRecord> agents() = 0;

  // Throws StorageError if a token with that hash exists.
  virtual void add_token(const TokenRecord& token) = 0;
  virtual std::optional<TokenRecord> token_by_hash(const std::string& hash) = 0;
  // Every token, ended ones included, by name and creation.
  virtual std::vector<TokenRecord> tokens() = 0;
  // In one transaction: every token of `name` still accepted at `at` ends at `at` (one ending
  // earlier keeps its end), then `successor` (of that name) is added if given. Returns how many
  // tokens were ended. Throws StorageError (the successor's hash exists: nothing changed).
  virtual size_t end_tokens(const std::string& name, TimePoint at,
                            const std::optional<TokenRecord>& successor) = 0;
  virtual void token_used(const std::string& hash, TimePoint at) = 0;

  // All targets, by domain.
  virtual std::vector<Target> targets() = 0;
  // Grows by one on every change of the target list (0 on a new database); agents use it as the
  // ETag. Putting an identical target, or removing a missing one, is not a change.
  virtual int64_t targets_version() = 0;
  // targets() and targets_version() as of one instant.
  virtual TargetSet target_set() = 0;
  // Adds or replaces the target for its domain. False when an identical target was there already.
  virtual bool put_target(const Target& target) = 0;
  // False when there was no such target.
  virtual bool remove_target(const std::string& domain) = 0;

  // Stores a verdict change; a second change of the same domain at the same millisecond replaces
  // the first.
  virtual void record_verdict(const VerdictRecord& change) = 0;
  // At most `limit` changes of `domain` with changed_at >= since, oldest first.
  virtual std::vector<VerdictRecord> verdict_history(const std::string& domain, TimePoint since,
                                                     size_t limit) = 0;
  // The `count` latest changes of `domain`, newest first (by its primary key, not a scan).
  virtual std::vector<VerdictRecord> latest_changes(const std::string& domain, size_t count) = 0;
  // The latest change of every domain, by domain: the verdicts a restarted collector resumes.
  virtual std::vector<VerdictRecord> latest_verdicts() = 0;

  // Removes what is older than its cutoff, at most `batch` rows of each kind, in one short
  // transaction, so that ingest waits for no more than one batch; call again until it removes
  // nothing. Results go only once they are folded into their rollups: it folds them first. Uses an
  // index for each kind: the cost is the rows removed, not the rows kept.
  virtual PruneCounts prune(const RetentionCutoffs& cutoffs, size_t batch) = 0;
  // Compresses at most `batch` documents that a collector before schema version 7 stored as
  // text, in one transaction; returns how many it compressed (0: none are left).
  virtual size_t compress_text_documents(size_t batch) = 0;
  // Returns to the file system at most `pages` of the pages pruning freed, where the backend does
  // that itself (SQLite with auto_vacuum=INCREMENTAL, which new databases have); returns how many
  // it returned. PostgreSQL's autovacuum makes freed space reusable and needs no call.
  virtual uint64_t reclaim_space(uint64_t pages) = 0;
  // The database's size on disk in bytes (SQLite: the file and its WAL; PostgreSQL: the
  // database's relations).
  virtual uint64_t size_bytes() = 0;
  // Rows, bytes and oldest entry per table, and what retention with `cutoffs` would remove. Reads
  // every table (and, on SQLite, every page, to measure them): an operator's command, not for the
  // ingest path.
  virtual StorageStats stats(const RetentionCutoffs& cutoffs) = 0;
};

// Also thrown for a stored value the collector cannot read (a verdict outside the set, a state
// in an unknown format): the message names the table, column and value.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The SQLite connection's page cache (PRAGMA cache_size), in KiB: the pages of the last minutes
// of uploads, which retention reads again when it folds them into their rollups.
constexpr int kSqlitePageCacheKiB = 64 * 1024;
// The WAL's length, in pages, at which a commit copies it back into the database file
// (PRAGMA wal_autocheckpoint; SQLite's default 1,000): a page an index changes in every commit is
// copied back once per checkpoint, so fewer checkpoints copy fewer times (a tenth of the
// collector's CPU under a full load at the default). The WAL grows to about 40 MB between them.
constexpr int kSqliteCheckpointPages = 10'000;

struct SqliteOptions {
  // true: synchronous=FULL, the WAL is fsynced at every commit, so a stored batch also survives
  // power loss and OS crashes (the agents delete what was acknowledged). false: synchronous=NORMAL,
  // which survives a killed collector but may lose the last commits on power loss.
  bool sync_every_commit = true;
  // How long a writer waits for another process's write transaction before failing.
  std::chrono::milliseconds busy_timeout{5000};
};

// "storage: { sqlite: PATH }": WAL mode, one connection, one writer. Creates the file if needed.
std::unique_ptr<Storage> open_sqlite_storage(const std::string& path,
                                             const SqliteOptions& options = {});
// "storage: { postgres: CONNINFO }": libpq, prepared statements. Connects at once (throws if it
// cannot). A call that finds the connection lost (server restart or crash) reconnects and runs
// once more (all but add_token, whose retry could report its own insert as a duplicate).
std::unique_ptr<Storage> open_postgres_storage(const std::string& conninfo);

}  // namespace vantage
