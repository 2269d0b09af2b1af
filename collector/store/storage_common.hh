#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage.hh"

// What both storage backends share: how values map to columns, and the checks made before a
// statement runs. Not part of the Storage interface.
namespace vantage::storage_detail {

// Rounded down, so that a result is never reported before it started.
int64_t to_epoch_ms(TimePoint time);
TimePoint from_epoch_ms(int64_t ms);
// Milliseconds since the epoch, now.
int64_t now_epoch_ms();

// expect_status as stored: a JSON array of integers, "[200,301]", compact, so that two equal
// lists are equal texts (put_target compares them in SQL).
std::string encode_expect_status(const std::vector<int>& codes);
// Throws StorageError naming `backend` if the column does not hold such an array.
std::vector<int> decode_expect_status(std::string_view json, std::string_view backend);

// A target's kind as stored ("https", "http", "tcp"); throws StorageError naming `backend` for
// any other text.
TargetKind decode_target_kind(std::string_view text, std::string_view backend);

// Throws StorageError (naming backend and operation) for a seq or epoch the database cannot hold.
int64_t checked_seq(uint64_t seq, std::string_view backend, std::string_view operation);
int64_t checked_epoch(uint64_t epoch, std::string_view backend, std::string_view operation);
// A LIMIT value: size_t beyond INT64_MAX means "all".
int64_t limit_value(size_t limit);

// What the database saw of one result of a batch, inside the transaction that stores it.
struct SeenResult {
  bool inserted = false;        // this statement inserted its (agent, epoch, seq)
  bool same_as_stored = false;  // not inserted: the stored row holds the same document
};
// What a backend reads of the row stored under a re-uploaded result's key.
struct StoredForm {
  std::string text;                       // the document, if stored as text (before version 7)
  std::optional<std::string> compressed;  // the document, compressed; nullopt if none
  int64_t started_at_ms = 0;
  std::string domain;
};
// Whether `incoming` is the result stored as `stored`: the same document bytes; or, once retention
// dropped the document, the same start and domain (one seq of one agent cannot be two cycles
// starting at one millisecond). Throws StorageError for a stored document that does not
// decompress.
bool same_result(const StoredForm& stored, const StoredResult& incoming, std::string_view backend);

// The fates of a batch from what the database saw: a key repeated within the batch is compared
// with its first occurrence; if anything conflicts, what would have been stored is Withheld and
// the caller must roll back.
StoreOutcome decide_fates(const std::vector<StoredResult>& batch,
                          const std::vector<SeenResult>& seen);

// The figures of db stats (Storage::stats), the same SQL on both backends: `integer` runs a query
// and returns the integer of its first row (nullopt for NULL), its parameters written $1, $2, ...
// in the order they are bound, which SQLite reads as PostgreSQL does; `table_bytes` is a table's
// size with its indexes, nullopt where the backend cannot say. Call inside one read transaction.
using IntegerQuery =
    std::function<std::optional<int64_t>(const std::string& sql, const std::vector<int64_t>&)>;
StorageStats collect_stats(
    const RetentionCutoffs& cutoffs, const IntegerQuery& integer,
    const std::function<std::optional<uint64_t>(std::string_view)>& table_bytes);

// "<backend>: <operation>: <message>", the text of every StorageError.
[[noreturn]] void fail(std::string_view backend, std::string_view operation,
                       std::string_view message);

}  // namespace vantage::storage_detail
