// The embedded storage: one SQLite connection in WAL mode behind a mutex. Writers take the write
// lock when their transaction begins (BEGIN IMMEDIATE), so two processes on one file queue on the
// busy timeout instead of failing when a reader tries to become a writer.

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

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

using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;
using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

// The document goes to result_documents, compressed, under the row's id; the row's document_zstd
// is an empty blob saying it is there (schema version 9, storage_migrations.cc). `document` holds
// text only in rows of collector versions before schema version 7, until compress_text_documents
// reaches them. Triggers drop a row's document with it, or when document_zstd is set to NULL.
constexpr std::string_view kInsertResult =
    "INSERT INTO results (agent, seq, domain, started_at, verdict, document, received_at, epoch, "
    "summary, document_zstd, latency) VALUES (?1, ?2, ?3, ?4, ?5, '', ?6, ?7, NULLIF(?8, ''), X'', "
    "NULLIF(?9, '')) "
    "ON CONFLICT (agent, epoch, seq) DO NOTHING";
// Right after kInsertResult inserted a row.
constexpr std::string_view kInsertDocument =
    "INSERT INTO result_documents (result_id, document_zstd) VALUES (last_insert_rowid(), ?1)";
// What a re-uploaded result is compared with (storage_common.hh: same_result): the stored
// document, as text or compressed, and the start and domain, which are what is left to compare
// once retention dropped the document.
constexpr std::string_view kStoredResult =
    "SELECT r.document, d.document_zstd, r.started_at, r.domain FROM results r "
    "LEFT JOIN result_documents d ON d.result_id = r.id "
    "WHERE r.agent = ?1 AND r.epoch = ?3 AND r.seq = ?2";
constexpr std::string_view kCountResults = "SELECT COUNT(*) FROM results";
constexpr std::string_view kNewestEpoch = "SELECT MAX(epoch) FROM results WHERE agent = ?1";
// Indexed by (domain given) + 2 * (agent given). Every variant numbers its parameters alike, up
// to ?4, so one binding fits them all.
// A row without a summary (stored before migration 5) comes with its document instead.
constexpr std::string_view kReplayResults =
    "SELECT agent, seq, domain, started_at, verdict, "
    "CASE WHEN summary IS NULL THEN document ELSE '' END, epoch, summary, "
    "CASE WHEN summary IS NULL THEN (SELECT d.document_zstd FROM result_documents d "
    "WHERE d.result_id = r.id) END FROM results r "
    "WHERE started_at >= ?1 ORDER BY started_at, agent, epoch, seq LIMIT ?2";
constexpr std::string_view kSelectResults[] = {
    "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, d.document_zstd "
    "FROM results r LEFT JOIN result_documents d ON d.result_id = r.id "
    "WHERE started_at >= ?1 ORDER BY started_at, agent, epoch, seq LIMIT ?4",
    "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, d.document_zstd "
    "FROM results r LEFT JOIN result_documents d ON d.result_id = r.id "
    "WHERE domain = ?2 AND started_at >= ?1 ORDER BY started_at, agent, epoch, seq LIMIT ?4",
    "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, d.document_zstd "
    "FROM results r LEFT JOIN result_documents d ON d.result_id = r.id "
    "WHERE agent = ?3 AND started_at >= ?1 ORDER BY started_at, agent, epoch, seq LIMIT ?4",
    "SELECT agent, seq, domain, started_at, verdict, document, epoch, summary, d.document_zstd "
    "FROM results r LEFT JOIN result_documents d ON d.result_id = r.id "
    "WHERE domain = ?2 AND agent = ?3 AND started_at >= ?1 "
    "ORDER BY started_at, agent, epoch, seq LIMIT ?4",
};
constexpr std::string_view kUpsertAgent =
    "INSERT INTO agents (name, asn, address, version, last_seen, uptime_s, spool_depth, "
    "spool_dropped, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (name) DO UPDATE SET asn = excluded.asn, "
    "address = excluded.address, version = excluded.version, last_seen = excluded.last_seen, "
    "uptime_s = excluded.uptime_s, spool_depth = excluded.spool_depth, "
    "spool_dropped = excluded.spool_dropped, epoch = excluded.epoch";
constexpr std::string_view kSelectAgents =
    "SELECT name, asn, address, version, last_seen, uptime_s, spool_depth, spool_dropped, epoch "
    "FROM agents ORDER BY name";
constexpr std::string_view kInsertToken =
    "INSERT INTO tokens (hash, name, kind, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr std::string_view kSelectToken =
    "SELECT hash, name, kind, created_at, expires_at, last_used_at FROM tokens WHERE hash = ?1";
constexpr std::string_view kSelectTokens =
    "SELECT hash, name, kind, created_at, expires_at, last_used_at FROM tokens "
    "ORDER BY name, created_at, hash";
constexpr std::string_view kEndTokens =
    "UPDATE tokens SET expires_at = ?2 WHERE name = ?1 AND (expires_at IS NULL OR expires_at > ?2)";
constexpr std::string_view kTokenUsed = "UPDATE tokens SET last_used_at = ?2 WHERE hash = ?1";
constexpr std::string_view kSelectTargets =
    "SELECT domain, port, path, expect_status, body_regex, kind, ca_file, insecure, "
    "warn_certificate_ms, warn_signature_ms FROM targets ORDER BY domain";
constexpr std::string_view kSelectTargetsVersion = "SELECT version FROM targets_state WHERE id = 1";
// Changes nothing (and so counts no change) when the stored target is the same.
constexpr std::string_view kPutTarget =
    "INSERT INTO targets (domain, port, path, expect_status, body_regex, kind, ca_file, insecure, "
    "warn_certificate_ms, warn_signature_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (domain) DO UPDATE "
    "SET port = excluded.port, path = excluded.path, expect_status = excluded.expect_status, "
    "body_regex = excluded.body_regex, kind = excluded.kind, ca_file = excluded.ca_file, "
    "insecure = excluded.insecure, warn_certificate_ms = excluded.warn_certificate_ms, "
    "warn_signature_ms = excluded.warn_signature_ms "
    "WHERE targets.port <> excluded.port OR targets.path <> excluded.path "
    "OR targets.expect_status <> excluded.expect_status "
    "OR targets.body_regex <> excluded.body_regex OR targets.kind <> excluded.kind "
    "OR targets.ca_file <> excluded.ca_file OR targets.insecure <> excluded.insecure "
    "OR targets.warn_certificate_ms <> excluded.warn_certificate_ms "
    "OR targets.warn_signature_ms <> excluded.warn_signature_ms";
constexpr std::string_view kRemoveTarget = "DELETE FROM targets WHERE domain = ?1";
constexpr std::string_view kBumpTargetsVersion =
    "UPDATE targets_state SET version = version + 1 WHERE id = 1";
