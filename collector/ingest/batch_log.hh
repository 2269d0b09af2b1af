#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api_input.hh"
#include "storage.hh"

namespace vantage {

// Sorted, as ranges: "1-5, 9, 12-13"; past `max_ranges` ranges, "… and N more".
std::string seq_ranges(std::vector<uint64_t> seqs, size_t max_ranges = 8);

// What a stored batch says about its agent, logged once per batch: at info when it is the first
// of a new epoch (newer than `newest_epoch_before`, the agent's newest stored epoch: its state
// directory is new and its numbering restarts at 1); at warn when its epoch is older than that
// (two agents share the name and token, or an old state directory came back); at debug the seq
// ranges it skipped as duplicates.
void log_stored_batch(const std::string& agent, const ResultBatch& batch,
                      const StoreOutcome& outcome, std::optional<uint64_t> newest_epoch_before);

// Each agent's newest stored epoch, read from storage once per agent and then kept up to date in
// memory: a batch needs it only for its log line, not a query each.
class NewestEpochs {
 public:
  explicit NewestEpochs(Storage& storage) : storage_(storage) {}
  // The newest epoch of the agent's stored results; nullopt when it has none.
  std::optional<uint64_t> of(const std::string& agent);
  // The agent's batch of `epoch` stored results.
  void stored(const std::string& agent, uint64_t epoch);

 private:
  Storage& storage_;
  std::mutex mutex_;
  std::map<std::string, std::optional<uint64_t>> newest_;  // guarded by mutex_
};

}  // namespace vantage
