#include "storage_retention.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "duration.hh"

namespace vantage {
namespace {

// After each batch, a rest of 24 times as long as it took (at least 10 ms): pruning holds the
// database's single writer at most a 25th of the time, and ingest's commits, which queue
// behind a batch, go first. A backlog of a million rows still goes in minutes.
constexpr int kRestPerBusy = 24;
constexpr std::chrono::milliseconds kLeastRest{10};
// A pass that runs longer than this says how far it got, and again after each such period.
constexpr std::chrono::seconds kProgressEvery{10};
// SQLite pages given back per call (4 MiB of 4 KiB pages).
constexpr uint64_t kReclaimPages = 1024;

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds rest_after(Clock::time_point batch_started) {
  const auto busy =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - batch_started);
  return std::max(kLeastRest, kRestPerBusy * busy);
}

}  // namespace

RetentionCutoffs RetentionConfig::cutoffs(TimePoint now) const {
  return RetentionCutoffs{
      .documents = now - documents,
      .evidence = now - evidence,
      .results = now - results,
      .verdict_changes = now - verdict_changes,
      .alerts = now - alerts,
      .hourly_rollups = now - hourly_rollups,
      .daily_rollups = now - daily_rollups,
  };
}

std::string RetentionConfig::describe() const {
  return fmt::format(
      "documents {}, evidence {}, results {}, verdict changes {}, alerts {}, hourly rollups {}, "
      "daily rollups {}",
      format_period(documents), format_period(evidence), format_period(results),
      format_period(verdict_changes), format_period(alerts), format_period(hourly_rollups),
      format_period(daily_rollups));
}

StorageRetention::StorageRetention(Storage& storage, RetentionConfig config)
    : storage_(storage), config_(config) {}

StorageRetention::~StorageRetention() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void StorageRetention::start() {
  thread_ = std::thread([this] { loop(); });
}

PruneCounts StorageRetention::pruned() const {
  std::lock_guard lock(mutex_);
  return pruned_;
}

bool StorageRetention::pause(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, duration, [this] { return stopping_; });
}

void StorageRetention::loop() {
  do {
    try {
      run_pass(std::chrono::system_clock::now());
    } catch (const std::exception& error) {
      spdlog::warn("retention: the pass stopped, tried again in {} s: {}",
                   std::chrono::duration_cast<std::chrono::seconds>(config_.every).count(),
                   error.what());
    }
  } while (pause(config_.every));
}

template <typename Step>
bool StorageRetention::in_batches(Step step) {
  for (;;) {
    const auto started = Clock::now();
    if (!step()) {
      return true;
    }
    if (!pause(rest_after(started))) {
      return false;
    }
  }
}

PruneCounts StorageRetention::run_pass(TimePoint now) {
  const auto started = Clock::now();
  auto next_progress = started + kProgressEvery;
  const auto progress = [&](const auto& say) {
    if (Clock::now() >= next_progress) {
      say();
      next_progress = Clock::now() + kProgressEvery;
    }
  };

  // Results of the steps that are over go into their rollups; pruning folds what it removes
  // itself, so this only keeps the results readers add to the rollups few.
  uint64_t folded = 0;
  const bool folding_done = in_batches([&] {
    const size_t done = storage_.fold_rollups(fold_before(now), kFoldBatch);
    folded += done;
    folded_ += done;
    return done > 0;
  });
  if (!folding_done) {
    return {};
  }
  if (folded > 0) {
    spdlog::debug("retention: folded {} results into their rollups", folded);
  }

  // Documents an earlier collector stored as text are compressed first, so that the rules below,
  // which read the compressed documents' indexes, see them.
  uint64_t compressed = 0;
  const bool compressing_done = in_batches([&] {
    const size_t done = storage_.compress_text_documents(kBatch);
    compressed += done;
    compressed_ += done;
    progress([&] {
      spdlog::info("retention: compressed {} documents stored as text so far", compressed);
    });
    return done > 0;
  });
  if (compressed > 0) {
    spdlog::info("retention: compressed {} documents stored as text by an earlier version{}",
                 compressed, compressing_done ? "" : " (stopped: the rest at the next start)");
  }
  if (!compressing_done) {
    return {};
  }

  const RetentionCutoffs cutoffs = config_.cutoffs(now);
  PruneCounts pass;
  const bool pruning_done = in_batches([&] {
    const PruneCounts batch = storage_.prune(cutoffs, kBatch);
    pass += batch;
    {
      std::lock_guard lock(mutex_);
      pruned_ += batch;
    }
    progress([&] {
      spdlog::info("retention: pruned {} rows so far ({} documents, {} results)", pass.total(),
                   pass.documents, pass.results);
    });
    return batch.total() > 0;
  });
  uint64_t reclaimed = 0;
  if (pruning_done) {
    in_batches([&] {
      const uint64_t pages = storage_.reclaim_space(kReclaimPages);
      reclaimed += pages;
      return pages > 0;
    });
  }

  const auto took = std::chrono::duration<double>(Clock::now() - started).count();
  // A routine pass is a debug line; a long one, which an operator may have noticed, is not.
  const auto level = took >= static_cast<double>(kProgressEvery.count()) ? spdlog::level::info
                                                                         : spdlog::level::debug;
  if (pass.total() > 0 || reclaimed > 0) {
    spdlog::log(level,
                "retention: pruned {} documents, {} results, {} verdict changes, {} alerts and {} "
                "rollups, gave back {} pages, in {:.1f} s",
                pass.documents, pass.results, pass.verdict_changes, pass.alerts, pass.rollups,
                reclaimed, took);
  }
  return pass;
}

}  // namespace vantage