constexpr std::string_view kRecordVerdict =
    "INSERT INTO verdict_changes (domain, changed_at, verdict, scope, previous_verdict, state) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (domain, changed_at) DO UPDATE SET "
    "verdict = excluded.verdict, scope = excluded.scope, "
    "previous_verdict = excluded.previous_verdict, state = excluded.state";
constexpr std::string_view kVerdictHistory =
    "SELECT domain, changed_at, verdict, scope, previous_verdict, state FROM verdict_changes "
    "WHERE domain = ?1 AND changed_at >= ?2 ORDER BY changed_at LIMIT ?3";
constexpr std::string_view kLatestVerdicts =
    "SELECT domain, changed_at, verdict, scope, previous_verdict, state FROM verdict_changes v "
    "WHERE changed_at = (SELECT MAX(changed_at) FROM verdict_changes w WHERE w.domain = v.domain) "
    "ORDER BY domain";
constexpr std::string_view kLatestChanges =
    "SELECT domain, changed_at, verdict, scope, previous_verdict, state FROM verdict_changes "
    "WHERE domain = ?1 ORDER BY changed_at DESC LIMIT ?2";
// Retention (Storage::prune): each statement finds its rows through an index of its own, so a
// pass reads what it removes and not what it keeps. A document whose row goes too (started before
// ?3, the results' cutoff) is left to the row's deletion: dropping it first would write it twice.
constexpr std::string_view kPruneOkDocuments =
    "UPDATE results SET document_zstd = NULL WHERE rowid IN (SELECT rowid FROM results "
    "WHERE document_zstd IS NOT NULL AND verdict = 'OK' AND started_at < ?1 AND started_at >= ?3 "
    "LIMIT ?2)";
constexpr std::string_view kPruneEvidence =
    "UPDATE results SET document_zstd = NULL WHERE rowid IN (SELECT rowid FROM results "
    "WHERE document_zstd IS NOT NULL AND verdict <> 'OK' AND started_at < ?1 AND started_at >= ?3 "
    "LIMIT ?2)";
constexpr std::string_view kPruneResults =
    "DELETE FROM results WHERE rowid IN (SELECT rowid FROM results "
    "WHERE started_at < ?1 LIMIT ?2)";
constexpr std::string_view kPruneVerdictChanges =
    "DELETE FROM verdict_changes WHERE rowid IN (SELECT rowid FROM "
    "verdict_changes v WHERE changed_at < ?1 AND changed_at < (SELECT MAX(changed_at) FROM "
    "verdict_changes w WHERE w.domain = v.domain) LIMIT ?2)";
// Deliveries first: SQLite enforces the foreign key's ON DELETE CASCADE only with
// foreign_keys=ON, which the alert store's connection does not set.
constexpr std::string_view kPruneAlertDeliveries =
    "DELETE FROM alert_deliveries WHERE alert_id IN (SELECT id FROM alerts WHERE resolved_at < ?1 "
    "ORDER BY resolved_at, id LIMIT ?2)";
constexpr std::string_view kPruneAlerts =
    "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE resolved_at < ?1 "
    "ORDER BY resolved_at, id LIMIT ?2)";
constexpr std::string_view kTextDocuments =
    "SELECT id, document FROM results WHERE document <> '' LIMIT ?1";
constexpr std::string_view kCompressTextDocument =
    "UPDATE results SET document = '', document_zstd = X'' WHERE id = ?1";
constexpr std::string_view kInsertCompressedDocument =
    "INSERT INTO result_documents (result_id, document_zstd) VALUES (?1, ?2)";
constexpr std::string_view kHasMigrationsTable =
    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
constexpr std::string_view kAppliedVersion =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr std::string_view kRecordMigration =
    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)";

class SqliteStorage;

// SQL's vantage_merge_latency(stored, added): storage_detail::merge_latency_columns. A column the
// collector does not write fails the statement, naming the column.
void merge_latency_sql(sqlite3_context* context, int /*count*/, sqlite3_value** values) {
  const auto text_of = [](sqlite3_value* value) {
    const auto* data = reinterpret_cast<const char*>(sqlite3_value_text(value));
    return data != nullptr ? std::string_view(data, static_cast<size_t>(sqlite3_value_bytes(value)))
                           : std::string_view();
  };
  const std::string_view stored = text_of(values[0]);
  try {
    const std::string merged = storage_detail::merge_latency_columns(stored, text_of(values[1]));
    sqlite3_result_text64(context, merged.data(), merged.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } catch (const std::invalid_argument& error) {
    const std::string message = fmt::format("rollups.latency \"{}\": {}", stored, error.what());
    sqlite3_result_error(context, message.c_str(), static_cast<int>(message.size()));
  }
}

// One use of a cached prepared statement. It is reset when the use ends, so that it holds no read
// snapshot open and no pointer into the caller's strings (text is bound without copying).
class StatementUse {
 public:
  StatementUse(const SqliteStorage& storage, sqlite3_stmt* statement, std::string_view operation)
      : storage_(storage), statement_(statement), operation_(operation) {}
  ~StatementUse() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

  void bind(int index, std::string_view text) {
    check(sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_STATIC,
                              SQLITE_UTF8));
  }
  void bind_blob(int index, std::string_view bytes) {
    check(sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_STATIC));
  }
  void bind(int index, int64_t value) { check(sqlite3_bind_int64(statement_, index, value)); }
  void bind(int index, std::optional<int64_t> value) {
    check(value ? sqlite3_bind_int64(statement_, index, *value)
                : sqlite3_bind_null(statement_, index));
  }
  // True with a row to read, false when done.
  bool step();
  // Ready to run again with new bindings.
  void reset() { sqlite3_reset(statement_); }

  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data ? std::string(data, sqlite3_column_bytes(statement_, column)) : std::string();
  }
  // nullopt for NULL.
  std::optional<std::string> blob(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
      return std::nullopt;
    }
    const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, column));
    return std::string(data != nullptr ? data : "",
                       static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
  }
  int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }
  std::optional<int64_t> optional_integer(int column) const {
    if (sqlite3_column_type(statement_, column) == SQLITE_NULL) {
      return std::nullopt;
    }
    return integer(column);
  }

 private:
  void check(int code);

  const SqliteStorage& storage_;
  sqlite3_stmt* statement_;
  std::string_view operation_;
};

class SqliteStorage final : public Storage {
 public:
  SqliteStorage(const std::string& path, const SqliteOptions& options);

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
  size_t fold_rollups(TimePoint before, size_t batch) override;
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

  // Throws StorageError with the connection's last error.
  [[noreturn]] void fail(std::string_view operation) const {
    storage_detail::fail(backend_, operation, sqlite3_errmsg(db_.get()));
  }

