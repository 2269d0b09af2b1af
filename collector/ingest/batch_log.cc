#include "batch_log.hh"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace vantage {

std::string seq_ranges(std::vector<uint64_t> seqs, size_t max_ranges) {
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  std::string text;
  size_t ranges = 0;
  for (size_t i = 0; i < seqs.size();) {
    size_t last = i;
    while (last + 1 < seqs.size() && seqs[last + 1] == seqs[last] + 1) {
      ++last;
    }
    if (ranges == max_ranges) {
      text += fmt::format(" and {} more", seqs.size() - i);
      break;
    }
    text += ranges == 0 ? "" : ", ";
    text += last == i ? fmt::format("{}", seqs[i]) : fmt::format("{}-{}", seqs[i], seqs[last]);
    ++ranges;
    i = last + 1;
  }
  return text;
}

void log_stored_batch(const std::string& agent, const ResultBatch& batch,
                      const StoreOutcome& outcome, std::optional<uint64_t> newest_epoch_before) {
  if (outcome.inserted > 0 && batch.epoch > 0 && !newest_epoch_before) {
    spdlog::info("agent {}: first results, epoch {}", agent, batch.epoch);
  } else if (outcome.inserted > 0 && newest_epoch_before && batch.epoch > *newest_epoch_before) {
    spdlog::info(
        "agent {} started epoch {} (its state directory is new; the previous epoch was {}); "
        "sequence restarts at 1",
        agent, batch.epoch, *newest_epoch_before);
  } else if (newest_epoch_before && batch.epoch < *newest_epoch_before) {
    spdlog::warn(
        "agent {} sent {} results of epoch {}, older than its newest epoch {}: stored {} ({} "
        "duplicates). Do two agents share the name {} and its token, or did an old state "
        "directory come back?",
        agent, batch.results.size(), batch.epoch, *newest_epoch_before, outcome.inserted,
        outcome.duplicates, agent);
  }
  if (outcome.duplicates > 0 && spdlog::should_log(spdlog::level::debug)) {
    std::vector<uint64_t> seqs;
    for (size_t i = 0; i < outcome.fates.size() && i < batch.results.size(); ++i) {
      if (outcome.fates[i] == StoreFate::Duplicate) {
        seqs.push_back(batch.results[i].seq);
      }
    }
    spdlog::debug("agent {} epoch {}: {} results already stored, skipped as duplicates: seq {}",
                  agent, batch.epoch, outcome.duplicates, seq_ranges(std::move(seqs)));
  }
}

std::optional<uint64_t> NewestEpochs::of(const std::string& agent) {
  std::lock_guard lock(mutex_);
  const auto known = newest_.find(agent);
  if (known != newest_.end()) {
    return known->second;
  }
  const auto newest = storage_.newest_epoch(agent);
  newest_.emplace(agent, newest);
  return newest;
}

void NewestEpochs::stored(const std::string& agent, uint64_t epoch) {
  std::lock_guard lock(mutex_);
  auto& newest = newest_[agent];
  if (!newest || *newest < epoch) {
    newest = epoch;
  }
}

}  // namespace vantage
