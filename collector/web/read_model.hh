#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "alerts.hh"
#include "api_model.hh"
#include "monitor.hh"
#include "storage.hh"
#include "uptime_cache.hh"

// What operators read, as the typed documents of api_model.hh: the JSON API writes them, the CLI
// reads them back, and the operator UI renders them as HTML. One assembly for all three.
namespace vantage {

class ReadModel {
 public:
  // `alerts` may be null: no alert receivers.
  ReadModel(Storage& storage, Monitor& monitor, AlertDispatcher* alerts, UptimeCache& uptime)
      : storage_(storage), monitor_(monitor), alerts_(alerts), uptime_(uptime) {}

  // Every domain with results or a target, by domain; a target no agent reported yet is UNKNOWN
  // since never.
  std::vector<StatusEntry> status();
  // The same from states the caller already read from the monitor (one pass under its lock).
  std::vector<StatusEntry> status(std::vector<DomainState> states);
  // nullopt before any result of `domain` (normalized).
  std::optional<DomainExplanation> explanation(const std::string& domain);
  History history(const std::string& domain, TimePoint since, size_t limit);
  std::vector<AgentEntry> agents();
  AlertList alerts();

  Monitor& monitor() { return monitor_; }
  Storage& storage() { return storage_; }
  UptimeCache& uptime() { return uptime_; }

 private:
  Storage& storage_;
  Monitor& monitor_;
  AlertDispatcher* alerts_;
  UptimeCache& uptime_;
};

}  // namespace vantage
