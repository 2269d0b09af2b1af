// UptimeCache: status and /metrics read uptime from the rollups at most every max_age.
#include <catch2/catch.hpp>
#include <chrono>

#include "storage.hh"
#include "uptime_cache.hh"

namespace vantage {
namespace {

using std::chrono::seconds;

// A result of vp-1 for social.example, started at `started_at`, read as `verdict`.
StoredResult result(uint64_t seq, TimePoint started_at, const std::string& verdict) {
  return StoredResult{.agent = "vp-1",
                      .epoch = 1,
                      .seq = seq,
                      .domain = "social.example",
                      .started_at = started_at,
                      .verdict = verdict,
                      .document = "{}",
                      .summary = ""};
}

uint64_t down_in_24h(const UptimeCache::Uptime& uptime) {
  REQUIRE(uptime.size() == 1);
  return uptime.front().windows[static_cast<size_t>(UptimeWindow::Day)].down;
}

}  // namespace

TEST_CASE(
    "uptime is read from the rollups once per max age, and again once older or the clock "
    "went back",
    "[unit][uptime]") {
  auto storage = open_sqlite_storage(":memory:");
  storage->migrate();
  const TimePoint now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  REQUIRE(storage->store_results({result(1, now - seconds(60), "SERVER_DOWN")}).inserted == 1);
  UptimeCache cache(*storage, seconds(30));
  CHECK(down_in_24h(*cache.all(now)) == 1);

  REQUIRE(storage->store_results({result(2, now - seconds(30), "SERVER_DOWN")}).inserted == 1);
  CHECK(down_in_24h(*cache.all(now + seconds(30))) == 1);  // held: read 30 s before
  CHECK(down_in_24h(*cache.all(now + seconds(31))) == 2);  // older than 30 s: read again
  REQUIRE(storage->store_results({result(3, now - seconds(10), "SERVER_DOWN")}).inserted == 1);
  CHECK(down_in_24h(*cache.all(now)) == 3);  // the clock went back: read again
}

}  // namespace vantage
