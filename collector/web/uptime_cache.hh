#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "background_refresh.hh"
#include "storage.hh"

namespace vantage {

// Every domain's uptime as `status`, the pages and /metrics show it, read from the rollups at most
// once per `max_age`, in the background once figures are held. One read sums a fleet's rollups
// over 90 days (a third of a second for 100 domains × 10 agents at day 30, bench/soak; 5–6 s for
// 1,000 domains × 20 vantages with 90 days of rollups, bench/web) on the store's one connection,
// which ingest waits for meanwhile; Prometheus scrapes every 15 s and dashboards poll `status`, so
// without the cache each poll would take that time from ingest, and without the background read
// some request every `max_age` would wait for it. Uptime over a day or more moves little in
// `max_age`.
class UptimeCache {
 public:
  using Uptime = std::vector<DomainUptime>;

  UptimeCache(Storage& storage, std::chrono::milliseconds max_age)
      : figures_("uptime", max_age, [&storage](TimePoint now) { return storage.uptime("", now); }) {
  }

  // By domain, the uptime read at most max_age before `now`; if older (or read after `now`: a
  // clock set back), the same while a read starts in the background. Waits only when nothing was
  // read yet.
  std::shared_ptr<const Uptime> all(TimePoint now) { return figures_.get(now); }
  // Waits for a background read in progress.
  void settle() { figures_.settle(); }

 private:
  BackgroundRefresh<Uptime> figures_;
};

}  // namespace vantage