 private:
  // BEGIN … COMMIT; rolled back when left without commit(), also by an exception.
  class Transaction {
   public:
    Transaction(SqliteStorage& storage, std::string_view operation, bool write)
        : storage_(storage), operation_(operation) {
      storage_.exec(operation_, write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
    }
    ~Transaction() {
      // After some errors (SQLITE_FULL, SQLITE_IOERR) SQLite has rolled back already.
      if (!committed_ && sqlite3_get_autocommit(storage_.db_.get()) == 0) {
        sqlite3_exec(storage_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
      storage_.exec(operation_, "COMMIT");
      committed_ = true;
    }

   private:
    SqliteStorage& storage_;
    std::string_view operation_;
    bool committed_ = false;
  };

  // One store_results call waiting for its batch to be committed.
  struct PendingBatch {
    const std::vector<StoredResult>* batch = nullptr;
    std::vector<std::string> compressed;  // each result's document, compressed by its caller
    std::vector<std::string> latencies;   // each result's, encoded by its caller
    StoreOutcome outcome;
    std::exception_ptr error;
  };
  // Stores the batches in one transaction; sets each one's outcome or error. mutex_ held.
  void store_group(const std::vector<PendingBatch*>& group);
  // The group in one transaction. `apart`: each batch in a savepoint of its own, which a batch
  // that conflicts or fails rolls back. Otherwise without savepoints: false, and nothing stored,
  // if a batch conflicts; a batch that fails throws.
  bool write_group(const std::vector<PendingBatch*>& group, bool apart);
  // One batch's rows, in the open transaction; its outcome. Its results that started before the
  // fold mark are added to their rollups.
  StoreOutcome insert_batch(const PendingBatch& pending, int64_t received_at,
                            int64_t folded_before_ms);
  // The fold mark, in the open transaction.
  int64_t fold_mark(std::string_view operation);
  // One fold pass (Storage::fold_rollups) in the open write transaction: how many results it
  // added, and the mark after it.
  std::pair<size_t, int64_t> fold_pass(int64_t before_ms, size_t batch);
  // The results not folded yet, from `since_ms` on (of `domain`; "": all), as rollup figures.
  RollupDeltas unfolded_deltas(std::string_view operation, int64_t since_ms,
                               const std::string& domain);
  std::vector<storage_detail::UnfoldedResult> read_unfolded(StatementUse& query);
  // Adds what a batch stored to its rollups, in the open transaction.
  void add_to_rollups(const RollupDeltas& deltas);
  // Runs a prune statement (?1 cutoff, ?2 limit, and for documents ?3 the results' cutoff); the
  // rows it changed.
  uint64_t prune_with(std::string_view sql, TimePoint cutoff, size_t batch,
                      std::optional<TimePoint> results = std::nullopt);
  // A result of results() or replay_results(), its document decompressed.
  StoredResult stored_result(const StatementUse& row) const;

  void exec(std::string_view operation, std::string_view sql);
  // `sql` must be one of the constants above: the cache keeps the view.
  StatementUse use(std::string_view operation, std::string_view sql);
  int64_t single_integer(std::string_view operation, std::string_view sql);
  // A statement run once (prepared, not cached), binding `parameters` as ?1, ?2, ...: the integer
  // in its first row; nullopt for NULL, or for SQL that does not prepare when `may_fail`.
  std::optional<int64_t> one_integer(std::string_view operation, const std::string& sql,
                                     const std::vector<int64_t>& parameters = {},
                                     bool may_fail = false);
  void rewrite_column(std::string_view operation, const ColumnRewrite& rewrite);
  std::vector<VerdictRecord> read_verdicts(StatementUse& query, std::string_view operation);
  std::vector<Target> read_targets(std::string_view operation);
  void insert_token(std::string_view operation, const TokenRecord& token);
  TokenRecord token_row(const StatementUse& query, std::string_view operation) const;
  int64_t changes() const { return sqlite3_changes64(db_.get()); }

  std::string backend_;
  std::mutex mutex_;
  storage_detail::GroupCommit<PendingBatch> group_commit_;
  Database db_{nullptr, &sqlite3_close_v2};
  // Declared after db_, so destroyed (finalized) before the connection closes.
  std::unordered_map<std::string_view, Statement> statements_;
};

bool StatementUse::step() {
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) {
    return true;
  }
  if (code == SQLITE_DONE) {
    return false;
  }
  storage_.fail(operation_);
}

void StatementUse::check(int code) {
  if (code != SQLITE_OK) {
    storage_.fail(operation_);
  }
}

SqliteStorage::SqliteStorage(const std::string& path, const SqliteOptions& options)
    : backend_(fmt::format("sqlite {}", path)) {
  sqlite3* raw = nullptr;
  // Our mutex serialises every use of the connection, so SQLite's own is not needed.
  const int code =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);  // also on failure: the handle then only carries the message
  if (code != SQLITE_OK) {
    if (!db_) {
      storage_detail::fail(backend_, "open", sqlite3_errstr(code));
    }
    fail("open");
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  sqlite3_busy_timeout(db_.get(), static_cast<int>(options.busy_timeout.count()));
  if (sqlite3_create_function_v2(db_.get(),
                                 std::string(storage_detail::kMergeLatencyFunction).c_str(), 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, &merge_latency_sql,
                                 nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("open: merge function");
  }

  // Before any table exists, so that a new database frees the pages pruning empties
  // (reclaim_space); a database created by an older collector keeps auto_vacuum=NONE, reuses its
  // free pages for new rows and does not shrink (docs/collector.md says how to convert it).
  exec("open", "PRAGMA auto_vacuum=INCREMENTAL");
  // WAL: readers never wait for the writer, and a commit is one append to the log. A commit is
  // in the log (the OS's page cache at least) before COMMIT returns, so a killed process loses
  // nothing it committed; synchronous=FULL adds the fsync that makes it survive power loss too.
  {
    Statement statement(nullptr, &sqlite3_finalize);
    sqlite3_stmt* raw_statement = nullptr;
    if (sqlite3_prepare_v2(db_.get(), "PRAGMA journal_mode=WAL", -1, &raw_statement, nullptr) !=
        SQLITE_OK) {
      fail("open: journal_mode");
    }
    statement.reset(raw_statement);
    if (sqlite3_step(statement.get()) != SQLITE_ROW) {
      fail("open: journal_mode");
    }
    const std::string mode(reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 0)));
    // ":memory:" databases cannot have a WAL, and need none.
    if (mode != "wal" && !(path == ":memory:" && mode == "memory")) {
      storage_detail::fail(backend_, "open",
                           fmt::format("journal_mode is '{}', not 'wal' (a file system without "
                                       "shared memory?)",
                                       mode));
    }
  }
  exec("open", options.sync_every_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  // SQLite's default page cache is 2 MiB: the pages of the last seconds of uploads left it
  // before retention folded them, and every one was read again from the file system.
  exec("open", fmt::format("PRAGMA cache_size=-{}", kSqlitePageCacheKiB));
  exec("open", fmt::format("PRAGMA wal_autocheckpoint={}", kSqliteCheckpointPages));
}

void SqliteStorage::exec(std::string_view operation, std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail(operation);
  }
}

StatementUse SqliteStorage::use(std::string_view operation, std::string_view sql) {
  auto found = statements_.find(sql);
  if (found == statements_.end()) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
      fail(operation);
    }
    found = statements_.emplace(sql, Statement(raw, &sqlite3_finalize)).first;
  }
  return StatementUse(*this, found->second.get(), operation);
}

