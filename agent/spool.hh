#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace vantage {

// The agent's durable outbox. Every result gets the next sequence number and is written to its
// own file (temporary name, fsync, rename, fsync of the directory) before it counts as produced;
// a file is deleted only after the collector acknowledged its number. The highest acknowledged
// number is persisted first, so after any crash a number is neither lost nor reused, and the
// collector's (agent, epoch, seq) key turns re-uploads into no-ops (the epoch: AgentIdentity).
class Spool {
 public:
  struct Entry {
    uint64_t seq = 0;
    std::string document;
  };

  // Opens (creating) `dir`, drops what was acknowledged but not yet deleted and any temporary
  // file a crash left behind, and continues numbering after the highest number ever assigned.
  Spool(std::filesystem::path dir, uint64_t max_bytes);

  // Durably stores `document` and returns its sequence number. When the spool would grow past
  // its bound, the oldest entries are dropped first and counted in dropped().
  uint64_t append(const std::string& document);

  // Up to `max_entries` oldest entries, at most `max_bytes` of documents (at least one entry).
  std::vector<Entry> oldest(size_t max_entries, size_t max_bytes) const;

  // The collector has stored everything up to and including `seq`.
  void acknowledge(uint64_t seq);

  // Moves an entry the collector rejects for good to `rejected/`, kept for a human to inspect
  // (only forgotten if its file is gone already).
  void quarantine(uint64_t seq);

  const std::filesystem::path& dir() const { return dir_; }
  size_t depth() const { return sizes_.size(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t last_acknowledged() const { return acknowledged_; }

 private:
  std::filesystem::path file_for(uint64_t seq) const;
  void write_acknowledged(uint64_t seq);
  void drop_oldest();

  std::filesystem::path dir_;
  uint64_t max_bytes_;
  uint64_t next_seq_ = 1;
  uint64_t acknowledged_ = 0;
  uint64_t bytes_ = 0;
  uint64_t dropped_ = 0;
  std::map<uint64_t, uint64_t> sizes_;  // seq -> file size, in sequence order
};

}  // namespace vantage
