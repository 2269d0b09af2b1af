#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "storage.hh"

namespace vantage {

// Every domain's uptime as `status` and /metrics show it, read from the rollups at most once per
// `max_age`. One read sums a fleet's rollups over 90 days (a third of a second for 100 domains ×
// 10 agents at day 30, bench/soak) on the store's one connection, which ingest waits for
// meanwhile; Prometheus scrapes every 15 s and dashboards poll `status`, so without the cache each
// poll would take that time from ingest. Uptime over a day or more moves little in `max_age`.
class UptimeCache {
 public:
  using Uptime = std::vector<DomainUptime>;

  UptimeCache(Storage& storage, std::chrono::milliseconds max_age)
      : storage_(storage), max_age_(max_age) {}

  // The uptime read at most max_age before `now`, or read now. A clock set back reads again.
  std::shared_ptr<const Uptime> all(TimePoint now);

 private:
  Storage& storage_;
  const std::chrono::milliseconds max_age_;
  std::mutex mutex_;  // one read at a time: callers meanwhile wait for its figures
  std::optional<TimePoint> read_at_;
  std::shared_ptr<const Uptime> held_;
};

}  // namespace vantage