int64_t SqliteStorage::single_integer(std::string_view operation, std::string_view sql) {
  StatementUse query = use(operation, sql);
  if (!query.step()) {
    storage_detail::fail(backend_, operation, "the query returned no row");
  }
  return query.integer(0);
}

void SqliteStorage::migrate() {
  constexpr std::string_view kOperation = "migrate";
  std::lock_guard lock(mutex_);
  const auto migrations = schema_migrations();
  for (;;) {
    // One migration per transaction, each taking the write lock first: a second process migrating
    // the same file waits, then finds the work done.
    Transaction transaction(*this, kOperation, true);
    exec(kOperation, kSchemaMigrationsTableSql);
    const int64_t applied = single_integer(kOperation, kAppliedVersion);
    if (applied > latest_schema_version()) {
      storage_detail::fail(backend_, kOperation,
                           fmt::format("the database has schema version {}, newer than this "
                                       "collector's {}: run a newer collector",
                                       applied, latest_schema_version()));
    }
    if (applied == latest_schema_version()) {
      transaction.commit();
      return;
    }
    const Migration& next = migrations[static_cast<size_t>(applied)];
    const std::string step = fmt::format("migrate to version {}", next.version);
    exec(step, next.sql);
    exec(step, next.sqlite_sql);
    if (next.rewrite) {
      rewrite_column(step, *next.rewrite);
    }
    {
      StatementUse record = use(step, kRecordMigration);
      record.bind(1, int64_t{next.version});
      record.bind(2, next.description);
      record.bind(3, now_epoch_ms());
      record.step();
    }
    transaction.commit();
  }
}

void SqliteStorage::rewrite_column(std::string_view operation, const ColumnRewrite& rewrite) {
  const auto keys = storage_detail::split_columns(rewrite.key);
  const std::string select =
      fmt::format("SELECT {}, {} FROM {}", rewrite.key, rewrite.column, rewrite.table);
  std::string update = fmt::format("UPDATE {} SET {} = ?1 WHERE ", rewrite.table, rewrite.column);
  for (size_t i = 0; i < keys.size(); ++i) {
    update += fmt::format("{}{} = ?{}", i == 0 ? "" : " AND ", keys[i], i + 2);
  }
  std::vector<std::vector<std::string>> rows;
  {
    Statement query(nullptr, &sqlite3_finalize);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), select.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      fail(operation);
    }
    query.reset(raw);
    StatementUse use_query(*this, query.get(), operation);
    while (use_query.step()) {
      std::vector<std::string>& row = rows.emplace_back();
      for (size_t column = 0; column <= keys.size(); ++column) {
        row.push_back(use_query.text(static_cast<int>(column)));
      }
    }
  }
  Statement statement(nullptr, &sqlite3_finalize);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), update.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    fail(operation);
  }
  statement.reset(raw);
  for (const auto& row : rows) {
    const std::string value = storage_detail::rewritten(rewrite, row, backend_, operation);
    StatementUse write(*this, statement.get(), operation);
    write.bind(1, value);
    for (size_t i = 0; i < keys.size(); ++i) {
      write.bind(static_cast<int>(i + 2), row[i]);
    }
    write.step();
  }
}

int SqliteStorage::schema_version() {
  constexpr std::string_view kOperation = "schema_version";
  std::lock_guard lock(mutex_);
  if (single_integer(kOperation, kHasMigrationsTable) == 0) {
    return 0;
  }
  return static_cast<int>(single_integer(kOperation, kAppliedVersion));
}

// SQLite has one writer and, with synchronous=FULL, an fsync per commit: one transaction per
// upload made the disk's fsync latency the bound on ingest. Uploads that arrive while a
// transaction is written are committed together in the next one; each still learns its own
// outcome, and only after the commit that made it durable.
StoreOutcome SqliteStorage::store_results(const std::vector<StoredResult>& batch) {
  if (batch.empty()) {
    return {};
  }
  PendingBatch mine;
  mine.batch = &batch;
  // Here, on the caller's thread, and not in the group's transaction: uploads compress in
  // parallel, and the single writer only writes.
  mine.compressed.reserve(batch.size());
  mine.latencies.reserve(batch.size());
  for (const StoredResult& result : batch) {
    mine.compressed.push_back(document_codec::compress(result.document));
    mine.latencies.push_back(encode_check_latencies(result.latencies));
  }
  group_commit_.submit(mine, [this](const std::vector<PendingBatch*>& group) {
    std::lock_guard lock(mutex_);
    store_group(group);
  });
  if (mine.error) {
    std::rethrow_exception(mine.error);
  }
  return mine.outcome;
}

// A savepoint costs a copy of every page its batch changes (SQLite's statement journal, a
// temporary file): a tenth of the collector's CPU when every batch had one. Conflicts and errors
// are rare, so the group is written in one transaction without them first; only if a batch of it
// cannot be stored is that rolled back and the group written again, each batch in a savepoint.
void SqliteStorage::store_group(const std::vector<PendingBatch*>& group) {
  try {
    if (write_group(group, false)) {
      return;
    }
  } catch (...) {
    // Written again apart, where each batch learns its own error.
  }
  write_group(group, true);
}

bool SqliteStorage::write_group(const std::vector<PendingBatch*>& group, bool apart) {
  constexpr std::string_view kOperation = "store_results";
  const int64_t received_at = now_epoch_ms();
  Transaction transaction(*this, kOperation, true);
  const int64_t folded_before_ms = fold_mark(kOperation);
  for (PendingBatch* pending : group) {
    if (apart) {
      exec(kOperation, "SAVEPOINT batch");
    }
    try {
      pending->outcome = insert_batch(*pending, received_at, folded_before_ms);
    } catch (const StorageError&) {
      if (!apart) {
        throw;
      }
      pending->error = std::current_exception();
    }
    const bool stores_nothing = pending->error || pending->outcome.conflicts > 0;
    if (!apart && stores_nothing) {
      return false;  // the transaction rolls back as it goes out of scope
    }
    if (apart) {
      // A conflict stores nothing of its batch; the others of the group are not affected.
      if (stores_nothing) {
        exec(kOperation, "ROLLBACK TO batch");
      }
      exec(kOperation, "RELEASE batch");
    }
  }
  transaction.commit();
  return true;
}

