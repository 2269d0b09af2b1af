#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "correlation.hh"
#include "cycle_reader.hh"
#include "storage.hh"

namespace vantage {

// The version of the API's own documents (the result batch); the cycle documents inside carry
// kCycleSchemaVersion.
inline constexpr int kApiSchemaVersion = 1;
inline constexpr size_t kMaxResultsPerBatch = 1000;
// How far ahead of the collector's clock a cycle may start, unless collector.yaml says otherwise
// (limits.max_clock_skew): a cycle dated in the future would make every later one of that vantage
// look older, and so freeze its reading.
inline constexpr std::chrono::milliseconds kDefaultMaxClockSkew = std::chrono::minutes(5);

// A request the API turns down: the HTTP status and the text of its {"error": ...} body.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// The body as JSON; 400 if it is not JSON or nests deeper than kMaxJsonDepth (checked before it
// is parsed: nlohmann's copy and dump recurse, and a body of nothing but '[' must not exhaust a
// worker thread's stack). For the small documents: heartbeats and targets.
nlohmann::json parse_json_body(std::string_view body);

// A gzip body inflated, never to more than `max_bytes`: 413 past that (a small body may inflate
// to gigabytes), 400 if it is not gzip.
std::string gunzip_bounded(std::string_view compressed, size_t max_bytes);

struct ResultBatch {
  uint64_t epoch = 0;  // the agent's state directory; every result carries it too
  std::vector<StoredResult> results;
  std::vector<VantageCycle> cycles;  // the same results as correlation reads them
  uint64_t max_seq = 0;
};

// Removes the results that started before `horizon` (with their cycles): retention has pruned, or
// will at once prune, what started then, so storing one again would count it twice in its
// rollups. The acknowledgement still covers them (max_seq stays). Returns the position in the
// upload of each result kept, in order.
std::vector<size_t> drop_results_before(ResultBatch& batch, TimePoint horizon);

// POST /api/v1/results, read once (simdjson on demand) straight into the typed cycles, each
// stored as the bytes received (its StoredResult::document), never a re-dump. Checks everything
// before anything is stored: 400 for a body that is not JSON (every value is read or checked,
// also members it does not know) or nests deeper than kMaxJsonDepth; 422 for a missing field, a
// wrong schema version or an out-of-range value, naming the field ("results[3].cycle: missing
// field \"domain\""; "epoch", optional, 0 when absent, a whole number from 0 up), also for a cycle
// that starts or ends more than `max_clock_skew` after `now` (cycles from the past are spool
// replays, taken back to 2020); 403 when `agent` is not `caller`, the agent the token belongs to.
// Domains come back normalised (normalize_domain).
ResultBatch parse_result_batch(std::string_view body, const std::string& caller, TimePoint now,
                               std::chrono::milliseconds max_clock_skew = kDefaultMaxClockSkew);

// Per timed check, its slowest probe that succeeded: what the cycle adds to its rollups.
CheckLatencies check_latencies(const CycleResult& cycle);

// POST /api/v1/heartbeat; same errors. The record's address is `peer`, its last_seen `now`;
// spool_dropped and epoch are 0 when absent.
AgentRecord parse_heartbeat(const nlohmann::json& body, const std::string& caller,
                            const std::string& peer, TimePoint now);
// The heartbeat's optional "interval_ms", the agent's probe interval (1 ms to a day); nullopt
// when absent or null, as agents that do not send it leave it: the collector then derives the
// interval from the spacing of their cycles. 422 for anything else.
std::optional<std::chrono::milliseconds> parse_heartbeat_interval(const nlohmann::json& body);

// POST /api/v1/targets: only `domain` is required; the domain comes back normalised, so that one
// domain is one target however it was typed. 422 naming the field.
Target parse_target(const nlohmann::json& body);

// A domain from a request (a path segment, a query parameter) as the collector keys it: ASCII
// lower case, without a trailing dot. 400 when it is not a domain name.
std::string normalize_domain(std::string_view name);

}  // namespace vantage
