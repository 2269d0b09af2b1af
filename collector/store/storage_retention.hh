#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "storage.hh"

namespace vantage {

// collector.yaml `retention`: how long each kind of stored data is kept (docs/configuration.md).
struct RetentionConfig {
  using Duration = std::chrono::milliseconds;
  static constexpr Duration kDay = std::chrono::hours(24);

  Duration documents = 3 * kDay;             // documents of results read OK
  Duration evidence = 30 * kDay;             // documents of all other results
  Duration results = 30 * kDay;              // result rows with their summaries
  Duration verdict_changes = 400 * kDay;     // each domain's latest change is kept regardless
  Duration alerts = 400 * kDay;              // after an alert resolved
  Duration hourly_rollups = 30 * kDay;       // at least results, and at least 7 days (uptime 7d)
  Duration daily_rollups = 400 * kDay;       // at least hourly_rollups, and 90 days (uptime 90d)
  Duration every = std::chrono::minutes(1);  // how often pruning runs

  RetentionCutoffs cutoffs(TimePoint now) const;
  // "documents 3d, evidence 30d, ...": every period, for a log line or a report.
  std::string describe() const;
};

// Keeps the store within its retention, on a thread of its own: each pass folds the results of
// the steps that are over into their rollups (rollup.hh: fold_before), converts documents an
// earlier collector stored as text, prunes in batches of kBatch rows (each its own short
// transaction, with a rest of 24 times its duration after it, so that ingest's commits come in
// between and pruning takes at most a 25th of the writer's time), and gives the freed pages
// back to the file system. A pass that fails is logged and tried again next time.
class StorageRetention {
 public:
  static constexpr size_t kBatch = 1000;
  // Results per fold transaction: a fleet's whole step at once, so that each rollup is written
  // once per step (10 agents × 100 domains every 30 s: 20,000).
  static constexpr size_t kFoldBatch = 50000;

  StorageRetention(Storage& storage, RetentionConfig config);
  // Stops the thread, if started, after the batch in progress.
  ~StorageRetention();
  StorageRetention(const StorageRetention&) = delete;
  StorageRetention& operator=(const StorageRetention&) = delete;

  // Runs a pass at once and then one every `every`.
  void start();
  // One whole pass on the caller's thread, with `now` as the time; what it pruned.
  PruneCounts run_pass(TimePoint now);

  const RetentionConfig& config() const { return config_; }
  // Since this object was made: what pruning removed, the documents it compressed and the results
  // it folded into their rollups.
  PruneCounts pruned() const;
  uint64_t compressed() const { return compressed_.load(); }
  uint64_t folded() const { return folded_.load(); }

 private:
  void loop();
  // Calls `step` until it returns false (no work left), resting after each call so that pruning
  // holds the database's writer at most a fifteenth of the time; false if stopped meanwhile.
  template <typename Step>
  bool in_batches(Step step);
  // Sleeps for `duration` or until stopping; false when stopping.
  bool pause(std::chrono::milliseconds duration);

  Storage& storage_;
  const RetentionConfig config_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  PruneCounts pruned_;     // guarded by mutex_
  std::atomic<uint64_t> compressed_{0};
  std::atomic<uint64_t> folded_{0};
  std::thread thread_;
};

}  // namespace vantage