StoreOutcome SqliteStorage::insert_batch(const PendingBatch& pending, int64_t received_at,
                                         int64_t folded_before_ms) {
  constexpr std::string_view kOperation = "store_results";
  const std::vector<StoredResult>& batch = *pending.batch;
  std::vector<storage_detail::SeenResult> seen(batch.size());
  StatementUse insert = use(kOperation, kInsertResult);
  StatementUse insert_document = use(kOperation, kInsertDocument);
  StatementUse stored = use(kOperation, kStoredResult);
  for (size_t i = 0; i < batch.size(); ++i) {
    const StoredResult& result = batch[i];
    const int64_t seq = checked_seq(result.seq, backend_, kOperation);
    const int64_t epoch = checked_epoch(result.epoch, backend_, kOperation);
    insert.bind(1, result.agent);
    insert.bind(2, seq);
    insert.bind(3, result.domain);
    insert.bind(4, to_epoch_ms(result.started_at));
    insert.bind(5, result.verdict);
    insert.bind(6, received_at);
    insert.bind(7, epoch);
    insert.bind(8, result.summary);
    insert.bind(9, pending.latencies[i]);
    insert.step();
    // 0 when ON CONFLICT skipped the row: the database says which were new.
    seen[i].inserted = changes() == 1;
    insert.reset();
    if (seen[i].inserted) {
      insert_document.bind_blob(1, pending.compressed[i]);
      insert_document.step();
      insert_document.reset();
    } else {
      stored.bind(1, result.agent);
      stored.bind(2, seq);
      stored.bind(3, epoch);
      if (stored.step()) {
        seen[i].same_as_stored = storage_detail::same_result(
            storage_detail::StoredForm{.text = stored.text(0),
                                       .compressed = stored.blob(1),
                                       .started_at_ms = stored.integer(2),
                                       .domain = stored.text(3)},
            result, backend_);
      }
      stored.reset();
    }
  }
  StoreOutcome outcome = storage_detail::decide_fates(batch, seen);
  // A conflict rolls the batch back, and nothing of it may count.
  if (outcome.conflicts == 0) {
    add_to_rollups(storage_detail::stored_deltas(batch, outcome, folded_before_ms, backend_));
  }
  return outcome;
}

int64_t SqliteStorage::fold_mark(std::string_view operation) {
  return single_integer(operation, storage_detail::kFoldMarkSql);
}

std::vector<storage_detail::UnfoldedResult> SqliteStorage::read_unfolded(StatementUse& query) {
  std::vector<storage_detail::UnfoldedResult> found;
  while (query.step()) {
    found.push_back({.domain = query.text(0),
                     .agent = query.text(1),
                     .started_at_ms = query.integer(2),
                     .verdict = query.text(3),
                     .latency = query.text(4)});
  }
  return found;
}

std::pair<size_t, int64_t> SqliteStorage::fold_pass(int64_t before_ms, size_t batch) {
  constexpr std::string_view kOperation = "fold_rollups";
  const int64_t mark = fold_mark(kOperation);
  if (before_ms <= mark) {
    return {0, mark};
  }
  std::vector<storage_detail::UnfoldedResult> read;
  {
    StatementUse query = use(kOperation, storage_detail::kUnfoldedResultsSql);
    query.bind(1, mark);
    query.bind(2, before_ms);
    query.bind(3, limit_value(batch));
    read = read_unfolded(query);
  }
  storage_detail::FoldStep step = storage_detail::fold_step(read, batch, before_ms);
  if (step.whole_millisecond) {
    StatementUse query = use(kOperation, storage_detail::kResultsStartedAtSql);
    query.bind(1, read.front().started_at_ms);
    read = read_unfolded(query);
    step.count = read.size();
  }
  add_to_rollups(storage_detail::deltas_of(read, step.count, backend_, kOperation));
  StatementUse set = use(kOperation, storage_detail::kSetFoldMarkSql);
  set.bind(1, step.folded_before_ms);
  set.step();
  return {step.count, step.folded_before_ms};
}

size_t SqliteStorage::fold_rollups(TimePoint before, size_t batch) {
  std::lock_guard lock(mutex_);
  Transaction transaction(*this, "fold_rollups", true);
  const size_t folded = fold_pass(to_epoch_ms(before), batch).first;
  transaction.commit();
  return folded;
}

RollupDeltas SqliteStorage::unfolded_deltas(std::string_view operation, int64_t since_ms,
                                            const std::string& domain) {
  StatementUse query = use(operation, storage_detail::results_not_folded_sql(!domain.empty()));
  query.bind(1, std::max(since_ms, fold_mark(operation)));
  if (!domain.empty()) {
    query.bind(2, domain);
  }
  const auto read = read_unfolded(query);
  return storage_detail::deltas_of(read, read.size(), backend_, operation);
}

// One statement per rollup: the row's latency is merged in SQLite, by merge_latency_sql.
void SqliteStorage::add_to_rollups(const RollupDeltas& deltas) {
  constexpr std::string_view kOperation = "store_results";
  StatementUse add = use(kOperation, storage_detail::add_to_rollup_sql());
  for (const auto& [key, figures] : deltas.by_key()) {
    const std::string latency = figures.encode_latency();
    add.bind(1, key.domain);
    add.bind(2, to_string(key.span));
    add.bind(3, to_epoch_ms(key.start));
    add.bind(4, key.agent);
    for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
      add.bind(static_cast<int>(5 + verdict), static_cast<int64_t>(figures.verdicts[verdict]));
    }
    add.bind(static_cast<int>(5 + kVerdicts), latency);
    add.step();
    add.reset();
  }
}

uint64_t SqliteStorage::count_results() {
  std::lock_guard lock(mutex_);
  return static_cast<uint64_t>(single_integer("count_results", kCountResults));
}

std::optional<uint64_t> SqliteStorage::newest_epoch(const std::string& agent) {
  std::lock_guard lock(mutex_);
  StatementUse query = use("newest_epoch", kNewestEpoch);
  query.bind(1, agent);
  if (!query.step()) {
    return std::nullopt;
  }
  const auto newest = query.optional_integer(0);
  return newest ? std::optional<uint64_t>(static_cast<uint64_t>(*newest)) : std::nullopt;
}

