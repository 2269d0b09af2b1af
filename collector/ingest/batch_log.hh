#pragma once

#include <cstdint>
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

}  // namespace vantage
