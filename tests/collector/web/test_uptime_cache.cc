// UptimeCache: status and /metrics read uptime from the rollups at most every max_age.
#include <catch2/catch.hpp>
#include <chrono>

#include "background_refresh.hh"
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
    "uptime is read from the rollups once per max age; once older, or when the clock went back, "
    "the held figures come at once while a read in the background replaces them",
    "[unit][uptime]") {
  auto storage = open_sqlite_storage(":memory:");
  storage->migrate();
  const TimePoint now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  REQUIRE(storage->store_results({result(1, now - seconds(60), "SERVER_DOWN")}).inserted == 1);
  UptimeCache cache(*storage, seconds(30));
  CHECK(down_in_24h(*cache.all(now)) == 1);  // nothing held yet: waits for the read

  REQUIRE(storage->store_results({result(2, now - seconds(30), "SERVER_DOWN")}).inserted == 1);
  CHECK(down_in_24h(*cache.all(now + seconds(30))) == 1);  // held: read 30 s before
  cache.settle();
  CHECK(down_in_24h(*cache.all(now + seconds(30))) == 1);  // and no read was started
  CHECK(down_in_24h(*cache.all(now + seconds(31))) == 1);  // older: held figures, a read starts
  cache.settle();
  CHECK(down_in_24h(*cache.all(now + seconds(31))) == 2);  // which replaced them

  REQUIRE(storage->store_results({result(3, now - seconds(10), "SERVER_DOWN")}).inserted == 1);
  CHECK(down_in_24h(*cache.all(now)) == 2);  // the clock went back: held, and a read starts
  cache.settle();
  CHECK(down_in_24h(*cache.all(now)) == 3);
}

TEST_CASE(
    "a background read that fails keeps the last figures; with none held, callers get its "
    "error",
    "[unit][uptime]") {
  int reads = 0;
  bool failing = true;
  BackgroundRefresh<int> value("test value", seconds(30), [&](TimePoint) {
    ++reads;
    if (failing) {
      throw StorageError("the store is gone");
    }
    return reads;
  });
  const TimePoint now = std::chrono::system_clock::now();
  CHECK_THROWS_WITH(value.get(now), "the store is gone");
  failing = false;
  CHECK(*value.get(now) == 2);  // nothing was held: the next caller reads again
  failing = true;
  CHECK(*value.get(now + seconds(31)) == 2);
  value.settle();
  CHECK(reads == 3);
  CHECK(*value.get(now + seconds(31)) == 2);  // the failed read left the figures held
  value.settle();
  CHECK(reads == 4);  // and, still too old, the next caller starts another read
}

}  // namespace vantage