// A row of kSelectResults or kReplayResults.
StoredResult SqliteStorage::stored_result(const StatementUse& row) const {
  const std::optional<std::string> compressed = row.blob(8);
  return StoredResult{
      .agent = row.text(0),
      .epoch = static_cast<uint64_t>(row.integer(6)),
      .seq = static_cast<uint64_t>(row.integer(1)),
      .domain = row.text(2),
      .started_at = from_epoch_ms(row.integer(3)),
      .verdict = row.text(4),
      .document = compressed ? document_codec::decompress(*compressed, backend_) : row.text(5),
      .summary = row.text(7),
  };
}

std::vector<StoredResult> SqliteStorage::replay_results(TimePoint since, size_t limit) {
  constexpr std::string_view kOperation = "replay_results";
  std::lock_guard lock(mutex_);
  StatementUse query = use(kOperation, kReplayResults);
  query.bind(1, to_epoch_ms(since));
  query.bind(2, limit_value(limit));
  std::vector<StoredResult> found;
  while (query.step()) {
    found.push_back(stored_result(query));
  }
  return found;
}

std::vector<StoredResult> SqliteStorage::results(const std::string& domain,
                                                 const std::string& agent, TimePoint since,
                                                 size_t limit) {
  constexpr std::string_view kOperation = "results";
  std::lock_guard lock(mutex_);
  const size_t variant = (domain.empty() ? 0 : 1) + (agent.empty() ? 0 : 2);
  StatementUse query = use(kOperation, kSelectResults[variant]);
  query.bind(1, to_epoch_ms(since));
  query.bind(2, domain);
  query.bind(3, agent);
  query.bind(4, limit_value(limit));
  std::vector<StoredResult> found;
  while (query.step()) {
    found.push_back(stored_result(query));
  }
  return found;
}

std::vector<Rollup> SqliteStorage::rollups(const std::string& domain, RollupSpan span,
                                           TimePoint since, size_t limit) {
  constexpr std::string_view kOperation = "rollups";
  std::lock_guard lock(mutex_);
  // One snapshot for the rollups and the results not folded into them.
  Transaction transaction(*this, kOperation, false);
  std::vector<Rollup> found;
  {
    StatementUse query = use(kOperation, storage_detail::select_rollups_sql(!domain.empty()));
    query.bind(1, to_string(span));
    query.bind(2, to_epoch_ms(since));
    if (domain.empty()) {
      query.bind(3, limit_value(limit));
    } else {
      query.bind(3, domain);
      query.bind(4, limit_value(limit));
    }
    while (query.step()) {
      std::array<int64_t, kVerdicts> counts{};
      for (size_t verdict = 0; verdict < kVerdicts; ++verdict) {
        counts[verdict] = query.integer(static_cast<int>(4 + verdict));
      }
      found.push_back(storage_detail::rollup_of(query.text(0), query.text(1), query.integer(2),
                                                query.text(3), counts, query.text(4 + kVerdicts),
                                                backend_));
    }
  }
  storage_detail::add_unfolded(found, unfolded_deltas(kOperation, to_epoch_ms(since), domain), span,
                               since, limit);
  transaction.commit();
  return found;
}

std::vector<DomainUptime> SqliteStorage::uptime(const std::string& domain, TimePoint now) {
  constexpr std::string_view kOperation = "uptime";
  std::lock_guard lock(mutex_);
  // One snapshot for both spans.
  Transaction transaction(*this, kOperation, false);
  std::map<std::string, DomainUptime> by_domain;
  for (const RollupSpan span : {RollupSpan::Hour, RollupSpan::Day}) {
    StatementUse query = use(kOperation, storage_detail::uptime_sql(span, !domain.empty()));
    const auto starts = storage_detail::uptime_window_starts(span, now);
    query.bind(1, starts[0]);
    query.bind(2, starts[1]);
    if (!domain.empty()) {
      query.bind(3, domain);
    }
    while (query.step()) {
      std::array<int64_t, 6> sums{};
      for (size_t i = 0; i < sums.size(); ++i) {
        sums[i] = query.integer(static_cast<int>(1 + i));
      }
      storage_detail::add_uptime_row(by_domain, query.text(0), span, sums);
    }
  }
  {
    StatementUse query = use(kOperation, storage_detail::unfolded_verdicts_sql(!domain.empty()));
    query.bind(
        1, std::max(to_epoch_ms(window_start(kUptimeWindows.back(), now)), fold_mark(kOperation)));
    if (!domain.empty()) {
      query.bind(2, domain);
    }
    while (query.step()) {
      storage_detail::add_unfolded_verdicts(by_domain, query.text(0), query.integer(1),
                                            query.text(2), query.integer(3), now, backend_);
    }
  }
  transaction.commit();
  return storage_detail::uptime_list(std::move(by_domain));
}

void SqliteStorage::upsert_agent(const AgentRecord& agent) {
  constexpr std::string_view kOperation = "upsert_agent";
  std::lock_guard lock(mutex_);
  StatementUse upsert = use(kOperation, kUpsertAgent);
  upsert.bind(1, agent.name);
  upsert.bind(2, agent.asn);
  upsert.bind(3, agent.address);
  upsert.bind(4, agent.version);
  upsert.bind(5, to_epoch_ms(agent.last_seen));
  upsert.bind(6, agent.uptime_s);
  upsert.bind(7, agent.spool_depth);
  upsert.bind(8, agent.spool_dropped);
  upsert.bind(9, checked_epoch(agent.epoch, backend_, kOperation));
  upsert.step();
}

std::vector<AgentRecord> SqliteStorage::agents() {
  std::lock_guard lock(mutex_);
  StatementUse query = use("agents", kSelectAgents);
  std::vector<AgentRecord> found;
  while (query.step()) {
    found.push_back(AgentRecord{
        .name = query.text(0),
        .asn = query.optional_integer(1),
        .address = query.text(2),
        .version = query.text(3),
        .last_seen = from_epoch_ms(query.integer(4)),
        .uptime_s = query.integer(5),
        .spool_depth = query.integer(6),
        .spool_dropped = query.integer(7),
        .epoch = static_cast<uint64_t>(query.integer(8)),
    });
  }
  return found;
}

void SqliteStorage::insert_token(std::string_view operation, const TokenRecord& token) {
  StatementUse insert = use(operation, kInsertToken);
  insert.bind(1, token.hash);
  insert.bind(2, token.name);
  insert.bind(3, to_string(token.kind));
  insert.bind(4, to_epoch_ms(token.created_at));
  insert.bind(
      5, token.expires_at ? std::optional<int64_t>(to_epoch_ms(*token.expires_at)) : std::nullopt);
  insert.step();
}

void SqliteStorage::add_token(const TokenRecord& token) {
  std::lock_guard lock(mutex_);
  insert_token("add_token", token);
}

