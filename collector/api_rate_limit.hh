#pragma once

#include <chrono>
#include <mutex>
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

}  // namespace vantage
