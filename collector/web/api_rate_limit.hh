#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace vantage {

// One token bucket per key (a token's hash): `per_second` refills it, `burst` is its size. Only
// authenticated callers get a bucket, so the map grows with the number of tokens, not with what
// strangers send.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double per_second, double burst) : per_second_(per_second), burst_(burst) {}

  // Takes one request's worth from the key's bucket; false if it is empty.
  bool allow(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last;
  };
  double per_second_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Log lines about what strangers send, at most `burst` per key (a peer, a kind of event) per
// interval: the rest are held back and counted, and the first line of the key's next interval
// says how many. At most `max_keys` keys are remembered, so a crowd of addresses shares one last
// key rather than growing the map.
class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  LogThrottle(Clock::duration interval, uint64_t burst, size_t max_keys = 256)
      : interval_(interval), burst_(burst), max_keys_(max_keys) {}

  // nullopt: do not log this one. Otherwise log it, with the number held back for this key in
  // its previous interval.
  std::optional<uint64_t> admit(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Window {
    Clock::time_point start;
    uint64_t logged = 0;
    uint64_t held_back = 0;
  };
  Clock::duration interval_;
  uint64_t burst_;
  size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace vantage