TokenRecord SqliteStorage::token_row(const StatementUse& query, std::string_view operation) const {
  const auto expires_at = query.optional_integer(4);
  const auto last_used_at = query.optional_integer(5);
  return TokenRecord{
      .name = query.text(1),
      .kind = storage_detail::token_kind_column(query.text(2), backend_, operation),
      .hash = query.text(0),
      .created_at = from_epoch_ms(query.integer(3)),
      .expires_at = expires_at ? std::optional(from_epoch_ms(*expires_at)) : std::nullopt,
      .last_used_at = last_used_at ? std::optional(from_epoch_ms(*last_used_at)) : std::nullopt,
  };
}

std::optional<TokenRecord> SqliteStorage::token_by_hash(const std::string& hash) {
  std::lock_guard lock(mutex_);
  StatementUse query = use("token_by_hash", kSelectToken);
  query.bind(1, hash);
  if (!query.step()) {
    return std::nullopt;
  }
  return token_row(query, "token_by_hash");
}

std::vector<TokenRecord> SqliteStorage::tokens() {
  std::lock_guard lock(mutex_);
  StatementUse query = use("tokens", kSelectTokens);
  std::vector<TokenRecord> found;
  while (query.step()) {
    found.push_back(token_row(query, "tokens"));
  }
  return found;
}

size_t SqliteStorage::end_tokens(const std::string& name, TimePoint at,
                                 const std::optional<TokenRecord>& successor) {
  constexpr std::string_view kOperation = "end_tokens";
  std::lock_guard lock(mutex_);
  Transaction transaction(*this, kOperation, true);
  size_t ended = 0;
  {
    StatementUse end = use(kOperation, kEndTokens);
    end.bind(1, name);
    end.bind(2, to_epoch_ms(at));
    end.step();
    ended = static_cast<size_t>(changes());
  }
  if (successor) {
    insert_token(kOperation, *successor);
  }
  transaction.commit();
  return ended;
}

void SqliteStorage::token_used(const std::string& hash, TimePoint at) {
  std::lock_guard lock(mutex_);
  StatementUse update = use("token_used", kTokenUsed);
  update.bind(1, hash);
  update.bind(2, to_epoch_ms(at));
  update.step();
}

std::vector<Target> SqliteStorage::read_targets(std::string_view operation) {
  StatementUse query = use(operation, kSelectTargets);
  std::vector<Target> found;
  while (query.step()) {
    found.push_back(Target{
        .domain = query.text(0),
        .kind = decode_target_kind(query.text(5), backend_),
        .port = static_cast<int>(query.integer(1)),
        .path = query.text(2),
        .expect_status = decode_expect_status(query.text(3), backend_),
        .body_regex = query.text(4),
        .ca_file = query.text(6),
        .insecure = query.integer(7) != 0,
        .warn_before = {.certificate = std::chrono::milliseconds(query.integer(8)),
                        .signature = std::chrono::milliseconds(query.integer(9))},
    });
  }
  return found;
}

std::vector<Target> SqliteStorage::targets() {
  std::lock_guard lock(mutex_);
  return read_targets("targets");
}

int64_t SqliteStorage::targets_version() {
  std::lock_guard lock(mutex_);
  return single_integer("targets_version", kSelectTargetsVersion);
}

TargetSet SqliteStorage::target_set() {
  constexpr std::string_view kOperation = "target_set";
  std::lock_guard lock(mutex_);
  // One read transaction: one snapshot for both, whatever another process writes meanwhile.
  Transaction transaction(*this, kOperation, false);
  TargetSet set;
  set.targets = read_targets(kOperation);
  set.version = single_integer(kOperation, kSelectTargetsVersion);
  transaction.commit();
  return set;
}

bool SqliteStorage::put_target(const Target& target) {
  constexpr std::string_view kOperation = "put_target";
  const std::string expect_status = encode_expect_status(target.expect_status);
  std::lock_guard lock(mutex_);
  Transaction transaction(*this, kOperation, true);
  bool changed = false;
  {
    StatementUse put = use(kOperation, kPutTarget);
    put.bind(1, target.domain);
    put.bind(2, int64_t{target.port});
    put.bind(3, target.path);
    put.bind(4, expect_status);
    put.bind(5, target.body_regex);
    put.bind(6, to_string(target.kind));  // static text: bound without a copy
    put.bind(7, target.ca_file);
    put.bind(8, int64_t{target.insecure ? 1 : 0});
    put.bind(9, int64_t{target.warn_before.certificate.count()});
    put.bind(10, int64_t{target.warn_before.signature.count()});
    put.step();
    changed = changes() > 0;
  }
  if (changed) {
    StatementUse bump = use(kOperation, kBumpTargetsVersion);
    bump.step();
  }
  transaction.commit();
  return changed;
}

bool SqliteStorage::remove_target(const std::string& domain) {
  constexpr std::string_view kOperation = "remove_target";
  std::lock_guard lock(mutex_);
  Transaction transaction(*this, kOperation, true);
  bool removed = false;
  {
    StatementUse remove = use(kOperation, kRemoveTarget);
    remove.bind(1, domain);
    remove.step();
    removed = changes() > 0;
  }
  if (removed) {
    StatementUse bump = use(kOperation, kBumpTargetsVersion);
    bump.step();
  }
  transaction.commit();
  return removed;
}

void SqliteStorage::record_verdict(const VerdictRecord& change) {
  constexpr std::string_view kOperation = "record_verdict";
  std::lock_guard lock(mutex_);
  StatementUse insert = use(kOperation, kRecordVerdict);
  insert.bind(1, change.domain);
  insert.bind(2, to_epoch_ms(change.changed_at));
  insert.bind(3, to_string(change.verdict));
  insert.bind(4, to_string(change.scope));
  insert.bind(5, to_string(change.previous_verdict));
  const std::string state = encode_verdict_state(change.state);
  insert.bind(6, state);
  insert.step();
}

std::vector<VerdictRecord> SqliteStorage::read_verdicts(StatementUse& query,
                                                        std::string_view operation) {
  std::vector<VerdictRecord> found;
  while (query.step()) {
    const std::string verdict = query.text(2);
    const std::string scope = query.text(3);
    const std::string previous = query.text(4);
    const std::string state = query.text(5);
    found.push_back(storage_detail::verdict_record({.domain = query.text(0),
                                                    .changed_at_ms = query.integer(1),
                                                    .verdict = verdict,
                                                    .scope = scope,
                                                    .previous_verdict = previous,
                                                    .state = state},
                                                   backend_, operation));
  }
  return found;
}

std::vector<VerdictRecord> SqliteStorage::verdict_history(const std::string& domain,
                                                          TimePoint since, size_t limit) {
  std::lock_guard lock(mutex_);
  StatementUse query = use("verdict_history", kVerdictHistory);
  query.bind(1, domain);
  query.bind(2, to_epoch_ms(since));
  query.bind(3, limit_value(limit));
  return read_verdicts(query, "verdict_history");
}

