#pragma once

#include <cstdint>
#include <filesystem>

namespace vantage {

// Which incarnation of the agent's state directory this is, sent as "epoch" with every upload
// and heartbeat. The spool numbers results from 1 in a new directory (a rebuilt VM, a container
// without its volume); the collector keys results by (agent, epoch, seq), so the new numbers are
// new results instead of duplicates of the old directory's. Like a producer epoch, it only grows:
// it is the time of creation in microseconds since 1970.
struct AgentIdentity {
  uint64_t epoch = 0;
  bool created = false;  // this start made it: the directory is new (or from before epochs)
};

// Reads `state_dir`/epoch, or creates it durably (temporary name, fsync, rename, fsync of the
// directory) before anything is numbered; a new one also when the spool directory is missing,
// as numbering then restarts at 1, or when the epoch file was removed (an operator's way to
// start a new epoch). A directory that holds a spool but neither an epoch file nor the marker
// `state_dir`/epochs comes from an agent older than epochs: it keeps epoch 0, the one its results
// were stored under, so that its unacknowledged results are still recognised when uploaded again.
// Throws std::runtime_error naming the file if it holds anything but a number.
AgentIdentity load_agent_identity(const std::filesystem::path& state_dir);

}  // namespace vantage