std::vector<VerdictRecord> SqliteStorage::latest_verdicts() {
  std::lock_guard lock(mutex_);
  StatementUse query = use("latest_verdicts", kLatestVerdicts);
  return read_verdicts(query, "latest_verdicts");
}

std::vector<VerdictRecord> SqliteStorage::latest_changes(const std::string& domain, size_t count) {
  std::lock_guard lock(mutex_);
  StatementUse query = use("latest_changes", kLatestChanges);
  query.bind(1, domain);
  query.bind(2, limit_value(count));
  return read_verdicts(query, "latest_changes");
}

}  // namespace

uint64_t SqliteStorage::prune_with(std::string_view sql, TimePoint cutoff, size_t batch,
                                   std::optional<TimePoint> results) {
  StatementUse statement = use("prune", sql);
  statement.bind(1, to_epoch_ms(cutoff));
  statement.bind(2, limit_value(batch));
  if (results) {
    statement.bind(3, to_epoch_ms(*results));
  }
  statement.step();
  return static_cast<uint64_t>(changes());
}

PruneCounts SqliteStorage::prune(const RetentionCutoffs& cutoffs, size_t batch) {
  std::lock_guard lock(mutex_);
  Transaction transaction(*this, "prune", true);
  // A result leaves only once its rollups hold it.
  const TimePoint results_cutoff = std::min(
      cutoffs.results, from_epoch_ms(fold_pass(to_epoch_ms(cutoffs.results), batch).second));
  PruneCounts pruned;
  pruned.documents = prune_with(kPruneOkDocuments, cutoffs.documents, batch, cutoffs.results);
  pruned.documents += prune_with(kPruneEvidence, cutoffs.evidence, batch, cutoffs.results);
  pruned.results = prune_with(kPruneResults, results_cutoff, batch);
  pruned.verdict_changes = prune_with(kPruneVerdictChanges, cutoffs.verdict_changes, batch);
  prune_with(kPruneAlertDeliveries, cutoffs.alerts, batch);
  pruned.alerts = prune_with(kPruneAlerts, cutoffs.alerts, batch);
  pruned.rollups = prune_with(storage_detail::prune_rollups_sql(RollupSpan::Hour),
                              ended_by(RollupSpan::Hour, cutoffs.hourly_rollups), batch);
  pruned.rollups += prune_with(storage_detail::prune_rollups_sql(RollupSpan::Day),
                               ended_by(RollupSpan::Day, cutoffs.daily_rollups), batch);
  transaction.commit();
  return pruned;
}

size_t SqliteStorage::compress_text_documents(size_t batch) {
  constexpr std::string_view kOperation = "compress_text_documents";
  std::lock_guard lock(mutex_);
  Transaction transaction(*this, kOperation, true);
  struct TextDocument {
    int64_t id;
    std::string compressed;
  };
  std::vector<TextDocument> found;
  {
    StatementUse query = use(kOperation, kTextDocuments);
    query.bind(1, limit_value(batch));
    while (query.step()) {
      found.push_back({query.integer(0), document_codec::compress(query.text(1))});
    }
  }
  StatementUse update = use(kOperation, kCompressTextDocument);
  StatementUse insert = use(kOperation, kInsertCompressedDocument);
  for (const TextDocument& document : found) {
    update.bind(1, document.id);
    update.step();
    update.reset();
    insert.bind(1, document.id);
    insert.bind_blob(2, document.compressed);
    insert.step();
    insert.reset();
  }
  transaction.commit();
  return found.size();
}

uint64_t SqliteStorage::reclaim_space(uint64_t pages) {
  constexpr std::string_view kOperation = "reclaim_space";
  std::lock_guard lock(mutex_);
  const int64_t before = single_integer(kOperation, "PRAGMA page_count");
  // incremental_vacuum(0) would free every page: bounded, like pruning, so ingest waits little.
  exec(kOperation, fmt::format("PRAGMA incremental_vacuum({})", std::max<uint64_t>(pages, 1)));
  return static_cast<uint64_t>(before - single_integer(kOperation, "PRAGMA page_count"));
}

uint64_t SqliteStorage::size_bytes() {
  constexpr std::string_view kOperation = "size_bytes";
  std::lock_guard lock(mutex_);
  const int64_t pages = single_integer(kOperation, "PRAGMA page_count");
  const int64_t page_size = single_integer(kOperation, "PRAGMA page_size");
  uint64_t wal_bytes = 0;
  // "" for an in-memory database, which has no WAL.
  if (const char* file = sqlite3_db_filename(db_.get(), "main"); file != nullptr && *file != 0) {
    std::error_code error;
    wal_bytes = std::filesystem::file_size(std::string(file) + "-wal", error);
    wal_bytes = error ? 0 : wal_bytes;
  }
  return static_cast<uint64_t>(pages * page_size) + wal_bytes;
}

std::optional<int64_t> SqliteStorage::one_integer(std::string_view operation,
                                                  const std::string& sql,
                                                  const std::vector<int64_t>& parameters,
                                                  bool may_fail) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    if (may_fail) {
      return std::nullopt;
    }
    fail(operation);
  }
  const Statement statement(raw, &sqlite3_finalize);
  StatementUse query(*this, statement.get(), operation);
  for (size_t i = 0; i < parameters.size(); ++i) {
    query.bind(static_cast<int>(i + 1), parameters[i]);
  }
  return query.step() ? query.optional_integer(0) : std::nullopt;
}

StorageStats SqliteStorage::stats(const RetentionCutoffs& cutoffs) {
  constexpr std::string_view kOperation = "stats";
  std::lock_guard lock(mutex_);
  // One read transaction: every figure is of the same instant.
  const Transaction snapshot(*this, kOperation, false);
  return storage_detail::collect_stats(
      cutoffs,
      [&](const std::string& sql, const std::vector<int64_t>& parameters) {
        return one_integer(kOperation, sql, parameters);
      },
      [&](std::string_view table) -> std::optional<uint64_t> {
        // A result's document is part of it, as on PostgreSQL, where it is in the row.
        const std::string_view documents = table == "results" ? "result_documents" : table;
        // dbstat (SQLITE_ENABLE_DBSTAT_VTAB, which Debian's library has) reads every page.
        const auto bytes = one_integer(
            kOperation,
            fmt::format("SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM "
                        "sqlite_master WHERE tbl_name IN ('{}', '{}'))",
                        table, documents),
            {}, true);
        return bytes ? std::optional<uint64_t>(static_cast<uint64_t>(*bytes)) : std::nullopt;
      });
}

std::unique_ptr<Storage> open_sqlite_storage(const std::string& path,
                                             const SqliteOptions& options) {
  return std::make_unique<SqliteStorage>(path, options);
}

}  // namespace vantage
